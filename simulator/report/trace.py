"""Chrome Trace Event Format export of a run's timeline, for the Perfetto UI and chrome://tracing.

Tracks (see docs/reports.md):
- process "network": the layers, one slice per layer from its first compute start (setup
  included) to its last tile done; layers overlap (row-block pipelining), so they are packed
  greedily into as few lanes ("layers 0", "layers 1", ...) as keep each lane non-overlapping.
- process "units": one track per MAC array and vector unit. Before each tile's compute the gap
  since the previous tile's compute end is drawn as the engine charges it (engine/core.py
  `_account`): 'stall: dependency' first, then the operand cause ('stall: weights', 'stall:
  inputs' or 'stall: outputs'), then 'setup', then the tile itself (name = layer); 'idle' after
  the unit's last tile. Every slice carries `cycles` (its length in core cycles), so the slices
  of a unit track sum exactly to the makespan.
- process "memory": a 'DRAM busy' track (the union of DRAM transfers' [issue, done] intervals)
  and counters of bytes per time bin on DRAM, SRAM and the interconnect (transfers spread
  evenly over [issue, done]).

Timestamps are microseconds of simulated time (cycles / clock_hz * 1e6). A track with more than
`max_slices_per_track` slices has adjacent tiles of one layer merged into one slice whose args
carry the tile count and the summed busy and stall cycles.
"""
from __future__ import annotations

import json
import math
from typing import NamedTuple

import numpy as np

from simulator.engine.constants import ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS
from simulator.result import Result

OPERAND_CAUSES = ("weights", "inputs", "outputs")
_OPERAND_COLS = (ACC_WEIGHTS, ACC_INPUTS, ACC_OUTPUTS)
PID_NETWORK, PID_UNITS, PID_MEMORY = 1, 2, 3
COUNTER_BINS = 1000


class UnitSegments(NamedTuple):
    """Where each tile's time went on its unit, as cycle boundaries (int64 columns, tiles sorted
    by unit then start): [gap_start, dep_end) dependency, [dep_end, setup_start) operand cause,
    [setup_start, start) setup, [start, end) busy. The gap is charged as engine/core.py does."""
    tile: np.ndarray          # tile index into the Timeline columns
    unit: np.ndarray
    layer: np.ndarray
    gap_start: np.ndarray     # the previous tile's compute end on this unit (0 for the first)
    dep_end: np.ndarray
    setup_start: np.ndarray
    start: np.ndarray
    end: np.ndarray
    operand_cause: np.ndarray  # index into OPERAND_CAUSES of the [dep_end, setup_start) gap
    last_end: np.ndarray      # per unit: its last compute end (idle after it), 0 if no tiles


def unit_segments(result: Result) -> UnitSegments:
    """Split every unit's makespan into busy, stall-cause, setup and idle intervals."""
    tl = _timeline(result)
    U = len(tl.unit_names)
    order = np.lexsort((tl.tile_start, tl.tile_unit))
    unit = tl.tile_unit[order].astype(np.int64)
    start = tl.tile_start[order].astype(np.int64)
    end = tl.tile_end[order].astype(np.int64)
    stalls = tl.tile_stalls[order]
    gap_start = np.zeros_like(end)
    if len(end) > 1:
        same = unit[1:] == unit[:-1]
        gap_start[1:] = np.where(same, end[:-1], 0)
    dep_end = gap_start + stalls[:, ACC_DEPENDENCY]
    setup_start = start - stalls[:, ACC_SETUP]
    operand = np.argmax(stalls[:, list(_OPERAND_COLS)], axis=1) if len(end) else np.zeros(0, np.int64)
    last_end = np.zeros(U, np.int64)
    if len(end):
        np.maximum.at(last_end, unit, end)
    return UnitSegments(tile=order, unit=unit, layer=tl.tile_layer[order].astype(np.int64), gap_start=gap_start,
                        dep_end=dep_end, setup_start=setup_start, start=start, end=end, operand_cause=operand,
                        last_end=last_end)


