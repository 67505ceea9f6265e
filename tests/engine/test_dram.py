"""The cycle-level DRAM channel (engine/dram.py): latencies, bandwidth, refresh, FR-FCFS, naive agreement."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.dram import (ST_ACCESS_CYCLES, ST_ACTS, ST_BANK_WAIT_CYCLES, ST_BUS_BUSY_CYCLES, ST_CONFLICTS, ST_HITS,
                                   ST_MISSES, ST_REFRESH_WAIT_CYCLES,
                                   ST_REFRESH_CYCLES, ST_REFRESHES, dram_advance, dram_enqueue,
                                   dram_next_time)
from simulator.resources.dram import (FIELD_CODES, address_bits, channel_stats, dram_out_capacity,
                                      dram_state_new, dram_tables, preset_spec, same_bank_period,
                                      sequential_reads, simulate_requests, unloaded_latencies)
from simulator.spec.dram_standards import DRAM_PRESETS

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.naive.dram import NaiveDram  # noqa: E402


def addr_of(tb, ch=0, bank=0, row=0, col=0):
    """Byte address of (channel, bank, row, column burst) under the tables' mapping."""
    bg, ba = divmod(bank, tb.banks_per_group)
    value = {FIELD_CODES["ch"]: ch, FIELD_CODES["bg"]: bg, FIELD_CODES["ba"]: ba,
             FIELD_CODES["ro"]: row, FIELD_CODES["co"]: col}
    x = 0
    for f in reversed(list(tb.field_order)):        # MSB first
        x = x * int(tb.field_size[f]) + value[int(f)]
    return x * tb.burst_bytes


# ------------------------------------------------------------------ lowering

def test_address_bits_ddr4_default_mapping():
    """DDR4-3200 x64 'ro_ba_bg_co_ch': 64 B offset, 128 column bursts, then bg, ba, 65536 rows."""
    tb = dram_tables(preset_spec("DDR4-3200"))
    assert address_bits(tb) == {"offset": (0, 6), "ch": (6, 0), "co": (6, 7), "bg": (13, 2),
                                "ba": (15, 2), "ro": (17, 16)}


def test_clock_ratio_is_exact():
    """Core cycles per DRAM cycle is an exact fraction: 625 ps at 1 GHz = 5/8, at 933 MHz = 933/1600."""
    tb = dram_tables(preset_spec("DDR4-3200"), 1_000_000_000)
    assert (tb.core_per_dram_num, tb.core_per_dram_den) == (5, 8)
    tb = dram_tables(preset_spec("DDR4-3200"), 933_000_000)
    assert (tb.core_per_dram_num, tb.core_per_dram_den) == (933, 1600)


# ------------------------------------------------------------------ hand-computed latencies

def test_unloaded_latencies_lpddr4_3200():
    """LPDDR4-3200 read: hit CL + burst = 32 + 8 = 40; miss tRCD + 40 = 69; conflict tRP + 69 = 96 nCK."""
    tb = dram_tables(preset_spec("LPDDR4-3200"))
    assert unloaded_latencies(tb) == (32 + 8, 29 + 32 + 8, 27 + 29 + 32 + 8)


def test_unloaded_latencies_ddr4_3200():
    """DDR4-3200 read: hit CL + burst = 22 + 4 = 26; miss 22 + 26 = 48; conflict 22 + 48 = 70 nCK."""
    tb = dram_tables(preset_spec("DDR4-3200"))
    assert unloaded_latencies(tb) == (22 + 4, 22 + 22 + 4, 22 + 22 + 22 + 4)


def test_write_latency_and_ps_times():
    """A write to a closed bank ends tRCD_WR + CWL + burst after its visible edge, reported in ps."""
    tb = dram_tables(preset_spec("DDR4-3200"))
    done = simulate_requests(tb, np.array([625 * 10]), np.array([0]), np.array([1]))
    # visible at edge 11 (first edge after 6250 ps); ACT 11, WR 11 + 22, data ends + 16 + 4
    assert done[0] == (11 + 22 + 16 + 4) * 625


