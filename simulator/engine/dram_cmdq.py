"""DRAMSim3's two-level controller: a transaction queue in front of per-bank command queues.

`memory.dram.controller.cmd_queue_size > 0` (the `dramsim3` controller preset sets 8). Per channel:
- requests enter a *transaction queue*: reads (and, without a write buffer, writes) up to
  queue_depth, writes up to write_buffer when there is one;
- every cycle, after that cycle's command, at most one request *moves* into its bank's *command
  queue* (cmd_queue_size entries): the oldest of the queue being served that fits. The write
  buffer is served during a *drain*, which starts when the buffer reaches its high watermark, or
  holds more than write_idle_drain_above writes while every command queue is empty, and moves the
  writes the buffer held when it started (the read queue waits meanwhile);
- the command of a cycle: while an all-bank refresh is pending (t >= ref_due), only the refresh's
  (a PRE of the lowest open bank legal now with per-bank precharge, or one PREA; then REF), else
  the bank queues are searched round robin from the one after the bank last served, and the
  first queue with a command legal now issues it: its requests in FIFO order, each asking for
  ACT (bank closed), RD/WR (row open to it) or PRE (another row open); only the queue's oldest
  request may precharge, and only when no request of the queue hits the open row or the row
  has served row_hit_cap column commands (a cap of 0: never for that reason).
This is DRAMSim3's controller.cc (ClockTick, ScheduleTransaction), command_queue.cc
(GetCommandToIssue, GetFirstReadyInQueue, ArbitratePrecharge) and channel_state.cc (refresh:
GetReadyCommand of a rank command) at commit 2981759; the timing rules and the bank state are
engine/dram.py's (`_can_issue`, `_issue_decision`), so only the scheduling differs.

Not modelled from DRAMSim3: merging a read with a queued read or write of the same address, and
the write-after-read hold of a write behind a read of the same column (the reference streams
have neither). The kernels step cycles (skipping those where every queue is empty and no refresh
is due). Two drivers use them: `_cq_stream` (whole streams: simulate_requests, `npusim dram
replay`) and, in simulations, the engine's front end (engine/dram_frontend.py, `_cq_cycle_all`:
per cycle each channel's `_cq_issue`, then the front end's transactions into the transaction
queues, then each channel's `_cq_move`; `_cq_may_move` and `_cq_command_bound` let it skip the
cycles where nothing can change; it keeps cs and tq in its `fe`, `_cq_views`).
tests/naive/dram.py implements the same rules and agrees, and tests/naive/engine.py (rule D7)
drives them as the engine does.

State beside DramState: `cs[C, CS_SIZE + NB]` (scalars, then each bank's command-queue length) and
`tq[C, 2, TQ]` (the transaction queue's slots, oldest first: [0] reads or all, [1] writes).
A request keeps its DramState queue slot from entering the transaction queue to its column
command; in a command queue it is on its bank's list (BK_HEAD ... QF_NEXT).
"""
import numpy as np
from numba import njit

from simulator.engine.constants import NEVER
from simulator.engine.dram import (BK_HEAD, BK_HITS, BK_OPEN_ROW, CMD_ACT, CMD_PRE,
                                   CMD_PREA, CMD_RD, CMD_REF, CMD_WR, P_BANKS, P_CHANNELS, P_CMD_QUEUE,
                                   P_QUEUE_DEPTH, P_REF_PRE_PER_BANK, P_ROW_HIT_CAP, P_TCK_PS,
                                   P_WRITE_BUFFER, P_WRITE_HIGH, P_WRITE_IDLE_DRAIN, QF_BANK, QF_NEXT,
                                   QF_ROW, QF_WRITE, SC_CUR, SC_FREE, SC_LAST_VIS, SC_Q_N, SC_Q_WRITES,
                                   SC_REF_DUE, _bank_append, _can_issue, _earliest, _issue_decision, _ready,
                                   _take_slot)
from simulator.engine.jit import kernel

