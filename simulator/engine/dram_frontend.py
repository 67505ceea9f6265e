"""The cycle-level DRAM's front end, as the event engine sees it: transactions in, events out.

The engine hands the DRAM whole chunks ("transactions" of consecutive bursts, named by the
engine's job slot). The front end keeps them in one in-order FIFO and runs in the DRAM clock:
- at the end of every DRAM cycle t (after the controllers decided t), it moves bursts of the
  head transaction into their channel's queue, visible from t + 1, while that queue has room;
  the first refusal stops it (head-of-line blocking) until a slot frees. A transaction handed
  over at core cycle `now` may move from DRAM cycle d(now) = floor(now * den / num), the last
  DRAM edge at or before `now`;
- a transaction is *accepted* at the cycle its last burst moved, and *finished* at the cycle
  the data of its last burst finished (the latest of its bursts').
The engine needs to hear of two things only, each at the core cycle T(t) = ceil(t * num / den)
of the DRAM cycle t it happened: an acceptance (the transfer's next chunk may come) and a
finish (the chunk leaves the DRAM). So instead of waking at every DRAM command, the engine calls
`tx_lookahead`, which decides ahead to the first such event - never past the core cycle of the
engine's next other event, since that one may hand over more work - and wakes only then. If the
search is cut there, the engine calls it again once every event at that cycle has run (rules
D1-D5 in tests/naive/engine.py, which the naive engine implements literally).

Channels are decided in lockstep (the earliest next command of any channel first, ties to the
lower channel), because a slot freed on one channel lets bursts into every channel.

With command queues (controller.cmd_queue_size > 0: DRAMSim3's two-level controller,
engine/dram_cmdq.py; the record is a CmdqDram and the engine calls `cq_tx_step` and
`cq_tx_lookahead`) the bursts move into the channels' transaction queues (reads, or all; writes
into the write buffer if there is one) under the same head-of-line rule, and the DRAM is
stepped one cycle at a time instead (`_cq_cycle_all`: every channel's command, then the front
end, then every channel's move from its transaction queue into a bank's command queue). Cycles
where nothing can change are skipped (`_cq_next_cycle`: no move possible and the FIFO's head
refused, up to the first cycle a command may become legal). Acceptances and finishes reach the
engine as above. The FIFO being empty counts as "no request left to offer": a write drain then
starts whatever the buffer holds once the command queues are empty. Rule D7 in
tests/naive/engine.py.

State: `fe` (scalars, FE_*), `tx[TX_*, J]` per transaction slot, `ff[J]` the FIFO ring, `pf[J]`
transactions whose every burst has issued (finish cycle known), in the order that became known,
`acc[J]` acceptances not yet reported; with command queues, fe[FE_SIZE:] holds their state (cs,
tq of engine/dram_cmdq.py). All functions but `front_end_new` (plain numpy) are
kernels (engine/jit.py); engine/dram_cycle.py is their one caller.
"""
import numpy as np

from simulator.engine.constants import NEVER
from simulator.engine.dram import (P_BURST_BYTES, P_CHANNELS, P_CORE_DEN, P_CORE_NUM, P_TCK_PS, SC_CUR, SC_Q_N,
                                   SC_REF_DUE, _decide, _decode, _enqueue_at, _issue_decision)
from simulator.engine.dram_cmdq import (_cq_command_bound, _cq_enqueue, _cq_has_room, _cq_issue, _cq_may_move,
                                        _cq_move, _cq_views)
from simulator.engine.jit import kernel

# front-end scalars fe: int64[FE_SIZE]
FE_HEAD = 0        # FIFO ring: position of the head
FE_N = 1           # transactions in the FIFO
FE_BLOCK_CH = 2    # channel whose full queue holds the head back, -1 none
FE_PF_N = 3        # entries of pf
FE_ACC_N = 4       # entries of acc
FE_NEXT_CH = 5     # decoded channel, bank, row of the head's next burst (FE_NEXT_CH < 0: not decoded)
FE_NEXT_BANK = 6
FE_NEXT_ROW = 7
FE_SIZE = 8

