"""Slow, obvious reference for `simulator.engine.core.run_program` (STYLE habit 10).

Plain Python objects, a `heapq` of (time, seq, kind, payload) and one small function per event
kind, written from the semantics in the engine's module docstring. Where that docstring leaves
the order of simultaneous events open, the rules below (learnt from the njit code) fix it; they
are the only places where "any reasonable choice" would not give identical numbers. The same
events as the engine's are pushed, so the event counts agree too.

R1. Events run in (time, seq) order; seq is a global counter, so among events at one time the
    one *pushed* first runs first. Pushes happen in this order:
    - start: one wake per unit at time 0, units in id order;
    - a chunk leaving the first resource of its path: its arrival at the second resource
      (`latency` of the first later), then (if the transfer has bytes left, and the resource is
      not the cycle-level DRAM) the transfer's next chunk entering the first resource, now;
    - a chunk leaving the second resource: if it was the transfer's last, "transfer done"
      (`latency` of the second resource later);
    - a chunk arriving at an idle interconnect: one "interconnect done" with no chunk, now (the
      arbiter runs then, so every chunk that arrives before it in R1's order competes);
    - interconnect done: the finished chunk leaves (as above), then the arbiter's next chunk's
      own "interconnect done" (at the end of its service);
    - a chunk arriving at the cycle-level DRAM: one "dram" event, now;
    - a dram event: first the chunks it finished leave (in the order of D3), then the next
      chunks of transfers whose chunk was completely offered (FIFO order), then (maybe) a
      wake-up for the DRAM (D5);
    - a wake: the issued tiles' loads (tile order, then transfer-index order), then the
      compute-done of a started tile;
    - compute done: the tile's stores, in transfer-index order;
    - after a transfer-done or compute-done has been handled: if a tile finished and that
      completed its region, wake every unit whose last issue attempt stopped at an unfinished
      region (unit order), then wake the unit the event belonged to.
R2. A unit has at most one wake pending: a wake requested while one is pending is dropped (the
    pending one, earlier in the order, does the work). A unit's "stopped at a region" flag is
    cleared by any region completing, even when its wake is dropped as a duplicate.
R3. Chunks are CHUNK_BYTES each, the last one the remainder. Stage 1 takes the next
    min(CHUNK_BYTES, left) bytes of the transfer, at address xfer_addr + bytes entered before it;
    a chunk keeps its own size and address into stage 2 (the cycle-level DRAM may finish a
    transfer's chunks out of order).
R4. Interconnect: one chunk at a time, ceil(bytes * den / num) cycles; waiting chunks queue per
    unit (FIFO). When it frees (or is woken idle), the arbiter takes the head of the first
    non-empty unit queue in order 0, 1, ... (fixed priority) or last pick + 1, + 2, ... cyclic
    (round robin; "last pick" starts at U - 1 and is updated under either policy).
R5. SRAM: the chunk's bytes go to bank (address // interleave) % banks; each bank that gets
    some serves them first come first served (in arrival order) for ceil(bytes_b * den / num)
    cycles from max(now, the bank's previous end); the chunk leaves when its last bank is done.
    Wait charged: leave - arrival - the longest bank's own service.
R6. DRAM, bandwidth model: one first-come-first-served server, ceil(bytes * den / num) cycles.
R7. Issue, per wake: while the unit has a next tile and fewer than `depth` of its tiles are
    issued but not computed, issue it if every region it reads is done, else stop. Start, per
    wake, after issuing: if the unit is idle and its next tile is issued with all loads landed,
    start it when fewer than `depth` write-backs are pending, else mark the unit blocked on the
    output slot. The unit is busy from that wake (setup cycles, then compute).
R8. Accounting (per unit, in queue order): the gap between the previous compute end and the
    moment the unit took the tile (start - setup) goes to `dependency` up to the time its
    regions were done, and the rest to one cause: `outputs` if the output slot freed last
    (at or after both operands, and strictly after the rest began), else `weights` if the
    weights landed strictly after the inputs, else `inputs`. An operand with no load counts as
    ready at the tile's issue time; the output slot counts as ready at 0 when the tile never
    waited for it. A weights/inputs stall is also charged (acc_res) to the resource where the
    operand's last-landing transfer (ties: the one handled last) spent the most cycles, summed
    over its chunks from arrival to leaving (queueing included); ties go to the lower resource
    id (DRAM, SRAM, interconnect). An operand with no load charges no resource. A DRAM charge is
    split (D4): floor(stall * bank share / DRAM time) to dram_bank, the same with the refresh
    share to dram_refresh (both from the whole stall), the rest stays DRAM.

The cycle-level DRAM (tests/naive/dram.py's NaiveDram, stepped one DRAM cycle at a time), as
core.py drives engine/dram.py through engine/dram_frontend.py. Core cycles per DRAM cycle =
c_num / c_den; d(T) = floor(T * c_den / c_num) is the last DRAM edge at or before core cycle T,
and T(t) = ceil(t * c_num / c_den) the first core edge at or after DRAM cycle t.
D1. A chunk arriving at the DRAM becomes a job of ceil(bytes / burst_bytes) bursts at addresses
    addr, addr + burst_bytes, ...; it joins the front end's FIFO at once, eligible from DRAM
    cycle d(now), and a hand-over dram event is pushed now.
D2. DRAM cycle t: every channel decides t (channel order), then the front end runs: while the
    head job is eligible (t >= its cycle), its bursts move in order into their channel's queue,
    visible from t + 1, while that queue has room; the first refusal stops the front end until
    the next cycle. A job whose bursts all moved leaves the FIFO: accepted at t.
D3. A job's finish becomes known when its last burst's column command issues; it finishes at
    the latest finish cycle of its bursts.
D4. A dram event at core time `now` steps every cycle <= d(now) not yet stepped (refreshes of
    idle channels included), then runs the front end for cycle d(now) once more (jobs handed
    over after that cycle was stepped). Then, first, every job finished by d(now) leaves the
    DRAM at max(now, T(finish)), in the order their finishes became known (R1, no next-chunk
    push); its time at the DRAM counts from its arrival, and floor(time * bank wait / access)
    of it as bank timing, floor(time * refresh wait / access) as refresh, each summed over its
    bursts (tests/naive/dram.py). Then, for every job accepted since the
    last dram event (acceptance order), if its transfer has bytes left, the transfer's next
    chunk enters the DRAM now.
D5. Then the look-ahead. If no job is in the FIFO, queued or unfinished, nothing. Else, with L
    the time of the earliest pending event (NEVER if none) and best = the earliest T(finish) of
    the known, unfinished jobs: step the next cycles one by one while the cycle is <= d(L) and
    <= d(best), where every acceptance at a stepped cycle t lowers best to T(t) and every finish
    becoming known lowers it to T(finish). If then d(L) < d(best) (or nothing was found), the
    search is cut at L: it goes on (the same rule, from where it stopped) as soon as the next
    pending event is later than L (or none is left), before that event runs, unless a dram
    event has run in between. Else a wake-up is pushed at best unless one is already scheduled
    at or before it. "Scheduled" is the time of the last wake-up pushed; it is forgotten when
    that wake-up runs (a hand-over event at the same time does not clear it).
D6. The DRAM is not a busy/wait resource here: res_busy and res_wait stay 0 for it (its
    statistics are the DRAM model's own).
D7. With command queues (controller.cmd_queue_size > 0, DRAMSim3's two-level controller,
    tests/naive/dram.py), DRAM cycle t is: every channel's command (channel order), then the
    front end as in D2 but into the transaction queues (reads, or all; writes into the write
    buffer if there is one), each request visible from t + 1, then every channel's move
    (channel order), where "the stream has no request left to offer" (a write drain starts
    whatever the buffer holds once the command queues are empty) means the FIFO is empty after
    the front end ran. A job is accepted when its last burst entered a transaction queue, and
    D3-D5 are unchanged (D4's extra front-end run for cycle d(now) only fills the transaction
    queues: their moves come with the next cycle stepped).
"""
from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from simulator.engine.constants import (ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS,
                                        ARB_FIXED_PRIORITY, CHUNK_BYTES, DRAM_CYCLE, KIND_WEIGHTS, LOAD,
                                        HELD_DRAM_BANK, HELD_DRAM_REFRESH, NUM_ACC, NUM_HELD, NUM_RESOURCES,
                                        RES_DRAM, RES_NOC, RES_SRAM)
