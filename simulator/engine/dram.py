"""Cycle-level DRAM channels: banks, open rows, a bounded FR-FCFS queue and all-bank refresh.

Pure @njit code over packed int64 arrays (built in `simulator.resources.dram`): the read-only
tables `p` (scalars, address layout and constraint table in one 1-D array, `DramTables.p`) and
the mutable state `DramState` (six arrays: per-channel scalars, per-bank columns, the request
queue, the in-flight list, statistics, latency histogram). Time inside is the DRAM command clock
(nCK); the API speaks integer picoseconds (cycle c is the edge at c * tck_ps).
docs/dram_model.md has the long form.

Why packed, and why kernels (engine/jit.py): Numba increments and decrements (atomically) the
reference count of every array a runtime-enabled function reads out of a NamedTuple; with about
25 arrays in two NamedTuples those pairs once took more than half of the run time (perf,
docs/performance.md). The kernels below take the few packed arrays explicitly and are compiled
without the Numba runtime: they never allocate, and their callers hold the arrays for the call,
so the counts need not move. The hot ones are inlined by LLVM (`kernel(inline=True)`). The
NamedTuple-taking functions at the end are cached entry points for Python callers and tests
(`_entry`); the engine reaches the controllers through engine/dram_frontend.py.

Timing rules live in one dense table `cons[prev, next, scope]` (nCK): after `prev` is issued at
t on bank b, `next` may not issue before t + cons[...] on a bank whose relation to b is `scope`
(same bank / same bank group / other bank group). Rank commands (PREA, REF) act as if issued on
every bank with scope "same bank". The four-activate window is kept apart (a ring of the last
four ACT times). The earliest cycle of `next` on bank b is the max over all past commands; it is
kept in three parts so that a command updates three rows, not every bank: the bank's own row,
its bank group's row and the channel's row (rules at scope "same bank" go to the bank's row,
"same group" to the group's, "other group" and rank commands to the channel's), and read as
the max of the three. That equals the per-bank max because every rule is at least as strict in
a narrower scope (same bank >= same group >= other group; dram_standards checks the _S <= _L
timings this rests on).

Controller, per channel, at each cycle t (one command per cycle):
1. all-bank refresh pending (t >= ref_due): PREA if a bank is open, else REF (then ref_due +=
   tREFI), nothing else; per-bank refresh pending for bank r (the banks take turns): PRE of r if
   it is open, else REFpb of r (then ref_due += tREFI_pb), if legal at t; bank r takes no other
   command meanwhile, and the other banks go on below. Except: while r's open row has served no
   column command since its ACT and a visible request hits it, the refresh waits for that
   command (_refresh_held) and r goes on below too. Likewise an all-bank refresh waits while
   any bank's open row has served no column command since its ACT and a visible request the
   mode serves hits it: meanwhile only those banks go on below (their row hits);
2. else the oldest row hit whose RD/WR is legal at t;
3. else the oldest request whose next command (ACT if its bank is closed, PRE if it is open to
   another row and no visible request hits that row) is legal at t;
4. else (close-page policy) PRE of the lowest open bank no visible request hits.
A request is visible from its `vis` cycle (first edge strictly after its arrival time).
The kernel jumps from one decision to the next instead of stepping cycles; tests/naive/dram.py
steps every cycle and must agree.
"""
from typing import NamedTuple

import numpy as np
from numba import njit

from simulator.engine.constants import NEVER
from simulator.engine.jit import kernel

# commands
CMD_ACT = 0
CMD_PRE = 1
CMD_RD = 2
CMD_WR = 3
CMD_PREA = 4
CMD_REF = 5
CMD_REFPB = 6              # per-bank refresh of one bank
NUM_CMDS = 7
CMD_NAMES = ("ACT", "PRE", "RD", "WR", "PREA", "REF", "REFpb")

# scope of a constraint: where the next command is, relative to the previous one
SCOPE_BANK = 0
SCOPE_GROUP = 1   # same bank group, other bank
SCOPE_OTHER = 2   # other bank group
NUM_SCOPES = 3

# page policies (registry in resources/dram.py)
POLICY_OPEN = 0
POLICY_CLOSE = 1

# refresh modes (registry in resources/dram.py)
REFRESH_ALL_BANK = 0
REFRESH_PER_BANK = 1

# address fields
FIELD_CH = 0
FIELD_BG = 1
FIELD_BA = 2
FIELD_RO = 3
FIELD_CO = 4
NUM_FIELDS = 5

# how a request found its bank (the first command issued for it)
CLASS_NONE = -1
CLASS_HIT = 0
CLASS_MISS = 1
CLASS_CONFLICT = 2

# per-channel statistics columns
ST_BYTES = 0
ST_BUS_BUSY_CYCLES = 1
ST_HITS = 2
ST_MISSES = 3
ST_CONFLICTS = 4
ST_REFRESHES = 5
ST_REFRESH_CYCLES = 6
ST_READS = 7
ST_WRITES = 8
ST_LAT_SUM_PS = 9
ST_LAT_MAX_PS = 10
ST_ACTS = 11
ST_PRES = 12
ST_ACCESS_CYCLES = 13      # sum over requests of visible -> data finished
ST_BANK_WAIT_CYCLES = 14   # ... of that, waiting on bank timing (first ACT/PRE -> column command)
ST_REFRESH_WAIT_CYCLES = 15  # ... of that, inside a refresh (due -> tRFC over)
NUM_STATS = 16
STAT_NAMES = ("bytes", "bus_busy_cycles", "row_hits", "row_misses", "row_conflicts",
              "refreshes", "refresh_cycles", "reads", "writes", "latency_sum_ps",
              "latency_max_ps", "activates", "precharges", "access_cycles", "bank_wait_cycles",
              "refresh_wait_cycles")

LAT_BINS = 8192            # latency histogram: one bin per DRAM cycle up to 8191 nCK