# cs: int64[C, CS_SIZE + NB]
CS_RR = 0          # bank whose queue issued the last queue command (the search starts after it)
CS_DRAIN = 1       # writes the current drain has still to move; 0 = serving reads
CS_TQ_N = 2        # transaction queue entries: [CS_TQ_N] reads (or all), [CS_TQ_N + 1] writes
CS_TQ_W = 3
CS_CQ_N = 4        # requests in the command queues
CS_SIZE = 5        # then: CS_SIZE + b = length of bank b's command queue


def cmdq_state_new(channels: int, banks: int, tq_capacity: int) -> tuple[np.ndarray, np.ndarray]:
    """(cs, tq) of empty queues (the search starts at bank 1, as DRAMSim3's queue index is 0)."""
    return (np.zeros((channels, CS_SIZE + banks), np.int64),
            np.zeros((channels, 2, max(tq_capacity, 1)), np.int64))


def cmdq_flat_size(channels: int, banks: int, tq_capacity: int) -> int:
    """int64 entries of (cs, tq) laid end to end (the engine's front end keeps them in its `fe`)."""
    return channels * (CS_SIZE + banks) + channels * 2 * max(tq_capacity, 1)


@kernel
def _cq_views(p, flat, base):
    """(cs, tq) as views of flat[base:] (cmdq_flat_size entries; tq capacity max(queue depth,
    write buffer), as resources/dram.cmdq_state_new_for)."""
    c = p[P_CHANNELS]
    w = CS_SIZE + p[P_BANKS]
    n = max(p[P_QUEUE_DEPTH], p[P_WRITE_BUFFER], 1)
    a = base + c * w
    return flat[base:a].reshape((c, w)), flat[a:a + c * 2 * n].reshape((c, 2, n))


@kernel
def _cq_has_room(p, cs, ch, is_write):
    """True if channel ch's transaction queue (for writes with a write buffer: the buffer) takes one more."""
    if is_write and p[P_WRITE_BUFFER] > 0:
        return cs[ch, CS_TQ_W] < p[P_WRITE_BUFFER]
    return cs[ch, CS_TQ_N] < p[P_QUEUE_DEPTH]


@kernel
def _cq_enqueue(p, sc, q, cs, tq, ch, req_id, b, row, is_write, vis, arr_ps, arr_up):
    """Put a decoded request at the end of channel ch's transaction queue (room checked by the caller)."""
    s = sc[ch, SC_FREE]
    w = 1 if is_write else 0
    _take_slot(sc, q, ch, s, req_id, b, row, w, vis, arr_ps, arr_up)
    sc[ch, SC_LAST_VIS] = vis
    sc[ch, SC_Q_N] += 1
    sc[ch, SC_Q_WRITES] += w
    kind = 1 if (w == 1 and p[P_WRITE_BUFFER] > 0) else 0
    tq[ch, kind, cs[ch, CS_TQ_N + kind]] = s
    cs[ch, CS_TQ_N + kind] += 1