# per transaction tx: int64[TX_SIZE, J]
TX_ADDR = 0        # address of the next burst to move
TX_LEFT = 1        # bursts not yet moved
TX_UNISSUED = 2    # bursts whose column command has not issued
TX_FIN = 3         # latest data-finish cycle of its issued bursts
TX_WRITE = 4
TX_ELIG = 5        # first DRAM cycle it may move
TX_ACCESS = 6      # sums over its bursts of what _issue_decision reports: visible -> data finished,
TX_BANK = 7        # on bank timing,
TX_REFRESH = 8     # in a refresh
TX_SIZE = 9
# what tx_step found, in the engine record's out: int64[3, J]
OUT_FIN = 0          # finished slots, in the order their finish became known
OUT_FIN_CYCLE = 1    # their finish DRAM cycles
OUT_ACC = 2          # accepted slots, in acceptance order


def front_end_new(slots, cmdq_size=0):
    """(fe, tx, ff, pf, acc) for transaction slots 0 .. slots - 1; with command queues, fe holds
    their state (cs, tq) after its scalars (cmdq_size = dram_cmdq.cmdq_flat_size entries)."""
    fe = np.zeros(FE_SIZE + cmdq_size, np.int64)
    fe[FE_BLOCK_CH] = -1
    fe[FE_NEXT_CH] = -1
    return (fe, np.zeros((TX_SIZE, slots), np.int64), np.zeros(slots, np.int64),
            np.zeros(slots, np.int64), np.zeros(slots, np.int64))


@kernel
def tx_submit(fe, tx, ff, j, addr, n_bursts, is_write, d_now):
    """Hand over transaction j (n_bursts bursts from addr) at the core cycle whose DRAM cycle is d_now."""
    tx[TX_ADDR, j] = addr
    tx[TX_LEFT, j] = n_bursts
    tx[TX_UNISSUED, j] = n_bursts
    tx[TX_FIN, j] = 0
    tx[TX_WRITE, j] = 1 if is_write else 0
    tx[TX_ELIG, j] = d_now
    tx[TX_ACCESS, j] = 0
    tx[TX_BANK, j] = 0
    tx[TX_REFRESH, j] = 0
    ff[(fe[FE_HEAD] + fe[FE_N]) % ff.shape[0]] = j
    fe[FE_N] += 1


@kernel
def _head_burst(p, fe, tx, ff, acc, t):
    """The FIFO's head transaction if it may move a burst at DRAM cycle t (its next burst decoded
    into FE_NEXT_*), else -1. A head with no burst left is accepted first."""
    while fe[FE_N] > 0:
        j = ff[fe[FE_HEAD]]
        if tx[TX_ELIG, j] > t:
            return -1
        if tx[TX_LEFT, j] > 0:
            if fe[FE_NEXT_CH] < 0:             # decoded once, however often it is refused
                fe[FE_NEXT_CH], fe[FE_NEXT_BANK], fe[FE_NEXT_ROW] = _decode(p, tx[TX_ADDR, j])
            return j
        _accept_head(fe, ff, acc, j)
    return -1


@kernel
def _accept_head(fe, ff, acc, j):
    """The head transaction j moved its last burst: out of the FIFO, accepted."""
    fe[FE_HEAD] = (fe[FE_HEAD] + 1) % ff.shape[0]
    fe[FE_N] -= 1
    acc[fe[FE_ACC_N]] = j
    fe[FE_ACC_N] += 1


@kernel
def _burst_moved(p, fe, tx, ff, acc, j):
    """The head transaction j's next burst entered its queue."""
    fe[FE_NEXT_CH] = -1
    tx[TX_ADDR, j] += p[P_BURST_BYTES]
    tx[TX_LEFT, j] -= 1
    if tx[TX_LEFT, j] == 0:
        _accept_head(fe, ff, acc, j)


@kernel
def _fill(p, sc, bank, q, fe, tx, ff, acc, t):
    """The front end at the end of DRAM cycle t: move bursts, head first, while queues take them."""
    tck = p[P_TCK_PS]
    fe[FE_BLOCK_CH] = -1
    while True:
        j = _head_burst(p, fe, tx, ff, acc, t)
        if j < 0:
            return
        ch = fe[FE_NEXT_CH]
        if not _enqueue_at(p, sc, bank, q, t + 1, j, ch, fe[FE_NEXT_BANK], fe[FE_NEXT_ROW],
                           tx[TX_WRITE, j] != 0, t * tck, t):
            fe[FE_BLOCK_CH] = ch
            return
        _burst_moved(p, fe, tx, ff, acc, j)


