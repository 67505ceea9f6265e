"""Cycle-level DRAM channels: banks, open rows, a bounded FR-FCFS queue and all-bank refresh.

Pure @njit code over two NamedTuples of arrays and ints (built in `simulator.resources.dram`):
`DramTables` (read-only: constraint table, scalars, address layout) and `DramState` (mutable
arrays). Time inside is the DRAM command clock (nCK); the API speaks integer picoseconds
(cycle c is the edge at c * tck_ps). docs/dram_model.md has the long form.

Timing rules live in one dense table `cons[prev, next, scope]` (nCK): after `prev` is issued at
t on bank b, `next` may not issue before t + cons[...] on a bank whose relation to b is `scope`
(same bank / same bank group / other bank group). Rank commands (PREA, REF) act as if issued on
every bank with scope "same bank". The four-activate window is kept apart (a ring of the last
four ACT times). Each bank keeps `earliest[bank, next]`, the max over all past commands.

Controller, per channel, at each cycle t (one command per cycle):
1. refresh pending (t >= ref_due): PREA if a bank is open, else REF (then ref_due += tREFI);
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

# commands
CMD_ACT = 0
CMD_PRE = 1
CMD_RD = 2
CMD_WR = 3
CMD_PREA = 4
CMD_REF = 5
NUM_CMDS = 6
CMD_NAMES = ("ACT", "PRE", "RD", "WR", "PREA", "REF")

# scope of a constraint: where the next command is, relative to the previous one
SCOPE_BANK = 0
SCOPE_GROUP = 1   # same bank group, other bank
SCOPE_OTHER = 2   # other bank group
NUM_SCOPES = 3

# page policies (registry in resources/dram.py)
POLICY_OPEN = 0
POLICY_CLOSE = 1

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
NUM_STATS = 13
STAT_NAMES = ("bytes", "bus_busy_cycles", "row_hits", "row_misses", "row_conflicts",
              "refreshes", "refresh_cycles", "reads", "writes", "latency_sum_ps",
              "latency_max_ps", "activates", "precharges")

NEVER = 1 << 62
LAT_BINS = 8192            # latency histogram: one bin per DRAM cycle up to 8191 nCK


class DramTables(NamedTuple):
    """Read-only lowering of a DramTiming + DramSpec (built by resources.dram.dram_tables)."""
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
    core_per_dram_num: int    # core cycles per DRAM cycle = num / den (exact)
    core_per_dram_den: int


class DramState(NamedTuple):
    """Mutable state of every channel (built by resources.dram.dram_state_new)."""
    cur: np.ndarray        # int64[C]: first cycle not yet decided
    open_row: np.ndarray   # int64[C, NB]: open row, -1 closed
    earliest: np.ndarray   # int64[C, NB, NUM_CMDS]
    faw: np.ndarray        # int64[C, 4]: ring of the last four ACT cycles
    faw_n: np.ndarray      # int64[C]: ACTs issued
    ref_due: np.ndarray    # int64[C]: cycle the next refresh becomes pending
    q_n: np.ndarray        # int64[C]
    q_id: np.ndarray       # int64[C, Q] request queue, oldest first
    q_bank: np.ndarray
    q_row: np.ndarray
    q_write: np.ndarray
    q_vis: np.ndarray
    q_arr_ps: np.ndarray
    q_class: np.ndarray
    f_n: np.ndarray        # int64[C]: in flight (column command issued, not yet reported)
    f_id: np.ndarray       # int64[C, F]
    f_done: np.ndarray     # int64[C, F]: cycle the data finished
    stats: np.ndarray      # int64[C, NUM_STATS]
    scratch: np.ndarray    # int64[C, max(NB, Q) * 2] working space
    dec: np.ndarray        # int64[C, 5]: cached next decision (from t0, cycle, cmd, bank, qi); from < 0 = none
    lat_hist: np.ndarray   # int64[C, LAT_BINS]: request latency in whole nCK (last bin: that or more)


@njit(cache=True, inline="always")
def decode(tb, addr):
    """(channel, bank, row) of a byte address (mixed radix over burst-sized units)."""
    x = addr // tb.burst_bytes
    ch = 0
    bg = 0
    ba = 0
    ro = 0
    for k in range(NUM_FIELDS):
        f = tb.field_order[k]
        n = tb.field_size[f]
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
    return ch, bg * tb.banks_per_group + ba, ro


@njit(cache=True)
def decode_all(tb, addr):
    """(channel, bank, row) arrays of an int64 array of byte addresses."""
    n = addr.shape[0]
    out = np.zeros((3, n), np.int64)
    for i in range(n):
        out[0, i], out[1, i], out[2, i] = decode(tb, addr[i])
    return out


@njit(cache=True, inline="always")
def earliest_time(tb, st, ch, cmd, bank):
    """Earliest cycle the timing rules allow `cmd` on `bank` (bank ignored for PREA/REF)."""
    nb = tb.bank_groups * tb.banks_per_group
    if cmd == CMD_PREA or cmd == CMD_REF:
        t = 0
        for b in range(nb):
            t = max(t, st.earliest[ch, b, cmd])
        return t
    t = st.earliest[ch, bank, cmd]
    if cmd == CMD_ACT and st.faw_n[ch] >= 4:
        t = max(t, st.faw[ch, st.faw_n[ch] % 4] + tb.tfaw)
    return t


@njit(cache=True)
def can_issue(tb, st, ch, cmd, bank, row, t):
    """True if `cmd` (on `bank`, for `row`) is legal at cycle t: bank state and every timing rule."""
    nb = tb.bank_groups * tb.banks_per_group
    if cmd == CMD_ACT:
        if st.open_row[ch, bank] >= 0:
            return False
    elif cmd == CMD_PRE:
        if st.open_row[ch, bank] < 0:
            return False
    elif cmd == CMD_RD or cmd == CMD_WR:
        if st.open_row[ch, bank] != row:
            return False
    elif cmd == CMD_REF:
        for b in range(nb):
            if st.open_row[ch, b] >= 0:
                return False
    return t >= earliest_time(tb, st, ch, cmd, bank)


@njit(cache=True, inline="always")
def issue(tb, st, ch, cmd, bank, row, t):
    """Apply `cmd` at cycle t: bank state, every bank's earliest times, stats. No legality check."""
    nb = tb.bank_groups * tb.banks_per_group
    bpg = tb.banks_per_group
    rank = cmd == CMD_PREA or cmd == CMD_REF
    st.dec[ch, 0] = -1                    # the state changes: the cached decision is void
    earliest = st.earliest[ch]            # hoisted: NamedTuple access in a loop is costly
    cons = tb.cons
    for b2 in range(nb):
        if rank or b2 == bank:
            scope = SCOPE_BANK
        elif b2 // bpg == bank // bpg:
            scope = SCOPE_GROUP
        else:
            scope = SCOPE_OTHER
        for n in range(NUM_CMDS):
            v = t + cons[cmd, n, scope]
            if v > earliest[b2, n]:
                earliest[b2, n] = v
    s = st.stats
    if cmd == CMD_ACT:
        st.open_row[ch, bank] = row
        st.faw[ch, st.faw_n[ch] % 4] = t
        st.faw_n[ch] += 1
        s[ch, ST_ACTS] += 1
    elif cmd == CMD_PRE:
        st.open_row[ch, bank] = -1
        s[ch, ST_PRES] += 1
    elif cmd == CMD_PREA:
        for b in range(nb):
            st.open_row[ch, b] = -1
        s[ch, ST_PRES] += 1
    elif cmd == CMD_REF:
        s[ch, ST_REFRESHES] += 1
        s[ch, ST_REFRESH_CYCLES] += tb.trfc
    else:
        s[ch, ST_BUS_BUSY_CYCLES] += tb.burst_cycles
        s[ch, ST_BYTES] += tb.burst_bytes
        if cmd == CMD_RD:
            s[ch, ST_READS] += 1
        else:
            s[ch, ST_WRITES] += 1