# packed tables p: int64[P_SIZE]
P_TCK_PS = 0
P_CL = 1
P_CWL = 2
P_BURST_CYCLES = 3
P_BURST_BYTES = 4
P_TFAW = 5
P_TREFI = 6
P_TRFC = 7
P_CHANNELS = 8
P_BANKS = 9                # banks per channel (bank groups x banks per group)
P_BANKS_PER_GROUP = 10
P_QUEUE_DEPTH = 11
P_INFLIGHT_CAP = 12
P_POLICY = 13              # page policy; P_TREFI / P_TRFC are the refresh mode's (per bank: _pb)
P_CORE_NUM = 14            # core cycles per DRAM cycle = num / den (exact)
P_CORE_DEN = 15
P_CHAN_ROW = 16            # row of `bank` that holds the channel-wide earliest times (NB + groups)
P_REFRESH = 17             # REFRESH_ALL_BANK or REFRESH_PER_BANK
P_FIELD_ORDER = 18         # NUM_FIELDS field ids, LSB first
P_FIELD_SIZE = P_FIELD_ORDER + NUM_FIELDS    # count of each field, indexed by field id
P_CONS = P_FIELD_SIZE + NUM_FIELDS           # cons[prev, next, scope] flattened (C order)
P_POW2 = P_CONS + NUM_CMDS * NUM_CMDS * NUM_SCOPES   # 1 if burst bytes and every count are powers of 2
P_SHIFT = P_POW2 + 1                         # then: lowest address bit of each field (by field id)
P_MASK = P_SHIFT + NUM_FIELDS                # and its count - 1
P_ROW_HIT_CAP = P_MASK + NUM_FIELDS          # row hits before an older request to another row may close the row; 0 = no cap
P_WRITE_BUFFER = P_ROW_HIT_CAP + 1          # write buffer entries; 0 = reads and writes share the queue
P_WRITE_HIGH = P_WRITE_BUFFER + 1            # queued writes that start a write drain
P_WRITE_LOW = P_WRITE_HIGH + 1               # queued writes at which a drain may stop (if reads wait)
P_CMD_QUEUE = P_WRITE_LOW + 1                # entries of a per-bank command queue; 0 = one FR-FCFS queue (engine/dram_cmdq.py)
P_WRITE_IDLE_DRAIN = P_CMD_QUEUE + 1         # command queues: a drain starts above this many writes when they are empty
P_REF_PRE_PER_BANK = P_WRITE_IDLE_DRAIN + 1  # 1: an all-bank refresh closes the banks with one PRE each, not a PREA
P_REF_POSTPONE = P_REF_PRE_PER_BANK + 1      # all-bank REFs a busy channel may owe before one is forced
P_SIZE = P_REF_POSTPONE + 1

# per-channel scalars sc: int64[C, SC_SIZE]
SC_CUR = 0                 # first cycle not yet decided
SC_FAW_N = 1               # ACTs issued
SC_REF_DUE = 2             # cycle the next refresh becomes pending
SC_Q_N = 3                 # requests queued
SC_F_N = 4                 # in flight (column command issued, not yet collected)
SC_FAW = 5                 # 4 columns: ring of the last four ACT cycles
SC_DEC = 9                 # 5 columns: cached next decision (from t0, cycle, cmd, bank, slot); from < 0 = none
SC_FREE = 14               # first free queue slot (free slots are linked through QF_NEXT), -1 none
SC_AGE = 15                # requests ever enqueued: the next one's age
SC_LAST_VIS = 16           # visible cycle of the youngest request (visibility follows age)
SC_REF_FROM = 17           # the last refresh: cycle it became due
SC_REF_TO = 18             # and cycle its tRFC ended (requests waiting inside were held by it)
SC_REF_BANK = 19           # per-bank refresh: the bank whose turn is next
SC_Q_WRITES = 20           # writes queued
SC_MODE = 21               # with a write buffer: MODE_READ or MODE_WRITE, as evaluated at SC_MODE_T
SC_MODE_T = 22
SC_DEC_MODE = 23           # the cached decision's mode and the cycle it was evaluated at
SC_DEC_MODE_T = 24
SC_MODE_ISSUE = 25         # cycle of the last command issued (the cycle after it may change the mode)
SC_SIZE = 26

# scheduling modes (a write buffer separates reads and writes; without one, MODE_ALL)
MODE_ALL = -1
MODE_READ = 0
MODE_WRITE = 1

# per-bank columns bank: int64[C, NB + G + 1, BK_SIZE]: rows 0..NB-1 the banks, then one row per
# bank group and one for the channel (columns 0..NUM_CMDS-1 only)
# columns 0..NUM_CMDS-1: earliest[cmd] at this level (see the module docstring)
BK_OPEN_ROW = NUM_CMDS     # open row, -1 closed
BK_HEAD = NUM_CMDS + 1     # the bank's queued requests: slot of the oldest, -1 none
BK_TAIL = NUM_CMDS + 2     # slot of the youngest
BK_WRITES = NUM_CMDS + 3   # queued writes to the bank
BK_GROUP_ROW = NUM_CMDS + 4  # row of the bank's group (NB + group)
BK_REF_FROM = NUM_CMDS + 5   # per-bank refresh: the bank's last, due at / tRFC_pb over at
BK_REF_TO = NUM_CMDS + 6
BK_HITS = NUM_CMDS + 7     # column commands to the open row since its ACT (the row-hit cap)
BK_SIZE = NUM_CMDS + 8

# request queue q: int64[C, QF_SIZE, Q] by slot; each bank's requests form a list, oldest first
QF_ID = 0
QF_BANK = 1
QF_ROW = 2
QF_WRITE = 3
QF_VIS = 4                 # first cycle the controller sees it
QF_ARR_PS = 5
QF_CLASS = 6
QF_NEXT = 7                # next (younger) slot of the same bank, or next free slot; -1 none
QF_AGE = 8                 # enqueue order in the channel: FR-FCFS "oldest"
QF_FIRST = 9               # cycle of its first ACT or PRE (-1: none, a row hit)
QF_ARR_UP = 10             # its arrival in whole cycles, rounded up (latency bins without a division)
QF_SIZE = 11

# in flight fl: int64[C, 2, F]
FL_ID = 0
FL_DONE = 1                # cycle the data finished


def _entry():
    """An entry point Python calls: @njit(cache=True) without the Numba runtime (must not allocate)."""
    return njit(cache=True, _nrt=False)


class DramTables(NamedTuple):
    """Read-only lowering of a DramTiming + DramSpec (built by resources.dram.dram_tables).

    `p` packs everything the kernels read; the named fields repeat it for Python callers.
    """
    p: np.ndarray             # int64[P_SIZE]
    cons: np.ndarray          # int64[NUM_CMDS, NUM_CMDS, NUM_SCOPES], nCK
    field_order: np.ndarray   # int64[NUM_FIELDS], field ids LSB first
    field_size: np.ndarray    # int64[NUM_FIELDS], count of each field, indexed by field id
    tck_ps: int
    cl: int
    cwl: int
    burst_cycles: int
    burst_bytes: int
    tfaw: int
    trefi: int
    trfc: int
    channels: int
    bank_groups: int
    banks_per_group: int
    queue_depth: int
    inflight_cap: int
    policy: int
    refresh: int              # REFRESH_*; trefi / trfc above are that mode's (per bank: the _pb ones)
    row_hit_cap: int          # 0 = none
    write_buffer: int         # 0 = none (one queue for reads and writes)
    write_high: int           # queued writes that start a drain
    write_low: int            # queued writes at which a drain may end
    cmd_queue_size: int       # entries of a per-bank command queue; 0 = one FR-FCFS queue
    write_idle_drain: int     # command queues: drain above this many writes when they are empty (0: never)
    ref_pre_per_bank: int     # 1: an all-bank refresh closes the banks with a PRE each, not a PREA
    ref_postpone: int         # all-bank REFs a busy channel may owe before one is forced (0: none)
    core_per_dram_num: int
    core_per_dram_den: int


