"""DRAMSim3's two-level controller (engine/dram_cmdq.py) against the cycle-stepped reference; the
refresh that closes each open bank with its own PRE (both controllers) and refresh postponement,
hand-timed."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.dram import (ST_ACCESS_CYCLES, ST_BANK_WAIT_CYCLES, ST_CONFLICTS, ST_HITS, ST_MISSES,
                                   ST_REFRESH_WAIT_CYCLES, ST_REFRESHES)
from simulator.engine.dram_cmdq import cmdq_replay_stream
from simulator.resources.dram import (cmdq_state_new_for, decode_many, dram_state_new, dram_tables, preset_spec,
                                      simulate_requests)
from simulator.spec.dram_standards import DRAM_PRESETS

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.engine.test_dram import addr_of  # noqa: E402
from tests.naive.dram import NaiveDram  # noqa: E402


def two_level_stream(seed, grade):
    """A seeded stream over few rows of every bank, through small two-level controllers."""
    rng = np.random.default_rng(seed)
    t = DRAM_PRESETS[grade]
    spec = preset_spec(grade, queue_depth=int(rng.integers(2, 10)), channels=int(rng.integers(1, 3)),
                       address_mapping=("ro_ba_bg_co_ch", "ro_co_ba_bg_ch")[seed % 3 == 0],
                       timing={"trfc": 100, "trefi": 400 + int(rng.integers(0, 200))},
                       controller={"cmd_queue_size": int(rng.integers(1, 5)),
                                   "row_hit_cap": (0, 1, 2, 4)[seed % 4],
                                   "write_buffer": (0, 2, 5)[(seed // 4) % 3],
                                   "write_high_watermark": (1.0, 0.5)[seed % 2], "write_low_watermark": 0.25,
                                   "write_idle_drain_above": (0, 1, 3)[(seed // 2) % 3],
                                   "refresh_precharge": ("per_bank", "all")[(seed // 12) % 2]})
    tb = dram_tables(spec)
    n = int(rng.integers(30, 90))
    nb = t.bank_groups * t.banks_per_group
    addr = np.array([addr_of(tb, ch=int(rng.integers(0, spec.channels)), bank=int(rng.integers(0, nb)),
                             row=int(rng.integers(0, 3)), col=int(rng.integers(0, 4))) for _ in range(n)])
    arr = np.sort(rng.integers(0, 2000, n) * (rng.integers(0, 2, n) + 1) * tb.tck_ps // 3 + rng.integers(0, 5, n))
    return spec, tb, arr, addr, rng.integers(0, 2, n)


@pytest.mark.parametrize("grade", ["DDR4-3200", "LPDDR4-2400"])
def test_two_level_equals_naive_on_random_streams(grade):
    """96 seeded streams (command queues of 1-4, transaction queues of 2-9, write buffers of 0-5,
    every drain rule, row-hit caps 0-4, PREA or a PRE per bank before a refresh): completions,
    hit / miss / conflict counts, refreshes and the access / bank / refresh waits equal the
    reference's."""
    waited = 0
    for seed in range(96):
        spec, tb, arr, addr, w = two_level_stream(seed, grade)
        st = dram_state_new(tb)
        got = simulate_requests(tb, arr, addr, w, st)
        naive = NaiveDram(spec)
        assert list(got) == naive.run(arr, addr, w), f"seed {seed}"
        for c in range(spec.channels):
            assert st.stats[c, ST_REFRESHES] == naive.ch[c].refreshes, f"seed {seed}"
            assert [st.stats[c, ST_HITS], st.stats[c, ST_MISSES], st.stats[c, ST_CONFLICTS]] == \
                   list(naive.ch[c].kinds.values()), f"seed {seed}"
            assert [st.stats[c, ST_ACCESS_CYCLES], st.stats[c, ST_BANK_WAIT_CYCLES],
                    st.stats[c, ST_REFRESH_WAIT_CYCLES]] == naive.ch[c].waits, f"seed {seed}"
            waited += naive.ch[c].waits[2]
    assert waited > 0