@kernel
def _cq_command(p, sc, bank, q, cs, ch, t):
    """(cmd, bank, slot) channel ch issues at cycle t, or (-1, -1, -1): the refresh's while one is
    pending, else the first legal command of the bank queues searched round robin."""
    nb = p[P_BANKS]
    if t >= sc[ch, SC_REF_DUE]:
        any_open = False
        for b in range(nb):
            if bank[ch, b, BK_OPEN_ROW] >= 0:
                any_open = True
                if p[P_REF_PRE_PER_BANK] and _can_issue(p, sc, bank, ch, CMD_PRE, b, -1, t):
                    return CMD_PRE, b, -1
        if not any_open:
            if _can_issue(p, sc, bank, ch, CMD_REF, 0, -1, t):
                return CMD_REF, -1, -1
        elif not p[P_REF_PRE_PER_BANK] and _can_issue(p, sc, bank, ch, CMD_PREA, 0, -1, t):
            return CMD_PREA, -1, -1
        return -1, -1, -1
    cap = p[P_ROW_HIT_CAP]
    rr = cs[ch, CS_RR]
    for i in range(1, nb + 1):
        b = (rr + i) % nb
        h = bank[ch, b, BK_HEAD]
        if h < 0:
            continue
        r = bank[ch, b, BK_OPEN_ROW]
        if r < 0:                       # every request asks for the ACT: the oldest's is the one
            if _can_issue(p, sc, bank, ch, CMD_ACT, b, q[ch, QF_ROW, h], t):
                return CMD_ACT, b, h
            continue
        rd_ok = t >= _ready(p, bank, ch, b, CMD_RD)
        wr_ok = t >= _ready(p, bank, ch, b, CMD_WR)
        s = h
        while s >= 0:
            if q[ch, QF_ROW, s] == r:
                if wr_ok if q[ch, QF_WRITE, s] else rd_ok:
                    return (CMD_WR if q[ch, QF_WRITE, s] else CMD_RD), b, s
            elif s == h and t >= _ready(p, bank, ch, b, CMD_PRE):
                allowed = cap > 0 and bank[ch, b, BK_HITS] >= cap
                if not allowed:         # no request of the queue hits the open row
                    allowed = True
                    x = h
                    while x >= 0:
                        if q[ch, QF_ROW, x] == r:
                            allowed = False
                            break
                        x = q[ch, QF_NEXT, x]
                if allowed:
                    return CMD_PRE, b, h
            s = q[ch, QF_NEXT, s]
    return -1, -1, -1


@kernel
def _cq_drain_due(p, cs, ch, flush):
    """A write drain starts now (none running): the buffer at its high watermark, or writes waiting
    while every command queue is empty and the stream has no request left (`flush`) or the buffer
    holds more than write_idle_drain_above."""
    nw = cs[ch, CS_TQ_W]
    idle = p[P_WRITE_IDLE_DRAIN]
    return nw >= p[P_WRITE_HIGH] or (cs[ch, CS_CQ_N] == 0 and nw > 0 and (flush or (idle > 0 and nw > idle)))


@kernel
def _cq_move(p, bank, q, cs, tq, ch, flush):
    """After the cycle's command: move the oldest request of the queue being served whose bank's
    command queue has room (at most one); start a write drain first if one is due. `flush`: the
    stream has no request left to offer, so a drain also starts, whatever the buffer holds, once
    the command queues are empty (else the last few writes would wait for ever)."""
    kind = 0
    if p[P_WRITE_BUFFER] > 0:
        if cs[ch, CS_DRAIN] == 0 and _cq_drain_due(p, cs, ch, flush):
            cs[ch, CS_DRAIN] = cs[ch, CS_TQ_W]
        if cs[ch, CS_DRAIN] > 0:
            kind = 1
    n = cs[ch, CS_TQ_N + kind]
    cap = p[P_CMD_QUEUE]
    for k in range(n):
        s = tq[ch, kind, k]
        b = q[ch, QF_BANK, s]
        if cs[ch, CS_SIZE + b] < cap:
            if kind == 1:
                cs[ch, CS_DRAIN] -= 1
            for j in range(k, n - 1):
                tq[ch, kind, j] = tq[ch, kind, j + 1]
            cs[ch, CS_TQ_N + kind] = n - 1
            _bank_append(bank, q, ch, b, s)
            cs[ch, CS_SIZE + b] += 1
            cs[ch, CS_CQ_N] += 1
            return