class DramState(NamedTuple):
    """Mutable state of every channel (built by resources.dram.dram_state_new); layouts above."""
    sc: np.ndarray         # int64[C, SC_SIZE]
    bank: np.ndarray       # int64[C, NB, BK_SIZE]
    q: np.ndarray          # int64[C, QF_SIZE, Q]
    fl: np.ndarray         # int64[C, 2, F]
    stats: np.ndarray      # int64[C, NUM_STATS]
    lat_hist: np.ndarray   # int64[C, LAT_BINS]: request latency in whole nCK (last bin: that or more)

    @property
    def cur(self) -> np.ndarray:
        """int64[C]: first cycle not yet decided, per channel."""
        return self.sc[:, SC_CUR]

    @property
    def q_n(self) -> np.ndarray:
        """int64[C]: requests queued, per channel."""
        return self.sc[:, SC_Q_N]


# ---------------------------------------------------------------------------------------------
# Kernels over packed arrays
# ---------------------------------------------------------------------------------------------

@kernel
def _decode(p, addr):
    """(channel, bank, row) of a byte address (mixed radix over burst-sized units)."""
    if p[P_POW2]:                         # the usual case: bit fields, no division
        return ((addr >> p[P_SHIFT + FIELD_CH]) & p[P_MASK + FIELD_CH],
                ((addr >> p[P_SHIFT + FIELD_BG]) & p[P_MASK + FIELD_BG]) * p[P_BANKS_PER_GROUP]
                + ((addr >> p[P_SHIFT + FIELD_BA]) & p[P_MASK + FIELD_BA]),
                (addr >> p[P_SHIFT + FIELD_RO]) & p[P_MASK + FIELD_RO])
    x = addr // p[P_BURST_BYTES]
    ch = 0
    bg = 0
    ba = 0
    ro = 0
    for k in range(NUM_FIELDS):
        f = p[P_FIELD_ORDER + k]
        n = p[P_FIELD_SIZE + f]
        v = x % n
        x //= n
        if f == FIELD_CH:
            ch = v
        elif f == FIELD_BG:
            bg = v
        elif f == FIELD_BA:
            ba = v
        elif f == FIELD_RO:
            ro = v
    return ch, bg * p[P_BANKS_PER_GROUP] + ba, ro


@kernel
def _ready(p, bank, ch, b, cmd):
    """Earliest cycle the timing rules allow `cmd` on bank b (tFAW apart): its three rows' max."""
    return max(bank[ch, b, cmd], bank[ch, bank[ch, b, BK_GROUP_ROW], cmd], bank[ch, p[P_CHAN_ROW], cmd])


@kernel
def _earliest(p, sc, bank, ch, cmd, b):
    """Earliest cycle the timing rules allow `cmd` on bank b (b ignored for PREA/REF)."""
    if cmd == CMD_PREA or cmd == CMD_REF:
        t = 0
        for r in range(p[P_CHAN_ROW] + 1):      # every bank, group and the channel
            t = max(t, bank[ch, r, cmd])
        return t
    t = _ready(p, bank, ch, b, cmd)
    n = sc[ch, SC_FAW_N]
    if cmd == CMD_ACT and n >= 4:
        t = max(t, sc[ch, SC_FAW + n % 4] + p[P_TFAW])
    return t


@kernel
def _can_issue(p, sc, bank, ch, cmd, b, row, t):
    """True if `cmd` (on bank b, for `row`) is legal at cycle t: bank state and every timing rule."""
    if cmd == CMD_ACT:
        if bank[ch, b, BK_OPEN_ROW] >= 0:
            return False
    elif cmd == CMD_PRE:
        if bank[ch, b, BK_OPEN_ROW] < 0:
            return False
    elif cmd == CMD_RD or cmd == CMD_WR:
        if bank[ch, b, BK_OPEN_ROW] != row:
            return False
    elif cmd == CMD_REF:
        for b2 in range(p[P_BANKS]):
            if bank[ch, b2, BK_OPEN_ROW] >= 0:
                return False
    elif cmd == CMD_REFPB:
        if bank[ch, b, BK_OPEN_ROW] >= 0:
            return False
    return t >= _earliest(p, sc, bank, ch, cmd, b)


@kernel
def _issue(p, sc, bank, stats, ch, cmd, b, row, t):
    """Apply `cmd` at cycle t: bank state, earliest times (three rows), stats. No legality check."""
    nb = p[P_BANKS]
    chan = p[P_CHAN_ROW]
    sc[ch, SC_DEC] = -1                   # the state changes: the cached decision is void
    base = P_CONS + cmd * NUM_CMDS * NUM_SCOPES
    if cmd == CMD_PREA or cmd == CMD_REF:   # as if on every bank, same-bank rules (REFpb: one bank)
        for n in range(NUM_CMDS):
            bank[ch, chan, n] = max(bank[ch, chan, n], t + p[base + n * NUM_SCOPES + SCOPE_BANK])
    else:
        g = bank[ch, b, BK_GROUP_ROW]
        for n in range(NUM_CMDS):
            k = base + n * NUM_SCOPES
            bank[ch, b, n] = max(bank[ch, b, n], t + p[k + SCOPE_BANK])
            bank[ch, g, n] = max(bank[ch, g, n], t + p[k + SCOPE_GROUP])
            bank[ch, chan, n] = max(bank[ch, chan, n], t + p[k + SCOPE_OTHER])
    if cmd == CMD_ACT:
        bank[ch, b, BK_OPEN_ROW] = row
        bank[ch, b, BK_HITS] = 0
        n = sc[ch, SC_FAW_N]
        sc[ch, SC_FAW + n % 4] = t
        sc[ch, SC_FAW_N] = n + 1
        stats[ch, ST_ACTS] += 1
    elif cmd == CMD_PRE:
        bank[ch, b, BK_OPEN_ROW] = -1
        stats[ch, ST_PRES] += 1
    elif cmd == CMD_PREA:
        for b2 in range(nb):
            bank[ch, b2, BK_OPEN_ROW] = -1
        stats[ch, ST_PRES] += 1
    elif cmd == CMD_REF or cmd == CMD_REFPB:
        stats[ch, ST_REFRESHES] += 1
        stats[ch, ST_REFRESH_CYCLES] += p[P_TRFC]
    else:
        bank[ch, b, BK_HITS] += 1
        stats[ch, ST_BUS_BUSY_CYCLES] += p[P_BURST_CYCLES]
        stats[ch, ST_BYTES] += p[P_BURST_BYTES]
        if cmd == CMD_RD:
            stats[ch, ST_READS] += 1
        else:
            stats[ch, ST_WRITES] += 1