@njit(cache=True, inline="always")
def _next_decision(tb, st, ch, t0):
    """(cycle, cmd, bank, queue index) of the next command the controller issues at or after t0.

    Nothing changes the candidates between t0 and that cycle except time itself: refresh becoming
    due and requests becoming visible. At those moments the search restarts, so the result equals
    checking every cycle.
    """
    # Arrays are taken out of the NamedTuples once: attribute access inside the loops costs a
    # reference-count round trip each time, which dominated the run time.
    nb = tb.bank_groups * tb.banks_per_group
    qd = tb.queue_depth
    q_vis = st.q_vis[ch]
    q_bank = st.q_bank[ch]
    q_row = st.q_row[ch]
    q_write = st.q_write[ch]
    open_row = st.open_row[ch]
    earliest = st.earliest[ch]
    hit = st.scratch[ch, :nb]              # bank -> a visible request hits its open row
    cand = st.scratch[ch, nb:nb + qd]      # request -> earliest legal cycle of its next command
    faw_n = st.faw_n[ch]
    faw_t = st.faw[ch, faw_n % 4] + tb.tfaw if faw_n >= 4 else 0
    ref_due = st.ref_due[ch]
    policy = tb.policy
    tnow = t0
    while True:
        if tnow >= ref_due:
            any_open = False
            for b in range(nb):
                if open_row[b] >= 0:
                    any_open = True
            cmd = CMD_PREA if any_open else CMD_REF
            return max(tnow, earliest_time(tb, st, ch, cmd, 0)), cmd, -1, -1
        change = ref_due
        n = st.q_n[ch]
        for b in range(nb):
            hit[b] = 0
        for i in range(n):
            v = q_vis[i]
            if v > tnow:
                change = min(change, v)
            elif open_row[q_bank[i]] == q_row[i]:
                hit[q_bank[i]] = 1
        tmin = NEVER
        for i in range(n):
            cand[i] = NEVER
            if q_vis[i] > tnow:
                continue
            b = q_bank[i]
            r = open_row[b]
            if r == q_row[i]:
                cmd = CMD_WR if q_write[i] else CMD_RD
            elif r < 0:
                cmd = CMD_ACT
            elif hit[b] == 0:
                cmd = CMD_PRE
            else:
                continue
            e = earliest[b, cmd]
            if cmd == CMD_ACT and faw_t > e:
                e = faw_t
            cand[i] = max(tnow, e)
            tmin = min(tmin, cand[i])
        close_t = NEVER
        close_b = -1
        if policy == POLICY_CLOSE:
            for b in range(nb):
                if open_row[b] >= 0 and hit[b] == 0:
                    t = max(tnow, earliest[b, CMD_PRE])
                    if t < close_t:
                        close_t = t
                        close_b = b
            tmin = min(tmin, close_t)
        if tmin >= change:
            tnow = change
            continue
        # priority at tmin: oldest legal row hit, then oldest legal request, then close-page PRE
        for i in range(n):
            if cand[i] == tmin and open_row[q_bank[i]] == q_row[i]:
                return tmin, CMD_WR if q_write[i] else CMD_RD, q_bank[i], i
        for i in range(n):
            if cand[i] == tmin:
                b = q_bank[i]
                return tmin, CMD_ACT if open_row[b] < 0 else CMD_PRE, b, i
        return close_t, CMD_PRE, close_b, -1


