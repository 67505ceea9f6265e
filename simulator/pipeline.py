"""simulate(): load -> lower -> run -> wrap, the whole pipeline in a few visible steps."""
from __future__ import annotations

import dataclasses
import functools
import gc

import numpy as np

from simulator.engine.constants import (ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS,
                                        HELD_NAMES, LOAD, RES_DRAM, RES_NOC, RES_SRAM, STORE)
from simulator.engine.core import run_program
from simulator.energy import estimate_energy
from simulator.engine.records import CycleDram
from simulator.mapping.program import MappedNetwork, build_program
from simulator.resources.dram import channel_stats
from simulator.errors import SpecError
from simulator.limits import DEFAULT_LIMITS, Limits, check_batch, check_events, check_memory, check_traffic
from simulator.resources.memory import (dram_record, estimated_engine_seconds, estimated_events, memory_bytes,
                                       memory_tables)
from simulator.report.explain import fused_group_label, layer_mapping
from simulator.result import LayerResult, Result, Timeline, fused_groups, spec_hash
from simulator.spec import load_arch
from simulator.workload import load_network
from simulator.workload.graph import INPUT_NODE, Network, network_from_layers
from simulator.workload.ops import input_layer

_ACC = {"dependency": ACC_DEPENDENCY, "weights": ACC_WEIGHTS, "inputs": ACC_INPUTS,
        "outputs": ACC_OUTPUTS, "setup": ACC_SETUP}


def _no_progress(stage: str) -> None:
    pass


