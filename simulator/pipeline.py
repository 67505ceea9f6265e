"""simulate(): load -> lower -> run -> wrap, the whole pipeline in a few visible steps."""
from __future__ import annotations

import dataclasses

import numpy as np

from simulator.engine.constants import (ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS,
                                        RES_DRAM, RES_NOC, RES_SRAM)
from simulator.engine.core import run_program
from simulator.mapping.placement import DRAM, SRAM
from simulator.mapping.program import LOAD, STORE, MappedNetwork, build_program
from simulator.resources.memory import resource_tables
from simulator.result import LayerResult, Result, Timeline, spec_hash
from simulator.spec import load_arch
from simulator.workload import load_network

_ACC = {"dependency": ACC_DEPENDENCY, "weights": ACC_WEIGHTS, "inputs": ACC_INPUTS,
        "outputs": ACC_OUTPUTS, "setup": ACC_SETUP}


def simulate(arch, network, input=None, batch: int = 1, ideal_memory: bool = False,
             overrides=()) -> Result:
    """Simulate one inference of `network` on `arch` (names, paths or loaded objects)."""
    from simulator import __version__
    spec = load_arch(arch, overrides)
    net = network if hasattr(network, "layers") and input is None and batch == network.batch \
        else load_network(getattr(network, "source_path", None) or network, input_size=input, batch=batch)
    mapped = build_program(spec, net, ideal_memory=ideal_memory, source=spec.name)
    num, den, lat = resource_tables(spec)
    if ideal_memory:
        num[:], den[:], lat[:] = 1, 0, 0        # zero-time transfers (and the program has none)
    p = mapped.program
    times, acc, xfer_done, res_busy, makespan, events = run_program(
        p.tile_unit, p.tile_compute, p.tile_setup, p.tile_region, p.dep_start, p.dep_lo, p.dep_hi,
        p.xfer_start, p.xfer_kind, p.xfer_dir, p.xfer_mem, p.xfer_bytes, p.region_tiles, p.unit_start,
        p.unit_tiles, num, den, lat, spec.compute.array.prefetch_depth)
    resolved = spec.resolved_dict()
    result = _wrap(spec, net, mapped, times, acc, res_busy, int(makespan), int(events), ideal_memory,
                   resolved, __version__)
    return dataclasses.replace(result, timeline=_timeline(mapped, times, acc, xfer_done))


def _timeline(mapped: MappedNetwork, times, acc, xfer_done) -> Timeline:
    p = mapped.program
    A = mapped.num_arrays
    names = tuple(f"array{u}" if u < A else f"vector{u - A}" for u in range(A + mapped.num_vector_units))
    xt = np.repeat(np.arange(len(p.tile_unit), dtype=np.int64), np.diff(p.xfer_start))
    issue = np.where(p.xfer_dir == LOAD, times[xt, 0], times[xt, 3]) if len(xt) else np.zeros(0, np.int64)
    return Timeline(unit_names=names, tile_unit=p.tile_unit, tile_layer=p.tile_layer, tile_macs=p.tile_macs,
                    tile_issue=times[:, 0], tile_start=times[:, 2], tile_end=times[:, 3], tile_done=times[:, 4],
                    tile_setup=p.tile_setup, tile_stalls=acc, xfer_tile=xt, xfer_kind=p.xfer_kind,
                    xfer_dir=p.xfer_dir, xfer_mem=p.xfer_mem, xfer_bytes=p.xfer_bytes, xfer_issue=issue,
                    xfer_done=xfer_done)