@kernel
def _next_decision(p, sc, bank, q, ch, t0):
    """(cycle, cmd, bank, slot) of the next command the controller issues at or after t0.

    Nothing changes the candidates between t0 and that cycle except time itself: refresh becoming
    due and requests becoming visible. At those moments the search restarts, so the result equals
    checking every cycle.

    Per bank, only a few requests can be chosen: its oldest visible row hit of each kind (RD,
    WR), or, with no visible hit, its oldest visible request (ACT if the bank is closed, PRE if it
    is open). Visibility follows age, so each bank's list is walked from the oldest only as far as
    needed. Among those candidates: earliest legal cycle first, then hits, then the oldest.
    """
    nb = p[P_BANKS]
    faw_n = sc[ch, SC_FAW_N]
    faw_t = sc[ch, SC_FAW + faw_n % 4] + p[P_TFAW] if faw_n >= 4 else 0
    ref_due = sc[ch, SC_REF_DUE]
    close_page = p[P_POLICY] == POLICY_CLOSE
    per_bank = p[P_REFRESH] == REFRESH_PER_BANK
    cap = p[P_ROW_HIT_CAP]
    last_vis = sc[ch, SC_LAST_VIS]
    postpone = p[P_REF_POSTPONE]
    forced_at = ref_due + postpone * p[P_TREFI]   # a due refresh waits for an idle channel until then
    mode = _mode_until(p, sc, bank, q, ch, t0)
    tnow = t0
    while True:
        mode = _mode_next(p, bank, q, ch, mode, tnow)
        sc[ch, SC_DEC_MODE] = mode
        sc[ch, SC_DEC_MODE_T] = tnow
        ref_b = -1                 # per-bank refresh pending for this bank
        held = False               # all-bank refresh pending, waiting for fresh rows' first column commands
        change = ref_due           # the next moment the candidates change by themselves
        if tnow >= ref_due:
            if not per_bank:
                if postpone == 0 or tnow >= forced_at or not _any_visible(p, bank, q, ch, tnow):
                    for b in range(nb):
                        if _refresh_held(bank, q, ch, b, mode, tnow):
                            held = True
                            break
                if held:
                    pass               # only a command (or a mode change: visibility) ends it
                elif postpone == 0 or tnow >= forced_at or not _any_visible(p, bank, q, ch, tnow):
                    t, cmd, b, s = _refresh_decision(p, sc, bank, ch, tnow)
                    if postpone > 0 and tnow < forced_at:
                        # idle now: a request becoming visible first puts the refresh off again
                        stop = forced_at
                        if last_vis > tnow:
                            stop = min(stop, _first_vis_after(sc, bank, q, ch, nb, tnow))
                        if t >= stop:
                            tnow = stop
                            continue
                    return t, cmd, b, s
                # held: NEVER; else postponed: the requests go on until it is forced
                change = NEVER if held else forced_at
            else:
                ref_b = sc[ch, SC_REF_BANK]
                change = NEVER
                if _refresh_held(bank, q, ch, ref_b, MODE_ALL, tnow):
                    ref_b = -1     # its row's first column command goes first (held until a command)
        if last_vis > tnow:
            change = min(change, _first_vis_after(sc, bank, q, ch, nb, tnow))
        best_t = NEVER
        best_pri = 3               # -1 refresh, 0 row hit, 1 ACT/PRE for a request, 2 close-page PRE
        best_age = NEVER           # age of the request, or bank index for a close-page PRE
        best_cmd = -1
        best_b = -1
        best_s = -1
        if ref_b >= 0:             # first at equal times; its bank is left out below
            cmd = CMD_PRE if bank[ch, ref_b, BK_OPEN_ROW] >= 0 else CMD_REFPB
            best_t, best_pri, best_age, best_cmd, best_b = max(tnow, _ready(p, bank, ch, ref_b, cmd)), -1, 0, cmd, ref_b
        for b in range(nb):
            if b == ref_b:
                continue
            if held and not _refresh_held(bank, q, ch, b, mode, tnow):
                continue           # held refresh: only the fresh rows' first column commands
            s = _oldest_active(q, ch, bank[ch, b, BK_HEAD], mode, tnow)
            r = bank[ch, b, BK_OPEN_ROW]
            if s < 0:
                if close_page and r >= 0:
                    t = max(tnow, _ready(p, bank, ch, b, CMD_PRE))
                    if t < best_t or (t == best_t and best_pri == 2 and b < best_age):
                        best_t, best_pri, best_age, best_cmd, best_b, best_s = t, 2, b, CMD_PRE, b, -1
                continue
            # past the row-hit cap with an older request to another row waiting, the bank's hits
            # give way: its oldest request's PRE is its only candidate (FR-FCFS with a cap)
            capped = cap > 0 and r >= 0 and bank[ch, b, BK_HITS] >= cap and q[ch, QF_ROW, s] != r
            if r >= 0 and not capped:
                # oldest visible hit of each kind the mode serves; stop once both are found
                need_wr = mode != MODE_READ and bank[ch, b, BK_WRITES] > 0
                s_rd = -1
                s_wr = -1
                h = s
                while h >= 0 and q[ch, QF_VIS, h] <= tnow:
                    if q[ch, QF_ROW, h] == r:
                        if q[ch, QF_WRITE, h]:
                            if s_wr < 0 and mode != MODE_READ:
                                s_wr = h
                        elif s_rd < 0 and mode != MODE_WRITE:
                            s_rd = h
                        if (s_rd >= 0 or mode == MODE_WRITE) and (s_wr >= 0 or not need_wr):
                            break
                    h = q[ch, QF_NEXT, h]
                if s_rd >= 0 or s_wr >= 0:
                    for k in range(2):
                        h = s_rd if k == 0 else s_wr
                        if h < 0:
                            continue
                        cmd = CMD_RD if k == 0 else CMD_WR
                        t = max(tnow, _ready(p, bank, ch, b, cmd))
                        age = q[ch, QF_AGE, h]
                        if t < best_t or (t == best_t and (best_pri > 0 or age < best_age)):
                            best_t, best_pri, best_age, best_cmd, best_b, best_s = t, 0, age, cmd, b, h
                    continue
            if r >= 0:
                cmd = CMD_PRE
                t = max(tnow, _ready(p, bank, ch, b, CMD_PRE))
            else:
                cmd = CMD_ACT
                t = max(tnow, _ready(p, bank, ch, b, CMD_ACT), faw_t)
            age = q[ch, QF_AGE, s]
            if t < best_t or (t == best_t and (best_pri > 1 or (best_pri == 1 and age < best_age))):
                best_t, best_pri, best_age, best_cmd, best_b, best_s = t, 1, age, cmd, b, s
        if best_t >= change:
            tnow = change
            continue
        return best_t, best_cmd, best_b, best_s


