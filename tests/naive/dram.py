"""Slow, obvious reference for `simulator.engine.dram` (STYLE habit 10).

Steps the DRAM command clock one cycle at a time. Each timing rule is written out from the
DramTiming fields against the history of past commands (no constraint table), and the data bus
is a separate rule (a burst may not start before the previous one ended, plus tRTRS when the
direction changes). Controller, per channel and cycle, exactly as the engine's docstring says:
1. all-bank refresh pending (t >= ref_due): PREA if any bank is open, else REF (ref_due +=
   tREFI), and nothing else this cycle. Per-bank refresh pending (t >= ref_due, every tREFI_pb,
   banks in turn): PRE of that bank if open, else REFpb of it (ref_due += tREFI_pb, next bank),
   if legal; either way the cycle goes on below for the other banks (that bank is left out).
   It waits (the bank is not left out) while that bank's open row has served no column command
   since its ACT and a visible request hits it. A due all-bank refresh likewise waits while any
   bank's open row has served no column command since its ACT and a visible request the mode
   serves hits it; meanwhile only the oldest legal such hit may issue;
2. the oldest visible row hit whose RD/WR is legal, except on a *capped* bank: one that has served
   row_hit_cap column commands since its ACT while its oldest visible request is to another row
   (row_hit_cap 0: no bank is ever capped);
3. the oldest visible request whose next command is legal: ACT (bank closed) or PRE (bank open
   to another row, and no visible request hits the open row or the bank is capped);
4. close page only: PRE of the lowest open bank that no visible request hits.
With a write buffer (controller.write_buffer > 0) the channel is in read or write mode, updated at
the start of every cycle from the visible queued requests: read mode starts a drain when the writes
reach the high watermark or no read is visible; a drain ends when no write is left, or at the low
watermark with a read visible. Rules 2-4 then see only the visible requests of the mode's kind.
Reads fill queue_depth entries, writes write_buffer entries.
Each request's access (visible -> data finished) is split as the engine reports it: waiting on
bank timing from its first ACT/PRE to the column command, waiting in refresh between visible and
the column command while the last refresh ran (from the cycle it fell due to the end of tRFC),
the bank span's refresh cycles counted as refresh.
With controller.refresh_postpone = N > 0, a due all-bank refresh is put off at every cycle where a
queued request is visible, until N more tREFI have passed (ref_due + N tREFI): from then on it is
pending whatever is queued. Its refresh window (for the waits) starts at that forced cycle if it
issued then or later, else at ref_due.
An all-bank refresh closes the open banks with one PREA, or (controller.refresh_precharge
per_bank) with one PRE per open bank: each cycle the lowest open bank whose PRE is legal.
Two-level controller (controller.cmd_queue_size > 0, DRAMSim3's), per channel and cycle: requests
wait in a transaction queue (reads, or all without a write buffer; writes in the write buffer),
then in per-bank command queues (FIFO lists); each cycle
1. refresh pending: its PRE / PREA / REF as above, nothing else;
2. else the bank queues from the one after the last that issued, round robin: in each, requests
   oldest first, the first whose next command (ACT if its bank is closed, RD/WR if open to its
   row, PRE if open to another) is legal now, where a PRE needs the request to be the queue's
   first and either no request of the queue to hit the open row or row_hit_cap (> 0) column
   commands served on it; the first queue with such a command issues it;
3. then one move: a write drain starts if the write buffer holds write_high writes, or more than
   write_idle_drain_above with every command queue empty, and moves as many writes as the buffer
   held then; the oldest request of the queue being served (the write buffer during a drain,
   else the read queue) whose bank's command queue has fewer than cmd_queue_size moves into it.
   Once the whole stream is accepted, a drain also starts when the command queues are empty and
   the buffer holds any write.
Its front end accepts request i at the first cycle t >= arrival ps // tCK (and >= the previous
acceptance, + 1 with one_per_cycle) at which its transaction queue has room, before cycle t's
command; it is visible (for the statistics) from t + 1.
Front end (whole streams): before deciding cycle t, requests enter their channel's queue in
arrival order while the next one is visible (t > its arrival ps // tCK, i.e. t >= arrival // tCK
+ 1) and its queue has a free slot; the first that cannot enter blocks the rest.
"""
from __future__ import annotations

