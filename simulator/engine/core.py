"""The event loop: tiles on units, transfers through resources, every unit cycle accounted for.

Semantics (docs/architecture.md has the long form):
- A unit runs its tiles in order. Tile i's loads issue when fewer than `depth` of the unit's
  tiles are issued and not yet computed, and every region it reads is done.
- A transfer moves in chunks along two resources: memory then interconnect for a load,
  interconnect then memory for a store. Each resource serves chunks first come, first served, at
  its rate (ceil(bytes * den / num) cycles), and a chunk reaches the next stage `latency` cycles
  after it leaves one. A transfer's next chunk joins the queue when its previous chunk leaves,
  so concurrent transfers interleave chunk by chunk.
- Compute starts when the unit is free, every load has landed and fewer than `depth` of the
  unit's write-backs are pending, plus the tile's setup cycles; stores issue when it ends.
- A tile is done when its stores land; a region is done when all its tiles are.
Accounting: the gap before a tile's compute is charged to the dependency up to the time its
regions were done, then to whichever of weights, inputs and the output slot became ready last.
"""
import numpy as np
from numba import njit

from simulator.engine.constants import (ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS,
                                        CHUNK_BYTES, EV_COMPUTE_DONE, EV_STAGE1, EV_STAGE2, EV_WAKE,
                                        EV_XFER_DONE, KIND_WEIGHTS, KIND_OUTPUTS, LOAD, NUM_ACC,
                                        NUM_RESOURCES, RES_NOC)
from simulator.engine.events import heap_new, heap_pop, heap_push


@njit(cache=True)
def _duration(nbytes, num, den):
    return (nbytes * den + num - 1) // num


@njit(cache=True)
def run_program(tile_unit, tile_compute, tile_setup, tile_region, dep_start, dep_lo, dep_hi,
                xfer_start, xfer_kind, xfer_dir, xfer_mem, xfer_bytes, region_tiles, unit_start, unit_tiles,
                res_num, res_den, res_latency, depth):
    """Simulate a tile program. Returns (times[T, 6], acc[T, NUM_ACC], xfer_done[X], res_busy[R], makespan, events).

    times columns: issue, dependency ready, start (after setup), end, done, out-slot ready.
    """
    T = tile_unit.shape[0]
    X = xfer_bytes.shape[0]
    U = unit_start.shape[0] - 1
    G = region_tiles.shape[0]

    times = np.zeros((T, 6), dtype=np.int64)
    w_ready = np.zeros(T, dtype=np.int64)
    i_ready = np.zeros(T, dtype=np.int64)
    loads_left = np.zeros(T, dtype=np.int64)
    stores_left = np.zeros(T, dtype=np.int64)
    rem1 = xfer_bytes.copy()
    rem2 = xfer_bytes.copy()
    xfer_done = np.full(X, -1, dtype=np.int64)
    xfer_tile = np.zeros(X, dtype=np.int64)
    for i in range(T):
        for x in range(xfer_start[i], xfer_start[i + 1]):
            xfer_tile[x] = i
    region_left = region_tiles.astype(np.int64).copy()
    region_done = np.zeros(G, dtype=np.int64)

    u_issue = unit_start[:-1].copy()        # position of the next tile to issue
    u_start = unit_start[:-1].copy()        # position of the next tile to start computing
    u_computed = np.zeros(U, dtype=np.int64)  # tiles whose compute has ended
    u_busy = np.zeros(U, dtype=np.bool_)
    u_wb = np.zeros(U, dtype=np.int64)      # write-backs pending
    u_wake = np.zeros(U, dtype=np.bool_)
    u_dep_wait = np.zeros(U, dtype=np.bool_)
    u_out_blocked = np.zeros(U, dtype=np.bool_)
    u_out_free_at = np.zeros(U, dtype=np.int64)

    res_free = np.zeros(NUM_RESOURCES, dtype=np.int64)
    res_busy = np.zeros(NUM_RESOURCES, dtype=np.int64)

    heap = heap_new(4 * U + 2 * X + 64)
    size = 0
    seq = 0
    for u in range(U):
        heap = heap_push(heap, size, 0, seq, EV_WAKE, u)
        size += 1
        seq += 1
        u_wake[u] = True
    events = 0
    now = 0
    while size > 0:
        heap_pop(heap, size)
        size -= 1
        now = heap[size, 0]
        kind = heap[size, 2]
        ident = heap[size, 3]
        events += 1

        if kind == EV_STAGE1 or kind == EV_STAGE2:
            x = ident
            load = xfer_dir[x] == LOAD
            if kind == EV_STAGE1:
                res = xfer_mem[x] if load else RES_NOC
                c = min(CHUNK_BYTES, rem1[x])
                rem1[x] -= c
            else:
                res = RES_NOC if load else xfer_mem[x]
                c = min(CHUNK_BYTES, rem2[x])
                rem2[x] -= c
            begin = max(now, res_free[res])
            d = _duration(c, res_num[res], res_den[res])
            end = begin + d
            res_free[res] = end
            res_busy[res] += d
            if kind == EV_STAGE1:
                heap = heap_push(heap, size, end + res_latency[res], seq, EV_STAGE2, x)
                size += 1
                seq += 1
                if rem1[x] > 0:
                    heap = heap_push(heap, size, end, seq, EV_STAGE1, x)
                    size += 1
                    seq += 1
            elif rem2[x] == 0:
                heap = heap_push(heap, size, end + res_latency[res], seq, EV_XFER_DONE, x)
                size += 1
                seq += 1
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
                    w_ready[i] = max(w_ready[i], now)
                else:
                    i_ready[i] = max(i_ready[i], now)
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
                    heap = heap_push(heap, size, now, seq, EV_STAGE1, x)
                    size += 1
                    seq += 1
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
                        heap = heap_push(heap, size, now, seq, EV_STAGE1, x)
                        size += 1
                        seq += 1
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
                        heap = heap_push(heap, size, times[i, 3], seq, EV_COMPUTE_DONE, i)
                        size += 1
                        seq += 1

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
                            heap = heap_push(heap, size, now, seq, EV_WAKE, v)
                            size += 1
                            seq += 1
        if wake_unit >= 0 and not u_wake[wake_unit]:
            u_wake[wake_unit] = True
            heap = heap_push(heap, size, now, seq, EV_WAKE, wake_unit)
            size += 1
            seq += 1

    makespan = 0
    for i in range(T):
        makespan = max(makespan, times[i, 4])
    acc = _account(times, w_ready, i_ready, tile_setup, unit_start, unit_tiles)
    return times, acc, xfer_done, res_busy, makespan, events


@njit(cache=True)
def _account(times, w_ready, i_ready, tile_setup, unit_start, unit_tiles):
    """Charge every gap before a tile's compute to exactly one cause (see module docstring)."""
    T = times.shape[0]
    acc = np.zeros((T, NUM_ACC), dtype=np.int64)
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
                if out >= w and out >= inp and out > rest_from:
                    acc[i, ACC_OUTPUTS] = s0 - rest_from
                elif w > inp:
                    acc[i, ACC_WEIGHTS] = s0 - rest_from
                else:
                    acc[i, ACC_INPUTS] = s0 - rest_from
            prev_end = times[i, 3]
    return acc
