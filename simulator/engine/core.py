"""The event loop: tiles on units, transfers through resources, every unit cycle accounted for.

Semantics (docs/architecture.md has the long form; tests/naive/engine.py, rules R1-R8 and
D1-D6, implements them literally and must agree exactly):
- A unit runs its tiles in order. Tile i's loads issue when fewer than `prefetch_depth` of the
  unit's tiles are issued and not yet computed, and every region it reads is done.
- A transfer moves in chunks of CHUNK_BYTES along two resources: memory then interconnect for a
  load, interconnect then memory for a store. A chunk reaches its second resource `latency`
  cycles after it leaves the first; a transfer's next chunk enters the first resource when the
  previous one leaves it (for the cycle-level DRAM: when its last burst has entered a
  controller queue), so concurrent transfers interleave chunk by chunk.
- Resources, one module each, behind one interface: a chunk is *offered* to a resource, which
  either decides at once when it leaves (engine/sram.py, engine/dram_server.py) or has events of
  its own at which chunks leave (engine/interconnect.py; the cycle-level DRAM,
  engine/dram_cycle.py, reached through engine/dram_port.py, which also picks the DRAM model).
- Compute starts when the unit is free, every load has landed and fewer than `prefetch_depth` of
  the unit's write-backs are pending, plus the tile's setup cycles; stores issue when it ends.
- A tile is done when its stores land; a region is done when all its tiles are.
- Accounting after the run: engine/accounting.py.

Each event kind has one handler below. Handlers are kernels (no allocation): before each event
the loop makes room in the queue for the most any handler can push (`_room`). run_program
itself only allocates and calls kernels that nothing else calls (engine/jit.py: a function is
compiled once per set of caller options).
"""
import numpy as np

from simulator.engine.accounting import account
from simulator.engine.constants import (CHUNK_BYTES, CHUNK_ID_BITS, CHUNK_ID_MASK, EV_COMPUTE_DONE, EV_DRAM,
                                        EV_NOC_DONE, EV_STAGE1, EV_STAGE2, EV_WAKE, EV_XFER_DONE,
                                        HELD_DRAM_BANK, HELD_DRAM_REFRESH, KIND_WEIGHTS, LOAD, NEVER, RES_DRAM,
                                        PENDING, RES_NOC, RES_SRAM)
from simulator.engine.dram_port import dram_accepted, dram_finished, dram_lookahead, dram_offer, dram_step
from simulator.engine.events import (EV_COUNT, EV_DRAM_CUT, EV_DRAM_SCHED, EV_N, EV_SEQ, H_TIME, queue_new,
                                     queue_next_time, queue_pop, queue_push, queue_reserve)
from simulator.engine.interconnect import NU_WAIT, noc_finish, noc_new, noc_offer, noc_start_next
from simulator.engine.jit import entry, helper, kernel
from simulator.engine.records import EngineResult
from simulator.engine.sram import sram_new, sram_offer
from simulator.engine.state import (RG_DONE, RG_LEFT, T_DEP_READY, T_DONE, T_END, T_ISSUE, T_OUT_READY, T_START,
                                    TL_I_LAST, TL_I_READY, TL_LOADS_LEFT, TL_STORES_LEFT, TL_W_LAST, TL_W_READY,
                                    US_BUSY, US_COMPUTED, US_DEP_WAIT, US_ISSUE, US_OUT_BLOCKED, US_OUT_FREE_AT,
                                    US_START, US_WAKE, US_WB, XS_CHUNKS_LEFT, XS_DONE, XS_REM1, XS_TILE, sim_new)


