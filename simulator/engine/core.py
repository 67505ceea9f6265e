"""The event loop: tiles on units, transfers through resources, every unit cycle accounted for.

Semantics (docs/architecture.md has the long form):
- A unit runs its tiles in order. Tile i's loads issue when fewer than `depth` of the unit's
  tiles are issued and not yet computed, and every region it reads is done.
- A transfer moves in chunks of CHUNK_BYTES along two resources: memory then interconnect for a
  load, interconnect then memory for a store. A chunk reaches its second resource `latency`
  cycles after it leaves the first; a transfer's next chunk enters the first resource when the
  previous one leaves it (for the cycle-level DRAM: when its last burst has entered a
  controller queue), so concurrent transfers interleave chunk by chunk.
- Resources: the interconnect serves one chunk at a time at its width; chunks waiting for it
  queue per unit and the arbiter picks the next unit round-robin (or lowest unit first, fixed
  priority). The SRAM has banks: a chunk's bytes go to banks by address interleave and each
  bank serves its share first come first served at its width; the chunk leaves when its last
  bank is done. The DRAM is either a bandwidth-and-latency server (first come first served) or
  the cycle-level model of engine/dram.py behind the in-order front end of
  engine/dram_frontend.py: each chunk is a transaction whose bursts move into the controllers'
  queues in the DRAM clock; the engine wakes only when a chunk is wholly in the queues (its
  transfer's next chunk may come) or has finished.
- Compute starts when the unit is free, every load has landed and fewer than `depth` of the
  unit's write-backs are pending, plus the tile's setup cycles; stores issue when it ends.
- A tile is done when its stores land; a region is done when all its tiles are.
Accounting: the gap before a tile's compute is charged to the dependency up to the time its
regions were done, then to whichever of weights, inputs and the output slot became ready last;
an operand stall is also charged to the resource where its last-arriving transfer spent the
most time (DRAM, SRAM or interconnect); with the cycle-level DRAM, a DRAM charge is split by the
shares of that transfer's DRAM time its bursts spent waiting on bank timing and on refresh
(acc_res columns HELD_DRAM_BANK, HELD_DRAM_REFRESH; the rest stays "dram": queueing and the bus).
"""
import numpy as np
from numba import njit

from simulator.engine.constants import (ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS,
                                        ARB_FIXED_PRIORITY, CHUNK_BYTES, CHUNK_ID_BITS, CHUNK_ID_MASK, DRAM_CYCLE, EV_COMPUTE_DONE,
                                        EV_DRAM, EV_NOC_DONE, EV_STAGE1, EV_STAGE2, EV_WAKE, EV_XFER_DONE,
                                        HELD_DRAM_BANK, HELD_DRAM_REFRESH, KIND_WEIGHTS, LOAD, NUM_ACC, NUM_HELD,
                                        NUM_RESOURCES, RES_DRAM, RES_NOC,
                                        RES_SRAM)
from simulator.engine.dram import NEVER, P_BURST_BYTES, P_CORE_DEN, P_CORE_NUM
from simulator.engine.dram_frontend import (TX_ACCESS, TX_BANK, TX_REFRESH, front_end_new, tx_lookahead, tx_step,
                                            tx_submit)
from simulator.engine.events import heap_new, heap_pop, heap_push


@njit(cache=True)
def _duration(nbytes, num, den):
    return (nbytes * den + num - 1) // num


@njit(cache=True)
def _push(heap, size, seq, time, kind, ident):
    heap = heap_push(heap, size, time, seq, kind, ident)
    return heap, size + 1, seq + 1


@njit(cache=True)
def _leave(heap, size, seq, x, k, stage, leave_t, res, rem1, chunks_left, res_latency, next_chunk):
    """Chunk k of transfer x left resource `res` (its `stage`) at leave_t: send it on.

    With `next_chunk`, a stage-1 leave also lets the transfer's next chunk in (the cycle-level DRAM
    does that earlier, when a chunk's last burst enters a controller queue).

    A stage-2 event names its chunk (x << CHUNK_ID_BITS | k): the cycle-level DRAM may finish a
    transfer's chunks out of order, so the second stage must not assume the order.
    """
    if stage == 1:
        heap, size, seq = _push(heap, size, seq, leave_t + res_latency[res], EV_STAGE2,
                                (x << CHUNK_ID_BITS) | k)
        if next_chunk and rem1[x] > 0:
            heap, size, seq = _push(heap, size, seq, leave_t, EV_STAGE1, x)
    else:
        chunks_left[x] -= 1
        if chunks_left[x] == 0:
            heap, size, seq = _push(heap, size, seq, leave_t + res_latency[res], EV_XFER_DONE, x)
    return heap, size, seq