@kernel
def _next_command(p, sc, bank, q):
    """(cycle, channel) of the earliest next command over the channels (ties: lower channel)."""
    best_t = NEVER
    best_c = -1
    for c in range(p[P_CHANNELS]):
        t = _decide(p, sc, bank, q, c, sc[c, SC_CUR])[0]
        if t < best_t:
            best_t = t
            best_c = c
    return best_t, best_c


@kernel
def _issue_next(p, sc, bank, q, stats, hist, fe, tx, ff, pf, acc, c):
    """Issue channel c's next command; then the bookkeeping of a column command and the refill."""
    t, cmd, b, s = _decide(p, sc, bank, q, c, sc[c, SC_CUR])
    done, j, access, on_bank, in_ref = _issue_decision(p, sc, bank, q, stats, hist, c, t, cmd, b, s)
    sc[c, SC_CUR] = t + 1
    if done < 0:
        return
    _issued(fe, tx, pf, j, done, access, on_bank, in_ref)
    if fe[FE_BLOCK_CH] == c:
        _fill(p, sc, bank, q, fe, tx, ff, acc, t)


@kernel
def _issued(fe, tx, pf, j, done, access, on_bank, in_ref):
    """A burst of transaction j had its column command (data done at `done`): its sums, and its
    finish known once it was the last."""
    tx[TX_ACCESS, j] += access
    tx[TX_BANK, j] += on_bank
    tx[TX_REFRESH, j] += in_ref
    if done > tx[TX_FIN, j]:
        tx[TX_FIN, j] = done
    tx[TX_UNISSUED, j] -= 1
    if tx[TX_UNISSUED, j] == 0:
        pf[fe[FE_PF_N]] = j
        fe[FE_PF_N] += 1


@kernel
def _report(fe, tx, pf, acc, out, d_now):
    """tx_step's answer once every DRAM cycle <= d_now is decided (see there)."""
    fin_ids, fin_cycles, acc_ids = out[OUT_FIN], out[OUT_FIN_CYCLE], out[OUT_ACC]
    n_fin = 0
    keep = 0
    for k in range(fe[FE_PF_N]):
        j = pf[k]
        if tx[TX_FIN, j] <= d_now:
            fin_ids[n_fin] = j
            fin_cycles[n_fin] = tx[TX_FIN, j]
            n_fin += 1
        else:
            pf[keep] = j
            keep += 1
    fe[FE_PF_N] = keep
    n_acc = fe[FE_ACC_N]
    for k in range(n_acc):
        acc_ids[k] = acc[k]
    fe[FE_ACC_N] = 0
    return n_fin, n_acc


@kernel
def tx_step(dram, now):
    """Decide every DRAM cycle <= d(now) (front end included); report what the engine must hear.

    `dram` is the engine's CycleDram record, `now` a core cycle. Writes the transactions
    finished by d(now) to dram.out[OUT_FIN] / [OUT_FIN_CYCLE] (in the order their finish became
    known) and those accepted since the last call to dram.out[OUT_ACC] (in acceptance order);
    returns (finished, accepted). A finished transaction's TX_ACCESS/TX_BANK/TX_REFRESH stay
    readable until its slot is handed over again.
    """
    p, st, fe, tx, ff, pf, acc = dram.tb.p, dram.st, dram.fe, dram.tx, dram.ff, dram.pf, dram.acc
    sc, bank, q, stats, hist = st.sc, st.bank, st.q, st.stats, st.lat_hist
    d_now = (now * p[P_CORE_DEN]) // p[P_CORE_NUM]      # last DRAM edge at or before `now`
    while True:
        t, c = _next_command(p, sc, bank, q)
        if t > d_now:
            break
        _issue_next(p, sc, bank, q, stats, hist, fe, tx, ff, pf, acc, c)
    for c in range(p[P_CHANNELS]):
        sc[c, SC_CUR] = max(sc[c, SC_CUR], d_now + 1)
    _fill(p, sc, bank, q, fe, tx, ff, acc, d_now)       # transactions handed over at d_now
    return _report(fe, tx, pf, acc, dram.out, d_now)