@entry
def run_program(prog, mem, dram):
    """Simulate a TileProgram on the memory system (MemoryTables, a DRAM record); an EngineResult."""
    sim = sim_new(prog)
    U = prog.unit_start.shape[0] - 1
    X = prog.xfer_bytes.shape[0]
    chunks = 0
    for x in range(X):
        chunks += (prog.xfer_bytes[x] + CHUNK_BYTES - 1) // CHUNK_BYTES
    noc = noc_new(U, chunks)
    banks = sram_new(mem.sram_banks)
    heap, ev = queue_new(4 * U + 2 * X + 64)
    room = _room(prog)
    heap = queue_reserve(heap, ev, U)
    _start(sim, heap, ev)
    while ev[EV_N] > 0 or ev[EV_DRAM_CUT] >= 0:
        if ev[EV_N] + room > heap.shape[0]:
            heap = queue_reserve(heap, ev, room)
        if ev[EV_DRAM_CUT] >= 0 and (ev[EV_N] == 0 or heap[0, H_TIME] > ev[EV_DRAM_CUT]):
            _dram_look_ahead(dram, heap, ev, -1)     # every event at the cut time has run: go on
            continue
        now, kind, ident = queue_pop(heap, ev)
        ev[EV_COUNT] += 1
        if kind == EV_STAGE1 or kind == EV_STAGE2:
            _on_chunk(prog, mem, dram, sim, noc, banks, heap, ev, kind, ident, now)
        elif kind == EV_NOC_DONE:
            _on_noc(prog, mem, sim, noc, heap, ev, now)
        elif kind == EV_XFER_DONE:
            _on_xfer_done(prog, sim, heap, ev, ident, now)
        elif kind == EV_COMPUTE_DONE:
            _on_compute_done(prog, sim, heap, ev, ident, now)
        elif kind == EV_WAKE:
            _on_wake(prog, sim, heap, ev, ident, now)
        else:
            # EV_DRAM. Wake-ups that no other event precedes are taken here in a loop instead of
            # through the queue: the same steps in the same order (_dram_look_ahead).
            _dram_event(ev, ident, now)
            while now >= 0:
                n_fin, n_acc = dram_step(dram, now)
                if ev[EV_N] + 2 * n_fin + n_acc + 1 > heap.shape[0]:
                    heap = queue_reserve(heap, ev, 2 * n_fin + n_acc + 1)
                _dram_send_on(prog, mem, dram, sim, heap, ev, n_fin, n_acc, now)
                now = _dram_look_ahead(dram, heap, ev, now)
    acc, acc_res = account(prog, sim)
    makespan = 0
    for i in range(sim.times.shape[0]):
        makespan = max(makespan, sim.times[i, T_DONE])
    return EngineResult(sim.times, acc, acc_res, sim.xs[XS_DONE].copy(), sim.res_busy, sim.res_wait,
                        noc.nu[NU_WAIT, :U].copy(), makespan, ev[EV_COUNT])


@kernel
def _start(sim, heap, ev):
    """Every unit wakes at cycle 0, in unit order."""
    for u in range(sim.us.shape[1]):
        queue_push(heap, ev, 0, EV_WAKE, u)
        sim.us[US_WAKE, u] = 1


@helper
def _room(prog):
    """The most events one handler can push (the DRAM handler reserves per step itself)."""
    U = prog.unit_start.shape[0] - 1
    most = 0
    for i in range(prog.tile_unit.shape[0]):
        most = max(most, prog.xfer_start[i + 1] - prog.xfer_start[i])
    return max(3, most + U + 1, prog.prefetch_depth * most + 1) + 1


@kernel
def _leave(prog, mem, sim, heap, ev, x, k, stage, leave_t, res, next_chunk):
    """Chunk k of transfer x left resource `res` (its `stage`) at leave_t: send it on.

    With `next_chunk`, a stage-1 leave also lets the transfer's next chunk in (the cycle-level DRAM
    does that earlier, when a chunk's last burst enters a controller queue).

    A stage-2 event names its chunk (x << CHUNK_ID_BITS | k): the cycle-level DRAM may finish a
    transfer's chunks out of order, so the second stage must not assume the order.
    """
    if stage == 1:
        queue_push(heap, ev, leave_t + mem.res_latency[res], EV_STAGE2, (x << CHUNK_ID_BITS) | k)
        if next_chunk and sim.xs[XS_REM1, x] > 0:
            queue_push(heap, ev, leave_t, EV_STAGE1, x)
    else:
        sim.xs[XS_CHUNKS_LEFT, x] -= 1
        if sim.xs[XS_CHUNKS_LEFT, x] == 0:
            queue_push(heap, ev, leave_t + mem.res_latency[res], EV_XFER_DONE, x)


@kernel
def _on_chunk(prog, mem, dram, sim, noc, banks, heap, ev, kind, ident, now):
    """A chunk enters the first (EV_STAGE1: the transfer's next bytes) or second resource of its path."""
    xs = sim.xs
    if kind == EV_STAGE1:
        x = ident
        stage = 1
        offset = prog.xfer_bytes[x] - xs[XS_REM1, x]
        c = min(CHUNK_BYTES, xs[XS_REM1, x])
        xs[XS_REM1, x] -= c
    else:
        x = ident >> CHUNK_ID_BITS
        stage = 2
        offset = (ident & CHUNK_ID_MASK) * CHUNK_BYTES
        c = min(CHUNK_BYTES, prog.xfer_bytes[x] - offset)
    k = offset // CHUNK_BYTES
    load = prog.xfer_dir[x] == LOAD
    if stage == 1:
        res = prog.xfer_mem[x] if load else RES_NOC
    else:
        res = RES_NOC if load else prog.xfer_mem[x]
    if res == RES_NOC:
        if noc_offer(noc, x, k, stage, c, prog.tile_unit[xs[XS_TILE, x]], now):
            queue_push(heap, ev, now, EV_NOC_DONE, 0)      # the arbiter runs at this time
        return
    addr = prog.xfer_addr[x] + offset
    if res == RES_SRAM:
        leave = sram_offer(banks, mem, addr, c, now, sim.res_busy, sim.res_wait)
    else:
        leave = dram_offer(dram, mem, x, k, stage, addr, c, not load, now, sim.res_busy, sim.res_wait)
        if leave == PENDING:
            queue_push(heap, ev, now, EV_DRAM, 0)           # a hand-over: the DRAM looks at it now
            return
    sim.x_res[x, res] += leave - now
    _leave(prog, mem, sim, heap, ev, x, k, stage, leave, res, True)