def _without_cyclic_gc(fn):
    """Run fn with Python's cyclic garbage collector paused (and restored after).

    A run makes millions of short-lived objects, all freed by reference counting; in a fresh process
    the collector's full passes also scan every object the imports made, which cost a first
    YOLOv3-608 run about 70 ms (benchmarks/map_and_gc.py; later runs in the process: no difference).
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        was_on = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was_on:
                gc.enable()
    return wrapper


@_without_cyclic_gc
def simulate(arch, network, input=None, batch: int = 1, ideal_memory: bool = False,
             overrides=(), progress=_no_progress, limits: Limits = DEFAULT_LIMITS, fuse: str | None = None) -> Result:
    """Simulate one inference of `network` on `arch` (names, paths, dicts or loaded objects).

    `progress(stage)` is called as each stage starts ('load', 'map', 'simulate', 'wrap'), and
    with 'compile' before the engine when its machine code is not cached yet; otherwise, if
    `progress` has a method `engine_seconds`, it is given the engine's estimated seconds before the
    engine starts (`npusim run` shows the time left from it). A run beyond
    `limits` (simulator/limits.py) is refused with a SpecError before the work that would exceed it.
    `fuse`: depth-first layer fusion, 'none' or 'auto' (mapping/fusion.py); None: the arch's
    compute.fusion.
    """
    from simulator import __version__
    progress("load")
    check_batch(batch, "batch")
    spec = load_arch(arch, overrides)
    net = network if hasattr(network, "layers") and input is None and batch == network.batch \
        else load_network(getattr(network, "source_path", None) or network, input_size=input, batch=batch)
    source = str(getattr(net, "source_path", None) or net.name)
    check_traffic(net, spec.compute.array.operand_bytes, limits, source)
    check_memory(memory_bytes(spec), f"the memory model of {spec.name} ({spec.memory.dram.channels:,} DRAM "
                                     f"channels, {spec.memory.sram.banks:,} SRAM banks)", limits, spec.name, "memory")
    progress("map")
    mapped = build_program(spec, net, ideal_memory=ideal_memory, source=spec.name, fuse=fuse)
    check_events(estimated_events(mapped.program), limits, source)
    progress("simulate")
    # ideal memory: the program has no transfers, so memory never waits
    dram = dram_record(spec, mapped.program)
    args = (mapped.program, memory_tables(spec), dram)
    if needs_compile(args):
        progress("compile")
    elif hasattr(progress, "engine_seconds"):    # the engine is one call: its time is estimated before
        progress.engine_seconds(estimated_engine_seconds(mapped.program, spec.memory.dram.model))
    out = run_program(*args)
    progress("wrap")
    resolved = spec.resolved_dict()
    memory = _memory_report(spec, dram, out, mapped)
    result = _wrap(spec, net, mapped, out.times, out.acc, out.res_busy, int(out.makespan), int(out.events),
                   ideal_memory, resolved, __version__, memory, out.acc_res)
    # energy is computed from what the run counted; it never changes timing
    channel_rows = channel_stats(dram.tb, dram.st) if isinstance(dram, CycleDram) else None
    energy = estimate_energy(spec, mapped, out.times, int(out.makespan), channel_rows, result.latency_s,
                             result.fps if result.cycles else 0.0, result.effective_tops)
    return dataclasses.replace(result, timeline=_timeline(mapped, out.times, out.acc, out.xfer_done), energy=energy,
                               fused_groups=fused_groups(mapped.fusion, result.layers))


def select_layers(net: Network, first: str | None = None, last: str | None = None) -> Network:
    """The layers of `net` from `first` to `last` (network order, both included; None: that end of
    the network) as a Network of their own: `npusim run --until LAYER` / `--layers A..B`.

    The tensor the part reads from before `first` becomes its input, read from DRAM as a network
    input is; a part that reads two or more such tensors (a skip connection from before `first`)
    is refused, naming them. Its layers' outputs that nothing inside consumes are its outputs.
    """
    names = [layer.name for layer in net.layers]

    def index(name: str, option: str) -> int:
        if name in names:
            return names.index(name)
        import difflib
        near = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(near)}?" if near else f"; its layers are {names[0]} .. {names[-1]}"
        raise SpecError(option, name, f"no layer '{name}' in network '{net.name}'{hint}")
    option = "--until" if first is None else "--layers"
    i = index(first, option) if first else 0
    j = index(last, option) if last else len(names) - 1
    if i > j:
        raise SpecError(option, f"{first}..{last}", f"'{first}' comes after '{last}' in network '{net.name}' "
                                                    f"(layer {i + 1} and {j + 1}); give the earlier layer first")
    part = net.layers[i:j + 1]
    inside = {layer.name for layer in part}
    outside = sorted({ref for layer in part for ref in layer.inputs if ref not in inside})
    if len(outside) > 1:
        raise SpecError(option, f"{part[0].name}..{part[-1].name}",
                        f"the layers read {len(outside)} tensors from before '{part[0].name}' "
                        f"({', '.join(outside)}); a part of a network has one input, so start the range "
                        f"where a single tensor enters it")
    src = outside[0] if outside else INPUT_NODE
    if i == 0 and j == len(names) - 1:
        return net
    c, h, w = net.layer(src).out_shape
    layers = [dataclasses.replace(layer, inputs=tuple(INPUT_NODE if r == src else r for r in layer.inputs))
              for layer in part]
    return network_from_layers(layers, name=f"{net.name}[{part[0].name}..{part[-1].name}]",
                               input_layer_=input_layer(c, (h, w), net.batch), source_path=None,
                               input_size=(h, w), batch=net.batch, description=net.description,
                               reference=net.reference, precision=net.precision)


def needs_compile(args: tuple) -> bool:
    """True when `run_program` has no machine code for these argument types, in this process or
    in Numba's disk cache, so the call will compile first (6-15 s, once per machine).

    Asked of Numba's cache index without compiling; if Numba's internals differ from what this
    expects, the answer is False (no notice) rather than an error.
    """
    try:
        from numba import typeof
        sig = tuple(typeof(a) for a in args)
        if sig in run_program.overloads:
            return False
        cache = run_program._cache
        index = cache._cache_file._load_index()
        return cache._index_key(sig, run_program.targetctx.codegen()) not in index
    except Exception:       # noqa: BLE001 - a notice is never worth a failed run
        return False


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


def _memory_report(spec, dram, out, mapped) -> dict:
    """Per-resource figures: DRAM channels, SRAM banks, interconnect; stalls by resource."""
    makespan, res_busy, res_wait, unit_noc_wait, acc_res = (int(out.makespan), out.res_busy, out.res_wait,
                                                            out.unit_noc_wait, out.acc_res)
    banks = spec.memory.sram.banks
    A = mapped.num_arrays
    names = [f"array{u}" if u < A else f"vector{u - A}" for u in range(len(unit_noc_wait))]
    on_arrays = mapped.program.tile_unit < A
    out = {
        "stall_by_resource": {n: int(acc_res[on_arrays, r].sum()) for r, n in enumerate(HELD_NAMES)},
        "sram": {"banks": banks, "bank_busy_cycles": int(res_busy[RES_SRAM]),
                 "bank_utilization": res_busy[RES_SRAM] / (banks * makespan) if makespan else 0.0,
                 "bank_conflict_cycles": int(res_wait[RES_SRAM])},
        "interconnect": {"busy_cycles": int(res_busy[RES_NOC]),
                         "utilization": res_busy[RES_NOC] / makespan if makespan else 0.0,
                         "wait_cycles": int(res_wait[RES_NOC]),
                         "wait_cycles_by_unit": {n: int(w) for n, w in zip(names, unit_noc_wait)}},
        "dram": {"model": spec.memory.dram.model},
    }
    if isinstance(dram, CycleDram):
        tck_s = dram.tb.tck_ps * 1e-12
        elapsed_s = makespan / spec.effective_clock_hz
        channels = []
        for row in channel_stats(dram.tb, dram.st):
            n = row["reads"] + row["writes"]
            accesses = row["row_hits"] + row["row_misses"] + row["row_conflicts"]
            channels.append({
                "bytes": row["bytes"], "bandwidth_bytes_per_s": row["bytes"] / elapsed_s if elapsed_s else 0.0,
                "row_hit_rate": row["row_hits"] / accesses if accesses else 0.0,
                "row_hits": row["row_hits"], "row_misses": row["row_misses"], "row_conflicts": row["row_conflicts"],
                "avg_latency_ns": row["latency_avg_ps"] / 1e3, "p99_latency_ns": row["latency_p99_ps"] / 1e3,
                "max_latency_ns": row["latency_max_ps"] / 1e3,
                # per-bank refresh: each REFpb takes one bank for tRFC_pb; the time is summed over them
                "refreshes": row["refreshes"], "refresh_time_ns": row["refresh_cycles"] * tck_s * 1e9,
                "data_bus_busy_fraction": row["bus_busy_cycles"] * tck_s / elapsed_s if elapsed_s else 0.0,
                "requests": n,
                # DRAM cycles summed over requests: visible -> data finished, of which waiting on
                # bank timing (first ACT/PRE -> column command), of which inside a refresh
                "access_cycles": row["access_cycles"], "bank_wait_cycles": row["bank_wait_cycles"],
                "refresh_wait_cycles": row["refresh_wait_cycles"]})
        out["dram"]["channels"] = channels
    else:
        out["dram"]["server_busy_cycles"] = int(res_busy[RES_DRAM])
        out["dram"]["queue_wait_cycles"] = int(res_wait[RES_DRAM])
    return out


class _Groups:
    """Tiles grouped by a key in 0..n-1 (a unit, a layer), for exact integer reductions per key.

    `reduce(np.maximum, values, 0)` is `np.maximum.at(np.zeros(n), keys, values)` (rows of a 2-D
    `values` reduced column by column), computed on the tiles sorted by key, which is 10 times
    faster than ufunc.at and exact where a float bincount is exact only below 2**53.
    """

    def __init__(self, keys, n: int):
        self.n = n
        self.order = np.argsort(keys, kind="stable")
        k = keys[self.order]
        self.first = np.flatnonzero(np.r_[True, k[1:] != k[:-1]]) if len(k) else np.zeros(0, np.int64)
        self.keys = k[self.first]

    def reduce(self, ufunc, values, initial):
        values = np.asarray(values, np.int64)
        out = np.full((self.n,) + values.shape[1:], initial, np.int64)
        if len(self.first):
            out[self.keys] = ufunc(out[self.keys], ufunc.reduceat(values[self.order], self.first, axis=0))
        return out


def _wrap(spec, net, mapped: MappedNetwork, times, acc, res_busy, makespan, events, ideal, resolved, version,
          memory, acc_res):
    p = mapped.program
    A, V = mapped.num_arrays, mapped.num_vector_units
    U = A + V
    L = len(mapped.layer_names)
    unit, layer = p.tile_unit, p.tile_layer
    tiles_u, tiles_l = _Groups(unit, U), _Groups(layer, L)
    busy_u = tiles_u.reduce(np.add, p.tile_compute, 0)
    per_unit = []
    last_end = tiles_u.reduce(np.maximum, times[:, 3], 0)
    acc_u = tiles_u.reduce(np.add, acc, 0)
    for u in range(U):
        row = {"unit": f"array{u}" if u < A else f"vector{u - A}", "busy": int(busy_u[u])}
        for cause, col in _ACC.items():
            row[cause] = int(acc_u[u, col])
        row["idle"] = int(makespan - last_end[u])
        per_unit.append(row)
    stall = {c: sum(r[c] for r in per_unit[:A]) for c in ("dependency", "weights", "inputs", "outputs", "setup", "idle")}

    xt = np.repeat(np.arange(len(unit)), np.diff(p.xfer_start))
    x_layer = layer[xt] if len(xt) else np.zeros(0, np.int64)

    def by_layer(mask):
        return np.bincount(x_layer[mask], weights=p.xfer_bytes[mask], minlength=L).astype(np.int64)

    dram_r = by_layer((p.xfer_mem == RES_DRAM) & (p.xfer_dir == LOAD))
    dram_w = by_layer((p.xfer_mem == RES_DRAM) & (p.xfer_dir == STORE))
    sram_r = by_layer((p.xfer_mem == RES_SRAM) & (p.xfer_dir == LOAD))
    sram_w = by_layer((p.xfer_mem == RES_SRAM) & (p.xfer_dir == STORE))
    busy_l = tiles_l.reduce(np.add, p.tile_compute, 0)
    ntiles = np.bincount(layer, minlength=L)
    start_l = tiles_l.reduce(np.minimum, times[:, 2] - p.tile_setup, np.iinfo(np.int64).max)
    end_l = tiles_l.reduce(np.maximum, times[:, 4], 0)
    acc_all, res_all = tiles_l.reduce(np.add, acc, 0), tiles_l.reduce(np.add, acc_res, 0)
    acc_l = {c: acc_all[:, col] for c, col in _ACC.items()}
    res_l = {n: res_all[:, r] for r, n in enumerate(HELD_NAMES)}
    dram_per_cycle = spec.dram_peak_bytes_per_s / spec.effective_clock_hz
    layers = []
    for i, (name, op) in enumerate(zip(mapped.layer_names, mapped.layer_ops)):
        has = ntiles[i] > 0
        span = int(end_l[i] - start_l[i]) if has else 0
        macs = int(mapped.layer_macs[i])
        layers.append(LayerResult(
            name=name, op=op, unit_kind=("array" if macs else "vector") if has else "none", macs=macs,
            cycles=span, start_cycle=int(start_l[i]) if has else 0, end_cycle=int(end_l[i]) if has else 0,
            busy_cycles=int(busy_l[i]), stall_cycles={c: int(v[i]) for c, v in acc_l.items()},
            stall_by_resource={n: int(v[i]) for n, v in res_l.items()},
            dram_read_bytes=int(dram_r[i]), dram_write_bytes=int(dram_w[i]), sram_read_bytes=int(sram_r[i]),
            sram_write_bytes=int(sram_w[i]), tiles=int(ntiles[i]),
            mac_utilization=macs / (spec.total_macs * span) if span else 0.0,
            latency_ms=1e3 * span / spec.effective_clock_hz,
            dram_bandwidth_utilization=(int(dram_r[i]) + int(dram_w[i])) / (dram_per_cycle * span) if span else 0.0,
            winograd=int(mapped.layer_winograd[i]), mapping=layer_mapping(mapped.tilings.get(name),
                                                          fused_group_label(mapped.fusion, name))))
    h, w = net.input_size
    return Result(
        arch=spec.name, network=net.name, input=(h, w), batch=net.batch, ideal_memory=ideal,
        clock_hz=spec.effective_clock_hz, cycles=makespan, total_macs=int(p.tile_macs.sum()), chip_macs=spec.total_macs,
        peak_tops=spec.peak_tops, busy_cycles=int(busy_u[:A].sum()), stall_cycles=stall, per_array=tuple(per_unit),
        layers=tuple(layers), dram_read_bytes=int(dram_r.sum()), dram_write_bytes=int(dram_w.sum()),
        dram_peak_bytes_per_s=spec.dram_peak_bytes_per_s, sram_peak_bytes=mapped.placement.sram_peak_bytes,
        memory=memory,
        events=events, resolved_spec=resolved, spec_hash=spec_hash(resolved), version=version)