def test_close_page_turns_a_repeat_into_a_miss():
    """Close page precharges after an access, so a later access to the same row is a miss."""
    tb = dram_tables(preset_spec("DDR4-3200", page_policy="close"))
    gap = 1000 * tb.tck_ps
    done = simulate_requests(tb, np.array([0, gap]), np.array([0, 0]), np.zeros(2, np.int64))
    assert done[1] // tb.tck_ps - (gap // tb.tck_ps + 1) == 22 + 22 + 4


# ------------------------------------------------------------------ throughput

@pytest.mark.parametrize("grade", list(DRAM_PRESETS))
def test_sequential_reads_reach_peak_less_refresh(grade):
    """A long sequential read stream (bank-group interleaved) reaches >= 90% of peak less refresh."""
    t = DRAM_PRESETS[grade]
    tb = dram_tables(preset_spec(grade, address_mapping="ro_co_ba_bg_ch"))
    bw, st = sequential_reads(tb, 20000)
    peak = t.data_rate_mtps * 10**6 * t.default_channel_width_bits / 8
    assert bw >= 0.9 * peak * (1 - t.trfc / t.trefi)
    assert bw <= peak
    assert st.stats[0, ST_REFRESHES] > 0


@pytest.mark.parametrize("grade", list(DRAM_PRESETS))
def test_same_bank_rows_take_trc(grade):
    """Reads to successive rows of one bank complete one per max(tRC, tRAS + tRP, tRCD + tRTP + tRP)."""
    t = DRAM_PRESETS[grade]
    tb = dram_tables(preset_spec(grade))
    expect = max(t.trc, t.tras + t.trp, t.trcd_rd + t.trtp + t.trp)
    assert same_bank_period(tb) == expect
    if grade in ("DDR4-3200", "LPDDR4-3200"):
        assert expect == t.trc