from dataclasses import dataclass, field

NEG = -(10**15)
ACT, PRE, RD, WR, PREA, REF, REFPB = range(7)   # same codes as simulator.engine.dram


@dataclass
class Bank:
    group: int
    open_row: int = -1
    last: dict = field(default_factory=lambda: {ACT: NEG, PRE: NEG, RD: NEG, WR: NEG, REFPB: NEG})
    hits: int = 0           # column commands since its ACT
    ref_from: int = 0       # its last per-bank refresh: due at, tRFC_pb over at
    ref_to: int = 0


@dataclass
class Request:
    ident: int
    bank: int
    row: int
    write: bool
    vis: int
    kind: str = ""          # "hit", "miss" or "conflict": the first command issued for it
    first: int = -1         # cycle of its first ACT/PRE
    access: int = 0         # set when served: visible -> data finished, of which
    on_bank: int = 0        # on bank timing
    in_refresh: int = 0     # in a refresh


@dataclass
class Channel:
    banks: list
    acts: list = field(default_factory=list)
    last_prea: int = NEG
    last_ref: int = NEG
    bus_end: int = NEG
    bus_write: bool = False
    ref_due: int = 0
    queue: list = field(default_factory=list)
    mode: str = "all"       # "all" (no write buffer), "read" or "write"
    refreshes: int = 0
    ref_from: int = 0       # the last all-bank refresh: due at, tRFC over at
    ref_to: int = 0
    ref_bank: int = 0       # per-bank refresh: whose turn is next
    reads_q: list = field(default_factory=list)    # two-level controller: the transaction queue,
    writes_q: list = field(default_factory=list)   # the write buffer,
    cmd_q: list = field(default_factory=list)      # one command queue per bank,
    last_served: int = 0                           # the bank that issued last,
    drain: int = 0                                 # writes the drain has still to move
    kinds: dict = field(default_factory=lambda: {"hit": 0, "miss": 0, "conflict": 0})
    waits: list = field(default_factory=lambda: [0, 0, 0])   # summed access, on bank, in refresh