@kernel
def _on_noc(prog, mem, sim, noc, heap, ev, now):
    """The interconnect's event: the chunk it served leaves; the arbiter picks the next."""
    x, k, stage, arrive = noc_finish(noc)
    if x >= 0:
        sim.x_res[x, RES_NOC] += now - arrive
        _leave(prog, mem, sim, heap, ev, x, k, stage, now, RES_NOC, True)
    t = noc_start_next(noc, mem, now, sim.res_busy, sim.res_wait)
    if t != NEVER:
        queue_push(heap, ev, t, EV_NOC_DONE, 0)


@kernel
def _dram_event(ev, ident, now):
    """A DRAM event begins (ident 0: a hand-over, 1: the wake-up the look-ahead asked for)."""
    if ident == 1 and ev[EV_DRAM_SCHED] == now:
        ev[EV_DRAM_SCHED] = -1
    ev[EV_DRAM_CUT] = -1


@kernel
def _dram_send_on(prog, mem, dram, sim, heap, ev, n_fin, n_acc, now):
    """Send on what a DRAM step finished (they leave the DRAM) and accepted (the next chunk may come)."""
    for i in range(n_fin):
        x, k, stage, t_fin, spent, on_bank, in_ref = dram_finished(dram, i, now)
        sim.x_res[x, RES_DRAM] += spent
        sim.x_res[x, HELD_DRAM_BANK] += on_bank
        sim.x_res[x, HELD_DRAM_REFRESH] += in_ref
        _leave(prog, mem, sim, heap, ev, x, k, stage, t_fin, RES_DRAM, False)
    for i in range(n_acc):
        x, stage = dram_accepted(dram, i)
        if stage == 1 and sim.xs[XS_REM1, x] > 0:
            queue_push(heap, ev, now, EV_STAGE1, x)


@kernel
def _dram_look_ahead(dram, heap, ev, now):
    """When is the DRAM's next event (D5)? After a DRAM step at `now`: the time of the next step if
    nothing else happens before it, else -1 (a wake-up is pushed, or the search is cut at the next
    event). now = -1: resuming a cut search once every event at the cut time has run; returns -1.
    """
    next_other = queue_next_time(heap, ev, NEVER)
    t_next = dram_lookahead(dram, next_other)
    if now < 0:
        ev[EV_DRAM_CUT] = next_other if t_next < 0 else -1
        if 0 <= t_next < NEVER and (ev[EV_DRAM_SCHED] < 0 or t_next < ev[EV_DRAM_SCHED]):
            ev[EV_DRAM_SCHED] = t_next
            queue_push(heap, ev, t_next, EV_DRAM, 1)
        return -1
    if t_next == NEVER:
        return -1
    if t_next < 0:                         # cut at the next event: resumed after it (run_program)
        ev[EV_DRAM_CUT] = next_other
        return -1
    if ev[EV_N] > 0 and heap[0, H_TIME] <= t_next:
        if ev[EV_DRAM_SCHED] < 0 or t_next < ev[EV_DRAM_SCHED]:
            ev[EV_DRAM_SCHED] = t_next
            queue_push(heap, ev, t_next, EV_DRAM, 1)
        return -1
    ev[EV_SEQ] += 1                        # nothing else happens before t_next: the event the queue would pop
    ev[EV_COUNT] += 1
    ev[EV_DRAM_SCHED] = -1
    return t_next


@kernel
def _on_xfer_done(prog, sim, heap, ev, x, now):
    """The last byte of transfer x landed: a load readies its tile, a store frees an output slot."""
    i = sim.xs[XS_TILE, x]
    u = np.int64(prog.tile_unit[i])      # int32 in the program: one type for every caller of _wake
    tl, us = sim.tl, sim.us
    sim.xs[XS_DONE, x] = now
    if prog.xfer_dir[x] == LOAD:
        ready, last = (TL_W_READY, TL_W_LAST) if prog.xfer_kind[x] == KIND_WEIGHTS else (TL_I_READY, TL_I_LAST)
        if now >= tl[ready, i]:
            tl[ready, i] = now
            tl[last, i] = x
        tl[TL_LOADS_LEFT, i] -= 1
        if tl[TL_LOADS_LEFT, i] == 0:
            _wake(sim, heap, ev, u, now)
        return
    tl[TL_STORES_LEFT, i] -= 1
    if tl[TL_STORES_LEFT, i] == 0:
        us[US_WB, u] -= 1
        if us[US_OUT_BLOCKED, u]:
            us[US_OUT_FREE_AT, u] = now
        _tile_done(prog, sim, heap, ev, i, now)
        _wake(sim, heap, ev, u, now)