def spread(lo, hi, amount, edges) -> np.ndarray:
    """Amount per bin when each `amount[i]` is spread evenly over [lo[i], hi[i]); a zero-length
    interval puts its amount in the bin holding lo. `edges` are increasing bin edges (float)."""
    lo = np.asarray(lo, np.float64)
    hi = np.asarray(hi, np.float64)
    amount = np.asarray(amount, np.float64)
    nb = len(edges) - 1
    out = np.zeros(nb)
    if not len(lo):
        return out
    point = hi <= lo
    if point.any():
        idx = np.clip(np.searchsorted(edges, lo[point], side="right") - 1, 0, nb - 1)
        out += np.bincount(idx, weights=amount[point], minlength=nb)
    lo, hi, amount = lo[~point], hi[~point], amount[~point]
    if len(lo):
        rate = amount / (hi - lo)
        # cumulative amount delivered by time E: sum rate * (min(E, hi) - min(E, lo))
        cum = _sum_rate_min(hi, rate, edges) - _sum_rate_min(lo, rate, edges)
        out += np.diff(cum)
    return out


def _sum_rate_min(x, rate, edges):
    """sum_i rate[i] * min(E, x[i]) for every E in edges."""
    order = np.argsort(x, kind="stable")
    xs, rs = x[order], rate[order]
    cum_rx = np.concatenate(([0.0], np.cumsum(rs * xs)))
    cum_r = np.concatenate(([0.0], np.cumsum(rs)))
    k = np.searchsorted(xs, edges, side="right")        # x[i] <= E for the first k
    return cum_rx[k] + (cum_r[-1] - cum_r[k]) * edges


def write_trace(result: Result, path, max_slices_per_track: int = 20000) -> dict:
    """Write `result`'s timeline as Chrome trace JSON to `path`; returns counts per track kind."""
    if max_slices_per_track < 2:
        raise ValueError("max_slices_per_track must be at least 2")
    tl = _timeline(result)
    us = _Clock(result.clock_hz)
    names = [lr.name for lr in result.layers]
    events: list[dict] = []
    stats = {"unit_slices": {}, "merged_tracks": [], "dram_slices": 0, "layer_lanes": 0}

    def meta(pid, tid, what, value):
        ev = {"ph": "M", "pid": pid, "tid": tid, "name": what, "args": {"name" if "name" in what else "sort_index": value}}
        events.append(ev)

    for pid, label in ((PID_NETWORK, "network"), (PID_UNITS, "units"), (PID_MEMORY, "memory")):
        meta(pid, 0, "process_name", label)
        meta(pid, 0, "process_sort_index", pid)

    # layers: greedy lanes of non-overlapping [start, end) intervals
    layers = [(lr.start_cycle, lr.end_cycle, lr) for lr in result.layers if lr.unit_kind != "none"]
    lanes_end: list[int] = []
    for s, e, lr in sorted(layers, key=lambda t: (t[0], t[1])):
        lane = next((k for k, le in enumerate(lanes_end) if le <= s), None)
        if lane is None:
            lane = len(lanes_end)
            lanes_end.append(e)
            meta(PID_NETWORK, lane, "thread_name", f"layers {lane}")
            meta(PID_NETWORK, lane, "thread_sort_index", lane)
        lanes_end[lane] = e
        events.append(_slice(PID_NETWORK, lane, lr.name, "layer", s, e, us, {
            "op": lr.op, "unit_kind": lr.unit_kind, "macs": lr.macs, "tiles": lr.tiles, "cycles": e - s,
            "busy_cycles": lr.busy_cycles, **{f"stall_{c}": v for c, v in lr.stall_cycles.items()},
            "dram_read_bytes": lr.dram_read_bytes, "dram_write_bytes": lr.dram_write_bytes}))
    stats["layer_lanes"] = len(lanes_end)

    # units
    seg = unit_segments(result)
    bounds = np.searchsorted(seg.unit, np.arange(len(tl.unit_names) + 1))
    for u, uname in enumerate(tl.unit_names):
        meta(PID_UNITS, u, "thread_name", uname)
        meta(PID_UNITS, u, "thread_sort_index", u)
        lo, hi = bounds[u], bounds[u + 1]
        unit_events = _unit_slices(seg, lo, hi, u, names, tl, us, max_slices_per_track)
        if result.cycles > seg.last_end[u]:
            unit_events.append(_slice(PID_UNITS, u, "idle", "idle", int(seg.last_end[u]), result.cycles, us,
                                      {"cycles": int(result.cycles - seg.last_end[u])}))
        if any(ev["cat"] == "tiles" for ev in unit_events):
            stats["merged_tracks"].append(uname)
        stats["unit_slices"][uname] = len(unit_events)
        events.extend(unit_events)

    # memory: DRAM busy track and byte counters
    meta(PID_MEMORY, 0, "thread_name", "DRAM busy")
    dram = tl.xfer_mem == 0
    dram_events = _dram_busy(tl.xfer_issue[dram], tl.xfer_done[dram], tl.xfer_bytes[dram], us,
                             max_slices_per_track)
    stats["dram_slices"] = len(dram_events)
    events.extend(dram_events)
    events.extend(_counters(result, us))

    h, w = result.input
    doc = {"traceEvents": events, "displayTimeUnit": "ns",
           "otherData": {"arch": result.arch, "network": result.network, "input": f"{h}x{w}",
                         "batch": result.batch, "clock_hz": result.clock_hz, "cycles": result.cycles,
                         "time_unit": "microseconds of simulated time (cycles / clock_hz * 1e6)",
                         "version": result.version, "spec_hash": result.spec_hash}}
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    return stats


