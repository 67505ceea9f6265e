"""The DRAM channel as engine tables: a DramTiming + DramSpec lowered to dense integer arrays.

`dram_tables` builds `engine.dram.DramTables`:
- `cons[prev, next, scope]` (nCK): the minimum gap from a command to the next one, scope = same
  bank / same bank group (other bank) / other bank group; 0 = no rule. PREA and REF are rank
  commands and use the same-bank column for every bank. Every entry is one JEDEC rule or the
  max of a rule and the data-bus occupancy (see `constraint_rows`, docs/dram_model.md).
- the address layout: fields (channel, bank group, bank, row, column) and their counts, LSB
  first, above a burst-sized offset (burst bytes = channel_width / 8 x burst_length); column
  counts bursts per row (columns / burst_length). `address_bits` gives bit positions when every
  count is a power of two; the engine decodes by mixed radix, so other counts work too.
- the clock ratio: the DRAM edge c is at c * tck_ps (integer ps); core cycles per DRAM cycle is
  the exact fraction tck_ps * core_hz / 10^12 (core_per_dram_num / core_per_dram_den).

`validation_table()` prints the figures of docs/dram_model.md:
    .venv/bin/python -c "from simulator.resources.dram import validation_table; print(validation_table())"
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from simulator.engine.dram import (CMD_ACT, CMD_PRE, CMD_PREA, CMD_RD, CMD_REF, CMD_REFPB, CMD_WR, FIELD_BA,
                                   FIELD_BG, FIELD_CH, FIELD_CO, FIELD_RO, NUM_CMDS, NUM_FIELDS,
                                   NUM_SCOPES, NUM_STATS, P_BANKS, P_BANKS_PER_GROUP, P_BURST_BYTES,
                                   P_BURST_CYCLES, P_CHANNELS, P_CL, P_CHAN_ROW, P_CONS, P_CORE_DEN, P_CORE_NUM, P_CWL,
                                   P_FIELD_ORDER, P_FIELD_SIZE, P_INFLIGHT_CAP, P_POLICY, P_QUEUE_DEPTH, P_ROW_HIT_CAP, P_WRITE_BUFFER, P_CMD_QUEUE, P_WRITE_IDLE_DRAIN, P_REF_PRE_PER_BANK, P_REF_POSTPONE, P_WRITE_HIGH, P_WRITE_LOW,
                                   P_MASK, P_POW2, P_REFRESH, P_SHIFT, P_SIZE, P_TCK_PS, P_TFAW, P_TREFI, P_TRFC, POLICY_CLOSE, POLICY_OPEN, REFRESH_ALL_BANK, REFRESH_PER_BANK,
                                   BK_GROUP_ROW, BK_HEAD, BK_OPEN_ROW, BK_SIZE, BK_TAIL, QF_NEXT, QF_SIZE, SC_DEC, SC_FREE, SC_MODE, SC_MODE_ISSUE, SC_MODE_T, SC_REF_DUE, SC_SIZE, MODE_ALL, MODE_READ, ST_LAT_SUM_PS,
                                   ST_REFRESH_CYCLES, LAT_BINS, STAT_NAMES, DramState, DramTables, decode_all,
                                   simulate_stream)

from simulator.engine.dram_cmdq import cmdq_simulate_stream, cmdq_state_new

PS_PER_S = 10**12
PAGE_POLICY_CODES = {"open": POLICY_OPEN, "close": POLICY_CLOSE}
REFRESH_CODES = {"all_bank": REFRESH_ALL_BANK, "per_bank": REFRESH_PER_BANK}
FIELD_CODES = {"ch": FIELD_CH, "bg": FIELD_BG, "ba": FIELD_BA, "ro": FIELD_RO, "co": FIELD_CO}


def constraint_rows(t) -> list[tuple[int, int, int, int, int, str]]:
    """(prev, next, same bank, same group, other group, rule) in nCK: the table, readable."""
    bl = t.burst_cycles
    cc_l, cc_s = max(t.tccd_l, bl), max(t.tccd_s, bl)
    rtw = t.cl + bl + t.trtrs - t.cwl             # read data end + turnaround = write data start
    wtr_l, wtr_s = t.cwl + bl + t.twtr_l, t.cwl + bl + t.twtr_s
    wr_pre = t.cwl + bl + t.twr                   # write recovery counts from the end of data
    return [
        (CMD_ACT, CMD_ACT, t.trc, t.trrd_l, t.trrd_s, "tRC / tRRD_L / tRRD_S"),
        (CMD_ACT, CMD_PRE, t.tras, 0, 0, "tRAS"),
        (CMD_ACT, CMD_PREA, t.tras, 0, 0, "tRAS"),
        (CMD_ACT, CMD_RD, t.trcd_rd, 0, 0, "tRCD(RD)"),
        (CMD_ACT, CMD_WR, t.trcd_wr, 0, 0, "tRCD(WR)"),
        (CMD_PRE, CMD_ACT, t.trp, 0, 0, "tRP"),
        (CMD_PRE, CMD_REF, t.trp, 0, 0, "tRP"),
        (CMD_PREA, CMD_ACT, t.trp_ab, 0, 0, "tRP(ab), every bank"),
        (CMD_PREA, CMD_REF, t.trp_ab, 0, 0, "tRP(ab)"),
        (CMD_RD, CMD_RD, cc_l, cc_l, cc_s, "max(tCCD_L/S, burst)"),
        (CMD_WR, CMD_WR, cc_l, cc_l, cc_s, "max(tCCD_L/S, burst)"),
        (CMD_RD, CMD_WR, max(rtw, cc_l), max(rtw, cc_l), max(rtw, cc_s),
         "max(CL + burst + tRTRS - CWL, tCCD)"),
        (CMD_WR, CMD_RD, max(wtr_l, cc_l), max(wtr_l, cc_l), max(wtr_s, cc_s),
         "max(CWL + burst + tWTR_L/S, tCCD)"),
        (CMD_RD, CMD_PRE, t.trtp, 0, 0, "tRTP"),
        (CMD_RD, CMD_PREA, t.trtp, 0, 0, "tRTP"),
        (CMD_WR, CMD_PRE, wr_pre, 0, 0, "CWL + burst + tWR"),
        (CMD_WR, CMD_PREA, wr_pre, 0, 0, "CWL + burst + tWR"),
        (CMD_PRE, CMD_PRE, t.tppd, t.tppd, t.tppd, "tPPD"),
        (CMD_PRE, CMD_PREA, t.tppd, 0, 0, "tPPD"),
        (CMD_PREA, CMD_PRE, t.tppd, 0, 0, "tPPD, every bank"),
        (CMD_PREA, CMD_PREA, t.tppd, 0, 0, "tPPD"),
        (CMD_REF, CMD_ACT, t.trfc, 0, 0, "tRFC, every bank"),
        (CMD_REF, CMD_REF, t.trfc, 0, 0, "tRFC"),
    ] + ([] if not t.per_bank_refresh_supported else [
        # per-bank refresh. The refreshed bank is closed first (PRE -> REFpb: tRP); assumption:
        # REFpb and ACT keep tRRD between banks, as two ACTs do.
        (CMD_REF, CMD_REFPB, t.trfc, 0, 0, "tRFC"),
        (CMD_PRE, CMD_REFPB, t.trp, 0, 0, "tRP"),
        (CMD_PREA, CMD_REFPB, t.trp_ab, 0, 0, "tRP(ab)"),
        (CMD_ACT, CMD_REFPB, t.trc, t.trrd_l, t.trrd_s, "tRC / tRRD_L / tRRD_S"),
        (CMD_REFPB, CMD_ACT, t.trfc_pb, t.trrd_l, t.trrd_s, "tRFCpb / tRRD_L / tRRD_S"),
        (CMD_REFPB, CMD_REFPB, t.trfc_pb, t.trrd_l, t.trrd_s, "tRFCpb / tRRD_L / tRRD_S"),
        (CMD_REFPB, CMD_REF, t.trfc_pb, 0, 0, "tRFCpb"),
    ])


def constraint_table(t) -> np.ndarray:
    """int64[NUM_CMDS, NUM_CMDS, NUM_SCOPES] from constraint_rows."""
    cons = np.zeros((NUM_CMDS, NUM_CMDS, NUM_SCOPES), np.int64)
    for prev, nxt, bank, group, other, rule in constraint_rows(t):
        if not bank >= group >= other:      # the engine keeps bank / group / channel rows on this
            raise ValueError(f"{t.speed_grade}: {rule} is {bank} / {group} / {other} nCK; a rule may "
                             "not be stricter for another bank (group) than for the same one")
        cons[prev, nxt] = (bank, group, other)
    return cons


def _field_sizes(t, channels: int) -> dict[str, int]:
    if t.columns % t.burst_length:
        raise ValueError(f"{t.speed_grade}: columns {t.columns} not a multiple of BL {t.burst_length}")
    return {"ch": channels, "bg": t.bank_groups, "ba": t.banks_per_group, "ro": t.rows,
            "co": t.columns // t.burst_length}


def _dram_spec(spec):
    return spec.memory.dram if hasattr(spec, "memory") else spec


def dram_tables(spec, core_clock_hz: int | None = None) -> DramTables:
    """Lower an ArchSpec (its memory.dram and clock) or a DramSpec to engine tables."""
    dram = _dram_spec(spec)
    if core_clock_hz is None:
        core_clock_hz = getattr(spec, "clock_hz", None)
    t = dram.resolved_timing
    width = dram.channel_width_bits
    if width <= 0 or width % 8:
        raise ValueError(f"channel_width_bits must be a positive multiple of 8, got {width}")
    sizes = _field_sizes(t, dram.channels)
    names = dram.address_mapping.split("_")           # MSB to LSB
    order = np.array([FIELD_CODES[n] for n in reversed(names)], np.int64)
    size = np.zeros(NUM_FIELDS, np.int64)
    for n, v in sizes.items():
        size[FIELD_CODES[n]] = v
    ratio = Fraction(t.tck_ps * (core_clock_hz or 0), PS_PER_S)
    cons = constraint_table(t)
    per_bank = dram.refresh == "per_bank"
    scalars = dict(
        tck_ps=t.tck_ps, cl=t.cl, cwl=t.cwl, burst_cycles=t.burst_cycles,
        burst_bytes=width // 8 * t.burst_length, tfaw=t.tfaw,
        trefi=t.trefi_pb if per_bank else t.trefi, trfc=t.trfc_pb if per_bank else t.trfc,
        channels=dram.channels, bank_groups=t.bank_groups, banks_per_group=t.banks_per_group,
        queue_depth=dram.queue_depth,
        inflight_cap=dram.queue_depth + dram.controller.write_buffer + max(t.cl, t.cwl) + t.burst_cycles + 2,
        policy=PAGE_POLICY_CODES[dram.page_policy], refresh=REFRESH_CODES[dram.refresh],
        row_hit_cap=dram.controller.row_hit_cap, **_write_buffer(dram.controller),
        cmd_queue_size=dram.controller.cmd_queue_size, write_idle_drain=dram.controller.write_idle_drain_above,
        ref_pre_per_bank=int(dram.controller.refresh_precharge == "per_bank"),
        ref_postpone=dram.controller.refresh_postpone,
        core_per_dram_num=ratio.numerator, core_per_dram_den=ratio.denominator)
    return DramTables(p=_packed(scalars, order, size, cons), cons=cons, field_order=order,
                      field_size=size, **scalars)


def _write_buffer(ctrl) -> dict:
    """The write buffer's size and its watermarks in entries (high at least 1, low below high)."""
    n = ctrl.write_buffer
    high = max(1, -(-int(round(ctrl.write_high_watermark * 1000)) * n // 1000))
    low = min(high - 1, int(round(ctrl.write_low_watermark * 1000)) * n // 1000)
    return {"write_buffer": n, "write_high": high if n else 0, "write_low": low if n else 0}


def _packed(v: dict, order: np.ndarray, size: np.ndarray, cons: np.ndarray) -> np.ndarray:
    """The kernels' one table array (layout: the P_* offsets in engine/dram.py)."""
    p = np.zeros(P_SIZE, np.int64)
    for index, key in ((P_TCK_PS, "tck_ps"), (P_CL, "cl"), (P_CWL, "cwl"),
                       (P_BURST_CYCLES, "burst_cycles"), (P_BURST_BYTES, "burst_bytes"),
                       (P_TFAW, "tfaw"), (P_TREFI, "trefi"), (P_TRFC, "trfc"),
                       (P_CHANNELS, "channels"), (P_BANKS_PER_GROUP, "banks_per_group"),
                       (P_QUEUE_DEPTH, "queue_depth"), (P_INFLIGHT_CAP, "inflight_cap"),
                       (P_POLICY, "policy"), (P_REFRESH, "refresh"), (P_CORE_NUM, "core_per_dram_num"),
                       (P_CORE_DEN, "core_per_dram_den"), (P_ROW_HIT_CAP, "row_hit_cap"),
                       (P_WRITE_BUFFER, "write_buffer"), (P_WRITE_HIGH, "write_high"), (P_WRITE_LOW, "write_low"),
                       (P_CMD_QUEUE, "cmd_queue_size"), (P_WRITE_IDLE_DRAIN, "write_idle_drain"),
                       (P_REF_PRE_PER_BANK, "ref_pre_per_bank"), (P_REF_POSTPONE, "ref_postpone")):
        p[index] = v[key]
    p[P_BANKS] = v["bank_groups"] * v["banks_per_group"]
    p[P_CHAN_ROW] = p[P_BANKS] + v["bank_groups"]
    p[P_FIELD_ORDER:P_FIELD_ORDER + NUM_FIELDS] = order
    p[P_FIELD_SIZE:P_FIELD_SIZE + NUM_FIELDS] = size
    p[P_CONS:P_POW2] = cons.ravel()
    counts = [v["burst_bytes"]] + [int(n) for n in size]
    if all(n & (n - 1) == 0 for n in counts):
        p[P_POW2] = 1
        pos = v["burst_bytes"].bit_length() - 1
        for f in order:
            p[P_SHIFT + f] = pos
            p[P_MASK + f] = size[f] - 1
            pos += int(size[f]).bit_length() - 1
    return p


def address_bits(tables: DramTables) -> dict[str, tuple[int, int]]:
    """{field: (lowest bit, width)} of a byte address, LSB first; needs power-of-two counts."""
    def log2(n: int, what: str) -> int:
        if n & (n - 1):
            raise ValueError(f"{what} count {n} is not a power of two; the layout is mixed radix")
        return n.bit_length() - 1
    names = {v: k for k, v in FIELD_CODES.items()}
    pos = log2(tables.burst_bytes, "burst bytes")
    out = {"offset": (0, pos)}
    for f in tables.field_order:
        w = log2(int(tables.field_size[f]), names[int(f)])
        out[names[int(f)]] = (pos, w)
        pos += w
    return out


def dram_out_capacity(tables: DramTables) -> int:
    """Length of out_ids/out_times that holds every completion one dram_advance can report."""
    return tables.channels * tables.inflight_cap


def dram_state_new(tables: DramTables) -> DramState:
    """A fresh state: every bank closed, queues empty, first refresh due at tREFI."""
    c, nb = tables.channels, tables.bank_groups * tables.banks_per_group
    q = tables.queue_depth + tables.write_buffer + nb * tables.cmd_queue_size   # + command queues' entries
    f = tables.inflight_cap

    sc = np.zeros((c, SC_SIZE), np.int64)
    sc[:, SC_REF_DUE] = tables.trefi
    sc[:, SC_DEC] = -1
    sc[:, SC_FREE] = 0
    sc[:, SC_MODE] = MODE_READ if tables.write_buffer else MODE_ALL
    sc[:, SC_MODE_T] = -1
    sc[:, SC_MODE_ISSUE] = -2
    bank = np.zeros((c, nb + tables.bank_groups + 1, BK_SIZE), np.int64)  # banks, groups, channel
    bank[:, :nb, BK_OPEN_ROW] = -1
    bank[:, :nb, BK_HEAD] = -1
    bank[:, :nb, BK_TAIL] = -1
    bank[:, :nb, BK_GROUP_ROW] = nb + np.arange(nb) // tables.banks_per_group
    queue = np.zeros((c, QF_SIZE, q), np.int64)
    queue[:, QF_NEXT, :] = np.arange(1, q + 1)      # every slot free, linked in order
    queue[:, QF_NEXT, -1] = -1
    return DramState(sc=sc, bank=bank, q=queue,
                     fl=np.zeros((c, 2, f), np.int64), stats=np.zeros((c, NUM_STATS), np.int64),
                     lat_hist=np.zeros((c, LAT_BINS), np.int64))


def decode_many(tables: DramTables, addr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(channel, bank, row) arrays of byte addresses."""
    out = decode_all(tables, np.ascontiguousarray(addr, np.int64))
    return out[0], out[1], out[2]


def simulate_requests(tables: DramTables, arrival_ps, addr, is_write,
                      state: DramState | None = None) -> np.ndarray:
    """Completion ps of each burst-sized request of a stream sorted by arrival (in-order front end).

    Pass `state` (from dram_state_new) to read its stats afterwards.
    """
    arrival_ps = np.ascontiguousarray(arrival_ps, np.int64)
    is_write = np.ascontiguousarray(is_write, np.int64)
    if not (arrival_ps.ndim == 1 and arrival_ps.shape == np.shape(addr) == is_write.shape):
        raise ValueError("arrival_ps, addr and is_write must be 1-D of one length")
    if arrival_ps.size and (np.any(np.diff(arrival_ps) < 0) or arrival_ps[0] < 0):
        raise ValueError("arrival_ps must be non-negative and sorted")
    ch, bank, row = decode_many(tables, addr)
    if state is None:
        state = dram_state_new(tables)
    if tables.cmd_queue_size:
        done = cmdq_simulate_stream(tables, state, *cmdq_state_new_for(tables), arrival_ps, ch, bank, row, is_write)
    else:
        done = simulate_stream(tables, state, arrival_ps, ch, bank, row, is_write)
    return done * tables.tck_ps


def cmdq_state_new_for(tables: DramTables):
    """The two-level controller's (cs, tq) for these tables (engine/dram_cmdq.py)."""
    return cmdq_state_new(tables.channels, tables.bank_groups * tables.banks_per_group,
                          max(tables.queue_depth, tables.write_buffer))


def channel_stats(tables: DramTables, state: DramState) -> list[dict]:
    """Per channel: every stat column by name, plus average latency (ps) and bus utilisation."""
    out = []
    for ch in range(tables.channels):
        row = {name: int(v) for name, v in zip(STAT_NAMES, state.stats[ch])}
        n = row["reads"] + row["writes"]
        row["latency_avg_ps"] = state.stats[ch, ST_LAT_SUM_PS] / n if n else 0.0
        row["latency_p99_ps"] = histogram_percentile(state.lat_hist[ch], 0.99) * tables.tck_ps
        cycles = int(state.cur[ch])
        row["cycles"] = cycles
        row["bus_utilisation"] = row["bus_busy_cycles"] / cycles if cycles else 0.0
        out.append(row)
    return out


def histogram_percentile(hist: np.ndarray, q: float) -> int:
    """Smallest bin b (nCK) such that at least q of the counted requests have latency <= b."""
    total = int(hist.sum())
    if total == 0:
        return 0
    return int(np.searchsorted(np.cumsum(hist), q * total))


def latency_p99_ps(arrival_ps, completion_ps) -> float:
    """99th-percentile request latency (ps) of a simulated stream."""
    return float(np.percentile(np.asarray(completion_ps) - np.asarray(arrival_ps), 99))


# ---------------------------------------------------------------------------------------------
# Validation figures (docs/dram_model.md)
# ---------------------------------------------------------------------------------------------

def preset_spec(speed_grade: str, **fields):
    """A one-channel DramSpec at a preset's default width; `fields` override DramSpec keys."""
    from simulator.spec.arch import DramSpec
    from simulator.spec.dram_standards import DRAM_PRESETS
    t = DRAM_PRESETS[speed_grade]
    args = {"standard": t.standard, "data_rate": t.data_rate_mtps, "channels": 1,
            "channel_width": t.default_channel_width_bits}
    args.update(fields)
    return DramSpec(**args)


def sequential_reads(tables: DramTables, n: int) -> tuple[float, DramState]:
    """Bytes per second of n sequential reads all offered at time 0, and the state after."""
    state = dram_state_new(tables)
    addr = np.arange(n, dtype=np.int64) * tables.burst_bytes
    done = simulate_requests(tables, np.zeros(n, np.int64), addr, np.zeros(n, np.int64), state)
    return n * tables.burst_bytes * PS_PER_S / int(done.max()), state


def same_bank_period(tables: DramTables, n: int = 200) -> int:
    """Median nCK between completions of reads to successive rows of one bank."""
    row_stride = int(np.prod([tables.field_size[f] for f in tables.field_order
                              if f != FIELD_RO and _below_row(tables, f)]))
    addr = np.arange(1, n + 1, dtype=np.int64) * row_stride * tables.burst_bytes
    done = simulate_requests(tables, np.zeros(n, np.int64), addr, np.zeros(n, np.int64))
    return int(np.median(np.diff(done))) // tables.tck_ps


def _below_row(tables: DramTables, f) -> bool:
    order = list(tables.field_order)
    return order.index(f) < order.index(FIELD_RO)


def unloaded_latencies(tables: DramTables) -> tuple[int, int, int]:
    """(row hit, row miss, row conflict) read latency in nCK, from the visible cycle to data end."""
    row_stride = int(np.prod([tables.field_size[f] for f in tables.field_order
                              if _below_row(tables, f)])) * tables.burst_bytes
    gap = 1000 * tables.tck_ps                      # far apart: every bank timing has expired
    arr = np.array([0, gap, 2 * gap], np.int64)
    addr = np.array([0, 0, row_stride], np.int64)   # miss, then hit, then conflict
    done = simulate_requests(tables, arr, addr, np.zeros(3, np.int64))
    vis = arr // tables.tck_ps + 1
    lat = done // tables.tck_ps - vis
    return int(lat[1]), int(lat[0]), int(lat[2])


def validation_table(n: int = 40000) -> str:
    """Markdown table per preset: sequential bandwidth vs peak, same-bank period, latencies."""
    from simulator.spec.dram_standards import DRAM_PRESETS
    lines = ["| preset | peak GB/s | peak less refresh | seq. read, ro_ba_bg_co_ch | "
             "seq. read, ro_co_ba_bg_ch | same, per-bank refresh | same-bank period nCK (tRC) | "
             "hit / miss / conflict nCK | refresh tRFC/tREFI, measured |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, t in DRAM_PRESETS.items():
        peak = t.data_rate_mtps * 10**6 * t.default_channel_width_bits / 8
        less = peak * (1 - t.trfc / t.trefi)
        bw_default, _ = sequential_reads(dram_tables(preset_spec(name)), n)
        tb = dram_tables(preset_spec(name, address_mapping="ro_co_ba_bg_ch"))
        bw_inter, st = sequential_reads(tb, n)
        if t.per_bank_refresh_supported:
            bw_pb, _ = sequential_reads(dram_tables(preset_spec(name, address_mapping="ro_co_ba_bg_ch",
                                                                refresh="per_bank")), n)
            per_bank = f"{bw_pb / 1e9:.2f} ({bw_pb / peak:.1%} of peak)"
        else:
            per_bank = "none in the standard"
        period = same_bank_period(tb)
        hit, miss, conf = unloaded_latencies(tb)
        measured = st.stats[0, ST_REFRESH_CYCLES] / st.cur[0]
        lines.append(
            f"| {name} | {peak / 1e9:.2f} | {less / 1e9:.2f} | {bw_default / 1e9:.2f} "
            f"({bw_default / less:.1%}) | {bw_inter / 1e9:.2f} ({bw_inter / less:.1%}) | {per_bank} | "
            f"{period} ({t.trc}) | {hit} / {miss} / {conf} | "
            f"{t.trfc / t.trefi:.2%}, {measured:.2%} |")
    return "\n".join(lines)