@kernel
def _cq_issue(p, sc, bank, q, cs, stats, hist, ch, t):
    """Channel ch's command at cycle t, if it has one, issued: what _issue_decision returns
    ((-1, -1, 0, 0, 0) but for a column command, which takes its request out of its command queue)."""
    cmd, b, s = _cq_command(p, sc, bank, q, cs, ch, t)
    if cmd < 0:
        return -1, -1, 0, 0, 0
    d, rid, access, on_bank, in_ref = _issue_decision(p, sc, bank, q, stats, hist, ch, t, cmd, b, s)
    if s >= 0:
        cs[ch, CS_RR] = b
    if d >= 0:
        cs[ch, CS_SIZE + b] -= 1
        cs[ch, CS_CQ_N] -= 1
    return d, rid, access, on_bank, in_ref


@kernel
def _cq_may_move(p, bank, q, cs, tq, ch, flush):
    """True if _cq_move would change anything now (start a drain or move a request); changes nothing."""
    kind = 0
    if p[P_WRITE_BUFFER] > 0:
        if cs[ch, CS_DRAIN] == 0:
            if _cq_drain_due(p, cs, ch, flush):
                return True
        else:
            kind = 1
    cap = p[P_CMD_QUEUE]
    for k in range(cs[ch, CS_TQ_N + kind]):
        if cs[ch, CS_SIZE + q[ch, QF_BANK, tq[ch, kind, k]]] < cap:
            return True
    return False


@kernel
def _cq_command_bound(p, sc, bank, q, ch, t):
    """A cycle >= t before which channel ch issues no command while its state stays as it is (no
    command, move or refresh in between): its refresh's next command while one is pending, else
    the earliest of the refresh falling due and each queued request's next command's timing
    (ACT of a closed bank, RD/WR of a hit, PRE of a bank's oldest request to another row)."""
    if t >= sc[ch, SC_REF_DUE]:               # _cq_command's refresh branch, as earliest times
        e = NEVER
        any_open = False
        for b in range(p[P_BANKS]):
            if bank[ch, b, BK_OPEN_ROW] >= 0:
                any_open = True
                if p[P_REF_PRE_PER_BANK]:
                    e = min(e, _earliest(p, sc, bank, ch, CMD_PRE, b))
        if not any_open:
            e = _earliest(p, sc, bank, ch, CMD_REF, 0)
        elif not p[P_REF_PRE_PER_BANK]:
            e = _earliest(p, sc, bank, ch, CMD_PREA, 0)
        return max(t, e)
    e = sc[ch, SC_REF_DUE]
    for b in range(p[P_BANKS]):
        h = bank[ch, b, BK_HEAD]
        if h < 0:
            continue
        r = bank[ch, b, BK_OPEN_ROW]
        if r < 0:
            e = min(e, _earliest(p, sc, bank, ch, CMD_ACT, b))
        else:
            if q[ch, QF_ROW, h] != r:
                e = min(e, _ready(p, bank, ch, b, CMD_PRE))
            s = h
            while s >= 0:
                if q[ch, QF_ROW, s] == r:
                    e = min(e, _ready(p, bank, ch, b, CMD_WR if q[ch, QF_WRITE, s] else CMD_RD))
                s = q[ch, QF_NEXT, s]
        if e <= t:
            return t
    return e


@kernel
def _cq_cycle(p, sc, bank, q, cs, tq, stats, hist, ch, t, done, flush):
    """Channel ch's cycle t: its command (a column command writes its request's finish cycle to
    done[id]), then the move. True if the channel still holds requests."""
    d, rid, _, _, _ = _cq_issue(p, sc, bank, q, cs, stats, hist, ch, t)
    if d >= 0:
        done[rid] = d
    _cq_move(p, bank, q, cs, tq, ch, flush)
    return sc[ch, SC_Q_N] > 0