@njit(cache=True, inline="always")
def _decide(tb, st, ch, t0):
    """_next_decision with a per-channel cache.

    A decision found from t0 is the first command at or after t0; while the state does not
    change (no command issued, no request enqueued) it is also the answer for any later t0 up
    to its own cycle, so it is reused: it used to be computed about three times per command.
    """
    dec = st.dec[ch]
    if dec[0] >= 0 and dec[0] <= t0 <= dec[1]:
        return dec[1], dec[2], dec[3], dec[4]
    t, cmd, bank, qi = _next_decision(tb, st, ch, t0)
    dec[0] = t0
    dec[1] = t
    dec[2] = cmd
    dec[3] = bank
    dec[4] = qi
    return t, cmd, bank, qi


@njit(cache=True, inline="always")
def _issue_decision(tb, st, ch, t, cmd, bank, qi):
    """Issue a decided command; a column command moves its request from the queue to in flight."""
    row = st.q_row[ch, qi] if qi >= 0 else -1
    issue(tb, st, ch, cmd, bank, row, t)
    if qi < 0:
        if cmd == CMD_REF:
            st.ref_due[ch] += tb.trefi
        return
    if st.q_class[ch, qi] == CLASS_NONE:
        if cmd == CMD_ACT:
            st.q_class[ch, qi] = CLASS_MISS
        elif cmd == CMD_PRE:
            st.q_class[ch, qi] = CLASS_CONFLICT
        else:
            st.q_class[ch, qi] = CLASS_HIT
    if cmd != CMD_RD and cmd != CMD_WR:
        return
    s = st.stats
    c = st.q_class[ch, qi]
    s[ch, ST_HITS + c] += 1       # ST_HITS, ST_MISSES, ST_CONFLICTS follow CLASS_* order
    done = t + (tb.cl if cmd == CMD_RD else tb.cwl) + tb.burst_cycles
    lat = done * tb.tck_ps - st.q_arr_ps[ch, qi]
    s[ch, ST_LAT_SUM_PS] += lat
    s[ch, ST_LAT_MAX_PS] = max(s[ch, ST_LAT_MAX_PS], lat)
    hist = st.lat_hist
    st.lat_hist[ch, min(lat // tb.tck_ps, hist.shape[1] - 1)] += 1
    k = st.f_n[ch]
    if k >= st.f_id.shape[1]:
        raise ValueError("dram: in-flight list full; drain completions with dram_advance")
    st.f_id[ch, k] = st.q_id[ch, qi]
    st.f_done[ch, k] = done
    st.f_n[ch] = k + 1
    n = st.q_n[ch]
    q_id, q_bank, q_row, q_write = st.q_id[ch], st.q_bank[ch], st.q_row[ch], st.q_write[ch]
    q_vis, q_arr_ps, q_class = st.q_vis[ch], st.q_arr_ps[ch], st.q_class[ch]
    for j in range(qi, n - 1):
        q_id[j] = q_id[j + 1]
        q_bank[j] = q_bank[j + 1]
        q_row[j] = q_row[j + 1]
        q_write[j] = q_write[j + 1]
        q_vis[j] = q_vis[j + 1]
        q_arr_ps[j] = q_arr_ps[j + 1]
        q_class[j] = q_class[j + 1]
    st.q_n[ch] = n - 1


@njit(cache=True)
def run_until(tb, st, limit):
    """Decide every cycle < limit on every channel (issue all commands due before it)."""
    for ch in range(tb.channels):
        tnow = st.cur[ch]
        while tnow < limit:
            t, cmd, bank, qi = _decide(tb, st, ch, tnow)
            if t >= limit:
                break
            _issue_decision(tb, st, ch, t, cmd, bank, qi)
            tnow = t + 1
        st.cur[ch] = max(st.cur[ch], limit)


@njit(cache=True, inline="always")
def enqueue_at(tb, st, vis, req_id, ch, bank, row, is_write, arr_ps):
    """Put a decoded request in channel ch's queue, visible from cycle vis; False if full."""
    n = st.q_n[ch]
    if n >= tb.queue_depth:
        return False
    st.q_id[ch, n] = req_id
    st.q_bank[ch, n] = bank
    st.q_row[ch, n] = row
    st.q_write[ch, n] = 1 if is_write else 0
    st.q_vis[ch, n] = max(vis, st.cur[ch])
    st.q_arr_ps[ch, n] = arr_ps
    st.q_class[ch, n] = CLASS_NONE
    st.q_n[ch] = n + 1
    st.dec[ch, 0] = -1
    return True


@njit(cache=True)
def dram_enqueue(tb, st, now_ps, req_id, addr, is_write):
    """Offer one burst-sized request arriving at now_ps; True if its channel's queue took it.

    The request is visible to the controller from the first DRAM edge strictly after now_ps
    (and never in a cycle already decided). Call with non-decreasing now_ps.
    """
    ch, bank, row = decode(tb, addr)
    return enqueue_at(tb, st, now_ps // tb.tck_ps + 1, req_id, ch, bank, row, is_write, now_ps)


@njit(cache=True)
def dram_advance(tb, st, until_ps, out_ids, out_times):
    """Issue every command at a cycle <= until_ps; report requests whose data finished by then.

    Writes (request id, finish ps) to out_ids/out_times ordered by finish time (then channel,
    then issue order) and returns how many. Size the outputs with dram_out_capacity(tables);
    completions that do not fit stay for the next call.
    """
    run_until(tb, st, until_ps // tb.tck_ps + 1)
    limit = until_ps // tb.tck_ps
    cap = out_ids.shape[0]
    k = 0
    while k < cap:
        best_ch = -1
        best_j = -1
        best_t = NEVER
        for ch in range(tb.channels):
            for j in range(st.f_n[ch]):
                d = st.f_done[ch, j]
                if d <= limit and d < best_t:
                    best_t = d
                    best_ch = ch
                    best_j = j
        if best_ch < 0:
            break
        out_ids[k] = st.f_id[best_ch, best_j]
        out_times[k] = best_t * tb.tck_ps
        k += 1
        n = st.f_n[best_ch]
        for j in range(best_j, n - 1):
            st.f_id[best_ch, j] = st.f_id[best_ch, j + 1]
            st.f_done[best_ch, j] = st.f_done[best_ch, j + 1]
        st.f_n[best_ch] = n - 1
    return k


@njit(cache=True)
def dram_next_time(tb, st):
    """Ps of the next command or data completion that concerns a request; -1 if none is pending.

    Refresh of an idle channel is not reported (it happens in passing in dram_advance).
    """
    best = NEVER
    for ch in range(tb.channels):
        for j in range(st.f_n[ch]):
            best = min(best, st.f_done[ch, j])
        if st.q_n[ch] > 0:
            t, cmd, bank, qi = _decide(tb, st, ch, st.cur[ch])
            best = min(best, t)
    return -1 if best == NEVER else best * tb.tck_ps


@njit(cache=True)
def _drain(st, done_cycle):
    """Move every in-flight request's finish cycle to done_cycle[id] (whole-stream driver)."""
    for ch in range(st.f_n.shape[0]):
        for j in range(st.f_n[ch]):
            done_cycle[st.f_id[ch, j]] = st.f_done[ch, j]
        st.f_n[ch] = 0


@njit(cache=True)
def simulate_stream(tb, st, arrival_ps, ch_of, bank_of, row_of, is_write):
    """Drive the model over a whole request stream; returns each request's finish cycle.

    Front end in order: request i enters its channel's queue at the first cycle >= its visible
    cycle (first edge after arrival) and >= the entry of request i-1 at which the queue has a
    free slot. Requests must be sorted by arrival.
    """
    n = arrival_ps.shape[0]
    done = np.full(n, -1, np.int64)
    for i in range(n):
        c = max(arrival_ps[i] // tb.tck_ps + 1, st.cur[0])
        run_until(tb, st, c)
        _drain(st, done)
        ch = ch_of[i]
        while st.q_n[ch] >= tb.queue_depth:
            t, cmd, bank, qi = _decide(tb, st, ch, st.cur[ch])
            run_until(tb, st, t + 1)
            _drain(st, done)
        enqueue_at(tb, st, st.cur[ch], i, ch, bank_of[i], row_of[i], is_write[i] != 0,
                   arrival_ps[i])
    while True:
        pending = 0
        for ch in range(tb.channels):
            pending += st.q_n[ch]
        if pending == 0:
            break
        t = NEVER
        for ch in range(tb.channels):
            if st.q_n[ch] > 0:
                t = min(t, _decide(tb, st, ch, st.cur[ch])[0])
        run_until(tb, st, t + 1)
        _drain(st, done)
    _drain(st, done)
    return done


@njit(cache=True)
def next_event_cycle(tb, st):
    """DRAM cycle of the next command or data completion on any channel; NEVER if idle."""
    best = NEVER
    for ch in range(tb.channels):
        f_done = st.f_done[ch]
        for k in range(st.f_n[ch]):
            best = min(best, f_done[k])
        if st.q_n[ch] > 0:
            best = min(best, _decide(tb, st, ch, st.cur[ch])[0])
    return best


@njit(cache=True)
def step_collect(tb, st, d_now, out_ids, out_cycles):
    """Decide every cycle <= d_now, then move requests whose data finished by d_now out of flight.

    Writes (request id, finish cycle) pairs to out_ids/out_cycles (sized channels x inflight_cap)
    and returns how many.
    """
    run_until(tb, st, d_now + 1)
    k_out = 0
    for ch in range(tb.channels):
        f_id = st.f_id[ch]
        f_done = st.f_done[ch]
        n = st.f_n[ch]
        keep = 0
        for k in range(n):
            if f_done[k] <= d_now:
                out_ids[k_out] = f_id[k]
                out_cycles[k_out] = f_done[k]
                k_out += 1
            else:
                f_id[keep] = f_id[k]
                f_done[keep] = f_done[k]
                keep += 1
        st.f_n[ch] = keep
    return k_out


@njit(cache=True)
def offer(tb, st, vis, req_id, addr, is_write, arr_ps):
    """dram_enqueue with the visible cycle given (the caller has decided every earlier cycle)."""
    ch, bank, row = decode(tb, addr)
    return enqueue_at(tb, st, vis, req_id, ch, bank, row, is_write, arr_ps)