def test_two_level_replay_front_end_equals_naive():
    """DRAMSim3's trace front end (one request a cycle, retried while refused): finish and
    acceptance cycles equal the reference's, all requests offered at cycle 0 or at random cycles."""
    for seed in range(24):
        spec, tb, arr, addr, w = two_level_stream(seed, "DDR4-3200")
        spec = spec.model_copy(update={"channels": 1})
        tb = dram_tables(spec)
        cycle = np.zeros_like(arr) if seed % 2 else arr // tb.tck_ps
        _, bank, row = decode_many(tb, addr)
        done, accepted = cmdq_replay_stream(tb, dram_state_new(tb), *cmdq_state_new_for(tb), cycle,
                                            np.zeros_like(bank), bank, row, w.astype(np.int64))
        naive = NaiveDram(spec)
        naive.decode = lambda a, _d=naive.decode: (0,) + _d(a)[1:]
        want = naive.run_two_level(cycle * tb.tck_ps, addr, w, one_per_cycle=True)
        assert list(done * tb.tck_ps) == want, f"seed {seed}"
        assert list(accepted) == naive.accepted, f"seed {seed}"


# ------------------------------------------------------------------ refresh: a PRE per open bank

def _logged_reads(spec, tb, arr, addr):
    """(completion ps, the reference's (cycle, command, bank) log) of reads at `arr` to `addr`;
    the model and the reference agree on every completion."""
    naive = NaiveDram(spec)
    log = []
    issue = naive.issue
    naive.issue = lambda c, cmd, b, row, now: (log.append((now, cmd, b)), issue(c, cmd, b, row, now))
    got = simulate_requests(tb, arr, addr, np.zeros(len(arr), np.int64))
    assert list(got) == naive.run(arr, addr, np.zeros(len(arr), np.int64))
    return got, log


def _two_open_banks_at_refresh(grade, controller):
    """Reads to banks 0 and 1 (rows opened long before), then a refresh falls due at tREFI."""
    spec = preset_spec(grade, timing={"trefi": 1000}, controller=controller)
    tb = dram_tables(spec)
    addr = np.array([addr_of(tb, bank=0), addr_of(tb, bank=1), addr_of(tb, bank=0, col=1)])
    arr = np.array([0, 0, 1500]) * tb.tck_ps
    got, log = _logged_reads(spec, tb, arr, addr)
    return spec.resolved_timing, [e for e in log if 1000 <= e[0] < 1500], got // tb.tck_ps


@pytest.mark.parametrize("controller", [{"refresh_precharge": "per_bank"}, {"preset": "dramsim3"}],
                         ids=["frfcfs", "dramsim3"])
@pytest.mark.parametrize("grade", ["DDR4-3200", "LPDDR4-2400"])
def test_refresh_closes_each_open_bank_with_its_own_pre(grade, controller):
    """At tREFI = 1000 with banks 0 and 1 open: PRE bank 0 at 1000, PRE bank 1 one command later
    (DDR4: the next cycle; LPDDR4-2400: tPPD = 2 after), REF tRP after the last PRE, and the
    waiting read's ACT tRFC after the REF (the reference agrees on every command)."""
    t, log, done = _two_open_banks_at_refresh(grade, controller)
    ACT, PRE, REF = 0, 1, 5
    pre2 = 1000 + max(1, t.tppd)
    assert log[:3] == [(1000, PRE, 0), (pre2, PRE, 1), (pre2 + t.trp, REF, -1)]
    act = max(1501, pre2 + t.trp + t.trfc)         # visible at 1501; the rank is busy for tRFC
    assert done[2] == act + t.trcd_rd + t.cl + t.burst_cycles


def test_refresh_pre_waits_for_tras_and_takes_the_ready_bank_first():
    """A bank whose tRAS has not run when the refresh falls due is closed after the other: bank 1
    opened at 990 (tRAS 52: PRE legal from 1042), bank 0 long open. The refresh due at 1000 first
    waits for bank 1's fresh row's RD (legal at 990 + tRCD = 1012: docs/dram_model.md, "All-bank
    refresh: the same rule"), then PRE 0 at 1013, PRE 1 at 1042, REF at 1042 + tRP; a read to
    bank 2 arriving at 1100 opens its row tRFC later."""
    spec = preset_spec("DDR4-3200", timing={"trefi": 1000}, controller={"refresh_precharge": "per_bank"})
    tb = dram_tables(spec)
    t = spec.resolved_timing
    addr = np.array([addr_of(tb, bank=0), addr_of(tb, bank=1), addr_of(tb, bank=2)])
    arr = np.array([0, 989, 1100]) * tb.tck_ps    # visible at 990: ACT of bank 1 at 990
    got, log = _logged_reads(spec, tb, arr, addr)
    assert (990, 0, 1) in log
    ref = 990 + t.tras + t.trp
    assert [e for e in log if e[0] >= 1000] == [(990 + t.trcd_rd, 2, 1), (990 + t.trcd_rd + 1, 1, 0),
                                                (990 + t.tras, 1, 1), (ref, 5, -1),
                                                (ref + t.trfc, 0, 2), (ref + t.trfc + t.trcd_rd, 2, 2)]