@kernel
def _refresh_decision(p, sc, bank, ch, tnow):
    """All-bank refresh pending at tnow: (cycle, cmd, bank, -1) of its next command. PREA if a bank
    is open, else REF; with per-bank precharge (P_REF_PRE_PER_BANK) a PRE of the open bank whose
    PRE is legal first (ties: the lowest bank), as DRAMSim3 closes the banks before a refresh."""
    nb = p[P_BANKS]
    if p[P_REF_PRE_PER_BANK]:
        best = NEVER
        bb = -1
        for b in range(nb):
            if bank[ch, b, BK_OPEN_ROW] >= 0:
                t = max(tnow, _earliest(p, sc, bank, ch, CMD_PRE, b))   # legal now: ties to the lowest bank
                if t < best:
                    best = t
                    bb = b
        if bb >= 0:
            return best, CMD_PRE, bb, -1
        return max(tnow, _earliest(p, sc, bank, ch, CMD_REF, 0)), CMD_REF, -1, -1
    any_open = False
    for b in range(nb):
        if bank[ch, b, BK_OPEN_ROW] >= 0:
            any_open = True
    cmd = CMD_PREA if any_open else CMD_REF
    return max(tnow, _earliest(p, sc, bank, ch, cmd, 0)), cmd, -1, -1


@kernel
def _refresh_held(bank, q, ch, b, mode, tnow):
    """True while bank b's open row has served no column command since its ACT and a request
    visible at tnow that the mode serves (MODE_ALL: any) hits it: a due refresh waits for that
    command instead of closing the row unused.

    Per-bank refresh (mode MODE_ALL): the due REFpb of bank b waits and b goes on like the
    others. All-bank refresh: while any bank is held the due PREA / PRE / REF waits and the
    channel issues only the held banks' row hits (their first column commands), see
    _next_decision. Without this a refresh falling due between an ACT and its column command
    closed the row unused; late, it stayed late enough that the next ACT met the same fate, and
    with short tREFI (all-bank: LPDDR4-3200 with tREFI 289..404) or tREFI_pb that repeated for ever.

    Why every run now ends (the spec bounds in spec/arch.py assumed): suppose one does not. It
    issues finitely many column commands (each takes a request out), so after some cycle T none
    issues, no request becomes visible and the mode is fixed. An ACT after T opens a row for a
    visible request the mode serves, which then hits it: rules 3-4 cannot close that row, and a
    refresh holds for it while it stays fresh; held, the hit is the only candidate of its bank
    (all-bank: the only kind of candidate), nothing pushes its legal cycle out, so it issues: a
    contradiction. So no ACT issues after T, and the rows open then (each fresh one with no hit
    of the mode, else the same argument) get closed; from then on the refreshes alone run, each
    at max(due, previous + tRFC) (per-bank: and the other constraints of arch.py), late by
    max(0, lateness + tRFC - tREFI): with tREFI > tRFC they catch up, and the cycles between the
    end of a refresh and the next due time are free for the oldest request's ACT, legal once
    tRFC after the REF: an ACT after T, a contradiction. A hold itself ends within one command
    per held bank, the hits' legal cycles being finite and fixed while only they issue.
    """
    r = bank[ch, b, BK_OPEN_ROW]
    if r < 0 or bank[ch, b, BK_HITS] > 0:
        return False
    h = bank[ch, b, BK_HEAD]
    while h >= 0 and q[ch, QF_VIS, h] <= tnow:
        if q[ch, QF_ROW, h] == r and (mode == MODE_ALL or q[ch, QF_WRITE, h] == mode):
            return True
        h = q[ch, QF_NEXT, h]
    return False


@kernel
def _any_visible(p, bank, q, ch, tnow):
    """True if a queued request of channel ch is visible at tnow (its bank's oldest, if any is)."""
    for b in range(p[P_BANKS]):
        h = bank[ch, b, BK_HEAD]
        if h >= 0 and q[ch, QF_VIS, h] <= tnow:
            return True
    return False


@kernel
def _oldest_active(q, ch, h, mode, tnow):
    """From slot h along its bank's list: the oldest request visible at tnow that the mode serves
    (-1 if none)."""
    while h >= 0 and q[ch, QF_VIS, h] <= tnow:
        if mode == MODE_ALL or q[ch, QF_WRITE, h] == mode:
            return h
        h = q[ch, QF_NEXT, h]
    return -1


@kernel
def _mode_next(p, bank, q, ch, mode, tnow):
    """The mode at cycle tnow from the mode before it, by the queued requests visible then: a read
    mode starts a write drain when the visible writes reach the high watermark or no read is
    visible; a drain ends when no write is left, or at the low watermark with a read waiting."""
    if mode == MODE_ALL:
        return mode
    reads = 0
    writes = 0
    for b in range(p[P_BANKS]):
        h = bank[ch, b, BK_HEAD]
        while h >= 0 and q[ch, QF_VIS, h] <= tnow:
            if q[ch, QF_WRITE, h]:
                writes += 1
            else:
                reads += 1
            h = q[ch, QF_NEXT, h]
    if mode == MODE_READ:
        if writes >= p[P_WRITE_HIGH] or (reads == 0 and writes > 0):
            return MODE_WRITE
    elif writes == 0 or (writes <= p[P_WRITE_LOW] and reads > 0):
        return MODE_READ
    return mode


@kernel
def _mode_until(p, sc, bank, q, ch, t0):
    """The mode just before cycle t0: the committed one (the mode the last command was decided in),
    carried through every later moment the counts changed before t0: requests becoming visible, and
    the cycle after that command (it may have taken a request out). No command issued meanwhile,
    so the queue held the same requests."""
    mode = sc[ch, SC_MODE]
    if mode == MODE_ALL:
        return mode
    x = sc[ch, SC_MODE_T]
    after_issue = sc[ch, SC_MODE_ISSUE] + 1
    while True:
        nx = _first_vis_after(sc, bank, q, ch, p[P_BANKS], x)
        if x < after_issue < nx:
            nx = after_issue
        if nx >= t0:
            return mode
        mode = _mode_next(p, bank, q, ch, mode, nx)
        x = nx


@kernel
def _has_room(p, sc, ch, is_write):
    """True if channel ch's queue (with a write buffer: the read queue or the write buffer) takes
    one more request."""
    if sc[ch, SC_FREE] < 0:
        return False
    if p[P_WRITE_BUFFER] == 0:
        return True
    if is_write:
        return sc[ch, SC_Q_WRITES] < p[P_WRITE_BUFFER]
    return sc[ch, SC_Q_N] - sc[ch, SC_Q_WRITES] < p[P_QUEUE_DEPTH]