@kernel
def _cq_stream(p, sc, bank, q, cs, tq, stats, hist, arrival_ps, ch_of, bank_of, row_of, is_write, done,
               accepted, min_gap):
    """A whole stream through the two-level controllers, cycle by cycle.

    Front end in order: request i is accepted at the first cycle t >= its arrival cycle (arrival
    ps // tCK) and >= the acceptance of request i-1 plus min_gap (1: one a cycle, as DRAMSim3's
    trace front end) at which its transaction queue has room, checked before cycle t's command;
    it may move at the end of cycle t and issue from t + 1 (its `vis`). A refused request blocks
    the ones behind it. Idle stretches (every queue empty, no refresh due) are skipped, and so are
    frozen ones (_cq_stream_next). Once every request is accepted, the write buffer drains
    whatever it holds when the command queues empty.
    """
    tck = p[P_TCK_PS]
    nch = p[P_CHANNELS]
    n = arrival_ps.shape[0]
    i = 0
    last = -(1 << 40)
    t = 0
    while True:
        while i < n:
            a = max(arrival_ps[i] // tck, last + min_gap)
            if a > t:
                break
            ch = ch_of[i]
            if not _cq_has_room(p, cs, ch, is_write[i] != 0):
                break
            _cq_enqueue(p, sc, q, cs, tq, ch, i, bank_of[i], row_of[i], is_write[i] != 0, t + 1, arrival_ps[i],
                        -(-arrival_ps[i] // tck))
            accepted[i] = t
            last = t
            i += 1
        busy = False
        for ch in range(nch):
            if _cq_cycle(p, sc, bank, q, cs, tq, stats, hist, ch, t, done, i == n):
                busy = True
        if not busy:
            if i == n:
                break
            nxt = max(arrival_ps[i] // tck, last + min_gap)
            for ch in range(nch):
                nxt = min(nxt, sc[ch, SC_REF_DUE])
            t = max(t + 1, nxt)
        else:
            t = _cq_stream_next(p, sc, bank, q, cs, tq, t + 1, i, arrival_ps, ch_of, is_write, last, min_gap)
    for ch in range(nch):
        sc[ch, SC_CUR] = max(sc[ch, SC_CUR], t + 1)


@kernel
def _cq_stream_next(p, sc, bank, q, cs, tq, t, i, arrival_ps, ch_of, is_write, last, min_gap):
    """_cq_stream's next cycle from t: t itself unless every channel's state is frozen there (no
    move possible, request i not acceptable), else the first cycle a command may become legal or
    request i arrives (skipped cycles would change nothing)."""
    n = arrival_ps.shape[0]
    nxt = NEVER
    if i < n:
        w = is_write[i] != 0
        if _cq_has_room(p, cs, ch_of[i], w):
            a = max(arrival_ps[i] // p[P_TCK_PS], last + min_gap)
            if a <= t:
                return t
            nxt = a
    for ch in range(p[P_CHANNELS]):
        if _cq_may_move(p, bank, q, cs, tq, ch, i == n):
            return t
        nxt = min(nxt, _cq_command_bound(p, sc, bank, q, ch, t))
        if nxt <= t:
            return t
    return max(t, nxt)


@njit(cache=True)
def cmdq_simulate_stream(tb, st, cs, tq, arrival_ps, ch_of, bank_of, row_of, is_write):
    """simulate_stream (engine/dram.py) through the two-level controller: each request's finish cycle."""
    n = arrival_ps.shape[0]
    done = np.full(n, -1, np.int64)
    accepted = np.zeros(n, np.int64)
    _cq_stream(tb.p, st.sc, st.bank, st.q, cs, tq, st.stats, st.lat_hist, arrival_ps, ch_of, bank_of, row_of,
               is_write, done, accepted, 0)
    return done


@njit(cache=True)
def cmdq_replay_stream(tb, st, cs, tq, cycle, ch_of, bank_of, row_of, is_write):
    """replay_stream (engine/dram.py) through the two-level controller: (finish, accepted) cycles."""
    n = cycle.shape[0]
    done = np.full(n, -1, np.int64)
    accepted = np.zeros(n, np.int64)
    _cq_stream(tb.p, st.sc, st.bank, st.q, cs, tq, st.stats, st.lat_hist, cycle * tb.p[P_TCK_PS], ch_of, bank_of,
               row_of, is_write, done, accepted, 1)
    return done, accepted
