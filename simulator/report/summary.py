"""`npusim run`'s terminal report: a summary and a per-layer table of where the cycles went."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from simulator import units
from simulator.report.energy import energy_rows
from simulator.result import OWN_CAUSES, Result

CAUSES = ("dependency", "weights", "inputs", "outputs", "setup")


def mac_utilization_text(r: Result) -> str:
    """'18.6% (2.70 of 14.55 TOPS at 1.03 GHz; data-sheet peak 20.0 TOPS at 1.59 GHz)': the percentage
    and the TOPS pair at the same clock, the clock the run used (result.MAC_UTILIZATION_DEFINITION)."""
    text = (f"{100 * r.mac_utilization:.1f}%  ({r.effective_tops:.2f} of {r.peak_tops_at_clock:.2f} TOPS "
            f"at the run clock {units.format_hz(r.clock_hz)}")
    if abs(r.peak_tops - r.peak_tops_at_clock) > 1e-9 * max(r.peak_tops, 1.0):
        sheet_hz = r.resolved_spec.get("clock") if isinstance(r.resolved_spec, dict) else None
        at = f" at {units.format_hz(sheet_hz)}" if isinstance(sheet_hz, (int, float)) else ""
        text += f"; data-sheet peak {r.peak_tops:.2f} TOPS{at}"
    return text + ")"


PIPED_WIDTH = 1000      # piped output: wide enough that rich never cuts a number to "118,013,9..."


def output_console() -> Console:
    """The console a report prints to: the terminal's width, or, when piped to a file, so wide that
    no cell is cut short (a file has no width to fit)."""
    console = Console()
    return console if console.is_terminal else Console(width=PIPED_WIDTH)


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "  -  "


def _share(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def print_result(r: Result, layers: bool = True, console: Console | None = None) -> None:
    console = console or output_console()
    h, w = r.input
    array_cycles = r.cycles * len([u for u in r.per_array if u["unit"].startswith("array")])
    head = Table(title=f"{r.network} {h}x{w} batch {r.batch} on {r.arch}"
                       + (" (ideal memory)" if r.ideal_memory else ""), show_header=False)
    head.add_column("what")
    head.add_column("value")
    rows = [
        ("latency", f"{r.latency_ms:.3f} ms ({r.cycles:,} cycles at {units.format_hz(r.clock_hz)})"),
        ("throughput", f"{r.fps:.2f} fps"),
        ("MAC utilization", mac_utilization_text(r)),
        ("array cycles", f"busy {_pct(r.busy_cycles, array_cycles)}  " + "  ".join(
            f"{c} {_pct(r.stall_cycles[c], array_cycles)}" for c in CAUSES + ("idle",))),
        ("DRAM traffic", f"read {units.format_bytes(r.dram_read_bytes)}, write {units.format_bytes(r.dram_write_bytes)}, "
                         f"{100 * r.dram_bandwidth_utilization:.1f}% of peak bandwidth"),
        ("SRAM peak", units.format_bytes(r.sram_peak_bytes)),
    ]
    if r.fused_groups:
        saved = sum(g["est_dram_saved_bytes"] for g in r.fused_groups)
        rows.append(("fused groups", f"{len(r.fused_groups)} (depth-first, "
                                     f"{sum(len(g['layers']) for g in r.fused_groups)} layers); DRAM traffic saved "
                                     f"{units.format_bytes(saved)} by the mapper's estimate"))
    mem = r.memory
    held = mem["stall_by_resource"]
    if sum(held.values()):
        rows.append(("operand stalls held by", "  ".join(f"{k} {_pct(v, sum(held.values()))}" for k, v in held.items())))
    noc, sram = mem["interconnect"], mem["sram"]
    rows.append(("interconnect", f"{100 * noc['utilization']:.1f}% busy, {noc['wait_cycles']:,} chunk-cycles waited"))
    rows.append(("SRAM banks", f"{100 * sram['bank_utilization']:.1f}% busy, {sram['bank_conflict_cycles']:,} bank-conflict cycles"))
    for i, ch in enumerate(mem["dram"].get("channels", ())):
        rows.append((f"DRAM channel {i}", f"{ch['bandwidth_bytes_per_s'] / 1e9:.2f} GB/s, row hits {100 * ch['row_hit_rate']:.1f}%, "
                                          f"latency avg {ch['avg_latency_ns']:.0f} ns, p99 {ch['p99_latency_ns']:.0f} ns "
                                          f"({_share(ch['bank_wait_cycles'], ch['access_cycles'])} of it on row "
                                          f"activation, {_share(ch['refresh_wait_cycles'], ch['access_cycles'])} in refresh), "
                                          f"{ch['refreshes']} refreshes"))
    rows += energy_rows(r)
    for k, v in rows:
        head.add_row(k, v)
    console.print(head)
    if not layers:
        return
    table = Table(title="per layer, in unit-cycles: own = busy + weights + inputs + outputs + setup (what the layer "
                        "cost its units); waiting = for producer rows (what it waited for, not a cost); span = first "
                        "compute start to last tile done; util = MACs / (chip MACs x span)")
    layer_j = {row["layer"]: row["energy_j"] for row in (r.energy or {}).get("by_layer", ())}
    # fused group of each layer: "g<i>/<bands>" (mapping/fusion.py)
    group_of = {n: f"g{i}/{g['bands']}" for i, g in enumerate(r.fused_groups) for n in g["layers"]}
    fused_cols = ("fused",) if group_of else ()
    for col in ("layer", "op", *fused_cols, "own", "busy", *OWN_CAUSES, "waiting", "span", "util", "DRAM rd", "DRAM wr",
                "energy"):
        table.add_column(col, justify="left" if col in ("layer", "op", "fused") else "right")
    for lr in r.layers:
        if lr.unit_kind == "none":
            continue
        op = f"{lr.op} (W{lr.winograd})" if lr.winograd else lr.op      # Winograd F(m x m, 3 x 3)
        table.add_row(lr.name, op, *((group_of.get(lr.name, ""),) if group_of else ()), f"{lr.own_cycles:,}", f"{lr.busy_cycles:,}",
                      *(f"{lr.stall_cycles[c]:,}" for c in OWN_CAUSES), f"{lr.wait_cycles:,}", f"{lr.cycles:,}",
                      f"{100 * lr.mac_utilization:.0f}%" if lr.macs else "",
                      units.format_bytes(lr.dram_read_bytes), units.format_bytes(lr.dram_write_bytes),
                      f"{1e3 * layer_j.get(lr.name, 0.0):.3g} mJ")
    console.print(table)
