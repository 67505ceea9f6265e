"""Slow, obvious reference for `simulator.engine.core.run_program` (STYLE habit 10).

Plain Python objects, a `heapq` of (time, seq, kind, payload) and one small function per event
kind, written from the semantics in the engine's module docstring. Where that docstring leaves
the order of simultaneous events open, the rules below (learnt from the njit code) fix it; they
are the only places where "any reasonable choice" would not give identical numbers:

R1. Events run in (time, seq) order; seq is a global counter, so among events at one time the
    one *pushed* first runs first. Pushes happen in this order:
    - start: one wake per unit at time 0, units in id order;
    - a chunk entering stage 1: push its stage-2 arrival, then (if any) the transfer's next
      chunk entering stage 1 (at the time this chunk leaves stage 1);
    - a chunk entering stage 2: if it is the transfer's last chunk, push "transfer done";
    - a wake: the issued tiles' loads (tile order, then transfer-index order), then the
      compute-done of a started tile;
    - compute done: the tile's stores, in transfer-index order;
    - after a transfer-done or compute-done has been handled: if a tile finished and that
      completed its region, wake every unit whose last issue attempt stopped at an unfinished
      region (unit order), then wake the unit the event belonged to.
R2. A unit has at most one wake pending: a wake requested while one is pending is dropped (the
    pending one, earlier in the order, does the work). A unit's "stopped at a region" flag is
    cleared by any region completing, even when its wake is dropped as a duplicate.
    (While every resource and tile takes >= 1 cycle, only wakes and chunks entering stage 1 are
    pushed for the current time, neither changes another unit's state, and the dedup is
    unobservable; it matters once zero-cycle events exist: free resources, 0-cycle tiles.
    Likewise the stage-2 / next-chunk push order in R1 is unobservable: a non-last chunk's
    stage 2 pushes nothing.)
R3. Resources are FCFS in the order chunks *arrive* (event order): a chunk arriving at t starts
    at max(t, the end of the chunk before it) and occupies ceil(bytes * den / num) cycles.
    Reserving at arrival equals queueing at arrival, because service times are fixed.
R4. Chunks are CHUNK_BYTES each, the last one the remainder. A chunk reaches stage 2 `latency`
    (of the stage-1 resource) cycles after it leaves stage 1; the transfer lands `latency` (of
    the stage-2 resource) cycles after its last chunk leaves stage 2. A transfer's chunks keep
    their order at stage 2 (each leaves stage 1 strictly after the one before), so the chunk
    index travels with the event instead of a byte counter.
R5. Issue, per wake: while the unit has a next tile and fewer than `depth` of its tiles are
    issued but not computed, issue it if every region it reads is done, else stop. Start, per
    wake, after issuing: if the unit is idle and its next tile is issued with all loads landed,
    start it when fewer than `depth` write-backs are pending, else mark the unit blocked on the
    output slot. The unit is busy from that wake (setup cycles, then compute).
R6. Accounting (per unit, in queue order): the gap between the previous compute end and the
    moment the unit took the tile (start - setup) goes to `dependency` up to the time its
    regions were done, and the rest to one cause: `outputs` if the output slot freed last
    (at or after both operands, and strictly after the rest began), else `weights` if the
    weights landed strictly after the inputs, else `inputs`. An operand with no load counts as
    ready at the tile's issue time; the output slot counts as ready at 0 when the tile never
    waited for it.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from simulator.engine.constants import (ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS,
                                        CHUNK_BYTES, KIND_WEIGHTS, LOAD, NUM_ACC, NUM_RESOURCES, RES_NOC)

# columns of `times`
ISSUE, DEP_READY, START, END, DONE, OUT_READY = range(6)


def cycles_for(nbytes: int, num: int, den: int) -> int:
    """Cycles a resource of rate num/den bytes per cycle needs for `nbytes`: ceil(nbytes * den / num)."""
    return -(-nbytes * den // num)


def chunk_sizes(nbytes: int) -> list[int]:
    """A transfer's chunks: full CHUNK_BYTES chunks, then the remainder (if any)."""
    full, rest = divmod(nbytes, CHUNK_BYTES)
    return [CHUNK_BYTES] * full + ([rest] if rest else [])


@dataclass
class Transfer:
    tile: int
    is_load: bool
    is_weights: bool
    path: tuple[int, int]          # (first resource, second resource)
    chunks: list[int]


@dataclass
class Unit:
    queue: list[int]
    issued: int = 0                # tiles of the queue whose loads were issued
    started: int = 0               # tiles of the queue whose compute started
    computed: int = 0              # tiles of the queue whose compute ended
    busy: bool = False
    writebacks: int = 0            # computed tiles whose stores have not all landed
    wake_pending: bool = False
    stopped_at_region: bool = False
    out_blocked: bool = False
    out_freed_at: int = 0


