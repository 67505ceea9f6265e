"""Per-bank refresh with short tREFI_pb: the run that never ended, and the bound that is now checked.

LPDDR4-3200 (8 banks, tRFCpb 144, tRRD 16, tRCD 29, tRAS 68, tRP 27, CL 32, burst 8, tRTP 14)
with `trefi_pb: 30` used to run for ever: a REFpb falling due between a request's ACT and its
column command closed the row unused (PRE at tRAS, REFpb tRP later), the refresh fell behind by
tRC less the ACT's lead, caught up, and the bank's next ACT again came tRRD after the previous
bank's on-time REFpb, 14 cycles before its own turn: less than tRCD, every 240 cycles, for ever.
Now a due REFpb waits for the first column command of its bank's freshly opened row
(engine/dram.py `_refresh_held`, tests/naive/dram.py likewise), and the spec refuses exactly the
timings where the refresh alone can never catch up (spec/arch.py; docs/dram_model.md).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.dram import (BK_REF_FROM, BK_REF_TO, ST_ACTS, ST_PRES, ST_READS, ST_REFRESHES,
                                   dram_advance, dram_enqueue, dram_next_time, run_until)
from simulator.resources.dram import dram_out_capacity, dram_state_new, dram_tables, preset_spec, simulate_requests
from simulator.spec.dram_standards import DRAM_PRESETS

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.engine.test_dram import addr_of  # noqa: E402
from tests.naive.dram import NaiveDram, Request  # noqa: E402

GRADE = "LPDDR4-3200"


def lp4(**timing):
    return preset_spec(GRADE, refresh="per_bank", timing=timing)


def unchecked(spec, **timing):
    """The spec with timing overrides the validator would refuse (to show why it refuses them)."""
    return spec.model_copy(update={"timing": {**spec.timing, **timing}})


def both_until(spec, reqs, limit):
    """Kernel and naive reference, each run over cycles < limit with `reqs` = [(arrival cycle,
    bank, row, column)] of reads (visible the cycle after arrival); returns the two."""
    tb = dram_tables(spec)
    st = dram_state_new(tb)
    for i, (c, b, row, col) in enumerate(reqs):
        assert dram_enqueue(tb, st, c * tb.tck_ps, i, addr_of(tb, bank=b, row=row, col=col), 0)
    run_until(tb, st, limit)
    nv = NaiveDram(spec)
    pending = [Request(i, b, row, False, c + 1) for i, (c, b, row, col) in enumerate(reqs)]
    for now in range(limit):
        while pending and pending[0].vis <= now:
            nv.ch[0].queue.append(pending.pop(0))
        nv.step(0, now)
    return st, nv


def refresh_windows(st):
    return [(int(st.bank[0, b, BK_REF_FROM]), int(st.bank[0, b, BK_REF_TO])) for b in range(8)]


def test_formerly_hanging_single_read_hand_timed():
    """trefi_pb 30, one read to bank 0 arriving at 0 (visible at 1). ACT 1; bank 0's REFpb falls
    due at 30, the cycle its RD becomes legal (1 + tRCD): the refresh waits for it, RD at 30, data
    done 30 + CL + burst = 70. Then PRE at ACT + tRAS = 69, REFpb 0 at 69 + tRP = 96 (66 late),
    and the next turns tRRD apart until back on the schedule (due 30 k): REFpb k at
    max(due, previous + tRRD, own last + tRFCpb) = 112, 128, 144, 160, then on time 180, 210,
    240, 270 (bank 0 again: its own 96 + 144 = 240 is earlier)."""
    spec = lp4(trefi_pb=30)
    tb = dram_tables(spec)
    st, nv = both_until(spec, [(0, 0, 0, 0)], 300)
    issued = [96, 112, 128, 144, 160, 180, 210, 240, 270]           # REFpb k, bank k % 8
    due = [30 * (k + 1) for k in range(9)]
    last = {k % 8: k for k in range(9)}                                # each bank's last one by 300
    assert refresh_windows(st) == [(due[last[b]], issued[last[b]] + 144) for b in range(8)]
    assert list(st.stats[0, [ST_REFRESHES, ST_ACTS, ST_PRES, ST_READS]]) == [9, 1, 1, 1]
    assert nv.ch[0].refreshes == 9
    assert [(o.ref_from, o.ref_to) for o in nv.ch[0].banks] == refresh_windows(st)
    # the stream driver runs until the read is done: only now that the bounded run served it
    assert list(simulate_requests(tb, np.zeros(1, np.int64), np.array([addr_of(tb)]), np.zeros(1, np.int64))) \
        == [70 * tb.tck_ps]


def test_formerly_livelocked_second_read_is_served():
    """Two reads to bank 0's row 0. The first as above; the second, a hit legal at 30 + tCCD = 38,
    loses its row to the refresh, which waits for one column command only (PRE 69, REFpb 96 as
    above). Bank 0 is free at 96 + 144 = 240, when
    REFpb 7 falls due and goes first; its ACT comes tRRD later, 256, 14 cycles before its own
    turn (due 270): the cycle where the old model closed the row unused every 240 cycles for
    ever. The refresh now waits: RD at 256 + 29 = 285, done 325; PRE at 256 + tRAS = 324, REFpb
    0 at 351 (due 270), REFpb 1..3 tRRD apart: 367, 383, 399."""
    spec = lp4(trefi_pb=30)
    tb = dram_tables(spec)
    addr = np.array([addr_of(tb, col=0), addr_of(tb, col=1)])
    st, nv = both_until(spec, [(0, 0, 0, 0), (0, 0, 0, 1)], 400)
    assert list(st.stats[0, [ST_REFRESHES, ST_ACTS, ST_PRES, ST_READS]]) == [12, 2, 2, 2]
    assert refresh_windows(st)[:4] == [(270, 351 + 144), (300, 367 + 144), (330, 383 + 144), (360, 399 + 144)]
    assert nv.ch[0].refreshes == 12
    assert [(o.ref_from, o.ref_to) for o in nv.ch[0].banks] == refresh_windows(st)
    # unbounded drivers only now that the bounded runs served both reads
    assert list(simulate_requests(tb, np.zeros(2, np.int64), addr, np.zeros(2, np.int64))) \
        == [70 * tb.tck_ps, 325 * tb.tck_ps]
    assert NaiveDram(spec).run(np.zeros(2, np.int64), addr, np.zeros(2, np.int64)) == [70 * tb.tck_ps, 325 * tb.tck_ps]


def bounded_kernel(tb, st, arr, addr, w, limit):
    """Completion ps per request through the event API (the stream driver's front end, as
    tests/engine/test_dram.py shows), failing instead of hanging once time passes `limit` cycles."""
    out_ids = np.zeros(dram_out_capacity(tb), np.int64)
    out_t = np.zeros_like(out_ids)
    got = np.full(len(arr), -1, np.int64)

    def advance(until):
        assert until < limit * tb.tck_ps, "no end in sight: the refresh livelock is back"
        k = dram_advance(tb, st, until, out_ids, out_t)
        got[out_ids[:k]] = out_t[:k]

    for i in range(len(arr)):
        now = int(arr[i])
        advance(now)
        while not dram_enqueue(tb, st, now, i, int(addr[i]), bool(w[i])):
            now = int(dram_next_time(tb, st))
            advance(now)
    while (t := dram_next_time(tb, st)) >= 0:
        advance(t)
    return list(got)


def bounded_naive(spec, arr, addr, w, limit):
    """(NaiveDram.run's completion ps, the reference), failing instead of hanging past `limit` cycles."""
    nv = NaiveDram(spec)
    return nv.run(arr, addr, w, limit_cycles=limit), nv


def _stream(tb, seed, n):
    rng = np.random.default_rng(seed)
    nb = tb.bank_groups * tb.banks_per_group
    addr = np.array([addr_of(tb, bank=int(rng.integers(0, nb)), row=int(rng.integers(0, 3)),
                             col=int(rng.integers(0, 4))) for _ in range(n)])
    arr = np.sort(rng.integers(0, 3000, n)) * tb.tck_ps
    return arr, addr, rng.integers(0, 2, n)


@pytest.mark.parametrize("grade, timing", [
    ("LPDDR4-3200", {"trefi_pb": 30}),                    # the case that hung
    ("LPDDR4-3200", {"trefi_pb": 19}),                    # the bound: 8 x 19 = 152 > tRFCpb 144
    ("LPDDR4-3200", {"trefi_pb": 17, "trfc_pb": 40}),     # the bound: 17 > tRRD 16
    ("LPDDR4X-4266", {"trefi_pb": 25}),                   # 8 x 25 = 200 > 192
    ("HBM2-2000", {"trefi_pb": 11}),                      # 16 x 11 = 176 > 160
    ("GDDR6-14000", {"trefi_pb": 9}),                     # 9 > tRRD 8 (16 x 9 > 106)
])
def test_streams_at_the_bound_finish_and_equal_the_reference(grade, timing):
    """Seeded random read/write streams over all banks finish (they hung before at these
    timings) with the reference's completion times and refresh count."""
    spec = preset_spec(grade, refresh="per_bank", timing=timing, queue_depth=6)
    tb = dram_tables(spec)
    for seed in range(3):
        arr, addr, w = _stream(tb, seed, 40)
        got = bounded_kernel(tb, dram_state_new(tb), arr, addr, w, 100_000)
        want, nv = bounded_naive(spec, arr, addr, w, 100_000)
        assert got == want, seed
        st = dram_state_new(tb)            # the stream driver (it ends, as the bounded run showed)
        assert list(simulate_requests(tb, arr, addr, w, st)) == got, seed
        assert st.stats[0, ST_REFRESHES] == nv.ch[0].refreshes, seed


@pytest.mark.parametrize("timing, need", [({"trefi_pb": 18}, "not longer than trfc_pb"),
                                          ({"trefi_pb": 16, "trfc_pb": 40}, "REFpb-to-REFpb gap")])
def test_timings_past_the_bound_are_refused_and_would_never_end(timing, need):
    """One below the bound is a spec error naming timing.trefi_pb. Forced past the validator, a
    read arriving at cycle 1000 is still unserved at 5000 in both models: 8 x 18 = tRFCpb, so the
    refresh never catches up and each bank's next turn falls due as its tRFCpb ends (the REFpb
    goes first); with tREFI_pb <= tRRD the REFpb after each one is legal in the very cycle an ACT
    would be (tRRD later), and goes first."""
    from simulator.errors import SpecError
    import pydantic
    with pytest.raises((SpecError, pydantic.ValidationError), match=need):
        lp4(**timing)
    ok = {k: v + 1 if k == "trefi_pb" else v for k, v in timing.items()}
    spec = unchecked(lp4(**ok), **timing)
    st, nv = both_until(spec, [(1000, 3, 0, 0)], 5000)
    assert st.stats[0, ST_READS] == 0 and st.stats[0, ST_ACTS] == 0
    assert nv.ch[0].queue and nv.ch[0].refreshes == st.stats[0, ST_REFRESHES]
    st, nv = both_until(unchecked(spec, **ok), [(1000, 3, 0, 0)], 5000)
    assert st.stats[0, ST_READS] == 1 and not nv.ch[0].queue


def test_the_spec_error_names_the_key_and_the_file(tmp_path):
    import yaml
    from simulator.errors import SpecError
    from simulator.spec.load import load_arch
    raw = yaml.safe_load((ROOT / "archs" / "teaching.yaml").read_text())
    raw["memory"]["dram"].update(model="cycle", refresh="per_bank", timing={"trefi_pb": 18})
    path = tmp_path / "chip.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(SpecError, match=r"chip\.yaml.*memory\.dram\.timing\.trefi_pb.*8 x 18"):
        load_arch(str(path))


def test_every_per_bank_preset_is_within_the_bound():
    """The presets' own timings pass (HBM2 even with tREFI_pb 128 < tRFC_pb 160: 16 banks)."""
    for grade, t in DRAM_PRESETS.items():
        if t.per_bank_refresh_supported:
            assert preset_spec(grade, refresh="per_bank").refresh == "per_bank"