@kernel
def _first_vis_after(sc, bank, q, ch, nb, tnow):
    """Smallest visible cycle > tnow among channel ch's queued requests (NEVER if none)."""
    v = NEVER
    for b in range(nb):
        h = bank[ch, b, BK_HEAD]
        while h >= 0:
            if q[ch, QF_VIS, h] > tnow:
                v = min(v, q[ch, QF_VIS, h])
                break                  # visibility follows age: the rest of the list is later
            h = q[ch, QF_NEXT, h]
    return v


@kernel
def _decide(p, sc, bank, q, ch, t0):
    """_next_decision with a per-channel cache.

    A decision found from t0 is the first command at or after t0; while the state does not
    change (no command issued, no request enqueued) it is also the answer for any later t0 up
    to its own cycle, so it is reused: it used to be computed about three times per command.
    """
    if sc[ch, SC_DEC] >= 0 and sc[ch, SC_DEC] <= t0 <= sc[ch, SC_DEC + 1]:
        return sc[ch, SC_DEC + 1], sc[ch, SC_DEC + 2], sc[ch, SC_DEC + 3], sc[ch, SC_DEC + 4]
    t, cmd, b, qi = _next_decision(p, sc, bank, q, ch, t0)
    sc[ch, SC_DEC] = t0
    sc[ch, SC_DEC + 1] = t
    sc[ch, SC_DEC + 2] = cmd
    sc[ch, SC_DEC + 3] = b
    sc[ch, SC_DEC + 4] = qi
    return t, cmd, b, qi


@kernel
def _overlap(a0, a1, b0, b1):
    """Cycles [a0, a1) and [b0, b1) share."""
    return max(0, min(a1, b1) - max(a0, b0))


@kernel
def _issue_decision(p, sc, bank, q, stats, hist, ch, t, cmd, b, qi):
    """Issue a decided command. A column command takes its request out of the queue: returns
    (cycle its data finishes, request id, cycles from visible to data finished, of which waiting
    on bank timing, of which in a refresh); any other command returns (-1, -1, 0, 0, 0).

    A request waits on bank timing from its first ACT or PRE to its column command, less any
    refresh in that span; "in a refresh" counts from the cycle the last refresh fell due to the
    end of its tRFC (a wait spanning two refreshes counts the later one only).
    """
    row = q[ch, QF_ROW, qi] if qi >= 0 else -1
    sc[ch, SC_MODE] = sc[ch, SC_DEC_MODE]       # the mode the decision was taken in
    sc[ch, SC_MODE_T] = sc[ch, SC_DEC_MODE_T]
    sc[ch, SC_MODE_ISSUE] = t
    _issue(p, sc, bank, stats, ch, cmd, b, row, t)
    if qi < 0:
        if cmd == CMD_REF:
            # a postponed refresh held requests from the cycle it was forced (it ran on an idle
            # channel before that: no request was waiting)
            forced_at = sc[ch, SC_REF_DUE] + p[P_REF_POSTPONE] * p[P_TREFI]
            sc[ch, SC_REF_FROM] = forced_at if t >= forced_at else sc[ch, SC_REF_DUE]
            sc[ch, SC_REF_TO] = t + p[P_TRFC]
            sc[ch, SC_REF_DUE] += p[P_TREFI]
        elif cmd == CMD_REFPB:
            bank[ch, b, BK_REF_FROM] = sc[ch, SC_REF_DUE]
            bank[ch, b, BK_REF_TO] = t + p[P_TRFC]
            sc[ch, SC_REF_DUE] += p[P_TREFI]
            sc[ch, SC_REF_BANK] = (b + 1) % p[P_BANKS]
        return -1, -1, 0, 0, 0
    if q[ch, QF_CLASS, qi] == CLASS_NONE:
        if cmd == CMD_ACT:
            q[ch, QF_CLASS, qi] = CLASS_MISS
            q[ch, QF_FIRST, qi] = t
        elif cmd == CMD_PRE:
            q[ch, QF_CLASS, qi] = CLASS_CONFLICT
            q[ch, QF_FIRST, qi] = t
        else:
            q[ch, QF_CLASS, qi] = CLASS_HIT
    if cmd != CMD_RD and cmd != CMD_WR:
        return -1, -1, 0, 0, 0
    vis = q[ch, QF_VIS, qi]
    r0 = sc[ch, SC_REF_FROM]           # one of the two windows is always empty: the channel's
    r1 = sc[ch, SC_REF_TO]             # (all-bank) or the request's bank's (per-bank refresh)
    b0 = bank[ch, b, BK_REF_FROM]
    b1 = bank[ch, b, BK_REF_TO]
    in_ref = _overlap(vis, t, r0, r1) + _overlap(vis, t, b0, b1)
    first = q[ch, QF_FIRST, qi]
    on_bank = t - first - _overlap(first, t, r0, r1) - _overlap(first, t, b0, b1) if first >= 0 else 0
    stats[ch, ST_BANK_WAIT_CYCLES] += on_bank
    stats[ch, ST_REFRESH_WAIT_CYCLES] += in_ref
    stats[ch, ST_HITS + q[ch, QF_CLASS, qi]] += 1   # ST_HITS, ST_MISSES, ST_CONFLICTS follow CLASS_* order
    done = t + (p[P_CL] if cmd == CMD_RD else p[P_CWL]) + p[P_BURST_CYCLES]
    stats[ch, ST_ACCESS_CYCLES] += done - vis
    tck = p[P_TCK_PS]
    lat = done * tck - q[ch, QF_ARR_PS, qi]
    stats[ch, ST_LAT_SUM_PS] += lat
    stats[ch, ST_LAT_MAX_PS] = max(stats[ch, ST_LAT_MAX_PS], lat)
    hist[ch, min(done - q[ch, QF_ARR_UP, qi], LAT_BINS - 1)] += 1     # == lat // tck
    # unlink the slot from its bank's list (it is usually the oldest) and free it
    prev = -1
    h = bank[ch, b, BK_HEAD]
    while h != qi:
        prev = h
        h = q[ch, QF_NEXT, h]
    nxt = q[ch, QF_NEXT, qi]
    if prev < 0:
        bank[ch, b, BK_HEAD] = nxt
    else:
        q[ch, QF_NEXT, prev] = nxt
    if nxt < 0:
        bank[ch, b, BK_TAIL] = prev
    bank[ch, b, BK_WRITES] -= q[ch, QF_WRITE, qi]
    sc[ch, SC_Q_WRITES] -= q[ch, QF_WRITE, qi]
    q[ch, QF_NEXT, qi] = sc[ch, SC_FREE]
    sc[ch, SC_FREE] = qi
    sc[ch, SC_Q_N] -= 1
    return done, q[ch, QF_ID, qi], done - vis, on_bank, in_ref