class _Clock:
    """Cycles -> microseconds, rounded to a tenth of a cycle (keeps the file small, order exact)."""

    def __init__(self, clock_hz: int):
        self.scale = 1e6 / clock_hz
        self.digits = max(0, math.ceil(math.log10(clock_hz / 1e6)) + 1)

    def __call__(self, cycles) -> float:
        return round(cycles * self.scale, self.digits)


def _slice(pid, tid, name, cat, c0, c1, us, args) -> dict:
    t0, t1 = us(int(c0)), us(int(c1))
    return {"ph": "X", "pid": pid, "tid": tid, "name": name, "cat": cat, "ts": t0,
            "dur": round(t1 - t0, us.digits), "args": args}


def _unmerged_count(seg, lo, hi) -> int:
    """Slices of tiles lo..hi-1 without merging: one per tile plus each nonzero gap part."""
    s = slice(lo, hi)
    return int((hi - lo) + np.count_nonzero(seg.dep_end[s] > seg.gap_start[s])
               + np.count_nonzero(seg.setup_start[s] > seg.dep_end[s])
               + np.count_nonzero(seg.start[s] > seg.setup_start[s]))


def _unit_slices(seg, lo, hi, u, names, tl, us, limit) -> list[dict]:
    budget = limit - 1                              # one slice is kept for idle
    if _unmerged_count(seg, lo, hi) <= budget:
        out = []
        for k in range(lo, hi):
            i, layer = int(seg.tile[k]), names[seg.layer[k]]
            g, d, s0, st, en = (int(seg.gap_start[k]), int(seg.dep_end[k]), int(seg.setup_start[k]),
                                int(seg.start[k]), int(seg.end[k]))
            if d > g:
                out.append(_slice(PID_UNITS, u, "stall: dependency", "stall", g, d, us,
                                  {"layer": layer, "tile": i, "cycles": d - g}))
            if s0 > d:
                cause = OPERAND_CAUSES[seg.operand_cause[k]]
                out.append(_slice(PID_UNITS, u, f"stall: {cause}", "stall", d, s0, us,
                                  {"layer": layer, "tile": i, "cycles": s0 - d}))
            if st > s0:
                out.append(_slice(PID_UNITS, u, "setup", "setup", s0, st, us,
                                  {"layer": layer, "tile": i, "cycles": st - s0}))
            out.append(_slice(PID_UNITS, u, layer, "tile", st, en, us,
                              {"layer": layer, "tile": i, "macs": int(tl.tile_macs[i]), "cycles": en - st}))
        return out
    groups = _merge_groups(seg.layer[lo:hi], budget)
    out = []
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]]) + lo
    ends = np.r_[starts[1:], hi]
    for a, b in zip(starts, ends):
        s = slice(a, b)
        g0, e1 = int(seg.gap_start[a]), int(seg.end[b - 1])
        dep = int((seg.dep_end[s] - seg.gap_start[s]).sum())
        operand = seg.setup_start[s] - seg.dep_end[s]
        first, last = names[seg.layer[a]], names[seg.layer[b - 1]]
        args = {"layer": first if first == last else f"{first} .. {last}", "tiles": int(b - a),
                "first_tile": int(seg.tile[a]), "macs": int(tl.tile_macs[seg.tile[s]].sum()),
                "busy_cycles": int((seg.end[s] - seg.start[s]).sum()), "stall_dependency": dep}
        for c, cause in enumerate(OPERAND_CAUSES):
            args[f"stall_{cause}"] = int(operand[seg.operand_cause[s] == c].sum())
        args["stall_setup"] = int((seg.start[s] - seg.setup_start[s]).sum())
        args["cycles"] = e1 - g0
        out.append(_slice(PID_UNITS, u, args["layer"], "tiles", g0, e1, us, args))
    return out


