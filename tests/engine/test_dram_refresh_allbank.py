"""All-bank refresh with short tREFI: the run that never ended, and why every valid one ends now.

LPDDR4-3200 (tRFC 288, tRCD 29, tRAS 68, tRPab 32, tRTP 14, CL 32, burst 8) with tREFI overridden
to 289..404 hung on most random inputs: a refresh falling due between an ACT and its column command
closed the row unused (PREA at ACT + tRAS, REF tRPab later); late, the refresh's tRFC ended only
a few cycles (12 at tREFI 390) before the next one fell due, the next ACT came then, and its row
was closed unused in turn, every tREFI for ever. The naive reference did the same.

Now a due all-bank refresh waits while any bank's freshly opened row (no column command since its
ACT) is hit by a visible request the mode serves; meanwhile only those first column commands
issue (engine/dram.py `_refresh_held` and `_next_decision`, tests/naive/dram.py likewise). Every
ACT then leads to a column command, and a run ends whenever tREFI > tRFC (the spec's check; the
proof is in `_refresh_held`'s docstring). Every test here fails at a cycle limit on the old code.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.dram import ST_ACTS, ST_PRES, ST_READS, ST_REFRESHES, ST_WRITES, dram_enqueue, run_until
from simulator.resources.dram import dram_state_new, dram_tables, preset_spec

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.engine.test_dram import addr_of  # noqa: E402
from tests.engine.test_dram_refresh_overlap import _stream, bounded_kernel, bounded_naive  # noqa: E402
from tests.naive.dram import ACT, PREA, RD, REF, NaiveDram, Request  # noqa: E402


def lp4(trefi):
    """LPDDR4-3200, all-bank refresh (the default), tREFI overridden (valid: > tRFC)."""
    return preset_spec("LPDDR4-3200", timing={"trefi": trefi})


def test_formerly_hanging_single_read_hand_timed():
    """tREFI 390, one read to bank 0 arriving at 766 (visible at 767). REF at 390 (due 390); the
    bank is free again at 390 + tRFC = 678: ACT 767. The refresh falls due at 780, between the
    ACT and its RD (legal at 767 + tRCD = 796): it waits for it. RD 796, data done 796 + CL 32 +
    burst 8 = 836; PREA at max(ACT + tRAS, RD + tRTP) = 835, REF at 835 + tRPab = 867 (87 late);
    the next at its due time 1170 (867 + tRFC = 1155 is earlier). The old model closed the row
    at 835 unused, re-opened it at 867 + 288 = 1155, 15 cycles before the next due time, and so on
    for ever."""
    spec = lp4(390)
    tb = dram_tables(spec)
    st = dram_state_new(tb)
    assert dram_enqueue(tb, st, 766 * tb.tck_ps, 0, addr_of(tb), 0)
    run_until(tb, st, 1300)
    assert list(st.stats[0, [ST_REFRESHES, ST_ACTS, ST_PRES, ST_READS]]) == [3, 1, 1, 1]   # the PREA counts as a precharge
    nv = NaiveDram(spec)
    log = []
    issue = nv.issue

    def logged(c, cmd, b, row, now):
        log.append((now, cmd))
        issue(c, cmd, b, row, now)

    nv.issue = logged
    for now in range(1300):
        if now == 767:
            nv.ch[0].queue.append(Request(0, 0, 0, False, 767))
        nv.step(0, now)
    assert log == [(390, REF), (767, ACT), (796, RD), (835, PREA), (867, REF), (1170, REF)]
    assert nv.done == {0: 836}
    # the event API (the stream drivers' front end) serves it, bounded
    assert bounded_kernel(tb, dram_state_new(tb), np.array([766 * tb.tck_ps]), np.array([addr_of(tb)]),
                          np.zeros(1, np.int64), 5000) == [836 * tb.tck_ps]


@pytest.mark.parametrize("grade, over", [
    ("LPDDR4-3200", 102),      # tREFI 390: the traced livelock
    ("LPDDR4-3200", 40),       # 328
    ("DDR4-3200", 40),         # 600 (tRFC 560)
    ("HBM2-2000", 40),         # 300 (tRFC 260)
    ("GDDR6-14000", 40),       # 251 (tRFC 211)
])
@pytest.mark.parametrize("controller", [{}, {"write_buffer": 8, "refresh_postpone": 2, "refresh_precharge": "per_bank"}],
                         ids=["plain", "wbuf-postpone-pre"])
def test_streams_near_the_bound_finish_and_equal_the_reference(grade, over, controller):
    """Seeded random read/write streams over all banks with tREFI = tRFC + `over` finish with the
    reference's completion times and refresh count (also with a write buffer, whose mode decides
    which hits hold the refresh, postponement and a PRE per open bank)."""
    trfc = preset_spec(grade).resolved_timing.trfc
    spec = preset_spec(grade, queue_depth=6, timing={"trefi": trfc + over}, controller=controller)
    tb = dram_tables(spec)
    for seed in range(2):
        arr, addr, w = _stream(tb, seed, 40)
        st = dram_state_new(tb)
        got = bounded_kernel(tb, st, arr, addr, w, 200_000)
        want, nv = bounded_naive(spec, arr, addr, w, 200_000)
        assert got == want, seed
        assert st.stats[0, ST_REFRESHES] == nv.ch[0].refreshes, seed


@pytest.mark.parametrize("grade", ["LPDDR4-3200", "DDR4-3200", "HBM2-2000", "GDDR6-14000"])
def test_streams_at_the_bound_finish(grade):
    """tREFI = tRFC + 1, the shortest valid one: the refresh leaves one free cycle per tREFI once
    it has caught up, so a run crawls (about 1.1M cycles for 40 requests on LPDDR4-3200) but ends:
    each ACT leads to its column command. Kernel only (the reference would take minutes)."""
    trfc = preset_spec(grade).resolved_timing.trfc
    spec = preset_spec(grade, queue_depth=6, timing={"trefi": trfc + 1})
    tb = dram_tables(spec)
    arr, addr, w = _stream(tb, 0, 40)
    st = dram_state_new(tb)
    got = bounded_kernel(tb, st, arr, addr, w, 5_000_000)
    assert min(got) > 0 and st.stats[0, ST_READS] + st.stats[0, ST_WRITES] == 40


def test_tight_trefi_is_refused():
    """tREFI <= tRFC stays a spec error naming timing.trefi; tRFC + 1 is valid."""
    from simulator.errors import SpecError
    import pydantic
    with pytest.raises((SpecError, pydantic.ValidationError), match="trefi"):
        preset_spec("LPDDR4-3200", timing={"trefi": 288})
    assert preset_spec("LPDDR4-3200", timing={"trefi": 289}).resolved_timing.trefi == 289


def _cmdq_bound(t):
    return t.trfc + max(t.trcd_rd, t.trcd_wr) + t.tras + max(t.trp, t.trp_ab)


def test_command_queues_refuse_trefi_below_their_bound():
    """DRAMSim3's two-level controller (the `dramsim3` preset) has no rule holding a refresh for a
    fresh row's column command, and hangs with short tREFI (LPDDR4-3200 at most tREFI from 289 to
    395 on random inputs): its tREFI must exceed tRFC + tRCD + tRAS + tRP (417 on LPDDR4-3200), a spec error
    naming timing.trefi below. The one-level controller accepts the same tREFI."""
    from simulator.errors import SpecError
    import pydantic
    t = preset_spec("LPDDR4-3200").resolved_timing
    assert _cmdq_bound(t) == 288 + 29 + 68 + 32
    with pytest.raises((SpecError, pydantic.ValidationError), match="trefi = 417 .*DRAMSim3's controller has no rule"):
        preset_spec("LPDDR4-3200", controller={"preset": "dramsim3"}, timing={"trefi": 417})
    assert preset_spec("LPDDR4-3200", controller={"preset": "dramsim3"}, timing={"trefi": 418}).resolved_timing.trefi == 418
    assert preset_spec("LPDDR4-3200", timing={"trefi": 417}).resolved_timing.trefi == 417


def test_the_spec_error_names_the_key_and_the_file(tmp_path):
    import yaml
    from simulator.errors import SpecError
    from simulator.spec.load import load_arch
    raw = yaml.safe_load((ROOT / "archs" / "teaching.yaml").read_text())
    raw["memory"]["dram"].update(model="cycle", controller={"preset": "dramsim3"}, timing={"trefi": 400})
    path = tmp_path / "chip.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SpecError, match=r"chip\.yaml.*memory\.dram\.timing\.trefi"):
        load_arch(str(path))


@pytest.mark.parametrize("grade", ["LPDDR4-3200", "DDR4-3200", "HBM2-2000", "GDDR6-14000"])
def test_command_queue_streams_just_past_their_bound_finish_and_equal_the_reference(grade):
    """The `dramsim3` preset at tREFI = its bound + 1: random streams end (replay), as the
    two-level reference does, with the same completion cycles."""
    from simulator.engine.dram_cmdq import cmdq_replay_stream
    from simulator.resources.dram import cmdq_state_new_for, decode_many
    spec = preset_spec(grade, controller={"preset": "dramsim3"},
                       timing={"trefi": _cmdq_bound(preset_spec(grade).resolved_timing) + 1})
    tb = dram_tables(spec, 10**9)
    for seed in range(2):
        arr, addr, w = _stream(tb, seed, 40)
        ch, bank, row = decode_many(tb, addr)
        done, _ = cmdq_replay_stream(tb, dram_state_new(tb), *cmdq_state_new_for(tb), arr // tb.tck_ps,
                                     np.zeros_like(ch), bank, row, np.ascontiguousarray(w, np.int64))
        nv = NaiveDram(spec)
        want = nv.run_two_level(arr, addr, w)
        assert [int(d) for d in done] == [x // tb.tck_ps for x in want], seed