@kernel
def _look_start(p, sc, fe, tx, pf, next_other):
    """tx_lookahead's start: (earliest known finish's core cycle or NEVER, d(next_other) or NEVER,
    the DRAM cycle the search may go to, whether the DRAM has nothing pending)."""
    num = p[P_CORE_NUM]
    den = p[P_CORE_DEN]
    t_best = NEVER
    for k in range(fe[FE_PF_N]):
        t_best = min(t_best, -(-tx[TX_FIN, pf[k]] * num // den))
    queued = 0
    for c in range(p[P_CHANNELS]):
        queued += sc[c, SC_Q_N]
    limit_d = NEVER if next_other == NEVER else next_other * den // num
    lim = limit_d if t_best == NEVER else min(limit_d, t_best * den // num)
    return t_best, limit_d, lim, t_best == NEVER and queued == 0 and fe[FE_N] == 0


@kernel
def _look_end(p, t_best, limit_d):
    """tx_lookahead's answer from what the search found."""
    if t_best == NEVER:
        return NEVER if limit_d == NEVER else -1
    return -1 if limit_d < t_best * p[P_CORE_DEN] // p[P_CORE_NUM] else t_best


@kernel
def tx_lookahead(dram, next_other):
    """Core cycle of the next dram event: the first acceptance or finish, found by deciding ahead.

    Decides only DRAM cycles <= d(next_other) (the core cycle of the engine's next other event,
    NEVER if none), where nothing the engine does can interfere. Returns -1 if the search could
    not reach the first event's own DRAM cycle within that bound (call again once the engine is
    past next_other), NEVER if the DRAM has no transaction pending.
    """
    p, st, fe, tx, ff, pf, acc = dram.tb.p, dram.st, dram.fe, dram.tx, dram.ff, dram.pf, dram.acc
    sc, bank, q, stats, hist = st.sc, st.bank, st.q, st.stats, st.lat_hist
    num = p[P_CORE_NUM]
    den = p[P_CORE_DEN]
    t_best, limit_d, lim, idle = _look_start(p, sc, fe, tx, pf, next_other)
    if idle:
        return NEVER
    while True:
        t, c = _next_command(p, sc, bank, q)
        if t > lim or t == NEVER:
            break
        n_acc = fe[FE_ACC_N]
        n_pf = fe[FE_PF_N]
        _issue_next(p, sc, bank, q, stats, hist, fe, tx, ff, pf, acc, c)
        if fe[FE_ACC_N] > n_acc or fe[FE_PF_N] > n_pf:      # an event: the search may stop sooner
            if fe[FE_ACC_N] > n_acc:
                t_best = min(t_best, -(-t * num // den))
            if fe[FE_PF_N] > n_pf:
                t_best = min(t_best, -(-tx[TX_FIN, pf[fe[FE_PF_N] - 1]] * num // den))
            lim = min(limit_d, t_best * den // num)
    return _look_end(p, t_best, limit_d)


# ---- command queues (controller.cmd_queue_size > 0, a CmdqDram record): engine/dram_cmdq.py's
# controllers stepped cycle by cycle, as its stream driver does; compiled only for runs that use them

@kernel
def _cq_fill(p, sc, q, cs, tq, fe, tx, ff, acc, t):
    """_fill into the transaction queues (with a write buffer, writes into it)."""
    tck = p[P_TCK_PS]
    fe[FE_BLOCK_CH] = -1
    while True:
        j = _head_burst(p, fe, tx, ff, acc, t)
        if j < 0:
            return
        ch = fe[FE_NEXT_CH]
        w = tx[TX_WRITE, j] != 0
        if not _cq_has_room(p, cs, ch, w):
            fe[FE_BLOCK_CH] = ch
            return
        _cq_enqueue(p, sc, q, cs, tq, ch, j, fe[FE_NEXT_BANK], fe[FE_NEXT_ROW], w, t + 1, t * tck, t)
        _burst_moved(p, fe, tx, ff, acc, j)


@kernel
def _cq_cycle_all(p, sc, bank, q, stats, hist, cs, tq, fe, tx, ff, pf, acc, t):
    """DRAM cycle t with command queues: each channel's command (channel order), then the front end
    (bursts enter the transaction queues, as DRAMSim3 takes a transaction before its cycle's
    command), then each channel's move. A write drain also starts on a channel whose command
    queues are empty once the FIFO is empty (else the last few writes would wait for ever)."""
    nch = p[P_CHANNELS]
    for c in range(nch):
        done, j, access, on_bank, in_ref = _cq_issue(p, sc, bank, q, cs, stats, hist, c, t)
        if done >= 0:
            _issued(fe, tx, pf, j, done, access, on_bank, in_ref)
    _cq_fill(p, sc, q, cs, tq, fe, tx, ff, acc, t)
    flush = fe[FE_N] == 0
    for c in range(nch):
        _cq_move(p, bank, q, cs, tq, c, flush)
        sc[c, SC_CUR] = t + 1


@kernel
def _cq_next_cycle(p, sc, bank, q, cs, tq, fe, tx, ff):
    """First cycle not yet stepped at which something may happen with command queues: the next one
    unless every channel's state is frozen (no move possible, the FIFO's head refused or not yet
    eligible), else the first cycle a command may become legal, the head becomes eligible or a
    refresh falls due (cycles before it would change nothing)."""
    t = sc[0, SC_CUR]
    nxt = NEVER
    if fe[FE_N] > 0:
        j = ff[fe[FE_HEAD]]
        if tx[TX_ELIG, j] > t:
            nxt = tx[TX_ELIG, j]
        elif fe[FE_NEXT_CH] < 0 or _cq_has_room(p, cs, fe[FE_NEXT_CH], tx[TX_WRITE, j] != 0):
            return t
    flush = fe[FE_N] == 0
    for c in range(p[P_CHANNELS]):
        if sc[c, SC_Q_N] == 0 and t < sc[c, SC_REF_DUE]:
            nxt = min(nxt, sc[c, SC_REF_DUE])
            continue
        if _cq_may_move(p, bank, q, cs, tq, c, flush):
            return t
        nxt = min(nxt, _cq_command_bound(p, sc, bank, q, c, t))
        if nxt <= t:
            return t
    return max(t, nxt)


@kernel
def cq_tx_step(dram, now):
    """tx_step with command queues."""
    p, st, fe, tx, ff, pf, acc = dram.tb.p, dram.st, dram.fe, dram.tx, dram.ff, dram.pf, dram.acc
    sc, bank, q, stats, hist = st.sc, st.bank, st.q, st.stats, st.lat_hist
    cs, tq = _cq_views(p, fe, FE_SIZE)      # once per call: a reshape is a call into Numba's C helpers
    d_now = (now * p[P_CORE_DEN]) // p[P_CORE_NUM]
    while True:
        t = _cq_next_cycle(p, sc, bank, q, cs, tq, fe, tx, ff)
        if t > d_now:
            break
        _cq_cycle_all(p, sc, bank, q, stats, hist, cs, tq, fe, tx, ff, pf, acc, t)
    for c in range(p[P_CHANNELS]):
        sc[c, SC_CUR] = max(sc[c, SC_CUR], d_now + 1)
    _cq_fill(p, sc, q, cs, tq, fe, tx, ff, acc, d_now)          # transactions handed over at d_now
    return _report(fe, tx, pf, acc, dram.out, d_now)


@kernel
def cq_tx_lookahead(dram, next_other):
    """tx_lookahead with command queues: cycle by cycle (idle and frozen cycles skipped)."""
    p, st, fe, tx, ff, pf, acc = dram.tb.p, dram.st, dram.fe, dram.tx, dram.ff, dram.pf, dram.acc
    sc, bank, q, stats, hist = st.sc, st.bank, st.q, st.stats, st.lat_hist
    num = p[P_CORE_NUM]
    den = p[P_CORE_DEN]
    t_best, limit_d, lim, idle = _look_start(p, sc, fe, tx, pf, next_other)
    if idle:
        return NEVER
    cs, tq = _cq_views(p, fe, FE_SIZE)
    while True:
        t = _cq_next_cycle(p, sc, bank, q, cs, tq, fe, tx, ff)
        if t > lim or t == NEVER:
            break
        n_acc = fe[FE_ACC_N]
        n_pf = fe[FE_PF_N]
        _cq_cycle_all(p, sc, bank, q, stats, hist, cs, tq, fe, tx, ff, pf, acc, t)
        if fe[FE_ACC_N] > n_acc or fe[FE_PF_N] > n_pf:  # an event: the search may stop sooner
            if fe[FE_ACC_N] > n_acc:
                t_best = min(t_best, -(-t * num // den))
            for k in range(n_pf, fe[FE_PF_N]):
                t_best = min(t_best, -(-tx[TX_FIN, pf[k]] * num // den))
            lim = min(limit_d, t_best * den // num)
    if lim < NEVER:         # the cycles up to lim are decided (those skipped changed nothing), so a
        for c in range(p[P_CHANNELS]):      # transaction handed over at d(next_other) moves next cycle
            sc[c, SC_CUR] = max(sc[c, SC_CUR], lim + 1)
    return _look_end(p, t_best, limit_d)
