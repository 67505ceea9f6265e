"""`npusim info` and `npusim show`: a network's layers, a chip's resolved spec, as tables and JSON."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from simulator import units
from simulator.report.summary import output_console
from simulator.spec.arch import PRECISION_BYTES, ArchSpec


def network_info(net, precision: str = "int8") -> dict:
    """The JSON of `npusim info`: per layer shapes, MACs and bytes at `precision`."""
    nbytes = PRECISION_BYTES[precision]
    layers = []
    for layer in net.layers:
        row = layer.to_dict()
        row["weight_bytes"] = layer.weight_elems * nbytes
        row["activation_bytes"] = layer.output_elems * nbytes
        layers.append(row)
    h, w = net.input_size
    return {
        "network": net.name,
        "input": f"{h}x{w}",
        "batch": net.batch,
        "precision": precision,
        "layers": layers,
        "total_macs": net.total_macs,
        "total_weight_bytes": net.total_weight_elems * nbytes,
        "peak_activation_bytes": net.peak_activation_elems * net.batch * nbytes,
        "num_conv_layers": net.num_conv_layers,
    }


def print_network_info(data: dict, console: Console | None = None) -> None:
    console = console or output_console()
    table = Table(title=f"{data['network']} at {data['input']}, batch {data['batch']} ({data['precision']})")
    for col, justify in (("layer", "left"), ("op", "left"), ("output C x H x W", "right"),
                         ("MACs", "right"), ("weights", "right"), ("activation", "right")):
        table.add_column(col, justify=justify)
    for row in data["layers"]:
        c, h, w = row["out_shape"]
        table.add_row(row["name"], row["op"], f"{c} x {h} x {w}", f"{row['macs']:,}",
                      units.format_bytes(row["weight_bytes"]), units.format_bytes(row["activation_bytes"]))
    console.print(table)
    console.print(f"conv layers: {data['num_conv_layers']}   total MACs: {data['total_macs']:,} "
                  f"({data['total_macs'] / 1e9:.2f} G)   weights: {units.format_bytes(data['total_weight_bytes'])}   "
                  f"largest activation: {units.format_bytes(data['peak_activation_bytes'])}")


def print_arch(spec: ArchSpec, console: Console | None = None) -> None:
    console = console or output_console()
    a, c = spec.compute.array, spec.compute
    m = spec.memory
    t = m.dram.resolved_timing
    table = Table(title=f"{spec.name}: {spec.description}", show_header=False)
    table.add_column("what")
    table.add_column("value")
    rows = [
        ("clock", units.format_hz(spec.clock_hz)),
        ("MAC arrays", f"{c.arrays} x {a.rows}x{a.cols} PEs x {a.macs_per_pe} MAC, {a.dataflow}, {a.precision}"),
        ("total MACs", f"{spec.total_macs:,}"),
        ("peak TOPS", f"{spec.peak_tops:.2f}"),
        ("local buffers / array", ", ".join(
            f"{k} {units.format_bytes(b.size_bytes)} @ {b.bytes_per_cycle} B/cyc" if k != "shared" else
            f"shared by {'+'.join(b.operands)} {units.format_bytes(b.size_bytes)} in {b.banks} banks @ "
            f"{b.bank_bytes_per_cycle} B/cyc each" for k, b in a.buffers if b is not None)),
        ("vector unit", f"{c.vector.units} x {c.vector.lanes} lanes"),
        ("SRAM", f"{units.format_bytes(m.sram.size_bytes)}, {m.sram.banks} banks x {m.sram.bank_bytes_per_cycle} B/cyc, {m.sram.sharing}"),
        ("interconnect", f"{m.interconnect.width_bytes_per_cycle} B/cyc, {m.interconnect.latency_cycles} cyc latency, "
                         f"{m.interconnect.arbitration}"),
        ("DRAM", f"{t.speed_grade}, {m.dram.channels} ch x {m.dram.channel_width_bits} bit, {m.dram.page_policy} page, "
                 f"{m.dram.refresh.replace('_', '-')} refresh, {m.dram.model} model"),
        ("DRAM peak", f"{spec.dram_peak_bytes_per_s / 1e9:.2f} GB/s, {spec.dram_pins} data pins"),
        ("DRAM timing (nCK)", f"tCK {t.tck_ps} ps, CL {t.cl}, tRCD {t.trcd_rd}, tRP {t.trp}, tRAS {t.tras}, "
                              f"tRFC {t.trfc}, tREFI {t.trefi}"),
        ("layer setup", f"{spec.overheads.layer_setup_cycles} cycles"),
    ]
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)