class NaiveDram:
    """The DRAM channels of one DramSpec, stepped cycle by cycle."""

    def __init__(self, dram_spec):
        t = self.t = dram_spec.resolved_timing
        self.channels = dram_spec.channels
        self.queue_depth = dram_spec.queue_depth
        self.row_hit_cap = dram_spec.controller.row_hit_cap
        ctrl = dram_spec.controller
        self.write_buffer = ctrl.write_buffer
        # watermarks in entries: the fractions in thousandths, rounded up (high) and down (low)
        self.write_high = max(1, -(-round(ctrl.write_high_watermark * 1000) * ctrl.write_buffer // 1000))
        self.write_low = min(self.write_high - 1, round(ctrl.write_low_watermark * 1000) * ctrl.write_buffer // 1000)
        self.close_page = dram_spec.page_policy == "close"
        self.cmd_queue_size = ctrl.cmd_queue_size
        self.write_idle_drain = ctrl.write_idle_drain_above
        self.ref_pre_per_bank = ctrl.refresh_precharge == "per_bank"
        self.postpone = ctrl.refresh_postpone
        self.per_bank = dram_spec.refresh == "per_bank"
        self.burst_bytes = dram_spec.channel_width_bits // 8 * t.burst_length
        self.mapping = dram_spec.address_mapping.split("_")
        self.sizes = {"ch": dram_spec.channels, "bg": t.bank_groups, "ba": t.banks_per_group,
                      "ro": t.rows, "co": t.columns // t.burst_length}
        self.ch = [Channel(banks=[Bank(group=b // t.banks_per_group)
                                  for b in range(t.bank_groups * t.banks_per_group)],
                           ref_due=t.trefi_pb if self.per_bank else t.trefi,
                           mode="read" if dram_spec.controller.write_buffer else "all",
                           cmd_q=[[] for _ in range(t.bank_groups * t.banks_per_group)])
                   for _ in range(dram_spec.channels)]
        self.done = {}

    def decode(self, addr):
        """(channel, bank, row): fields LSB first above the burst offset, each modulo its count."""
        x = addr // self.burst_bytes
        v = {}
        for name in reversed(self.mapping):
            v[name] = x % self.sizes[name]
            x //= self.sizes[name]
        return v["ch"], v["bg"] * self.t.banks_per_group + v["ba"], v["ro"]

    # --- the rules --------------------------------------------------------------------------
    def can_issue(self, c, cmd, b, row, now):
        t, ch = self.t, self.ch[c]
        bank = ch.banks[b] if b >= 0 else None
        if cmd in (ACT, REFPB):
            ok = bank.open_row < 0
            ok &= now >= bank.last[ACT] + t.trc
            ok &= now >= bank.last[PRE] + t.trp
            ok &= now >= bank.last[REFPB] + t.trfc_pb
            ok &= now >= ch.last_prea + t.trp_ab
            ok &= now >= ch.last_ref + t.trfc
            for o in ch.banks:             # REFpb and ACT: tRRD between banks either way
                if o is not bank:
                    rrd = t.trrd_l if o.group == bank.group else t.trrd_s
                    ok &= now >= o.last[ACT] + rrd and now >= o.last[REFPB] + rrd
            if cmd == ACT:
                ok &= sum(1 for a in ch.acts if a > now - t.tfaw) < 4
            return ok
        if cmd in (PRE, PREA):             # tPPD: from any PRE or PREA of the channel
            last_pre = max([ch.last_prea] + [o.last[PRE] for o in ch.banks])
            if now < last_pre + t.tppd:
                return False
        if cmd == PRE:
            return bank.open_row >= 0 and self._pre_ok(bank, now)
        if cmd == PREA:
            return all(self._pre_ok(o, now) for o in ch.banks if o.open_row >= 0)
        if cmd == REF:
            ok = all(o.open_row < 0 and now >= o.last[PRE] + t.trp and now >= o.last[REFPB] + t.trfc_pb
                     for o in ch.banks)
            return ok and now >= ch.last_prea + t.trp_ab and now >= ch.last_ref + t.trfc
        # RD / WR
        ok = bank.open_row == row
        ok &= now >= bank.last[ACT] + (t.trcd_rd if cmd == RD else t.trcd_wr)
        for o in ch.banks:
            ccd = t.tccd_l if o.group == bank.group else t.tccd_s
            ok &= now >= o.last[RD] + ccd and now >= o.last[WR] + ccd
            if cmd == RD:
                wtr = t.twtr_l if o.group == bank.group else t.twtr_s
                ok &= now >= o.last[WR] + t.cwl + t.burst_cycles + wtr
        start = now + (t.cl if cmd == RD else t.cwl)
        turn = t.trtrs if ch.bus_write != (cmd == WR) else 0
        ok &= start >= ch.bus_end + turn
        return ok

    def _pre_ok(self, bank, now):
        t = self.t
        return (now >= bank.last[ACT] + t.tras and now >= bank.last[RD] + t.trtp
                and now >= bank.last[WR] + t.cwl + t.burst_cycles + t.twr)

    def issue(self, c, cmd, b, row, now):
        t, ch = self.t, self.ch[c]
        if cmd == PREA:
            for o in ch.banks:
                o.open_row = -1
            ch.last_prea = now
            return
        if cmd == REF:
            ch.last_ref = now
            ch.refreshes += 1
            return
        bank = ch.banks[b]
        bank.last[cmd] = now
        if cmd == REFPB:
            ch.refreshes += 1
            return
        if cmd == ACT:
            bank.open_row = row
            bank.hits = 0
            ch.acts.append(now)
        elif cmd == PRE:
            bank.open_row = -1
        else:
            bank.hits += 1
            ch.bus_end = now + (t.cl if cmd == RD else t.cwl) + t.burst_cycles
            ch.bus_write = cmd == WR

    # --- the controller ---------------------------------------------------------------------
    def step(self, c, now):
        """Decide cycle `now` on channel c: issue at most one command."""
        ch = self.ch[c]
        if ch.mode != "all":
            reads = sum(1 for r in ch.queue if r.vis <= now and not r.write)
            writes = sum(1 for r in ch.queue if r.vis <= now and r.write)
            if ch.mode == "read" and (writes >= self.write_high or (reads == 0 and writes > 0)):
                ch.mode = "write"
            elif ch.mode == "write" and (writes == 0 or (writes <= self.write_low and reads > 0)):
                ch.mode = "read"
        skip = -1                          # a bank whose per-bank refresh is pending
        held = False                       # ... but waits for the first column command of its open row
        if self.per_bank and now >= ch.ref_due:
            o = ch.banks[ch.ref_bank]
            held = o.open_row >= 0 and o.hits == 0 and any(
                r.bank == ch.ref_bank and r.vis <= now and r.row == o.open_row for r in ch.queue)
        if self.per_bank and now >= ch.ref_due and not held:
            skip = ch.ref_bank
            cmd = PRE if ch.banks[skip].open_row >= 0 else REFPB
            if self.can_issue(c, cmd, skip, -1, now):
                self.issue(c, cmd, skip, -1, now)
                if cmd == REFPB:
                    ch.banks[skip].ref_from, ch.banks[skip].ref_to = ch.ref_due, now + self.t.trfc_pb
                    ch.ref_due += self.t.trefi_pb
                    ch.ref_bank = (skip + 1) % len(ch.banks)
                return
        elif not self.per_bank and now >= ch.ref_due and (now >= ch.ref_due + self.postpone * self.t.trefi
                                    or not any(r.vis <= now for r in ch.queue)):
            # due, and not put off (busy, fewer than `postpone` owed); but it waits while a bank's
            # open row has served no column command since its ACT and a visible request the mode
            # serves hits it: meanwhile only those first column commands may issue
            mode_ok = [r for r in ch.queue if r.vis <= now and (ch.mode == "all" or r.write == (ch.mode == "write"))]
            fresh = [r for r in mode_ok if ch.banks[r.bank].open_row == r.row and ch.banks[r.bank].hits == 0]
            if not fresh:
                self._refresh_step(c, now)
                return
            for r in fresh:
                cmd = WR if r.write else RD
                if self.can_issue(c, cmd, r.bank, r.row, now):
                    self._serve(c, r, cmd, now)
                    return
            return
        vis = [r for r in ch.queue if r.vis <= now and r.bank != skip
               and (ch.mode == "all" or r.write == (ch.mode == "write"))]
        hit_banks = {r.bank for r in vis if ch.banks[r.bank].open_row == r.row}
        oldest = {}
        for r in vis:
            oldest.setdefault(r.bank, r)
        capped = {b for b, r in oldest.items() if self.row_hit_cap and ch.banks[b].hits >= self.row_hit_cap
                  and ch.banks[b].open_row >= 0 and ch.banks[b].open_row != r.row}
        for r in vis:
            if ch.banks[r.bank].open_row == r.row and r.bank not in capped:
                cmd = WR if r.write else RD
                if self.can_issue(c, cmd, r.bank, r.row, now):
                    self._serve(c, r, cmd, now)
                    return
        for r in vis:
            open_row = ch.banks[r.bank].open_row
            if open_row == r.row:
                continue
            if open_row < 0:
                cmd = ACT
            elif r.bank not in hit_banks or r.bank in capped:
                cmd = PRE
            else:
                continue
            if self.can_issue(c, cmd, r.bank, r.row, now):
                if not r.kind:
                    r.kind = "miss" if cmd == ACT else "conflict"
                    r.first = now
                self.issue(c, cmd, r.bank, r.row, now)
                return
        if self.close_page:
            for b, o in enumerate(ch.banks):
                if o.open_row >= 0 and b != skip and b not in hit_banks and self.can_issue(c, PRE, b, -1, now):
                    self.issue(c, PRE, b, -1, now)
                    return

    def _refresh_step(self, c, now):
        """All-bank refresh pending: close the banks (PREA, or a PRE each), then REF."""
        ch = self.ch[c]
        open_banks = [b for b, o in enumerate(ch.banks) if o.open_row >= 0]
        if open_banks and self.ref_pre_per_bank:
            for b in open_banks:
                if self.can_issue(c, PRE, b, -1, now):
                    self.issue(c, PRE, b, -1, now)
                    return
        elif open_banks:
            if self.can_issue(c, PREA, -1, -1, now):
                self.issue(c, PREA, -1, -1, now)
        elif self.can_issue(c, REF, -1, -1, now):
            self.issue(c, REF, -1, -1, now)
            forced_at = ch.ref_due + self.postpone * self.t.trefi
            ch.ref_from, ch.ref_to = forced_at if now >= forced_at else ch.ref_due, now + self.t.trfc
            ch.ref_due += self.t.trefi

    def step_two_level(self, c, now, flush=False):
        """The two-level controller's cycle `now` on channel c: at most one command, then one move."""
        self.two_level_command(c, now)
        self.two_level_move(c, flush)

    def two_level_command(self, c, now):
        """Step 1 or 2 of the two-level controller's cycle `now` on channel c (at most one command)."""
        if now >= self.ch[c].ref_due:
            self._refresh_step(c, now)
        else:
            self._queue_command(c, now)

    def two_level_move(self, c, flush=False):
        """Step 3 of the two-level controller's cycle on channel c (at most one move)."""
        ch = self.ch[c]
        if self.write_buffer:
            nw = len(ch.writes_q)
            idle = not any(ch.cmd_q) and nw > 0
            if ch.drain == 0 and (nw >= self.write_high or (idle and (flush or (self.write_idle_drain
                                                                                 and nw > self.write_idle_drain)))):
                ch.drain = nw
        source = ch.writes_q if ch.drain > 0 else ch.reads_q
        for r in source:
            if len(ch.cmd_q[r.bank]) < self.cmd_queue_size:
                if source is ch.writes_q:
                    ch.drain -= 1
                source.remove(r)
                ch.cmd_q[r.bank].append(r)
                break

    def _queue_command(self, c, now):
        ch = self.ch[c]
        nb = len(ch.banks)
        for i in range(1, nb + 1):
            b = (ch.last_served + i) % nb
            queue = ch.cmd_q[b]
            bank = ch.banks[b]
            for k, r in enumerate(queue):
                if bank.open_row < 0:
                    cmd = ACT
                elif bank.open_row == r.row:
                    cmd = WR if r.write else RD
                else:
                    cmd = PRE
                if not self.can_issue(c, cmd, b, r.row, now):
                    continue
                if cmd == PRE:
                    if k > 0:                  # an older request of this bank comes first
                        continue
                    hits = any(x.row == bank.open_row for x in queue)
                    if hits and not (self.row_hit_cap and bank.hits >= self.row_hit_cap):
                        continue
                ch.last_served = b
                if cmd in (RD, WR):
                    queue.remove(r)
                    self._serve(c, r, cmd, now)
                else:
                    if not r.kind:
                        r.kind = "miss" if cmd == ACT else "conflict"
                        r.first = now
                    self.issue(c, cmd, b, r.row, now)
                return

    def _serve(self, c, r, cmd, now):
        ch = self.ch[c]
        if not r.kind:
            r.kind = "hit"
        bank = ch.banks[r.bank]
        refresh = set(range(ch.ref_from, ch.ref_to)) | set(range(bank.ref_from, bank.ref_to))
        t = self.t
        r.access = now + (t.cl if cmd == RD else t.cwl) + t.burst_cycles - r.vis
        r.in_refresh = sum(1 for x in range(r.vis, now) if x in refresh)
        if r.first >= 0:
            r.on_bank = sum(1 for x in range(r.first, now) if x not in refresh)
        for k, v in enumerate((r.access, r.on_bank, r.in_refresh)):
            ch.waits[k] += v
        ch.kinds[r.kind] += 1
        self.issue(c, cmd, r.bank, r.row, now)
        ch.queue.remove(r)
        t = self.t
        self.done[r.ident] = now + (t.cl if cmd == RD else t.cwl) + t.burst_cycles

    def _tq_has_room(self, ch, write):
        if write and self.write_buffer:
            return len(ch.writes_q) < self.write_buffer
        return len(ch.reads_q) < self.queue_depth

    def run_two_level(self, arrival_ps, addr, is_write, one_per_cycle=False, limit_cycles=None):
        """Completion ps of each request through the two-level controllers (cmd_queue_size > 0);
        self.accepted gets each request's acceptance cycle."""
        reqs = [(i, *self.decode(int(a)), bool(w), int(p) // self.t.tck_ps)
                for i, (p, a, w) in enumerate(zip(arrival_ps, addr, is_write))]
        self.accepted = [0] * len(reqs)
        nxt = 0
        now = 0
        last = None
        while nxt < len(reqs) or any(ch.queue for ch in self.ch):
            assert limit_cycles is None or now < limit_cycles, "no end in sight in the reference"
            while nxt < len(reqs):
                i, c, b, row, w, arr = reqs[nxt]
                if arr > now or (one_per_cycle and last == now) or not self._tq_has_room(self.ch[c], w):
                    break
                r = Request(i, b, row, w, now + 1)
                self.ch[c].queue.append(r)
                (self.ch[c].writes_q if w and self.write_buffer else self.ch[c].reads_q).append(r)
                self.accepted[i] = now
                last = now
                nxt += 1
            for c in range(self.channels):
                self.step_two_level(c, now, flush=nxt == len(reqs))
            now += 1
        self.cycles = now
        return [self.done[i] * self.t.tck_ps for i in range(len(reqs))]

    def _has_room(self, ch, write):
        if not self.write_buffer:
            return len(ch.queue) < self.queue_depth
        n = sum(1 for r in ch.queue if r.write == write)
        return n < (self.write_buffer if write else self.queue_depth)

    def run(self, arrival_ps, addr, is_write, limit_cycles=None):
        """Completion ps of each request of a stream sorted by arrival. `limit_cycles`: fail (an
        AssertionError) instead of running for ever once the stream takes that many cycles."""
        if self.cmd_queue_size:
            return self.run_two_level(arrival_ps, addr, is_write, limit_cycles=limit_cycles)
        reqs = [(i, *self.decode(int(a)), bool(w), int(p) // self.t.tck_ps + 1)
                for i, (p, a, w) in enumerate(zip(arrival_ps, addr, is_write))]
        nxt = 0
        now = 0
        self.max_queue = 0
        while nxt < len(reqs) or any(ch.queue for ch in self.ch):
            assert limit_cycles is None or now < limit_cycles, "no end in sight in the reference"
            while nxt < len(reqs):
                i, c, b, row, w, vis = reqs[nxt]
                if vis > now or not self._has_room(self.ch[c], w):
                    break
                self.ch[c].queue.append(Request(i, b, row, w, now))
                nxt += 1
            self.max_queue = max([self.max_queue] + [len(ch.queue) for ch in self.ch])
            for c in range(self.channels):
                self.step(c, now)
            now += 1
        self.cycles = now
        return [self.done[i] * self.t.tck_ps for i in range(len(reqs))]