# ------------------------------------------------------------------ refresh postponement

def _logged_run(spec, arr, addr, w):
    """Completions of the njit model (checked equal to the reference's) and the reference's command log."""
    tb = dram_tables(spec)
    naive = NaiveDram(spec)
    log = []
    issue = naive.issue
    naive.issue = lambda c, cmd, b, row, now: (log.append((now, cmd, b)), issue(c, cmd, b, row, now))
    st = dram_state_new(tb)
    got = simulate_requests(tb, arr, addr, w, st)
    assert list(got) == naive.run(arr, addr, w)
    assert st.stats[0, ST_REFRESHES] == naive.ch[0].refreshes
    assert st.stats[0, ST_REFRESH_WAIT_CYCLES] == naive.ch[0].waits[2]
    return log


def test_a_busy_channel_postpones_refresh_until_it_owes_the_limit():
    """refresh_postpone 2, tREFI 1000, a queue never empty: no refresh command before 3000 (= the
    first due 1000 + 2 tREFI), column commands up to 2999, then PREA at the first legal cycle from
    3000 and REF tRP after it; under load every later REF comes 2 tREFI after its due cycle."""
    spec = preset_spec("DDR4-3200", timing={"trefi": 1000}, controller={"refresh_postpone": 2})
    tb = dram_tables(spec)
    t = spec.resolved_timing
    n = 1200                                   # sequential reads of one bank: ~8 nCK each, > 9000 nCK
    addr = np.array([addr_of(tb, bank=0, row=i // 128, col=i % 128) for i in range(n)])
    log = _logged_run(spec, np.zeros(n, np.int64), addr, np.zeros(n, np.int64))
    PREA, REF, RD = 4, 5, 2
    refresh = [e for e in log if e[1] in (PREA, REF)]
    assert refresh[0][0] >= 3000 and refresh[0][1] == PREA
    last_rd = max(e[0] for e in log if e[1] == RD and e[0] < 3000)
    assert last_rd >= 3000 - 2 * t.tccd_l                  # the channel was busy right up to 3000
    assert refresh[0][0] == max(3000, last_rd + t.trtp)    # first legal PREA cycle from 3000
    assert refresh[1] == (refresh[0][0] + t.trp, REF, -1)
    refs = [e[0] for e in refresh if e[1] == REF]
    assert all(r >= 1000 * (k + 3) for k, r in enumerate(refs))   # REF k (due 1000 (k + 1)) forced 2 tREFI late


def test_an_idle_channel_pays_what_it_owes_back_to_back():
    """refresh_postpone 4: reads keep the channel busy past the refreshes due at 1000, 2000 and
    3000 (none forced before 5000); once idle it issues PREA, then three REFs tRFC (100) apart, and
    the refresh due at 4000 on time."""
    spec = preset_spec("DDR4-3200", timing={"trefi": 1000, "trfc": 100}, controller={"refresh_postpone": 4})
    tb = dram_tables(spec)
    t = spec.resolved_timing
    n = 400                                    # ~3200 nCK of same-bank reads (8 nCK apart), and one at 4500
    addr = np.array([addr_of(tb, bank=0, row=i // 128, col=i % 128) for i in range(n)] + [addr_of(tb, bank=1)])
    arr = np.array([0] * n + [4500 * tb.tck_ps])
    log = _logged_run(spec, arr, addr, np.zeros(n + 1, np.int64))
    PREA, REF, RD = 4, 5, 2
    last_rd = max(e[0] for e in log if e[1] == RD and e[0] < 4000)
    refresh = [e for e in log if e[1] in (PREA, REF)]
    assert 3000 < last_rd < 4000 - 3 * t.trfc - t.trp - t.trtp - 1
    prea = max(last_rd + t.trtp, last_rd + 1)
    assert refresh[:4] == [(prea, PREA, -1), (prea + t.trp, REF, -1), (prea + t.trp + t.trfc, REF, -1),
                           (prea + t.trp + 2 * t.trfc, REF, -1)]
    assert refresh[4] == (4000, REF, -1)
