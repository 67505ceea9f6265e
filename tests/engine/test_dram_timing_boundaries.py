"""Every DRAM timing rule at its boundary (STYLE habit 11): refused at t + n - 1, accepted at t + n.

Each case issues a few commands by hand on a fresh channel, then probes one command. Timing
overrides separate rules that would otherwise bind at the same cycle (tRC vs tRAS + tRP). Both
the njit model (engine.dram.can_issue) and the naive reference (tests/naive/dram.py) are probed.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from simulator.engine.dram import (CMD_ACT, CMD_PRE, CMD_PREA, CMD_RD, CMD_REF, CMD_REFPB, CMD_WR, can_issue, issue,
                                   run_until)
from simulator.resources.dram import dram_state_new, dram_tables, preset_spec

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.naive.dram import NaiveDram  # noqa: E402

T = 1000
ACT, PRE, RD, WR, PREA, REF, REFPB = CMD_ACT, CMD_PRE, CMD_RD, CMD_WR, CMD_PREA, CMD_REF, CMD_REFPB


class Engine:
    def __init__(self, spec):
        self.tb = dram_tables(spec)
        self.st = dram_state_new(self.tb)

    def can(self, cmd, bank, row, t):
        return bool(can_issue(self.tb, self.st, 0, cmd, bank, row, t))

    def do(self, cmd, bank, row, t):
        issue(self.tb, self.st, 0, cmd, bank, row, t)


class Naive:
    def __init__(self, spec):
        self.n = NaiveDram(spec)

    def can(self, cmd, bank, row, t):
        return bool(self.n.can_issue(0, cmd, bank, row, t))

    def do(self, cmd, bank, row, t):
        self.n.issue(0, cmd, bank, row, t)


def ddr4(**timing):
    return preset_spec("DDR4-3200", timing=timing)


D = preset_spec("DDR4-3200").resolved_timing      # tRCD 22, tRAS 52, tRP 22, tRC 74, CL 22, CWL 16
L = preset_spec("LPDDR4-3200").resolved_timing
LPB = preset_spec("LPDDR4-3200", refresh="per_bank")
BL = D.burst_cycles                               # 4
# DDR4 banks: bank = group * 4 + bank-in-group; bank 1 shares group 0 with bank 0, bank 4 does not.
# (name, spec, setup [(cmd, bank, row, t)], probe (cmd, bank, row), reference time, gap n)
CASES = [
    ("tRCD_rd", ddr4(), [(ACT, 0, 1, T)], (RD, 0, 1), T, D.trcd_rd),
    ("tRCD_wr", ddr4(trcd_wr=18), [(ACT, 0, 1, T)], (WR, 0, 1), T, 18),
    ("tRAS", ddr4(), [(ACT, 0, 1, T)], (PRE, 0, 1), T, D.tras),
    ("tRP", ddr4(trc=60), [(ACT, 0, 1, T), (PRE, 0, 1, T + 52)], (ACT, 0, 2), T + 52, D.trp),
    ("tRC", ddr4(tras=30, trp=10), [(ACT, 0, 1, T), (PRE, 0, 1, T + 30)], (ACT, 0, 2), T, D.trc),
    ("tRRD_L", ddr4(), [(ACT, 0, 1, T)], (ACT, 1, 1), T, D.trrd_l),
    ("tRRD_S", ddr4(), [(ACT, 0, 1, T)], (ACT, 4, 1), T, D.trrd_s),
    ("tFAW", ddr4(), [(ACT, 0, 1, T), (ACT, 4, 1, T + 4), (ACT, 8, 1, T + 8), (ACT, 12, 1, T + 12)],
     (ACT, 1, 1), T, D.tfaw),
    ("tCCD_L", ddr4(), [(ACT, 0, 1, T), (ACT, 1, 1, T + 8), (RD, 0, 1, T + 100)], (RD, 1, 1),
     T + 100, D.tccd_l),
    ("tCCD_S", ddr4(tccd_s=6), [(ACT, 0, 1, T), (ACT, 4, 1, T + 8), (RD, 0, 1, T + 100)],
     (RD, 4, 1), T + 100, 6),
    ("data bus (burst)", ddr4(tccd_s=2), [(ACT, 0, 1, T), (ACT, 4, 1, T + 8), (RD, 0, 1, T + 100)],
     (RD, 4, 1), T + 100, BL),
    ("WR-WR tCCD_L", ddr4(), [(ACT, 0, 1, T), (ACT, 1, 1, T + 8), (WR, 0, 1, T + 100)],
     (WR, 1, 1), T + 100, D.tccd_l),
    # WR to RD: end of write data (CWL + burst) + tWTR: 16 + 4 + 12 = 32 (same group), 16 + 4 + 4 = 24
    ("tWTR_L", ddr4(), [(ACT, 0, 1, T), (ACT, 1, 1, T + 8), (WR, 0, 1, T + 100)], (RD, 1, 1),
     T + 100, D.cwl + BL + D.twtr_l),
    ("tWTR_S", ddr4(), [(ACT, 0, 1, T), (ACT, 4, 1, T + 8), (WR, 0, 1, T + 100)], (RD, 4, 1),
     T + 100, D.cwl + BL + D.twtr_s),
    # RD to WR: read data end + tRTRS = write data start: CL + burst + tRTRS - CWL = 22 + 4 + 1 - 16 = 11
    ("RD-WR turnaround", ddr4(), [(ACT, 0, 1, T), (ACT, 4, 1, T + 8), (RD, 0, 1, T + 100)],
     (WR, 4, 1), T + 100, D.cl + BL + D.trtrs - D.cwl),
    ("tRTP", ddr4(), [(ACT, 0, 1, T), (RD, 0, 1, T + 52)], (PRE, 0, 1), T + 52, D.trtp),
    # WR to PRE: CWL + burst + tWR = 16 + 4 + 24 = 44
    ("tWR", ddr4(), [(ACT, 0, 1, T), (WR, 0, 1, T + 52)], (PRE, 0, 1), T + 52, D.cwl + BL + D.twr),
    ("tRAS before PREA", ddr4(), [(ACT, 0, 1, T)], (PREA, -1, -1), T, D.tras),
    ("tRTP before PREA", ddr4(), [(ACT, 0, 1, T), (RD, 0, 1, T + 52)], (PREA, -1, -1), T + 52, D.trtp),
    ("tRP_ab", preset_spec("LPDDR4-3200"), [(ACT, 0, 1, T), (PREA, -1, -1, T + 68)], (ACT, 0, 2),
     T + 68, L.trp_ab),
    ("tRP before REF", ddr4(), [(ACT, 0, 1, T), (PRE, 0, 1, T + 52)], (REF, -1, -1), T + 52, D.trp),
    ("tRP_ab before REF", preset_spec("LPDDR4-3200"), [(ACT, 0, 1, T), (PREA, -1, -1, T + 68)],
     (REF, -1, -1), T + 68, L.trp_ab),
    ("tRFC to ACT", ddr4(), [(REF, -1, -1, T)], (ACT, 3, 1), T, D.trfc),
    ("tRFC to REF", ddr4(), [(REF, -1, -1, T)], (REF, -1, -1), T, D.trfc),
    ("tRRD on LPDDR4 (no bank groups)", preset_spec("LPDDR4-3200"), [(ACT, 0, 1, T)], (ACT, 7, 1),
     T, L.trrd_s),
    ("tCCD on LPDDR4", preset_spec("LPDDR4-3200"),
     [(ACT, 0, 1, T), (ACT, 5, 1, T + 16), (RD, 0, 1, T + 100)], (RD, 5, 1), T + 100, L.tccd_l),
    # per-bank refresh (LPDDR4-3200: tRFCpb 144, tRRD 8)
    ("tRFCpb to ACT", LPB, [(REFPB, 2, -1, T)], (ACT, 2, 1), T, L.trfc_pb),
    ("tRFCpb to REFpb", LPB, [(REFPB, 2, -1, T)], (REFPB, 2, -1), T, L.trfc_pb),
    ("tRFCpb to REF", LPB, [(REFPB, 2, -1, T)], (REF, -1, -1), T, L.trfc_pb),
    ("REFpb to ACT, other bank: tRRD", LPB, [(REFPB, 2, -1, T)], (ACT, 3, 1), T, L.trrd_s),
    ("ACT to REFpb, other bank: tRRD", LPB, [(ACT, 3, 1, T)], (REFPB, 2, -1), T, L.trrd_s),
    ("REFpb to REFpb, other bank: tRRD", LPB, [(REFPB, 2, -1, T)], (REFPB, 3, -1), T, L.trrd_s),
    ("tRP before REFpb", LPB, [(ACT, 2, 1, T), (PRE, 2, 1, T + 68)], (REFPB, 2, -1), T + 68, L.trp),
    ("tRFC to REFpb", LPB, [(REF, -1, -1, T)], (REFPB, 2, -1), T, L.trfc),
    # tPPD (LPDDR4-3200: 4): PRE to PRE or PREA on any bank
    ("tPPD", preset_spec("LPDDR4-3200"), [(ACT, 0, 1, T), (ACT, 1, 1, T + 16), (PRE, 0, 1, T + 200)],
     (PRE, 1, 1), T + 200, L.tppd),
    ("tPPD to PREA", preset_spec("LPDDR4-3200"), [(ACT, 0, 1, T), (ACT, 1, 1, T + 16), (PRE, 0, 1, T + 200)],
     (PREA, -1, -1), T + 200, L.tppd),
]


@pytest.mark.parametrize("impl", [Engine, Naive], ids=["njit", "naive"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rule_boundary(impl, case):
    """The probed command is refused one cycle before its rule allows it and accepted at the boundary."""
    name, spec, setup, (cmd, bank, row), ref, n = case
    m = impl(spec)
    for c, b, r, t in setup:
        assert m.can(c, b, r, t), f"{name}: setup command {c} at {t} refused"
        m.do(c, b, r, t)
    assert not m.can(cmd, bank, row, ref + n - 1)
    assert m.can(cmd, bank, row, ref + n)


@pytest.mark.parametrize("impl", [Engine, Naive], ids=["njit", "naive"])
def test_bank_state_rules(impl):
    """ACT needs a closed bank, RD/WR the open row, PRE an open bank, REF every bank closed."""
    m = impl(ddr4())
    assert not m.can(RD, 0, 1, T) and not m.can(PRE, 0, 1, T)
    m.do(ACT, 0, 1, T)
    assert not m.can(ACT, 0, 2, T + 500)
    assert not m.can(RD, 0, 2, T + 500) and m.can(RD, 0, 1, T + 500)
    assert not m.can(REF, -1, -1, T + 500)
    assert not m.can(REFPB, 0, -1, T + 500) and m.can(REFPB, 1, -1, T + 500)   # only a closed bank


def test_refresh_issued_at_trefi():
    """An idle channel issues its first REF exactly at cycle tREFI, the next at 2 tREFI."""
    tb = dram_tables(ddr4())
    st = dram_state_new(tb)
    run_until(tb, st, D.trefi)               # decides cycles < tREFI
    assert st.stats[0, 5] == 0
    run_until(tb, st, D.trefi + 1)
    assert st.stats[0, 5] == 1
    run_until(tb, st, 2 * D.trefi)
    assert st.stats[0, 5] == 1
    run_until(tb, st, 2 * D.trefi + 1)
    assert st.stats[0, 5] == 2


def test_per_bank_refresh_takes_turns_every_trefi_pb():
    """Idle LPDDR4-3200 with per-bank refresh: one REFpb every tREFI_pb, banks 0, 1, ... in turn."""
    tb = dram_tables(LPB)
    st = dram_state_new(tb)
    n = 20
    run_until(tb, st, n * L.trefi_pb + 1)
    assert st.stats[0, 5] == n and st.stats[0, 6] == n * L.trfc_pb
    from simulator.engine.dram import BK_REF_FROM, SC_REF_BANK
    assert st.sc[0, SC_REF_BANK] == n % 8
    # the last one was bank (n - 1) % 8, due at n * tREFI_pb, issued then (idle, closed)
    assert st.bank[0, (n - 1) % 8, BK_REF_FROM] == n * L.trefi_pb
