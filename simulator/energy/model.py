"""The energy of one run: event counts from the tile program and the engine, times per-event energies.

Energy never changes timing: it is computed after the run from what the run counted.
  MACs            tile MACs x energy per MAC (precision, accumulator width)
  vector          elements the vector units read x one element-wise op
  local buffers   bytes into and out of each array's weight / input / output buffers: the fills
                  and drains the tile program moves, plus the reads its dataflow implies
                  (`local_buffer_bytes`), x energy per byte of a buffer that size
  SRAM            bytes of SRAM transfers x energy per byte of one bank
  interconnect    bytes of every transfer (SRAM and DRAM paths) x wire energy per byte
  DRAM            per command kind (dram_power.py): the cycle model's counts, or the bandwidth
                  model's bytes with a row-hit estimate
  static          leakage power x latency
By layer: each tile's dynamic energy goes to its layer; DRAM command energy by the layer's DRAM
bytes; time-based energy (static, DRAM refresh and background) by the layer's share of busy cycles.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from simulator.energy import technology as tech
from simulator.energy.dram_power import (command_energy, commands_from_bytes, commands_from_cycle_stats,
                                         dram_energy_j)
from simulator.engine.constants import KIND_INPUTS, KIND_OUTPUTS, KIND_WEIGHTS, LOAD, RES_DRAM, RES_SRAM, STORE

COMPONENTS = ("mac", "vector", "local_buffers", "sram", "interconnect", "dram_act_pre", "dram_read",
              "dram_write", "dram_refresh", "dram_background", "static")
_TIME_BASED = ("static", "dram_refresh", "dram_background")


@dataclass(frozen=True)
class EnergyTable:
    """Per-event energies of one chip at its node and voltage (pJ; static power in W)."""
    process_nm: int
    vdd_v: float
    node_scale: float                     # (node / 45) x (V / 0.9)^2
    mac_pj: float
    vector_op_pj: float
    buffer_pj_per_byte: dict              # 'weights' / 'inputs' / 'outputs' -> pJ per byte
    sram_pj_per_byte: float
    interconnect_pj_per_byte: float
    static_w: float
    sram_leakage_w: float
    logic_leakage_w: float


def energy_table(spec) -> EnergyTable:
    """The chip's per-event energies: `energy` overrides where given, else the scaled 45 nm table."""
    e, a = spec.energy, spec.compute.array
    scale = tech.node_scale(e.process_nm, e.vdd_v)
    mac = e.mac_pj if e.mac_pj is not None else tech.mac_pj_45nm(a.precision, a.accumulator_bits) * scale
    buffers = {k: (e.local_buffer_pj_per_byte if e.local_buffer_pj_per_byte is not None
                   else tech.sram_pj_per_byte_45nm(a.buffers.size_of(k)) * scale)
               for k in ("weights", "inputs", "outputs")}
    sram = spec.memory.sram
    sram_pj = (e.sram_pj_per_byte if e.sram_pj_per_byte is not None
               else tech.sram_pj_per_byte_45nm(sram.size_bytes // sram.banks) * scale)
    noc_pj = (e.interconnect_pj_per_byte if e.interconnect_pj_per_byte is not None
              else tech.wire_pj_per_byte_45nm(e.interconnect_distance_mm) * scale)
    stored_bits = 8 * (sram.size_bytes + spec.compute.arrays * a.buffers.total_bytes)
    sram_leak = stored_bits * tech.SRAM_LEAKAGE_PW_PER_BIT_45NM * 1e-12 * scale
    logic_leak = tech.LOGIC_LEAKAGE_FRACTION_AT_1GHZ * spec.total_macs * mac * 1e-12 * 1e9
    static = e.static_power_w if e.static_power_w is not None else sram_leak + logic_leak
    return EnergyTable(process_nm=e.process_nm, vdd_v=e.vdd_v, node_scale=scale, mac_pj=mac,
                       vector_op_pj=tech.add_pj_45nm(a.precision) * scale, buffer_pj_per_byte=buffers,
                       sram_pj_per_byte=sram_pj, interconnect_pj_per_byte=noc_pj, static_w=static,
                       sram_leakage_w=sram_leak, logic_leakage_w=logic_leak)


def _xfer_bytes_per_tile(p, T: int, mask) -> np.ndarray:
    """Bytes of the transfers `mask` selects, summed per tile ([T] float64, exact integers).

    A tile's transfers are consecutive (p.xfer_start), so a running sum read at the bounds gives it.
    """
    run = np.zeros(len(mask) + 1, np.int64)
    np.cumsum(np.where(mask, p.xfer_bytes, 0), out=run[1:])
    return (run[p.xfer_start[1:]] - run[p.xfer_start[:-1]]).astype(np.float64)


def local_buffer_bytes(spec, p, num_arrays: int) -> dict:
    """Bytes each tile moves through its array's weight, input and output buffers ([T] float arrays).

    Fills: the bytes the tile loads (weights, inputs). Drains: the outputs it stores. Reads the
    dataflow implies, for an R x C array of m-MAC PEs: the stationary operand is read once (its
    loaded bytes); a streamed operand is read once per array edge it enters (inputs: MACs / C;
    weights in output- and input-stationary: MACs / R or / C); a partial sum leaves the array every
    R x m MACs and is read and written at accumulator width (weight-, input- and row-stationary;
    output-stationary keeps it in the PE and writes each output once).
    """
    a = spec.compute.array
    T = len(p.tile_unit)
    on_array = p.tile_unit < num_arrays
    macs = np.where(on_array, p.tile_macs, 0).astype(np.float64)
    load = p.xfer_dir == LOAD
    w_in = _xfer_bytes_per_tile(p, T, load & (p.xfer_kind == KIND_WEIGHTS)) * on_array
    i_in = _xfer_bytes_per_tile(p, T, load & (p.xfer_kind == KIND_INPUTS)) * on_array
    o_out = _xfer_bytes_per_tile(p, T, (p.xfer_dir == STORE) & (p.xfer_kind == KIND_OUTPUTS)) * on_array
    ob, ab = a.operand_bytes, a.accumulator_bits / 8
    R, C, m = a.rows, a.cols, a.macs_per_pe
    if a.dataflow == "output_stationary":
        w_rd, i_rd = macs / R * ob, macs / C * ob
        o_acc = o_out / ob * ab                       # each output written once at accumulator width
    else:
        stationary_w = a.dataflow in ("weight_stationary", "row_stationary")
        w_rd = w_in if stationary_w else macs / C * ob
        i_rd = macs / C * ob if stationary_w else i_in
        o_acc = 2 * macs / (R * m) * ab               # read-modify-write of each partial sum
    return {"weights": w_in + w_rd, "inputs": i_in + i_rd, "outputs": o_acc + o_out}


def estimate_energy(spec, mapped, times, makespan: int, dram_channel_rows: list[dict] | None,
                    latency_s: float, fps: float, effective_tops: float) -> dict:
    """The run's energy: totals, by component, by layer; average power, fps per watt, TOPS/W."""
    p = mapped.program
    table = energy_table(spec)
    A = mapped.num_arrays
    T, L = len(p.tile_unit), len(mapped.layer_names)
    layer = p.tile_layer
    ob = spec.compute.array.operand_bytes
    comp_tile = {}
    comp_tile["mac"] = p.tile_macs * table.mac_pj * 1e-12
    vec_in = _xfer_bytes_per_tile(p, T, p.xfer_dir == LOAD) * (p.tile_unit >= A)
    comp_tile["vector"] = vec_in / ob * table.vector_op_pj * 1e-12
    buf = local_buffer_bytes(spec, p, A)
    comp_tile["local_buffers"] = sum(buf[k] * table.buffer_pj_per_byte[k] for k in buf) * 1e-12
    comp_tile["sram"] = _xfer_bytes_per_tile(p, T, p.xfer_mem == RES_SRAM) * table.sram_pj_per_byte * 1e-12
    comp_tile["interconnect"] = _xfer_bytes_per_tile(p, T, np.ones(len(p.xfer_bytes), bool)) \
        * table.interconnect_pj_per_byte * 1e-12

    d = spec.memory.dram
    cmd_e = command_energy(d)
    dram_rd_t = _xfer_bytes_per_tile(p, T, (p.xfer_mem == RES_DRAM) & (p.xfer_dir == LOAD))
    dram_wr_t = _xfer_bytes_per_tile(p, T, (p.xfer_mem == RES_DRAM) & (p.xfer_dir == STORE))
    if dram_channel_rows is not None:
        cmds = commands_from_cycle_stats(dram_channel_rows, cmd_e.burst_bytes)
    else:
        cmds = commands_from_bytes(d, cmd_e, int(dram_rd_t.sum()), int(dram_wr_t.sum()), latency_s,
                                   spec.energy.dram_row_hit_rate)
    dram_j = dram_energy_j(d, cmd_e, cmds, latency_s)
    totals = {k: float(v.sum()) for k, v in comp_tile.items()}
    totals.update(dram_j)
    totals["static"] = table.static_w * latency_s

    # by layer
    by_layer = {k: np.bincount(layer, weights=v, minlength=L) for k, v in comp_tile.items()}
    rd_l = np.bincount(layer, weights=dram_rd_t, minlength=L)
    wr_l = np.bincount(layer, weights=dram_wr_t, minlength=L)
    busy_l = np.bincount(layer, weights=p.tile_compute, minlength=L).astype(np.float64)

    def share(weights, total):
        s = weights.sum()
        return weights / s * total if s else np.zeros(L)

    by_layer["dram_read"] = share(rd_l, totals["dram_read"])
    by_layer["dram_write"] = share(wr_l, totals["dram_write"])
    by_layer["dram_act_pre"] = share(rd_l + wr_l, totals["dram_act_pre"])
    for k in _TIME_BASED:
        by_layer[k] = share(busy_l, totals[k])
    # a component with no weights anywhere (e.g. refresh in a run with no busy cycles) stays in the
    # total only if it is zero; else it is spread evenly so that layers still add up
    for k in COMPONENTS:
        if L and totals[k] and not by_layer[k].sum():
            by_layer[k] = np.full(L, totals[k] / L)

    total = sum(totals[k] for k in COMPONENTS)
    power = total / latency_s if latency_s else 0.0
    e = spec.energy
    layers = []
    for i, name in enumerate(mapped.layer_names):
        parts = {k: float(by_layer[k][i]) for k in COMPONENTS}
        layers.append({"layer": name, "energy_j": sum(parts.values()), "energy_by_component_j": parts})
    return {
        "energy_j": total, "power_w": power, "fps_per_watt": fps / power if power else 0.0,
        "energy_by_component_j": {k: totals[k] for k in COMPONENTS},
        "achieved_tops_per_w": effective_tops / power if power else 0.0,
        "datasheet_tops_per_w": spec.peak_tops / e.power_limit_w if e.power_limit_w else None,
        "power_limit_w": e.power_limit_w,
        "over_power_limit": bool(e.power_limit_w and power > e.power_limit_w),
        "by_layer": layers,
        "table": {**{k: v for k, v in asdict(table).items()}, "dram_act_pre_pj": cmd_e.act_pre_pj,
                  "dram_read_pj_per_byte": cmd_e.read_pj_per_byte, "dram_write_pj_per_byte": cmd_e.write_pj_per_byte,
                  "dram_refresh_pj": cmd_e.refresh_pj, "dram_background_w_per_channel": cmd_e.background_w,
                  "dram_devices_per_channel": cmd_e.devices_per_channel, "dram_currents": cmd_e.currents},
        "dram_commands": asdict(cmds),
        "local_buffer_bytes": {k: int(round(v.sum())) for k, v in buf.items()},
    }