def _wrap(spec, net, mapped: MappedNetwork, times, acc, res_busy, makespan, events, ideal, resolved, version):
    p = mapped.program
    A, V = mapped.num_arrays, mapped.num_vector_units
    U = A + V
    L = len(mapped.layer_names)
    unit, layer = p.tile_unit, p.tile_layer
    busy_u = np.bincount(unit, weights=p.tile_compute, minlength=U).astype(np.int64)
    per_unit = []
    last_end = np.zeros(U, np.int64)
    np.maximum.at(last_end, unit, times[:, 3])
    for u in range(U):
        row = {"unit": f"array{u}" if u < A else f"vector{u - A}", "busy": int(busy_u[u])}
        for cause, col in _ACC.items():
            row[cause] = int(acc[unit == u, col].sum())
        row["idle"] = int(makespan - last_end[u])
        per_unit.append(row)
    stall = {c: sum(r[c] for r in per_unit[:A]) for c in ("dependency", "weights", "inputs", "outputs", "setup", "idle")}

    xt = np.repeat(np.arange(len(unit)), np.diff(p.xfer_start))
    x_layer = layer[xt] if len(xt) else np.zeros(0, np.int64)

    def by_layer(mask):
        return np.bincount(x_layer[mask], weights=p.xfer_bytes[mask], minlength=L).astype(np.int64)

    dram_r = by_layer((p.xfer_mem == DRAM) & (p.xfer_dir == LOAD))
    dram_w = by_layer((p.xfer_mem == DRAM) & (p.xfer_dir == STORE))
    sram_r = by_layer((p.xfer_mem == SRAM) & (p.xfer_dir == LOAD))
    sram_w = by_layer((p.xfer_mem == SRAM) & (p.xfer_dir == STORE))
    busy_l = np.bincount(layer, weights=p.tile_compute, minlength=L).astype(np.int64)
    ntiles = np.bincount(layer, minlength=L)
    start_l = np.full(L, np.iinfo(np.int64).max)
    np.minimum.at(start_l, layer, times[:, 2] - p.tile_setup)
    end_l = np.zeros(L, np.int64)
    np.maximum.at(end_l, layer, times[:, 4])
    acc_l = {c: np.bincount(layer, weights=acc[:, col], minlength=L).astype(np.int64) for c, col in _ACC.items()}
    dram_per_cycle = spec.dram_peak_bytes_per_s / spec.clock_hz
    layers = []
    for i, (name, op) in enumerate(zip(mapped.layer_names, mapped.layer_ops)):
        has = ntiles[i] > 0
        span = int(end_l[i] - start_l[i]) if has else 0
        macs = int(mapped.layer_macs[i])
        layers.append(LayerResult(
            name=name, op=op, unit_kind=("array" if macs else "vector") if has else "none", macs=macs,
            cycles=span, start_cycle=int(start_l[i]) if has else 0, end_cycle=int(end_l[i]) if has else 0,
            busy_cycles=int(busy_l[i]), stall_cycles={c: int(v[i]) for c, v in acc_l.items()},
            dram_read_bytes=int(dram_r[i]), dram_write_bytes=int(dram_w[i]), sram_read_bytes=int(sram_r[i]),
            sram_write_bytes=int(sram_w[i]), tiles=int(ntiles[i]),
            mac_utilization=macs / (spec.total_macs * span) if span else 0.0,
            latency_ms=1e3 * span / spec.clock_hz,
            dram_bandwidth_utilization=(int(dram_r[i]) + int(dram_w[i])) / (dram_per_cycle * span) if span else 0.0))
    h, w = net.input_size
    return Result(
        arch=spec.name, network=net.name, input=(h, w), batch=net.batch, ideal_memory=ideal,
        clock_hz=spec.clock_hz, cycles=makespan, total_macs=int(p.tile_macs.sum()), chip_macs=spec.total_macs,
        peak_tops=spec.peak_tops, busy_cycles=int(busy_u[:A].sum()), stall_cycles=stall, per_array=tuple(per_unit),
        layers=tuple(layers), dram_read_bytes=int(dram_r.sum()), dram_write_bytes=int(dram_w.sum()),
        dram_peak_bytes_per_s=spec.dram_peak_bytes_per_s, sram_peak_bytes=mapped.placement.sram_peak_bytes,
        resource_busy_cycles={"dram": int(res_busy[RES_DRAM]), "sram": int(res_busy[RES_SRAM]),
                              "interconnect": int(res_busy[RES_NOC])},
        events=events, resolved_spec=resolved, spec_hash=spec_hash(resolved), version=version)