from tests.naive.dram import NaiveDram, Request

# columns of `times`
ISSUE, DEP_READY, START, END, DONE, OUT_READY = range(6)


def cycles_for(nbytes: int, num: int, den: int) -> int:
    """Cycles a resource of rate num/den bytes per cycle needs for `nbytes`: ceil(nbytes * den / num)."""
    return -(-nbytes * den // num)


def chunk_sizes(nbytes: int) -> list[int]:
    """A transfer's chunks: full CHUNK_BYTES chunks, then the remainder (if any)."""
    full, rest = divmod(nbytes, CHUNK_BYTES)
    return [CHUNK_BYTES] * full + ([rest] if rest else [])


def bank_shares(addr: int, nbytes: int, banks: int, interleave: int) -> list[int]:
    """Bytes of [addr, addr + nbytes) in each SRAM bank: byte a is in bank (a // interleave) % banks."""
    share = [0] * banks
    for a in range(addr, addr + nbytes):
        share[(a // interleave) % banks] += 1
    return share


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass
class Transfer:
    tile: int
    is_load: bool
    is_weights: bool
    path: tuple[int, int]          # (first resource, second resource)
    nbytes: int
    addr: int
    entered: list[int] = field(default_factory=lambda: [0, 0])   # bytes that entered stage 1, 2
    chunks_left: int = 0           # chunks that have not left the second resource
    res_time: list[int] = field(default_factory=lambda: [0] * NUM_HELD)   # D4: DRAM's bank, refresh shares too


@dataclass
class Chunk:
    x: int
    stage: int                     # 1 or 2
    nbytes: int
    addr: int
    arrived: int


@dataclass
class Job:
    """A chunk at the cycle-level DRAM: its bursts, moved in order by the front end (D1-D3)."""
    chunk: Chunk
    bursts: int
    eligible: int                  # first DRAM cycle the front end may move it
    write: bool = False
    moved: int = 0
    issued: int = 0                # bursts whose column command issued
    finish: int = 0                # latest finish cycle of its bursts (DRAM cycles)
    waits: list = field(default_factory=lambda: [0, 0, 0])   # its bursts' access, on bank, in refresh


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
    noc_queue: deque = field(default_factory=deque)   # chunks waiting for the interconnect
    noc_wait: int = 0


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
    weights_last: int = -1         # the weights transfer that landed last (R8)
    inputs_last: int = -1
    finished: bool = False
    times: list[int] = field(default_factory=lambda: [0] * 6)


class _Dram(NaiveDram):
    """NaiveDram with the engine's front end (D1-D3): jobs in, acceptances and finishes out."""

    def __init__(self, dram_spec):
        super().__init__(dram_spec)
        self.fifo = deque()             # jobs with bursts still to move
        self.burst_job = {}             # request id -> its job
        self.next_burst = 0
        self.accepted = []              # jobs accepted, not yet reported, in order (with the cycle)
        self.known = []                 # jobs whose every burst issued, finish not yet reported
        self.cur = 0                    # first DRAM cycle not stepped

    def _serve(self, c, r, cmd, now):
        super()._serve(c, r, cmd, now)
        job = self.burst_job.pop(r.ident)
        job.issued += 1
        job.finish = max(job.finish, self.done.pop(r.ident))
        for k, v in enumerate((r.access, r.on_bank, r.in_refresh)):
            job.waits[k] += v
        if job.issued == job.bursts:
            self.known.append(job)

    def front_end(self, t):
        """D2: move bursts of eligible jobs, head first, visible from t + 1."""
        while self.fifo and self.fifo[0].eligible <= t:
            job = self.fifo[0]
            while job.moved < job.bursts:
                c, bank, row = self.decode(job.chunk.addr + job.moved * self.burst_bytes)
                ch = self.ch[c]
                if not (self._tq_has_room(ch, job.write) if self.cmd_queue_size    # D7
                        else self._has_room(ch, job.write)):     # a write buffer: per kind
                    return
                ident = self.next_burst
                self.next_burst += 1
                r = Request(ident, bank, row, job.write, t + 1)
                ch.queue.append(r)
                if self.cmd_queue_size:
                    (ch.writes_q if job.write and self.write_buffer else ch.reads_q).append(r)
                self.burst_job[ident] = job
                job.moved += 1
            self.fifo.popleft()
            self.accepted.append((job, t))

    def step_cycle(self):
        t = self.cur
        if self.cmd_queue_size:                                         # D7
            for c in range(self.channels):
                self.two_level_command(c, t)
            self.front_end(t)
            for c in range(self.channels):
                self.two_level_move(c, flush=not self.fifo)
        else:
            for c in range(self.channels):
                self.step(c, t)
            self.front_end(t)
        self.cur += 1

    def busy(self):
        return bool(self.fifo or self.known or any(ch.queue for ch in self.ch))

    def issue(self, c, cmd, b, row, now):
        super().issue(c, cmd, b, row, now)
        # tFAW counts the ACTs in a window ending now, and asks only whether there are four: the last
        # four ACTs answer that as well as all of them do (the list would grow with the whole run).
        del self.ch[c].acts[:-4]

class _Sim:
    def __init__(self, tile_unit, tile_compute, tile_setup, tile_region, dep_start, dep_lo, dep_hi,
                 xfer_start, xfer_kind, xfer_dir, xfer_mem, xfer_bytes, xfer_addr, region_tiles, unit_start,
                 unit_tiles, res_num, res_den, res_latency, depth, sram_banks, sram_interleave, noc_policy,
                 dram_mode, dram_tb, dram_spec):
        ints = lambda a: [int(v) for v in a]
        self.depth = int(depth)
        self.num, self.den, self.latency = ints(res_num), ints(res_den), ints(res_latency)
        self.transfers = []
        for x in range(len(xfer_bytes)):
            load = int(xfer_dir[x]) == LOAD
            mem = int(xfer_mem[x])
            nbytes = int(xfer_bytes[x])
            self.transfers.append(Transfer(tile=-1, is_load=load, is_weights=int(xfer_kind[x]) == KIND_WEIGHTS,
                                           path=(mem, RES_NOC) if load else (RES_NOC, mem), nbytes=nbytes,
                                           addr=int(xfer_addr[x]), chunks_left=len(chunk_sizes(nbytes))))
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
        self.res_busy = [0] * NUM_RESOURCES
        self.res_wait = [0] * NUM_RESOURCES
        self.xfer_done = [-1] * len(self.transfers)
        # interconnect (R4)
        self.fixed_priority = int(noc_policy) == ARB_FIXED_PRIORITY
        self.noc_busy = False
        self.rr_last = len(self.units) - 1
        # SRAM (R5)
        self.banks, self.interleave = int(sram_banks), int(sram_interleave)
        self.bank_free = [0] * self.banks
        # DRAM (R6 or D1-D6)
        self.dram_free = 0
        self.cycle_dram = int(dram_mode) == DRAM_CYCLE
        if self.cycle_dram:
            if dram_spec is None:
                raise ValueError("the cycle-level DRAM needs dram_spec (the DramSpec dram_tb was built from)")
            self.dram = _Dram(dram_spec)
            if self.dram.burst_bytes != int(dram_tb.burst_bytes):
                raise ValueError("dram_spec does not match dram_tb")
            self.c_num, self.c_den = int(dram_tb.core_per_dram_num), int(dram_tb.core_per_dram_den)
            self.dram_scheduled = -1        # D5
            self.dram_cut = None            # D5: the look-ahead was cut at this time
        self.events = []
        self.seq = 0
        self.now = 0
        self.count = 0

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
        handlers = {"stage": self.on_stage, "noc_done": self.on_noc_done, "dram": self.on_dram,
                    "xfer_done": self.on_xfer_done, "compute_done": self.on_compute_done, "wake": self.on_wake}
        while self.events or self.cycle_dram and self.dram_cut is not None:
            if self.cycle_dram and self.dram_cut is not None and \
                    (not self.events or self.events[0][0] > self.dram_cut):
                self.dram_lookahead()
                continue
            self.now, _, kind, payload = heapq.heappop(self.events)
            self.count += 1
            handlers[kind](*payload)
        for i, t in enumerate(self.tiles):
            if not t.finished:
                raise RuntimeError(f"tile {i} never finished: the program deadlocks")

    # ---- transfers ---------------------------------------------------------------------------
    def on_stage(self, x, stage, offset=None):
        """A chunk of transfer x arrives at the resource of its `stage` (R3)."""
        tr = self.transfers[x]
        done = tr.entered[0] if stage == 1 else offset
        nbytes = min(CHUNK_BYTES, tr.nbytes - done)
        tr.entered[stage - 1] += nbytes
        chunk = Chunk(x=x, stage=stage, nbytes=nbytes, addr=tr.addr + done, arrived=self.now)
        res = tr.path[stage - 1]
        if res == RES_NOC:
            self.units[self.tiles[tr.tile].unit].noc_queue.append(chunk)
            if not self.noc_busy:
                self.noc_busy = True
                self.push(self.now, "noc_done", None)
        elif res == RES_SRAM:
            self.sram(chunk)
        elif not self.cycle_dram:
            self.dram_server(chunk)
        else:
            self.dram.fifo.append(Job(chunk=chunk, bursts=ceil_div(nbytes, self.dram.burst_bytes),
                                      eligible=self.d_of(self.now), write=not tr.is_load))
            self.push(self.now, "dram", False)

    def leave(self, chunk, t, res, next_chunk=True):
        """`chunk` leaves resource `res` at t: on to its second stage, or its transfer is done (R1)."""
        tr = self.transfers[chunk.x]
        if chunk.stage == 1:
            self.push(t + self.latency[res], "stage", chunk.x, 2, chunk.addr - tr.addr)
            if next_chunk and tr.entered[0] < tr.nbytes:
                self.push(t, "stage", chunk.x, 1)
        else:
            tr.chunks_left -= 1
            if tr.chunks_left == 0:
                self.push(t + self.latency[res], "xfer_done", chunk.x)

    def on_noc_done(self, chunk):
        """The interconnect finished `chunk` (None: it was idle); the arbiter picks the next (R4)."""
        if chunk is not None:
            self.leave(chunk, self.now, RES_NOC)
        self.noc_busy = False
        U = len(self.units)
        order = range(U) if self.fixed_priority else [(self.rr_last + 1 + k) % U for k in range(U)]
        waiting = [u for u in order if self.units[u].noc_queue]
        if not waiting:
            return
        u = self.rr_last = waiting[0]
        nxt = self.units[u].noc_queue.popleft()
        cycles = cycles_for(nxt.nbytes, self.num[RES_NOC], self.den[RES_NOC])
        waited = self.now - nxt.arrived
        self.res_busy[RES_NOC] += cycles
        self.res_wait[RES_NOC] += waited
        self.units[u].noc_wait += waited
        self.transfers[nxt.x].res_time[RES_NOC] += waited + cycles
        self.noc_busy = True
        self.push(self.now + cycles, "noc_done", nxt)

    def sram(self, chunk):
        """Each bank serves its share of the chunk FCFS; the chunk leaves with its last bank (R5)."""
        leave, longest = self.now, 0
        for b, share in enumerate(bank_shares(chunk.addr, chunk.nbytes, self.banks, self.interleave)):
            if share:
                cycles = cycles_for(share, self.num[RES_SRAM], self.den[RES_SRAM])
                end = max(self.now, self.bank_free[b]) + cycles
                self.bank_free[b] = end
                self.res_busy[RES_SRAM] += cycles
                leave, longest = max(leave, end), max(longest, cycles)
        self.res_wait[RES_SRAM] += leave - self.now - longest
        self.transfers[chunk.x].res_time[RES_SRAM] += leave - self.now
        self.leave(chunk, leave, RES_SRAM)

    def dram_server(self, chunk):
        """The bandwidth model: one FCFS server (R6)."""
        begin = max(self.now, self.dram_free)
        cycles = cycles_for(chunk.nbytes, self.num[RES_DRAM], self.den[RES_DRAM])
        self.dram_free = begin + cycles
        self.res_busy[RES_DRAM] += cycles
        self.res_wait[RES_DRAM] += begin - self.now
        self.transfers[chunk.x].res_time[RES_DRAM] += begin + cycles - self.now
        self.leave(chunk, begin + cycles, RES_DRAM)

    # ---- the cycle-level DRAM (D1-D6) --------------------------------------------------------
    def d_of(self, core_cycle):
        return core_cycle * self.c_den // self.c_num

    def t_of(self, dram_cycle):
        return ceil_div(dram_cycle * self.c_num, self.c_den)

    def on_dram(self, wake_up):
        dram = self.dram
        if wake_up and self.dram_scheduled == self.now:
            self.dram_scheduled = -1
        self.dram_cut = None
        d_now = self.d_of(self.now)                                      # D4
        while dram.cur <= d_now:
            dram.step_cycle()
        dram.front_end(d_now)
        finished = [job for job in dram.known if job.finish <= d_now]
        dram.known = [job for job in dram.known if job.finish > d_now]
        for job in finished:
            t = max(self.now, self.t_of(job.finish))
            spent = t - job.chunk.arrived
            res_time = self.transfers[job.chunk.x].res_time
            res_time[RES_DRAM] += spent
            access, on_bank, in_refresh = job.waits
            if access:
                res_time[HELD_DRAM_BANK] += spent * on_bank // access
                res_time[HELD_DRAM_REFRESH] += spent * in_refresh // access
            self.leave(job.chunk, t, RES_DRAM, next_chunk=False)
        accepted, dram.accepted = dram.accepted, []
        for job, _ in accepted:
            tr = self.transfers[job.chunk.x]
            if job.chunk.stage == 1 and tr.entered[0] < tr.nbytes:
                self.push(self.now, "stage", job.chunk.x, 1)
        self.dram_lookahead()

    def dram_lookahead(self):
        """D5."""
        dram = self.dram
        self.dram_cut = None
        if not dram.busy():
            return
        never = float("inf")
        other = self.events[0][0] if self.events else never
        limit = self.d_of(other) if other != never else never
        best = min([self.t_of(job.finish) for job in dram.known], default=never)
        while dram.cur <= min(limit, self.d_of(best) if best != never else never):
            dram.step_cycle()
            for job, t in dram.accepted:
                best = min(best, self.t_of(t))
            best = min([best] + [self.t_of(job.finish) for job in dram.known])
        if best == never or limit < self.d_of(best):
            self.dram_cut = other
        elif self.dram_scheduled < 0 or best < self.dram_scheduled:
            self.dram_scheduled = best
            self.push(best, "dram", True)

    # ---- tiles -------------------------------------------------------------------------------
    def on_xfer_done(self, x):
        tr = self.transfers[x]
        t = self.tiles[tr.tile]
        unit = self.units[t.unit]
        self.xfer_done[x] = self.now
        if tr.is_load:
            if tr.is_weights:
                if self.now >= t.weights_ready:
                    t.weights_ready, t.weights_last = self.now, x
            elif self.now >= t.inputs_ready:
                t.inputs_ready, t.inputs_last = self.now, x
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

    def on_compute_done(self, i):
        t = self.tiles[i]
        unit = self.units[t.unit]
        unit.busy = False
        unit.computed += 1
        for x in t.stores:
            self.push(self.now, "stage", x, 1)
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
                self.push(self.now, "stage", x, 1)
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
        acc_res = [[0] * NUM_HELD for _ in self.tiles]
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
                    last = -1
                    if out >= w and out >= inp and out > rest_from:
                        cause = ACC_OUTPUTS
                    elif w > inp:
                        cause, last = ACC_WEIGHTS, t.weights_last
                    else:
                        cause, last = ACC_INPUTS, t.inputs_last
                    a[cause] = taken - rest_from
                    if last >= 0:
                        spent = self.transfers[last].res_time
                        held = spent.index(max(spent[:NUM_RESOURCES]))
                        stall = taken - rest_from
                        if held == RES_DRAM and spent[RES_DRAM]:
                            shares = {part: stall * spent[part] // spent[RES_DRAM]
                                      for part in (HELD_DRAM_BANK, HELD_DRAM_REFRESH)}
                            for part, share in shares.items():
                                acc_res[i][part] += share
                            stall -= sum(shares.values())
                        acc_res[i][held] += stall
                prev_end = t.times[END]
        return acc, acc_res


def naive_simulation(*args, dram_spec=None) -> _Sim:
    """Run the reference on run_program's arguments; the finished simulation object.

    dram_spec: the DramSpec dram_tb was built from (needed in DRAM_CYCLE mode only: the naive
    DRAM model is built from it). dram_st is ignored (the engine mutates its own).
    """
    *head, dram_tb, _dram_st = args
    sim = _Sim(*head, dram_tb, dram_spec)
    sim.run()
    return sim


def naive_results(sim: _Sim):
    """run_program's returns from a finished simulation: (times[T, 6], acc[T, NUM_ACC],
    acc_res[T, NUM_HELD], xfer_done[X], res_busy[R], res_wait[R], unit_noc_wait[U], makespan, events)."""
    T = len(sim.tiles)
    times = np.array([t.times for t in sim.tiles], dtype=np.int64).reshape(T, 6)
    acc, acc_res = sim.account()
    makespan = max((t.times[DONE] for t in sim.tiles), default=0)
    return (times, np.array(acc, dtype=np.int64).reshape(T, NUM_ACC),
            np.array(acc_res, dtype=np.int64).reshape(T, NUM_HELD),
            np.array(sim.xfer_done, dtype=np.int64), np.array(sim.res_busy, dtype=np.int64),
            np.array(sim.res_wait, dtype=np.int64), np.array([u.noc_wait for u in sim.units], dtype=np.int64),
            makespan, sim.count)


def naive_run_program(*args, dram_spec=None):
    """Same arguments and returns as run_program (plus dram_spec, see naive_simulation)."""
    return naive_results(naive_simulation(*args, dram_spec=dram_spec))