@kernel
def _on_compute_done(prog, sim, heap, ev, i, now):
    """Tile i's compute ended: its stores go out (or, with none, it is done)."""
    u = np.int64(prog.tile_unit[i])
    us = sim.us
    us[US_BUSY, u] = 0
    us[US_COMPUTED, u] += 1
    n_st = 0
    for x in range(prog.xfer_start[i], prog.xfer_start[i + 1]):
        if prog.xfer_dir[x] != LOAD:
            n_st += 1
            queue_push(heap, ev, now, EV_STAGE1, x)
    sim.tl[TL_STORES_LEFT, i] = n_st
    if n_st > 0:
        us[US_WB, u] += 1
    else:
        _tile_done(prog, sim, heap, ev, i, now)
    _wake(sim, heap, ev, u, now)


@kernel
def _tile_done(prog, sim, heap, ev, i, now):
    """Tile i is done; if that completes its region, wake every unit waiting on a region."""
    sim.times[i, T_DONE] = now
    g = prog.tile_region[i]
    sim.rg[RG_LEFT, g] -= 1
    if sim.rg[RG_LEFT, g] == 0:
        sim.rg[RG_DONE, g] = now
        us = sim.us
        for v in range(us.shape[1]):
            if us[US_DEP_WAIT, v]:
                us[US_DEP_WAIT, v] = 0
                _wake(sim, heap, ev, v, now)


@kernel
def _wake(sim, heap, ev, u, now):
    """Ask unit u to re-check what it can do, unless it already has a wake pending."""
    if not sim.us[US_WAKE, u]:
        sim.us[US_WAKE, u] = 1
        queue_push(heap, ev, now, EV_WAKE, u)


@kernel
def _on_wake(prog, sim, heap, ev, u, now):
    """Unit u issues the loads of as many tiles as the prefetch depth and dependencies allow, then
    starts computing its next tile if that tile's loads have landed and an output slot is free."""
    us, tl, times = sim.us, sim.tl, sim.times
    depth = prog.prefetch_depth
    us[US_WAKE, u] = 0
    while us[US_ISSUE, u] < prog.unit_start[u + 1] and us[US_ISSUE, u] - prog.unit_start[u] - us[US_COMPUTED, u] < depth:
        i = np.int64(prog.unit_tiles[us[US_ISSUE, u]])     # int32 in the program
        dep_time = _regions_done_at(prog, sim, i)
        if dep_time < 0:
            us[US_DEP_WAIT, u] = 1
            break
        times[i, T_ISSUE] = now
        times[i, T_DEP_READY] = dep_time
        tl[TL_W_READY, i] = now
        tl[TL_I_READY, i] = now
        n_ld = 0
        for x in range(prog.xfer_start[i], prog.xfer_start[i + 1]):
            if prog.xfer_dir[x] == LOAD:
                n_ld += 1
                queue_push(heap, ev, now, EV_STAGE1, x)
        tl[TL_LOADS_LEFT, i] = n_ld
        us[US_ISSUE, u] += 1
    if us[US_BUSY, u] or us[US_START, u] >= us[US_ISSUE, u]:
        return
    i = np.int64(prog.unit_tiles[us[US_START, u]])
    if tl[TL_LOADS_LEFT, i] != 0:
        return
    if us[US_WB, u] >= depth:
        us[US_OUT_BLOCKED, u] = 1
        return
    times[i, T_OUT_READY] = us[US_OUT_FREE_AT, u] if us[US_OUT_BLOCKED, u] else 0
    us[US_OUT_BLOCKED, u] = 0
    start = now + prog.tile_setup[i]
    times[i, T_START] = start
    times[i, T_END] = start + prog.tile_compute[i]
    us[US_BUSY, u] = 1
    us[US_START, u] += 1
    queue_push(heap, ev, times[i, T_END], EV_COMPUTE_DONE, i)


@kernel
def _regions_done_at(prog, sim, i):
    """When every region tile i reads was done; -1 if one is not done yet."""
    dep_time = 0
    for k in range(prog.dep_start[i], prog.dep_start[i + 1]):
        for g in range(prog.dep_lo[k], prog.dep_hi[k] + 1):
            if sim.rg[RG_LEFT, g] > 0:
                return -1
            dep_time = max(dep_time, sim.rg[RG_DONE, g])
    return dep_time