@kernel
def _run_until(p, sc, bank, q, fl, stats, hist, limit):
    """Decide every cycle < limit on every channel; requests whose column command issued go to
    the in-flight list (channel by channel: without a front end the channels do not interact)."""
    for ch in range(p[P_CHANNELS]):
        tnow = sc[ch, SC_CUR]
        while tnow < limit:
            t, cmd, b, qi = _decide(p, sc, bank, q, ch, tnow)
            if t >= limit:
                break
            done, req, _, _, _ = _issue_decision(p, sc, bank, q, stats, hist, ch, t, cmd, b, qi)
            if done >= 0:
                k = sc[ch, SC_F_N]
                if k >= fl.shape[2]:
                    raise ValueError("dram: in-flight list full; collect completions before deciding further")
                fl[ch, FL_ID, k] = req
                fl[ch, FL_DONE, k] = done
                sc[ch, SC_F_N] = k + 1
            tnow = t + 1
        sc[ch, SC_CUR] = max(sc[ch, SC_CUR], limit)



@kernel
def _bank_append(bank, q, ch, b, s):
    """Link request slot s at the tail of bank b's queue (channel ch) and count it if a write."""
    tail = bank[ch, b, BK_TAIL]
    if tail < 0:
        bank[ch, b, BK_HEAD] = s
    else:
        q[ch, QF_NEXT, tail] = s
    bank[ch, b, BK_TAIL] = s
    bank[ch, b, BK_WRITES] += q[ch, QF_WRITE, s]


@kernel
def _take_slot(sc, q, ch, s, req_id, b, row, w, vis, arr_ps, arr_up):
    """Take free slot s of channel ch's request pool for a new request (its fields, its age)."""
    sc[ch, SC_FREE] = q[ch, QF_NEXT, s]
    q[ch, QF_ID, s] = req_id
    q[ch, QF_BANK, s] = b
    q[ch, QF_ROW, s] = row
    q[ch, QF_WRITE, s] = w
    q[ch, QF_VIS, s] = vis
    q[ch, QF_ARR_PS, s] = arr_ps
    q[ch, QF_ARR_UP, s] = arr_up
    q[ch, QF_CLASS, s] = CLASS_NONE
    q[ch, QF_NEXT, s] = -1
    q[ch, QF_AGE, s] = sc[ch, SC_AGE]
    q[ch, QF_FIRST, s] = -1
    sc[ch, SC_AGE] += 1

@kernel
def _enqueue_at(p, sc, bank, q, vis, req_id, ch, b, row, is_write, arr_ps, arr_up):
    """Put a decoded request in channel ch's queue, visible from cycle vis; False if full.

    It arrived at arr_ps; arr_up = ceil(arr_ps / tck_ps), which the caller often knows without
    dividing.

    Requests must become visible in the order they are enqueued (callers offer in time order).
    """
    if not _has_room(p, sc, ch, is_write):
        return False
    s = sc[ch, SC_FREE]
    v = max(vis, sc[ch, SC_CUR])
    if v < sc[ch, SC_LAST_VIS]:
        raise ValueError("dram: a request was offered visible before an earlier one")
    sc[ch, SC_LAST_VIS] = v
    w = 1 if is_write else 0
    _take_slot(sc, q, ch, s, req_id, b, row, w, v, arr_ps, arr_up)
    _bank_append(bank, q, ch, b, s)
    sc[ch, SC_Q_WRITES] += w
    sc[ch, SC_Q_N] += 1
    if sc[ch, SC_DEC] >= 0 and not _decision_stands(p, sc, bank, ch, b, row, w, v):
        sc[ch, SC_DEC] = -1
    return True


@kernel
def _decision_stands(p, sc, bank, ch, b, row, is_write, v):
    """True if the cached decision stays the next command after a request (bank b, row, visible
    from v) joins the queue: the request cannot be chosen first and takes no candidate away.

    The newcomer is the youngest, so it loses every tie of time and kind. A "no" only costs a new
    search, so the test may be conservative (a request that would not be a candidate at all is
    treated as one).
    """
    if p[P_WRITE_BUFFER] > 0:
        return False                        # a newcomer may change the mode: search again
    if p[P_REF_POSTPONE] > 0 and sc[ch, SC_DEC + 4] < 0 and v <= sc[ch, SC_DEC + 1]:
        return False                        # a newcomer may put a refresh off
    t_dec = sc[ch, SC_DEC + 1]
    if v > t_dec:
        return True
    cmd_dec = sc[ch, SC_DEC + 2]
    slot_dec = sc[ch, SC_DEC + 4]
    if slot_dec < 0 and cmd_dec != CMD_PRE:
        return False                        # a refresh: requests may go before it becomes due
    if slot_dec < 0 and p[P_REFRESH] == REFRESH_ALL_BANK and sc[ch, SC_REF_DUE] <= t_dec:
        return False                        # a refresh's PRE: a hit on a fresh row may hold it
    r = bank[ch, b, BK_OPEN_ROW]
    if r == row:
        pri = 0
        t = max(v, _ready(p, bank, ch, b, CMD_WR if is_write else CMD_RD))
        if cmd_dec == CMD_PRE and sc[ch, SC_DEC + 3] == b:
            return False                    # a hit now keeps its bank open
    elif r >= 0:
        pri = 1
        t = max(v, _ready(p, bank, ch, b, CMD_PRE))
    else:
        pri = 1
        t = max(v, _earliest(p, sc, bank, ch, CMD_ACT, b))
    if slot_dec < 0:                        # close-page PRE: gone if its bank gets a request
        if sc[ch, SC_DEC + 3] == b:
            return False
        pri_dec = 2
    elif cmd_dec == CMD_RD or cmd_dec == CMD_WR:
        pri_dec = 0
    else:
        pri_dec = 1
    return t_dec < t or (t_dec == t and pri_dec <= pri)


# ---------------------------------------------------------------------------------------------
# NamedTuple API for Python callers and tests
# ---------------------------------------------------------------------------------------------

@njit(cache=True)
def decode_all(tb, addr):
    """(channel, bank, row) arrays of an int64 array of byte addresses."""
    p = tb.p
    n = addr.shape[0]
    out = np.zeros((3, n), np.int64)
    for i in range(n):
        out[0, i], out[1, i], out[2, i] = _decode(p, addr[i])
    return out


@_entry()
def can_issue(tb, st, ch, cmd, bank, row, t):
    """True if `cmd` (on `bank`, for `row`) is legal at cycle t: bank state and every timing rule."""
    return _can_issue(tb.p, st.sc, st.bank, ch, cmd, bank, row, t)


@_entry()
def issue(tb, st, ch, cmd, bank, row, t):
    """Apply `cmd` at cycle t (no legality check)."""
    _issue(tb.p, st.sc, st.bank, st.stats, ch, cmd, bank, row, t)