@dataclass
class Tile:
    unit: int
    compute: int
    setup: int
    region: int
    reads: list[int]               # regions it depends on
    loads: list[int]               # transfer ids, index order
    stores: list[int]
    loads_left: int = 0
    stores_left: int = 0
    weights_ready: int = 0
    inputs_ready: int = 0
    finished: bool = False
    times: list[int] = field(default_factory=lambda: [0] * 6)


class _Sim:
    def __init__(self, tile_unit, tile_compute, tile_setup, tile_region, dep_start, dep_lo, dep_hi,
                 xfer_start, xfer_kind, xfer_dir, xfer_mem, xfer_bytes, region_tiles, unit_start, unit_tiles,
                 res_num, res_den, res_latency, depth):
        ints = lambda a: [int(v) for v in a]
        self.depth = int(depth)
        self.num, self.den, self.latency = ints(res_num), ints(res_den), ints(res_latency)
        self.transfers = []
        for x in range(len(xfer_bytes)):
            load = int(xfer_dir[x]) == LOAD
            mem = int(xfer_mem[x])
            self.transfers.append(Transfer(tile=-1, is_load=load, is_weights=int(xfer_kind[x]) == KIND_WEIGHTS,
                                           path=(mem, RES_NOC) if load else (RES_NOC, mem),
                                           chunks=chunk_sizes(int(xfer_bytes[x]))))
        self.tiles = []
        for i in range(len(tile_unit)):
            reads = [g for k in range(int(dep_start[i]), int(dep_start[i + 1]))
                     for g in range(int(dep_lo[k]), int(dep_hi[k]) + 1)]
            xs = range(int(xfer_start[i]), int(xfer_start[i + 1]))
            for x in xs:
                self.transfers[x].tile = i
            self.tiles.append(Tile(unit=int(tile_unit[i]), compute=int(tile_compute[i]), setup=int(tile_setup[i]),
                                   region=int(tile_region[i]), reads=reads,
                                   loads=[x for x in xs if self.transfers[x].is_load],
                                   stores=[x for x in xs if not self.transfers[x].is_load]))
        self.units = [Unit(queue=ints(unit_tiles[unit_start[u]:unit_start[u + 1]]))
                      for u in range(len(unit_start) - 1)]
        self.region_left = ints(region_tiles)
        self.region_done = [0] * len(self.region_left)
        self.res_free = [0] * NUM_RESOURCES
        self.res_busy = [0] * NUM_RESOURCES
        self.xfer_done = [-1] * len(self.transfers)
        self.events = []
        self.seq = 0
        self.now = 0

    # ---- the event queue -------------------------------------------------------------------
    def push(self, time, kind, *payload):
        heapq.heappush(self.events, (time, self.seq, kind, payload))
        self.seq += 1

    def wake(self, u):
        if not self.units[u].wake_pending:
            self.units[u].wake_pending = True
            self.push(self.now, "wake", u)

    def run(self):
        for u in range(len(self.units)):
            self.wake(u)
        handlers = {"chunk": self.on_chunk, "xfer_done": self.on_xfer_done,
                    "compute_done": self.on_compute_done, "wake": self.on_wake}
        while self.events:
            self.now, _, kind, payload = heapq.heappop(self.events)
            handlers[kind](*payload)
        for i, t in enumerate(self.tiles):
            if not t.finished:
                raise RuntimeError(f"tile {i} never finished: the program deadlocks")

    # ---- transfers ---------------------------------------------------------------------------
    def on_chunk(self, x, k, stage):
        tr = self.transfers[x]
        res = tr.path[stage]
        begin = max(self.now, self.res_free[res])
        cycles = cycles_for(tr.chunks[k], self.num[res], self.den[res])
        end = begin + cycles
        self.res_free[res] = end
        self.res_busy[res] += cycles
        last = k == len(tr.chunks) - 1
        if stage == 0:
            self.push(end + self.latency[res], "chunk", x, k, 1)
            if not last:
                self.push(end, "chunk", x, k + 1, 0)
        elif last:
            self.push(end + self.latency[res], "xfer_done", x)

    def on_xfer_done(self, x):
        tr = self.transfers[x]
        t = self.tiles[tr.tile]
        unit = self.units[t.unit]
        self.xfer_done[x] = self.now
        if tr.is_load:
            if tr.is_weights:
                t.weights_ready = max(t.weights_ready, self.now)
            else:
                t.inputs_ready = max(t.inputs_ready, self.now)
            t.loads_left -= 1
            if t.loads_left == 0:
                self.wake(t.unit)
        else:
            t.stores_left -= 1
            if t.stores_left == 0:
                unit.writebacks -= 1
                if unit.out_blocked:
                    unit.out_freed_at = self.now
                self.finish(tr.tile)
                self.wake(t.unit)

    # ---- tiles -------------------------------------------------------------------------------
    def on_compute_done(self, i):
        t = self.tiles[i]
        unit = self.units[t.unit]
        unit.busy = False
        unit.computed += 1
        for x in t.stores:
            self.push(self.now, "chunk", x, 0, 0)
        t.stores_left = len(t.stores)
        if t.stores:
            unit.writebacks += 1
        else:
            self.finish(i)
        self.wake(t.unit)

    def finish(self, i):
        t = self.tiles[i]
        t.finished = True
        t.times[DONE] = self.now
        self.region_left[t.region] -= 1
        if self.region_left[t.region] == 0:
            self.region_done[t.region] = self.now
            for v, unit in enumerate(self.units):
                if unit.stopped_at_region:
                    unit.stopped_at_region = False
                    self.wake(v)

    def on_wake(self, u):
        unit = self.units[u]
        unit.wake_pending = False
        while unit.issued < len(unit.queue) and unit.issued - unit.computed < self.depth:
            i = unit.queue[unit.issued]
            t = self.tiles[i]
            if any(self.region_left[g] > 0 for g in t.reads):
                unit.stopped_at_region = True
                break
            t.times[ISSUE] = self.now
            t.times[DEP_READY] = max([self.region_done[g] for g in t.reads], default=0)
            t.weights_ready = t.inputs_ready = self.now
            for x in t.loads:
                self.push(self.now, "chunk", x, 0, 0)
            t.loads_left = len(t.loads)
            unit.issued += 1
        if unit.busy or unit.started == unit.issued:
            return
        i = unit.queue[unit.started]
        t = self.tiles[i]
        if t.loads_left > 0:
            return
        if unit.writebacks >= self.depth:
            unit.out_blocked = True
            return
        t.times[OUT_READY] = unit.out_freed_at if unit.out_blocked else 0
        unit.out_blocked = False
        t.times[START] = self.now + t.setup
        t.times[END] = t.times[START] + t.compute
        unit.busy = True
        unit.started += 1
        self.push(t.times[END], "compute_done", i)

    # ---- accounting --------------------------------------------------------------------------
    def account(self):
        acc = [[0] * NUM_ACC for _ in self.tiles]
        for unit in self.units:
            prev_end = 0
            for i in unit.queue:
                t = self.tiles[i]
                a = acc[i]
                taken = t.times[START] - t.setup         # the wake that started the tile
                a[ACC_SETUP] = t.setup
                dep = t.times[DEP_READY]
                if dep > prev_end:
                    a[ACC_DEPENDENCY] = min(dep, taken) - prev_end
                rest_from = max(prev_end, dep)
                if taken > rest_from:
                    w, inp, out = t.weights_ready, t.inputs_ready, t.times[OUT_READY]
                    if out >= w and out >= inp and out > rest_from:
                        cause = ACC_OUTPUTS
                    elif w > inp:
                        cause = ACC_WEIGHTS
                    else:
                        cause = ACC_INPUTS
                    a[cause] = taken - rest_from
                prev_end = t.times[END]
        return acc


def naive_run_program(tile_unit, tile_compute, tile_setup, tile_region, dep_start, dep_lo, dep_hi,
                      xfer_start, xfer_kind, xfer_dir, xfer_mem, xfer_bytes, region_tiles, unit_start, unit_tiles,
                      res_num, res_den, res_latency, depth):
    """Same arguments as run_program; returns (times[T, 6], acc[T, NUM_ACC], xfer_done[X], res_busy[R], makespan)."""
    sim = _Sim(tile_unit, tile_compute, tile_setup, tile_region, dep_start, dep_lo, dep_hi, xfer_start, xfer_kind,
               xfer_dir, xfer_mem, xfer_bytes, region_tiles, unit_start, unit_tiles, res_num, res_den, res_latency,
               depth)
    sim.run()
    times = np.array([t.times for t in sim.tiles], dtype=np.int64).reshape(len(sim.tiles), 6)
    acc = np.array(sim.account(), dtype=np.int64).reshape(len(sim.tiles), NUM_ACC)
    makespan = max((t.times[DONE] for t in sim.tiles), default=0)
    return (times, acc, np.array(sim.xfer_done, dtype=np.int64), np.array(sim.res_busy, dtype=np.int64),
            makespan)