def _merge_groups(layer, budget) -> np.ndarray:
    """Group ids for consecutive tiles: runs of one layer cut into chunks of k tiles, the smallest
    k giving at most `budget` groups; if the layer runs alone exceed it, runs are merged too."""
    n = len(layer)
    run = np.r_[0, np.cumsum(layer[1:] != layer[:-1])]
    run_first = np.flatnonzero(np.r_[True, layer[1:] != layer[:-1]])
    pos = np.arange(n) - run_first[run]

    def groups(k):
        new = np.r_[True, (run[1:] != run[:-1]) | (pos[1:] % k == 0)]
        return np.cumsum(new) - 1

    if run[-1] + 1 > budget:                         # more layer runs than slices: merge across layers
        return np.arange(n) // math.ceil(n / budget)
    k_lo, k_hi = 1, int(pos.max()) + 1               # k_hi: one group per run, fits
    while k_lo < k_hi:
        k = (k_lo + k_hi) // 2
        if groups(k)[-1] + 1 <= budget:
            k_hi = k
        else:
            k_lo = k + 1
    return groups(k_lo)


def _dram_busy(issue, done, nbytes, us, limit) -> list[dict]:
    """Union of [issue, done] intervals; if more than `limit`, the smallest gaps are closed."""
    if not len(issue):
        return []
    order = np.argsort(issue, kind="stable")
    a, b, nb = issue[order].astype(np.int64), done[order].astype(np.int64), nbytes[order].astype(np.int64)
    reach = np.maximum.accumulate(b)
    new = np.r_[True, a[1:] > reach[:-1]]
    g_start = a[new]
    g_end = np.maximum.reduceat(b, np.flatnonzero(new))
    g_bytes = np.add.reduceat(nb, np.flatnonzero(new))
    g_count = np.diff(np.r_[np.flatnonzero(new), len(a)])
    busy = g_end - g_start
    if len(g_start) > limit:                         # keep the limit-1 widest gaps as separators
        gaps = g_start[1:] - g_end[:-1]
        keep = np.zeros(len(gaps), bool)
        keep[np.argsort(-gaps, kind="stable")[:limit - 1]] = True
        first = np.flatnonzero(np.r_[True, keep])
        g_start, g_end = g_start[first], np.maximum.reduceat(g_end, first)
        busy, g_bytes, g_count = (np.add.reduceat(busy, first), np.add.reduceat(g_bytes, first),
                                  np.add.reduceat(g_count, first))
    return [_slice(PID_MEMORY, 0, "DRAM busy", "dram", s, e, us,
                   {"cycles": int(e - s), "busy_cycles": int(bz), "bytes": int(by), "transfers": int(n)})
            for s, e, bz, by, n in zip(g_start, g_end, busy, g_bytes, g_count)]


def _counters(result: Result, us) -> list[dict]:
    tl = _timeline(result)
    nb = max(1, min(COUNTER_BINS, result.cycles))
    edges = np.linspace(0.0, float(result.cycles), nb + 1)
    bin_us = (edges[1] - edges[0]) * us.scale
    unit = f"bytes per {bin_us:.3g} us"
    lo, hi = tl.xfer_issue, tl.xfer_done
    series = {}
    for mem, label in ((0, "DRAM"), (1, "SRAM")):
        for d, dname in ((0, "read"), (1, "write")):
            m = (tl.xfer_mem == mem) & (tl.xfer_dir == d)
            series[(label, dname)] = spread(lo[m], hi[m], tl.xfer_bytes[m], edges)
    series[("interconnect", "bytes")] = spread(lo, hi, tl.xfer_bytes, edges)
    out = []
    for label, keys in (("DRAM", ("read", "write")), ("SRAM", ("read", "write")), ("interconnect", ("bytes",))):
        cols = [series[(label, k)] for k in keys]
        name = f"{label} {unit}"
        for b in range(nb):
            out.append({"ph": "C", "pid": PID_MEMORY, "tid": 0, "name": name, "ts": us(edges[b]),
                        "args": {k: round(float(c[b]), 1) for k, c in zip(keys, cols)}})
        out.append({"ph": "C", "pid": PID_MEMORY, "tid": 0, "name": name, "ts": us(edges[-1]),
                    "args": {k: 0 for k in keys}})
    return out


def _timeline(result: Result):
    if result.timeline is None:
        raise ValueError("this Result has no timeline (results loaded from JSON carry only its summary)")
    return result.timeline