def test_refresh_takes_trfc_every_trefi():
    """Under a saturating stream: one REF per tREFI, each stopping all data for at least tRFC."""
    t = DRAM_PRESETS["DDR4-3200"]
    tb = dram_tables(preset_spec("DDR4-3200", address_mapping="ro_co_ba_bg_ch"))
    st = dram_state_new(tb)
    n = 30000
    done = simulate_requests(tb, np.zeros(n, np.int64), np.arange(n) * tb.burst_bytes,
                             np.zeros(n, np.int64), st)
    cycles = int(st.cur[0])
    refs = int(st.stats[0, ST_REFRESHES])
    assert refs in (cycles // t.trefi - 1, cycles // t.trefi)
    assert st.stats[0, ST_REFRESH_CYCLES] == refs * t.trfc
    gaps = np.diff(np.sort(done)) // tb.tck_ps
    assert int(np.sum(gaps >= t.trfc)) == refs          # each refresh is one data gap >= tRFC
    busy = st.stats[0, ST_BUS_BUSY_CYCLES]
    assert busy <= cycles - refs * t.trfc


# ------------------------------------------------------------------ controller

def test_frfcfs_serves_younger_hit_before_older_miss():
    """With row 0 open, a younger row hit is served before an older conflicting request, at CL + burst."""
    tb = dram_tables(preset_spec("DDR4-3200"))
    ps = tb.tck_ps
    arr = np.array([0, 1000 * ps, 1000 * ps])
    addr = np.array([addr_of(tb, row=0), addr_of(tb, row=1), addr_of(tb, row=0, col=1)])
    st = dram_state_new(tb)
    done = simulate_requests(tb, arr, addr, np.zeros(3, np.int64), st) // ps
    assert done[2] < done[1]
    assert done[2] == 1001 + 22 + 4
    assert st.stats[0, ST_HITS] == 1 and st.stats[0, ST_MISSES] == 1 and st.stats[0, ST_CONFLICTS] == 1


def _older_conflict_and_six_hits(row_hit_cap):
    tb = dram_tables(preset_spec("DDR4-3200", controller={"row_hit_cap": row_hit_cap}))
    ps = tb.tck_ps
    rows = [0, 1] + [0] * 6
    arr = np.array([0] + [1000 * ps] * 7)
    addr = np.array([addr_of(tb, row=r, col=i) for i, r in enumerate(rows)])
    st = dram_state_new(tb)
    return simulate_requests(tb, arr, addr, np.zeros(8, np.int64), st) // ps, st


def test_without_a_row_hit_cap_no_precharge_while_a_hit_is_queued():
    """row_hit_cap 0: a conflicting request waits until every queued hit to the open row has been served."""
    done, st = _older_conflict_and_six_hits(0)
    assert done[1] > done[2:].max()
    assert st.stats[0, ST_ACTS] == 2


def test_row_hit_cap_closes_the_row_for_an_older_request():
    """row_hit_cap 4: the open row serves 4 column commands since its ACT (request 0 and three of the
    younger hits), then the older conflicting request gets its PRE and ACT, then row 0 again."""
    done, st = _older_conflict_and_six_hits(4)
    assert done[4] < done[1] < done[5]
    assert max(done[2:5]) < done[1] < min(done[5:])
    assert st.stats[0, ST_ACTS] == 3


def test_queue_bound_respected():
    """dram_enqueue refuses a request when the channel's queue holds queue_depth entries."""
    tb = dram_tables(preset_spec("DDR4-3200", queue_depth=4))
    st = dram_state_new(tb)
    accepted = [bool(dram_enqueue(tb, st, 0, i, addr_of(tb, row=i), False)) for i in range(6)]
    assert accepted == [True] * 4 + [False] * 2
    out_ids = np.zeros(dram_out_capacity(tb), np.int64)
    out_t = np.zeros_like(out_ids)
    while st.q_n[0] == 4:                      # one column command frees one slot
        dram_advance(tb, st, dram_next_time(tb, st), out_ids, out_t)
    assert st.q_n[0] == 3
    assert dram_enqueue(tb, st, int(st.cur[0]) * tb.tck_ps, 9, addr_of(tb, row=9), False)
    assert not dram_enqueue(tb, st, int(st.cur[0]) * tb.tck_ps, 10, addr_of(tb, row=10), False)


def test_stream_queue_occupancy_never_exceeds_depth():
    """Under a burst of 200 requests, request i enters only after request i - depth left the queue."""
    tb = dram_tables(preset_spec("LPDDR4-3200", queue_depth=3))
    n = 200
    rng = np.random.default_rng(5)
    addr = rng.integers(0, 1 << 30, n) // tb.burst_bytes * tb.burst_bytes
    done = simulate_requests(tb, np.zeros(n, np.int64), addr, np.zeros(n, np.int64))
    naive = NaiveDram(preset_spec("LPDDR4-3200", queue_depth=3))
    assert list(done) == naive.run(np.zeros(n, np.int64), addr, np.zeros(n, np.int64))
    assert naive.max_queue == 3


# ------------------------------------------------------------------ njit == naive

def random_stream(seed, grade):
    """A seeded, clustered stream over few rows and all banks, with reads and writes."""
    rng = np.random.default_rng(seed)
    t = DRAM_PRESETS[grade]
    per_bank = t.per_bank_refresh_supported and seed % 4 >= 2
    trefi = 400 + int(rng.integers(0, 200))
    timing = {"trfc": 100, "trefi": trefi}
    if per_bank:                           # short per-bank intervals too, so that they happen often
        timing.update(trfc_pb=40, trefi_pb=trefi // 8)
    spec = preset_spec(grade, page_policy=("open", "close")[seed % 2],
                       queue_depth=int(rng.integers(2, 10)), channels=int(rng.integers(1, 3)),
                       address_mapping=("ro_ba_bg_co_ch", "ro_co_ba_bg_ch")[seed % 3 == 0] if seed % 5 else
                       "_".join(rng.permutation(["ro", "ba", "bg", "co", "ch"])),
                       refresh="per_bank" if per_bank else "all_bank", timing=timing,
                       controller={"row_hit_cap": (0, 1, 2, 4)[(seed // 4) % 4],
                                   "write_buffer": (0, 2, 5)[(seed // 16) % 3],
                                   "write_high_watermark": (0.85, 0.5, 1.0)[seed % 3],
                                   "write_low_watermark": (0.5, 0.25, 0.0)[seed % 3],
                                   "refresh_precharge": ("all", "per_bank")[(seed // 3) % 2],
                                   "refresh_postpone": 0 if per_bank else (0, 1, 3)[(seed // 7) % 3]})
    tb = dram_tables(spec)
    n = int(rng.integers(30, 90))
    nb = t.bank_groups * t.banks_per_group
    addr = np.array([addr_of(tb, ch=int(rng.integers(0, spec.channels)),
                             bank=int(rng.integers(0, nb)), row=int(rng.integers(0, 3)),
                             col=int(rng.integers(0, 4))) for _ in range(n)])
    arr = np.sort(rng.integers(0, 2000, n) * (rng.integers(0, 2, n) + 1) * tb.tck_ps // 3
                  + rng.integers(0, 5, n))
    return spec, tb, arr, addr, rng.integers(0, 2, n)


@pytest.mark.parametrize("grade", ["DDR4-3200", "LPDDR4-3200"])
def test_njit_equals_naive_on_random_streams(grade):
    """120 seeded random streams (all-bank refresh closing the banks with PREA or a PRE each, and
    postponed by up to 0, 1 or 3 REFs): every
    completion time equals the cycle-stepped reference's;
    so do the row hits, misses, conflicts, refreshes and the access / bank / refresh waits."""
    refresh_waited = 0
    for seed in range(120):
        spec, tb, arr, addr, w = random_stream(seed, grade)
        st = dram_state_new(tb)
        got = simulate_requests(tb, arr, addr, w, st)
        naive = NaiveDram(spec)
        want = naive.run(arr, addr, w)
        assert list(got) == want, f"seed {seed}"
        for c in range(spec.channels):
            assert st.stats[c, ST_REFRESHES] == naive.ch[c].refreshes
            assert [st.stats[c, ST_HITS], st.stats[c, ST_MISSES], st.stats[c, ST_CONFLICTS]] == \
                   list(naive.ch[c].kinds.values())
            assert [st.stats[c, ST_ACCESS_CYCLES], st.stats[c, ST_BANK_WAIT_CYCLES],
                    st.stats[c, ST_REFRESH_WAIT_CYCLES]] == naive.ch[c].waits, f"seed {seed} waits"
            refresh_waited += naive.ch[c].waits[2]
    assert refresh_waited > 0              # the streams do wait on refresh: the check has teeth


@pytest.mark.parametrize("grade", ["LPDDR4-2400", "LPDDR4X-4266", "GDDR6-14000", "GDDR6-10000", "HBM2-2000"])
def test_njit_equals_naive_other_presets(grade):
    """20 seeded random streams per remaining preset agree with the reference."""
    for seed in range(20):
        spec, tb, arr, addr, w = random_stream(seed, grade)
        assert list(simulate_requests(tb, arr, addr, w)) == NaiveDram(spec).run(arr, addr, w), seed


def test_event_api_matches_stream_driver():
    """Driving dram_enqueue / dram_advance / dram_next_time event by event gives the same completions."""
    for seed in range(10):
        spec, tb, arr, addr, w = random_stream(seed, "DDR4-3200")
        want = simulate_requests(tb, arr, addr, w)
        st = dram_state_new(tb)
        out_ids = np.zeros(dram_out_capacity(tb), np.int64)
        out_t = np.zeros_like(out_ids)
        got = np.full(len(arr), -1, np.int64)

        def advance(until):
            k = dram_advance(tb, st, until, out_ids, out_t)
            got[out_ids[:k]] = out_t[:k]
            assert np.all(out_t[:k] <= until) and np.all(np.diff(out_t[:k]) >= 0)

        for i in range(len(arr)):
            now = int(arr[i])
            advance(now)
            while not dram_enqueue(tb, st, now, i, int(addr[i]), bool(w[i])):
                now = int(dram_next_time(tb, st))
                advance(now)
        while (t := dram_next_time(tb, st)) >= 0:
            advance(t)
        assert list(got) == list(want), seed


def test_deterministic():
    """Two runs of one stream give identical completions and statistics."""
    spec, tb, arr, addr, w = random_stream(7, "DDR4-3200")
    runs = []
    for _ in range(2):
        st = dram_state_new(tb)
        runs.append((list(simulate_requests(tb, arr, addr, w, st)), channel_stats(tb, st)))
    assert runs[0] == runs[1]


@pytest.mark.parametrize("channels, mapping", [(1, "ro_ba_bg_co_ch"), (4, "ro_co_ba_bg_ch"), (2, "ro_ba_bg_ch_co")])
def test_bit_field_decode_equals_mixed_radix(channels, mapping):
    """With power-of-two counts the engine decodes by shifts and masks; it equals the mixed-radix
    decode (the general path, forced here by clearing the flag) and the naive reference's."""
    from simulator.engine.dram import P_POW2, decode_all
    tb = dram_tables(preset_spec("DDR4-3200", channels=channels, address_mapping=mapping))
    assert tb.p[P_POW2] == 1
    addr = np.random.default_rng(3).integers(0, 1 << 40, 2000) // tb.burst_bytes * tb.burst_bytes
    general = tb._replace(p=tb.p.copy())
    general.p[P_POW2] = 0
    fast, slow = decode_all(tb, addr), decode_all(general, addr)
    np.testing.assert_array_equal(fast, slow)
    naive = NaiveDram(preset_spec("DDR4-3200", channels=channels, address_mapping=mapping))
    assert [naive.decode(int(a)) for a in addr[:200]] == [tuple(int(v) for v in fast[:, i]) for i in range(200)]


def test_three_channel_layout_uses_mixed_radix():
    """A channel count that is not a power of two takes the general decode."""
    from simulator.engine.dram import P_POW2
    assert dram_tables(preset_spec("DDR4-3200", channels=3)).p[P_POW2] == 0


def test_waits_split_hand_computed_ddr4():
    """A row miss then a conflict on one DDR4-3200 bank, far apart (nCK): access runs from the
    visible cycle to the data end; the bank wait from the first ACT/PRE to the RD."""
    tb = dram_tables(preset_spec("DDR4-3200"))
    st = dram_state_new(tb)
    gap = 1000 * tb.tck_ps
    row_stride = addr_of(tb, row=1)
    simulate_requests(tb, np.array([0, gap]), np.array([0, row_stride]), np.zeros(2, np.int64), st)
    # miss: visible 1, ACT 1, RD 1 + tRCD 22 = 23, data 23 + CL 22 + 4 = 49: access 48, bank 22
    # conflict: visible 1001, PRE 1001, ACT 1001 + tRP 22, RD + tRCD 22 = 1045, data 1071: 70, bank 44
    assert st.stats[0, ST_ACCESS_CYCLES] == 48 + 70
    assert st.stats[0, ST_BANK_WAIT_CYCLES] == 22 + 44
    assert st.stats[0, ST_REFRESH_WAIT_CYCLES] == 0


@pytest.mark.parametrize("grade", [g for g, t in DRAM_PRESETS.items() if t.per_bank_refresh_supported])
def test_per_bank_refresh_hides_refresh_from_a_stream(grade):
    """A sequential stream over every bank loses less to per-bank refresh (one bank at a time) than
    to all-bank refresh, and reaches at least 97% of the peak; refreshes come every tREFI_pb."""
    t = DRAM_PRESETS[grade]
    peak = t.data_rate_mtps * 10**6 * t.default_channel_width_bits / 8
    bw = {}
    for mode in ("all_bank", "per_bank"):
        tb = dram_tables(preset_spec(grade, refresh=mode, address_mapping="ro_co_ba_bg_ch"))
        bw[mode], st = sequential_reads(tb, 20000)
        if mode == "per_bank":
            assert abs(int(st.stats[0, ST_REFRESHES]) - int(st.cur[0]) // t.trefi_pb) <= 1
    assert bw["per_bank"] > bw["all_bank"]
    assert bw["per_bank"] >= 0.97 * peak


def test_per_bank_refresh_refused_where_the_standard_has_none():
    """DDR4 has no per-bank refresh: asking for it is a spec error naming memory.dram.refresh."""
    from simulator.errors import SpecError
    from simulator.spec.arch import DramSpec
    import pydantic
    with pytest.raises((SpecError, pydantic.ValidationError), match="no per-bank refresh"):
        DramSpec(standard="DDR4", data_rate=3200, channels=1, channel_width=64, refresh="per_bank")