@_entry()
def run_until(tb, st, limit):
    """Decide every cycle < limit on every channel."""
    _run_until(tb.p, st.sc, st.bank, st.q, st.fl, st.stats, st.lat_hist, limit)


@_entry()
def dram_enqueue(tb, st, now_ps, req_id, addr, is_write):
    """Offer one burst-sized request arriving at now_ps; True if its channel's queue took it.

    The request is visible to the controller from the first DRAM edge strictly after now_ps
    (and never in a cycle already decided). Call with non-decreasing now_ps.
    """
    p = tb.p
    ch, b, row = _decode(p, addr)
    tck = p[P_TCK_PS]
    return _enqueue_at(p, st.sc, st.bank, st.q, now_ps // tck + 1, req_id, ch, b, row, is_write, now_ps,
                       -(-now_ps // tck))


@_entry()
def dram_advance(tb, st, until_ps, out_ids, out_times):
    """Issue every command at a cycle <= until_ps; report requests whose data finished by then.

    Writes (request id, finish ps) to out_ids/out_times ordered by finish time (then channel,
    then issue order) and returns how many. Size the outputs with dram_out_capacity(tables);
    completions that do not fit stay for the next call.
    """
    p, sc, fl = tb.p, st.sc, st.fl
    tck = p[P_TCK_PS]
    _run_until(p, sc, st.bank, st.q, fl, st.stats, st.lat_hist, until_ps // tck + 1)
    limit = until_ps // tck
    cap = out_ids.shape[0]
    k = 0
    while k < cap:
        best_ch = -1
        best_j = -1
        best_t = NEVER
        for ch in range(p[P_CHANNELS]):
            for j in range(sc[ch, SC_F_N]):
                d = fl[ch, FL_DONE, j]
                if d <= limit and d < best_t:
                    best_t = d
                    best_ch = ch
                    best_j = j
        if best_ch < 0:
            break
        out_ids[k] = fl[best_ch, FL_ID, best_j]
        out_times[k] = best_t * tck
        k += 1
        n = sc[best_ch, SC_F_N]
        for j in range(best_j, n - 1):
            fl[best_ch, FL_ID, j] = fl[best_ch, FL_ID, j + 1]
            fl[best_ch, FL_DONE, j] = fl[best_ch, FL_DONE, j + 1]
        sc[best_ch, SC_F_N] = n - 1
    return k


@_entry()
def dram_next_time(tb, st):
    """Ps of the next command or data completion that concerns a request; -1 if none is pending.

    Refresh of an idle channel is not reported (it happens in passing in dram_advance).
    """
    p, sc, fl = tb.p, st.sc, st.fl
    best = NEVER
    for ch in range(p[P_CHANNELS]):
        for k in range(sc[ch, SC_F_N]):
            best = min(best, fl[ch, FL_DONE, k])
        if sc[ch, SC_Q_N] > 0:
            best = min(best, _decide(p, sc, st.bank, st.q, ch, sc[ch, SC_CUR])[0])
    return -1 if best == NEVER else best * p[P_TCK_PS]


@kernel
def _drain(sc, fl, done_cycle):
    """Move every in-flight request's finish cycle to done_cycle[id] (whole-stream driver)."""
    for ch in range(sc.shape[0]):
        for j in range(sc[ch, SC_F_N]):
            done_cycle[fl[ch, FL_ID, j]] = fl[ch, FL_DONE, j]
        sc[ch, SC_F_N] = 0


@njit(cache=True)
def simulate_stream(tb, st, arrival_ps, ch_of, bank_of, row_of, is_write):
    """Drive the model over a whole request stream; returns each request's finish cycle.

    Front end in order: request i enters its channel's queue at the first cycle >= its visible
    cycle (first edge after arrival) and >= the entry of request i-1 at which the queue has a
    free slot. Requests must be sorted by arrival.
    """
    done = np.full(arrival_ps.shape[0], -1, np.int64)
    accepted = np.zeros(arrival_ps.shape[0], np.int64)
    _stream(tb.p, st.sc, st.bank, st.q, st.fl, st.stats, st.lat_hist, arrival_ps, ch_of, bank_of, row_of,
            is_write, done, accepted, 0)
    return done


@njit(cache=True)
def replay_stream(tb, st, cycle, ch_of, bank_of, row_of, is_write):
    """A trace as DRAMSim3's trace-driven front end feeds it: request i is offered at DRAM cycle
    cycle[i] (non-decreasing) or, while refused, every cycle after, in order, at most one a cycle.

    Returns (finish cycle, accepted cycle) per request: accepted at cycle c, the controller sees
    it from c + 1 (so an unloaded row miss takes tRCD + CL + burst + 1 from acceptance, as in
    DRAMSim3).
    """
    n = cycle.shape[0]
    done = np.full(n, -1, np.int64)
    accepted = np.zeros(n, np.int64)
    arrival_ps = cycle * tb.p[P_TCK_PS]
    _stream(tb.p, st.sc, st.bank, st.q, st.fl, st.stats, st.lat_hist, arrival_ps, ch_of, bank_of, row_of,
            is_write, done, accepted, 1)
    return done, accepted


@kernel
def _stream(p, sc, bank, q, fl, stats, hist, arrival_ps, ch_of, bank_of, row_of, is_write, done, accepted,
            min_gap):
    """simulate_stream's loop; writes each request's finish cycle to done and the cycle before the
    one it became visible in to accepted. min_gap 1: at most one request enters a cycle."""
    tck = p[P_TCK_PS]
    nch = p[P_CHANNELS]
    last_vis = -1
    for i in range(arrival_ps.shape[0]):
        c = max(arrival_ps[i] // tck + 1, sc[0, SC_CUR], last_vis + min_gap)
        _run_until(p, sc, bank, q, fl, stats, hist, c)
        _drain(sc, fl, done)
        ch = ch_of[i]
        while not _has_room(p, sc, ch, is_write[i] != 0):
            t = _decide(p, sc, bank, q, ch, sc[ch, SC_CUR])[0]
            _run_until(p, sc, bank, q, fl, stats, hist, t + 1)
            _drain(sc, fl, done)
        last_vis = sc[ch, SC_CUR]
        accepted[i] = last_vis - 1
        _enqueue_at(p, sc, bank, q, last_vis, i, ch, bank_of[i], row_of[i], is_write[i] != 0,
                    arrival_ps[i], -(-arrival_ps[i] // tck))
    while True:
        pending = 0
        for ch in range(nch):
            pending += sc[ch, SC_Q_N]
        if pending == 0:
            break
        t = NEVER
        for ch in range(nch):
            if sc[ch, SC_Q_N] > 0:
                t = min(t, _decide(p, sc, bank, q, ch, sc[ch, SC_CUR])[0])
        _run_until(p, sc, bank, q, fl, stats, hist, t + 1)
        _drain(sc, fl, done)
    _drain(sc, fl, done)