@njit(cache=True)
def run_program(tile_unit, tile_compute, tile_setup, tile_region, dep_start, dep_lo, dep_hi,
                xfer_start, xfer_kind, xfer_dir, xfer_mem, xfer_bytes, xfer_addr, region_tiles, unit_start,
                unit_tiles, res_num, res_den, res_latency, depth,
                sram_banks, sram_interleave, noc_policy, dram_mode, dram_tb, dram_st):
    """Simulate a tile program.

    Returns (times[T, 6], acc[T, NUM_ACC], acc_res[T, NUM_HELD], xfer_done[X],
    res_busy[R], res_wait[R], unit_noc_wait[U], makespan, events).
    times columns: issue, dependency ready, start (after setup), end, done, out-slot ready.
    res_busy: DRAM server cycles (bandwidth model) or data-bus-busy DRAM cycles are in the DRAM
    state; SRAM bank-cycles; interconnect cycles. res_wait: cycles chunks queued at each resource.
    SRAM: res_num/res_den[RES_SRAM] is the rate of ONE bank.
    """
    T = tile_unit.shape[0]
    X = xfer_bytes.shape[0]
    U = unit_start.shape[0] - 1
    G = region_tiles.shape[0]

    times = np.zeros((T, 6), dtype=np.int64)
    w_ready = np.zeros(T, dtype=np.int64)
    i_ready = np.zeros(T, dtype=np.int64)
    w_last = np.full(T, -1, dtype=np.int64)       # last-arriving weights transfer
    i_last = np.full(T, -1, dtype=np.int64)
    loads_left = np.zeros(T, dtype=np.int64)
    stores_left = np.zeros(T, dtype=np.int64)
    rem1 = xfer_bytes.copy()
    chunks_left = (xfer_bytes + CHUNK_BYTES - 1) // CHUNK_BYTES
    xfer_done = np.full(X, -1, dtype=np.int64)
    xfer_tile = np.zeros(X, dtype=np.int64)
    x_res_time = np.zeros((X, NUM_HELD), dtype=np.int64)  # DRAM's bank and refresh shares also in RES_DRAM
    total_chunks = 0
    dram_chunks = 0
    for i in range(T):
        for x in range(xfer_start[i], xfer_start[i + 1]):
            xfer_tile[x] = i
            total_chunks += chunks_left[x]
            if xfer_mem[x] == RES_DRAM:
                dram_chunks += chunks_left[x]
    region_left = region_tiles.astype(np.int64).copy()
    region_done = np.zeros(G, dtype=np.int64)

    u_issue = unit_start[:-1].copy()        # position of the next tile to issue
    u_start = unit_start[:-1].copy()        # position of the next tile to start computing
    u_computed = np.zeros(U, dtype=np.int64)
    u_busy = np.zeros(U, dtype=np.bool_)
    u_wb = np.zeros(U, dtype=np.int64)      # write-backs pending
    u_wake = np.zeros(U, dtype=np.bool_)
    u_dep_wait = np.zeros(U, dtype=np.bool_)
    u_out_blocked = np.zeros(U, dtype=np.bool_)
    u_out_free_at = np.zeros(U, dtype=np.int64)

    res_free = np.zeros(NUM_RESOURCES, dtype=np.int64)
    res_busy = np.zeros(NUM_RESOURCES, dtype=np.int64)
    res_wait = np.zeros(NUM_RESOURCES, dtype=np.int64)

    # SRAM banks
    bank_free = np.zeros(max(sram_banks, 1), dtype=np.int64)
    bank_bytes = np.zeros(max(sram_banks, 1), dtype=np.int64)

    # interconnect: chunk records queued per unit (singly linked FIFOs), served one at a time
    cap = total_chunks + 1
    rec_x = np.zeros(cap, dtype=np.int64)
    rec_k = np.zeros(cap, dtype=np.int64)
    rec_stage = np.zeros(cap, dtype=np.int64)
    rec_bytes = np.zeros(cap, dtype=np.int64)
    rec_arrive = np.zeros(cap, dtype=np.int64)
    rec_next = np.full(cap, -1, dtype=np.int64)
    free_head = 0
    for r in range(cap - 1):
        rec_next[r] = r + 1
    rec_next[cap - 1] = -1
    q_head = np.full(U, -1, dtype=np.int64)
    q_tail = np.full(U, -1, dtype=np.int64)
    q_count = 0
    noc_busy = False
    rr_last = U - 1
    unit_noc_wait = np.zeros(U, dtype=np.int64)

    # cycle-level DRAM: one transaction ("job") per DRAM chunk, named by its slot (engine/dram_frontend.py)
    slots = dram_chunks + 1 if dram_mode == DRAM_CYCLE else 1
    job_x = np.zeros(slots, dtype=np.int64)
    job_k = np.zeros(slots, dtype=np.int64)
    job_stage = np.zeros(slots, dtype=np.int64)
    job_arrive = np.zeros(slots, dtype=np.int64)
    job_free_next = np.zeros(slots, dtype=np.int64)
    for r in range(slots - 1):
        job_free_next[r] = r + 1
    job_free_next[slots - 1] = -1
    job_free = 0
    dram_sched = -1                               # time of the earliest pending DRAM wake-up
    dram_cut = -1                                 # >= 0: the DRAM look-ahead stopped at this time
    # the DRAM's packed arrays, taken out of the NamedTuples once (see engine/dram.py: why packed)
    dp = dram_tb.p
    d_sc, d_bank, d_q, d_stats, d_hist = dram_st.sc, dram_st.bank, dram_st.q, dram_st.stats, dram_st.lat_hist
    fe, tx, ff, pf, acc = front_end_new(slots)
    c_num = dp[P_CORE_NUM]                        # core cycles per DRAM cycle = c_num / c_den
    c_den = dp[P_CORE_DEN]
    burst_bytes = dp[P_BURST_BYTES]
    fin_ids = np.zeros(slots, dtype=np.int64)
    fin_cycles = np.zeros(slots, dtype=np.int64)
    acc_ids = np.zeros(slots, dtype=np.int64)

    heap = heap_new(4 * U + 2 * X + 64)
    size = 0
    seq = 0
    for u in range(U):
        heap, size, seq = _push(heap, size, seq, 0, EV_WAKE, u)
        u_wake[u] = True
    events = 0
    now = 0
    while size > 0 or dram_cut >= 0:
        if dram_cut >= 0 and (size == 0 or heap[0, 0] > dram_cut):
            # every event at dram_cut has run and none handed the DRAM work: look further ahead
            next_other = heap[0, 0] if size > 0 else NEVER
            t_next = tx_lookahead(dp, d_sc, d_bank, d_q, d_stats, d_hist, fe, tx, ff, pf, acc, next_other)
            dram_cut = next_other if t_next < 0 else -1
            if 0 <= t_next < NEVER and (dram_sched < 0 or t_next < dram_sched):
                dram_sched = t_next
                heap, size, seq = _push(heap, size, seq, t_next, EV_DRAM, 1)
            continue
        heap_pop(heap, size)
        size -= 1
        now = heap[size, 0]
        kind = heap[size, 2]
        ident = heap[size, 3]
        events += 1

        if kind == EV_STAGE1 or kind == EV_STAGE2:
            if kind == EV_STAGE1:
                x = ident
                stage = 1
                offset = xfer_bytes[x] - rem1[x]
                c = min(CHUNK_BYTES, rem1[x])
                rem1[x] -= c
            else:
                x = ident >> CHUNK_ID_BITS
                stage = 2
                offset = (ident & CHUNK_ID_MASK) * CHUNK_BYTES
                c = min(CHUNK_BYTES, xfer_bytes[x] - offset)
            k = offset // CHUNK_BYTES
            load = xfer_dir[x] == LOAD
            if stage == 1:
                res = xfer_mem[x] if load else RES_NOC
            else:
                res = RES_NOC if load else xfer_mem[x]
            if res == RES_NOC:
                r = free_head
                free_head = rec_next[r]
                rec_x[r] = x
                rec_k[r] = k
                rec_stage[r] = stage
                rec_bytes[r] = c
                rec_arrive[r] = now
                rec_next[r] = -1
                u = tile_unit[xfer_tile[x]]
                if q_tail[u] < 0:
                    q_head[u] = r
                else:
                    rec_next[q_tail[u]] = r
                q_tail[u] = r
                q_count += 1
                if not noc_busy:
                    heap, size, seq = _push(heap, size, seq, now, EV_NOC_DONE, -1)
                    noc_busy = True          # the arbiter runs at this time
            elif res == RES_SRAM:
                addr = xfer_addr[x] + offset
                nb = sram_banks
                for b in range(nb):
                    bank_bytes[b] = 0
                a = addr
                end_a = addr + c
                while a < end_a:
                    g_end = min(end_a, (a // sram_interleave + 1) * sram_interleave)
                    bank_bytes[(a // sram_interleave) % nb] += g_end - a
                    a = g_end
                leave = now
                longest = 0
                for b in range(nb):
                    if bank_bytes[b] > 0:
                        d = _duration(bank_bytes[b], res_num[RES_SRAM], res_den[RES_SRAM])
                        begin = max(now, bank_free[b])
                        bank_free[b] = begin + d
                        res_busy[RES_SRAM] += d
                        leave = max(leave, begin + d)
                        longest = max(longest, d)
                res_wait[RES_SRAM] += leave - now - longest
                x_res_time[x, RES_SRAM] += leave - now
                heap, size, seq = _leave(heap, size, seq, x, k, stage, leave, RES_SRAM, rem1, chunks_left, res_latency,
                                         True)
            elif dram_mode != DRAM_CYCLE:
                begin = max(now, res_free[RES_DRAM])
                d = _duration(c, res_num[RES_DRAM], res_den[RES_DRAM])
                res_free[RES_DRAM] = begin + d
                res_busy[RES_DRAM] += d
                res_wait[RES_DRAM] += begin - now
                x_res_time[x, RES_DRAM] += begin + d - now
                heap, size, seq = _leave(heap, size, seq, x, k, stage, begin + d, RES_DRAM, rem1, chunks_left,
                                         res_latency, True)
            else:
                j = job_free
                job_free = job_free_next[j]
                job_x[j] = x
                job_k[j] = k
                job_stage[j] = stage
                job_arrive[j] = now
                tx_submit(fe, tx, ff, j, xfer_addr[x] + offset, (c + burst_bytes - 1) // burst_bytes,
                          xfer_dir[x] != LOAD, (now * c_den) // c_num)
                heap, size, seq = _push(heap, size, seq, now, EV_DRAM, 0)
            continue

        if kind == EV_NOC_DONE:
            if ident >= 0:                   # a chunk finished: send it on, free its record
                r = ident
                x = rec_x[r]
                heap, size, seq = _leave(heap, size, seq, x, rec_k[r], rec_stage[r], now, RES_NOC, rem1, chunks_left,
                                         res_latency, True)
                rec_next[r] = free_head
                free_head = r
            noc_busy = False
            if q_count > 0:                  # arbitrate: next unit with a waiting chunk
                pick = -1
                for k in range(U):
                    v = k if noc_policy == ARB_FIXED_PRIORITY else (rr_last + 1 + k) % U
                    if q_head[v] >= 0:
                        pick = v
                        break
                rr_last = pick
                r = q_head[pick]
                q_head[pick] = rec_next[r]
                if q_head[pick] < 0:
                    q_tail[pick] = -1
                q_count -= 1
                d = _duration(rec_bytes[r], res_num[RES_NOC], res_den[RES_NOC])
                res_busy[RES_NOC] += d
                res_wait[RES_NOC] += now - rec_arrive[r]
                unit_noc_wait[pick] += now - rec_arrive[r]
                x_res_time[rec_x[r], RES_NOC] += now + d - rec_arrive[r]
                noc_busy = True
                heap, size, seq = _push(heap, size, seq, now + d, EV_NOC_DONE, r)
            continue

        if kind == EV_DRAM:
            if ident == 1 and dram_sched == now:  # this is the pending wake-up (ident 0: a hand-over)
                dram_sched = -1
            dram_cut = -1
            # Wake-ups that no other event precedes are taken here in a loop instead of through the
            # heap: the same steps in the same order (events and seq counted as if pushed).
            while True:
                d_now = (now * c_den) // c_num    # last DRAM edge at or before this core cycle
                n_fin, n_acc = tx_step(dp, d_sc, d_bank, d_q, d_stats, d_hist, fe, tx, ff, pf, acc, d_now,
                                       fin_ids, fin_cycles, acc_ids)
                for k in range(n_fin):
                    j = fin_ids[k]
                    t_fin = max(now, (fin_cycles[k] * c_num + c_den - 1) // c_den)
                    x = job_x[j]
                    spent = t_fin - job_arrive[j]
                    x_res_time[x, RES_DRAM] += spent
                    if tx[TX_ACCESS, j] > 0:    # the bursts' shares of waiting on banks, on refresh
                        x_res_time[x, HELD_DRAM_BANK] += spent * tx[TX_BANK, j] // tx[TX_ACCESS, j]
                        x_res_time[x, HELD_DRAM_REFRESH] += spent * tx[TX_REFRESH, j] // tx[TX_ACCESS, j]
                    heap, size, seq = _leave(heap, size, seq, x, job_k[j], job_stage[j], t_fin, RES_DRAM, rem1,
                                             chunks_left, res_latency, False)
                    job_free_next[j] = job_free
                    job_free = j
                for k in range(n_acc):              # a chunk wholly in the controller: the next may come
                    x = job_x[acc_ids[k]]
                    if job_stage[acc_ids[k]] == 1 and rem1[x] > 0:
                        heap, size, seq = _push(heap, size, seq, now, EV_STAGE1, x)
                next_other = heap[0, 0] if size > 0 else NEVER
                t_next = tx_lookahead(dp, d_sc, d_bank, d_q, d_stats, d_hist, fe, tx, ff, pf, acc, next_other)
                if t_next == NEVER:
                    break
                if t_next < 0:                      # cut at the next event: resumed after it (loop top)
                    dram_cut = next_other
                    break
                if size > 0 and heap[0, 0] <= t_next:
                    if dram_sched < 0 or t_next < dram_sched:
                        dram_sched = t_next
                        heap, size, seq = _push(heap, size, seq, t_next, EV_DRAM, 1)
                    break
                # nothing else happens before t_next: this is the EV_DRAM the heap would pop next
                seq += 1
                events += 1
                dram_sched = -1
                now = t_next
            continue

        wake_unit = -1
        done_tile = -1
        if kind == EV_XFER_DONE:
            x = ident
            i = xfer_tile[x]
            u = tile_unit[i]
            xfer_done[x] = now
            if xfer_dir[x] == LOAD:
                if xfer_kind[x] == KIND_WEIGHTS:
                    if now >= w_ready[i]:
                        w_ready[i] = now
                        w_last[i] = x
                else:
                    if now >= i_ready[i]:
                        i_ready[i] = now
                        i_last[i] = x
                loads_left[i] -= 1
                if loads_left[i] == 0:
                    wake_unit = u
            else:
                stores_left[i] -= 1
                if stores_left[i] == 0:
                    u_wb[u] -= 1
                    if u_out_blocked[u]:
                        u_out_free_at[u] = now
                    done_tile = i
                    wake_unit = u
        elif kind == EV_COMPUTE_DONE:
            i = ident
            u = tile_unit[i]
            u_busy[u] = False
            u_computed[u] += 1
            n_st = 0
            for x in range(xfer_start[i], xfer_start[i + 1]):
                if xfer_dir[x] != LOAD:
                    n_st += 1
                    heap, size, seq = _push(heap, size, seq, now, EV_STAGE1, x)
            stores_left[i] = n_st
            if n_st > 0:
                u_wb[u] += 1
            else:
                done_tile = i
            wake_unit = u
        else:  # EV_WAKE
            u = ident
            u_wake[u] = False
            # issue loads of as many tiles as the prefetch depth and dependencies allow
            while u_issue[u] < unit_start[u + 1] and u_issue[u] - unit_start[u] - u_computed[u] < depth:
                i = unit_tiles[u_issue[u]]
                ready = True
                dep_time = 0
                for k in range(dep_start[i], dep_start[i + 1]):
                    for g in range(dep_lo[k], dep_hi[k] + 1):
                        if region_left[g] > 0:
                            ready = False
                            break
                        dep_time = max(dep_time, region_done[g])
                    if not ready:
                        break
                if not ready:
                    u_dep_wait[u] = True
                    break
                times[i, 0] = now
                times[i, 1] = dep_time
                w_ready[i] = now
                i_ready[i] = now
                n_ld = 0
                for x in range(xfer_start[i], xfer_start[i + 1]):
                    if xfer_dir[x] == LOAD:
                        n_ld += 1
                        heap, size, seq = _push(heap, size, seq, now, EV_STAGE1, x)
                loads_left[i] = n_ld
                u_issue[u] += 1
            # start computing the next tile if its loads have landed and an output slot is free
            if not u_busy[u] and u_start[u] < u_issue[u]:
                i = unit_tiles[u_start[u]]
                if loads_left[i] == 0:
                    if u_wb[u] >= depth:
                        u_out_blocked[u] = True
                    else:
                        times[i, 5] = u_out_free_at[u] if u_out_blocked[u] else 0
                        u_out_blocked[u] = False
                        start = now + tile_setup[i]
                        times[i, 2] = start
                        times[i, 3] = start + tile_compute[i]
                        u_busy[u] = True
                        u_start[u] += 1
                        heap, size, seq = _push(heap, size, seq, times[i, 3], EV_COMPUTE_DONE, i)

        if done_tile >= 0:
            times[done_tile, 4] = now
            g = tile_region[done_tile]
            region_left[g] -= 1
            if region_left[g] == 0:
                region_done[g] = now
                for v in range(U):
                    if u_dep_wait[v]:
                        u_dep_wait[v] = False
                        if not u_wake[v]:
                            u_wake[v] = True
                            heap, size, seq = _push(heap, size, seq, now, EV_WAKE, v)
        if wake_unit >= 0 and not u_wake[wake_unit]:
            u_wake[wake_unit] = True
            heap, size, seq = _push(heap, size, seq, now, EV_WAKE, wake_unit)

    makespan = 0
    for i in range(T):
        makespan = max(makespan, times[i, 4])
    acc, acc_res = _account(times, w_ready, i_ready, w_last, i_last, x_res_time, tile_setup, unit_start,
                            unit_tiles)
    return times, acc, acc_res, xfer_done, res_busy, res_wait, unit_noc_wait, makespan, events


@njit(cache=True)
def _account(times, w_ready, i_ready, w_last, i_last, x_res_time, tile_setup, unit_start, unit_tiles):
    """Charge every gap before a tile's compute to exactly one cause (see module docstring)."""
    T = times.shape[0]
    acc = np.zeros((T, NUM_ACC), dtype=np.int64)
    acc_res = np.zeros((T, NUM_HELD), dtype=np.int64)
    U = unit_start.shape[0] - 1
    for u in range(U):
        prev_end = 0
        for pos in range(unit_start[u], unit_start[u + 1]):
            i = unit_tiles[pos]
            s0 = times[i, 2] - tile_setup[i]
            acc[i, ACC_SETUP] = tile_setup[i]
            dep = times[i, 1]
            if dep > prev_end:
                acc[i, ACC_DEPENDENCY] = min(dep, s0) - prev_end
            rest_from = max(prev_end, dep)
            if s0 > rest_from:
                w, inp, out = w_ready[i], i_ready[i], times[i, 5]
                x = -1
                if out >= w and out >= inp and out > rest_from:
                    acc[i, ACC_OUTPUTS] = s0 - rest_from
                elif w > inp:
                    acc[i, ACC_WEIGHTS] = s0 - rest_from
                    x = w_last[i]
                else:
                    acc[i, ACC_INPUTS] = s0 - rest_from
                    x = i_last[i]
                if x >= 0:
                    best = 0
                    for r in range(1, NUM_RESOURCES):
                        if x_res_time[x, r] > x_res_time[x, best]:
                            best = r
                    stall = s0 - rest_from
                    if best == RES_DRAM and x_res_time[x, RES_DRAM] > 0:
                        on_bank = stall * x_res_time[x, HELD_DRAM_BANK] // x_res_time[x, RES_DRAM]
                        in_ref = stall * x_res_time[x, HELD_DRAM_REFRESH] // x_res_time[x, RES_DRAM]
                        acc_res[i, HELD_DRAM_BANK] += on_bank
                        acc_res[i, HELD_DRAM_REFRESH] += in_ref
                        stall -= on_bank + in_ref
                    acc_res[i, best] += stall
            prev_end = times[i, 3]
    return acc, acc_res
