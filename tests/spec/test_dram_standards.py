"""DRAM standards as data: presets complete, consistent, faithful to their sources; API errors."""
from __future__ import annotations

import dataclasses
import json
import re
from fractions import Fraction
from math import ceil, floor
from pathlib import Path

import pytest

from simulator.spec import dram_standards as ds
from simulator.spec.dram_standards import (
    DRAM_PRESETS, FIELD_DOC, STANDARDS, TIMING_FIELDS, DramTiming, burst_bytes,
    check_consistency, find_preset, json_schema, peak_bytes_per_s, tck_hz, to_table,
    with_overrides,
)

PRESETS = sorted(DRAM_PRESETS)

# Consistency violations that come from copying a source faithfully; each is explained in the
# preset's notes. Ramulator 2.1 gddr6.py GDDR6_14000_1350mV_double: nRAS 53 + nRP 27 > nRC 79.
KNOWN_INCONSISTENCIES = {
    "GDDR6-14000": ["GDDR6-14000: tras + trp = 53 + 27 = 80 > trc = 79"],
}


# --- completeness -----------------------------------------------------------------------------

def test_required_presets_present():
    """The registry holds the required speed grades, keyed by their own speed_grade."""
    for grade in ("DDR4-3200", "LPDDR4-2400", "LPDDR4-3200", "LPDDR4X-4266",
                  "GDDR6-14000", "GDDR6-10000", "HBM2-2000"):
        assert DRAM_PRESETS[grade].speed_grade == grade
    assert STANDARDS == ("LPDDR4", "LPDDR4X", "DDR4", "GDDR6", "HBM2")


def test_every_standard_has_a_preset():
    """Each listed standard resolves to at least one preset."""
    for standard in STANDARDS:
        assert find_preset(standard).standard == standard


def test_field_doc_covers_every_field():
    """Every dataclass field has exactly one non-empty one-line description."""
    names = [f.name for f in dataclasses.fields(DramTiming)]
    assert sorted(FIELD_DOC) == sorted(names)
    assert all(doc and "\n" not in doc for doc in FIELD_DOC.values())


@pytest.mark.parametrize("grade", PRESETS)
def test_timing_fields_positive(grade):
    """All int fields are positive ints; per-bank refresh fields are 0 exactly when unsupported; tPPD may be 0."""
    p = DRAM_PRESETS[grade]
    for f in dataclasses.fields(p):
        if f.type not in ("int", int):
            continue
        value = getattr(p, f.name)
        assert isinstance(value, int) and not isinstance(value, bool), f.name
        if f.name in ("trfc_pb", "trefi_pb"):
            assert (value > 0) == p.per_bank_refresh_supported, f.name
        elif f.name == "tppd":                 # PRE to PRE: LPDDR4 and GDDR6 have it, DDR4 and HBM2 not
            assert value >= 0, f.name
        else:
            assert value > 0, f.name
    assert p.tck_ps > 0


@pytest.mark.parametrize("grade", PRESETS)
def test_speed_grade_matches_standard_and_rate(grade):
    """speed_grade reads '<standard>-<data rate>'."""
    p = DRAM_PRESETS[grade]
    assert grade == f"{p.standard}-{p.data_rate_mtps}"


@pytest.mark.parametrize("grade", PRESETS)
def test_derived_fields_explained_in_notes(grade):
    """Every name in `derived` is a field and is mentioned in `notes`; `source` is filled."""
    p = DRAM_PRESETS[grade]
    assert p.source.strip()
    for name in p.derived:
        assert name in FIELD_DOC
        assert re.search(rf"\b{name}\b", p.notes), f"{grade}: {name} not explained in notes"
    assert p.overridden == ()


@pytest.mark.parametrize("grade", ["LPDDR4X-4266", "GDDR6-10000"])
def test_scaled_presets_marked_unvalidated(grade):
    """Presets not copied from a tool say so in source and notes."""
    p = DRAM_PRESETS[grade]
    assert "DERIVED" in p.source and "UNVALIDATED" in p.source
    assert "Unvalidated" in p.notes
    assert {"cl", "trcd_rd", "tras", "trc", "trfc", "trefi"} <= set(p.derived)


# --- consistency ------------------------------------------------------------------------------

@pytest.mark.parametrize("grade", PRESETS)
def test_tras_plus_trp_within_trc(grade):
    """tRAS + tRP <= tRC, except the one source inconsistency kept on purpose (GDDR6-14000)."""
    p = DRAM_PRESETS[grade]
    if grade in KNOWN_INCONSISTENCIES:
        assert p.tras + p.trp == p.trc + 1  # Ramulator 2.1 rounds each of them up separately
        assert "check_consistency() reports it" in p.notes
    else:
        assert p.tras + p.trp <= p.trc


@pytest.mark.parametrize("grade", PRESETS)
def test_check_consistency(grade):
    """check_consistency finds nothing but the documented, faithfully copied inconsistencies."""
    assert check_consistency(DRAM_PRESETS[grade]) == KNOWN_INCONSISTENCIES.get(grade, [])


def test_check_consistency_reports_problems():
    """A preset with a shrunken tRC and a wrong tCK gets one message per broken relation."""
    bad = with_overrides(DRAM_PRESETS["DDR4-3200"], {"trc": 60, "tck_ps": 700})
    problems = check_consistency(bad)
    assert len(problems) == 2
    assert "trc = 60" in problems[0] and "tck_ps = 700" in problems[1]


@pytest.mark.parametrize("grade", PRESETS)
def test_burst_cycles_is_burst_length_over_transfers(grade):
    """burst_cycles = burst_length / transfers_per_tck."""
    p = DRAM_PRESETS[grade]
    assert p.burst_cycles == p.burst_length // p.transfers_per_tck
    assert p.burst_cycles * p.transfers_per_tck == p.burst_length


def test_transfers_per_tck_by_standard():
    """2 transfers per tCK for DDR4/LPDDR4/LPDDR4X/HBM2; 8 for GDDR6."""
    for p in DRAM_PRESETS.values():
        assert p.transfers_per_tck == (8 if p.standard == "GDDR6" else 2)


def test_construction_rejects_broken_burst():
    """DramTiming refuses a burst_cycles that does not match BL / transfers_per_tck."""
    with pytest.raises(ValueError, match="burst_cycles"):
        dataclasses.replace(DRAM_PRESETS["DDR4-3200"], burst_cycles=8)


# --- sanity figures of refs/dram_timing.md ----------------------------------------------------

@pytest.mark.parametrize("grade, width_bits, expected_bytes_per_s", [
    ("LPDDR4-3200", 32, 12.8e9),       # 3.2 GT/s x 4 B
    ("LPDDR4X-4266", 32, 17.06e9),     # 4.266 GT/s x 4 B
    ("GDDR6-14000", 256, 448e9),       # 14 Gb/s x 256-bit
    ("GDDR6-10000", 256, 320e9),       # Tesla T4: 10 Gb/s x 256-bit
    ("HBM2-2000", 1024, 256e9),        # 2 Gb/s x 1024-bit stack
])
def test_peak_bandwidth(grade, width_bits, expected_bytes_per_s):
    """Peak bandwidth matches the reference sanity figures within 0.1%."""
    got = peak_bytes_per_s(DRAM_PRESETS[grade], width_bits)
    assert got == pytest.approx(expected_bytes_per_s, rel=1e-3)


def test_peak_bandwidth_default_width_and_burst_bytes():
    """Default widths are the source's channel; burst bytes = width / 8 x BL (DRAMSim3 sizes)."""
    assert peak_bytes_per_s(DRAM_PRESETS["LPDDR4-3200"]) == pytest.approx(12.8e9)
    # DRAMSim3 request size bus_width / 8 x BL: 64 B DDR4, 128 B LPDDR4, 64 B HBM2.
    assert burst_bytes(DRAM_PRESETS["DDR4-3200"], 64) == 64
    assert burst_bytes(DRAM_PRESETS["LPDDR4-2400"]) == 128
    assert burst_bytes(DRAM_PRESETS["HBM2-2000"]) == 64
    assert burst_bytes(DRAM_PRESETS["GDDR6-14000"], 16) == 32
    with pytest.raises(ValueError):
        burst_bytes(DRAM_PRESETS["DDR4-3200"], 12)


def test_tck_hz():
    """tck_hz is 1 / tCK."""
    assert tck_hz(DRAM_PRESETS["HBM2-2000"]) == pytest.approx(1e9)
    assert tck_hz(DRAM_PRESETS["DDR4-3200"]) == pytest.approx(1.6e9)


def test_ddr4_refresh_overhead():
    """DDR4-3200 refresh takes 560 / 12480 = 4.5% of the time (refs/dram_timing.md)."""
    p = DRAM_PRESETS["DDR4-3200"]
    assert p.trfc / p.trefi == pytest.approx(0.045, abs=5e-4)


# --- copied values, spot-checked against the reference table ----------------------------------
# Figures copied from /work/shared/refs/dram_timing.md (not read at test time).

SPOT_CHECKS = {
    # DRAMSim3 configs/DDR4_8Gb_x8_3200.ini
    "DDR4-3200": dict(cl=22, cwl=16, trcd_rd=22, trp=22, tras=52, tccd_s=4, tccd_l=8,
                      trrd_s=4, trrd_l=8, tfaw=34, twr=24, twtr_s=4, twtr_l=12, trtp=12,
                      trtrs=1, trfc=560, trefi=12480, burst_length=8, bank_groups=4,
                      banks_per_group=4, rows=65536, columns=1024, device_width_bits=8),
    # DRAMSim3 configs/LPDDR4_8Gb_x16_2400.ini
    "LPDDR4-2400": dict(cl=17, cwl=14, trcd_rd=15, trp=15, tras=32, tccd_s=4, tccd_l=6,
                        trrd_s=8, trrd_l=8, tfaw=32, twr=30, twtr_s=8, twtr_l=16, trtp=12,
                        trfc=392, trefi=8660, burst_length=16, rows=65536, columns=1024),
    # Ramulator 1 src/LPDDR4.h LPDDR4_3200 + src/LPDDR4.cpp (8Gb x16, 1x refresh)
    "LPDDR4-3200": dict(tck_ps=625, cl=29 + 3, cwl=15 + 3, trcd_rd=29, trp=29 - 2,
                        trp_ab=34 - 2, tras=68, trc=95, tccd_s=8, tccd_l=8, trrd_s=16,
                        tfaw=64, twr=29 - 1, twtr_s=16, trtp=12 + 2, trtrs=2, trfc=288,
                        trfc_pb=144, trefi=6247, burst_cycles=8, banks_per_group=8,
                        rows=32768, columns=1024, default_channel_width_bits=32),
    # Ramulator 2.1 gddr6.py GDDR6_14000_1350mV_double / GDDR6_8Gb_x16
    "GDDR6-14000": dict(tck_ps=570, cl=24, cwl=6, trcd_rd=27, trcd_wr=16, trp=27, tras=53,
                        trc=79, tccd_s=2, tccd_l=4, trrd_s=8, trrd_l=8, tfaw=29, twr=27,
                        twtr_s=9, twtr_l=11, trtp=4, trfc=211, trfc_pb=106, trefi=3333,
                        burst_cycles=2, rows=16384, columns=1024,
                        default_channel_width_bits=16),
    # DRAMSim3 configs/HBM2_8Gb_x128.ini
    "HBM2-2000": dict(tck_ps=1000, cl=14, cwl=4, trcd_rd=14, trcd_wr=14, trp=14, tras=34,
                      tccd_s=1, tccd_l=2, trrd_s=4, trrd_l=6, tfaw=30, twr=16, twtr_s=6,
                      twtr_l=8, trfc=260, trefi=3900, trefi_pb=128, burst_length=4,
                      rows=32768, device_width_bits=128),
}


@pytest.mark.parametrize("grade", sorted(SPOT_CHECKS))
def test_copied_values_match_reference(grade):
    """Copied timings equal the reference table's figures for that source row."""
    p = DRAM_PRESETS[grade]
    for name, value in SPOT_CHECKS[grade].items():
        assert getattr(p, name) == value, f"{grade}.{name}"
        assert name not in p.derived, f"{grade}.{name} is copied, not derived"


def test_ddr4_trfc_choice_documented():
    """DDR4 keeps DRAMSim3's 560 nCK (350 ns) tRFC, not Ramulator 2.1's 576, and says why."""
    p = DRAM_PRESETS["DDR4-3200"]
    assert p.trfc * p.tck_ps == 350_000
    assert "576" in p.notes and "350 ns" in p.notes


# --- derivation rules of the scaled presets ---------------------------------------------------
# Ramulator 1 src/LPDDR4.h speed_table (CMU-SAFARI/ramulator), nCK, formulas as written there;
# nRFCab / nRFCpb / nREFI from src/LPDDR4.cpp for LPDDR4_8Gb_x16, 1x refresh.
RAMULATOR1_LPDDR4 = {
    1600: dict(nCL=15 + 3, nRCD=15, nRPpb=15 - 2, nRPab=17 - 2, nCWL=8 + 3, nRAS=34, nRC=47,
               nRTP=8 + 2, nWTR=8, nWR=15 - 1, nRRD=8, nFAW=32, nRFCab=144, nRFCpb=72,
               nREFI=3124),
    2400: dict(nCL=22 + 3, nRCD=22, nRPpb=22 - 2, nRPab=26 - 2, nCWL=11 + 3, nRAS=51, nRC=71,
               nRTP=9 + 2, nWTR=12, nWR=22 - 1, nRRD=12, nFAW=48, nRFCab=216, nRFCpb=108,
               nREFI=4685),
    3200: dict(nCL=29 + 3, nRCD=29, nRPpb=29 - 2, nRPab=34 - 2, nCWL=15 + 3, nRAS=68, nRC=95,
               nRTP=12 + 2, nWTR=16, nWR=29 - 1, nRRD=16, nFAW=64, nRFCab=288, nRFCpb=144,
               nREFI=6247),
}
RAMULATOR1_TCK_NS = {1600: Fraction(5, 4), 2400: Fraction(5, 6), 3200: Fraction(5, 8)}


def lpddr4_rule(tck_ns: Fraction) -> dict:
    """The LPDDR4X-4266 derivation rule: scale the ns base of each 3200 entry, keep nCK parts."""
    def scaled(base_nck_at_3200: int) -> int:
        return ceil(base_nck_at_3200 * Fraction(5, 8) / tck_ns)
    rcd = scaled(29)
    rp_pb = scaled(29) - 2
    ras = scaled(68)
    return dict(nCL=rcd + 3, nRCD=rcd, nRPpb=rp_pb, nRPab=scaled(34) - 2,
                nCWL=ceil(Fraction(rcd, 2)) + 3, nRAS=ras, nRC=ras + rp_pb,
                nRTP=max(scaled(12), 8) + 2, nWTR=max(scaled(16), 8), nWR=scaled(29) - 1,
                nRRD=scaled(16), nFAW=scaled(64), nRFCab=scaled(288), nRFCpb=scaled(144),
                nREFI=ceil(3904 / tck_ns), nREFIpb=ceil(488 / tck_ns))


@pytest.mark.parametrize("rate", [1600, 2400, 3200])
def test_lpddr4_rule_reproduces_ramulator1_rows(rate):
    """Applied from the 3200 row, the rule gives Ramulator 1's own 1600/2400/3200 rows exactly."""
    got = lpddr4_rule(RAMULATOR1_TCK_NS[rate])
    got.pop("nREFIpb")
    assert got == RAMULATOR1_LPDDR4[rate]


def test_lpddr4x_4266_follows_rule():
    """LPDDR4X-4266 equals the rule at tCK = 469 ps; nCK-defined fields equal LPDDR4-3200's."""
    r = lpddr4_rule(Fraction(469, 1000))
    p = DRAM_PRESETS["LPDDR4X-4266"]
    assert p.tck_ps == 469
    assert (p.cl, p.cwl, p.trcd_rd, p.trcd_wr) == (r["nCL"], r["nCWL"], r["nRCD"], r["nRCD"])
    assert (p.trp, p.trp_ab, p.tras, p.trc) == (r["nRPpb"], r["nRPab"], r["nRAS"], r["nRC"])
    assert (p.trtp, p.twtr_s, p.twtr_l, p.twr) == (r["nRTP"], r["nWTR"], r["nWTR"], r["nWR"])
    assert (p.trrd_s, p.trrd_l, p.tfaw) == (r["nRRD"], r["nRRD"], r["nFAW"])
    assert (p.trfc, p.trfc_pb) == (r["nRFCab"], r["nRFCpb"])
    assert (p.trefi, p.trefi_pb) == (r["nREFI"], r["nREFIpb"])
    base = DRAM_PRESETS["LPDDR4-3200"]
    for name in ("burst_length", "burst_cycles", "transfers_per_tck", "tccd_s", "tccd_l",
                 "trtrs", "bank_groups", "banks_per_group", "rows", "columns",
                 "device_width_bits", "default_channel_width_bits"):
        assert getattr(p, name) == getattr(base, name), name
    assert DRAM_PRESETS["LPDDR4-3200"].trefi_pb == lpddr4_rule(Fraction(5, 8))["nREFIpb"]


def test_gddr6_10000_follows_rule():
    """GDDR6-10000 = ceil(nCK x 570 / 800) of GDDR6-14000, trc = tras + trp, nCK fields kept."""
    src, p = DRAM_PRESETS["GDDR6-14000"], DRAM_PRESETS["GDDR6-10000"]
    assert p.tck_ps == 16 * 1_000_000 // (p.burst_cycles * p.data_rate_mtps) == 800
    for name in ("cl", "cwl", "trcd_rd", "trcd_wr", "trp", "trp_ab", "tras", "trrd_s",
                 "trrd_l", "tfaw", "twr", "twtr_s", "twtr_l", "trtp", "trfc", "trfc_pb",
                 "trefi"):
        assert getattr(p, name) == ceil(Fraction(getattr(src, name) * 570, 800)), name
    assert p.trc == p.tras + p.trp > ceil(Fraction(src.trc * 570, 800))
    assert p.trefi == floor(Fraction(1_900_000, 800))  # gddr6.py nREFI = floor(1.9 us / tCK)
    assert p.trefi_pb == p.trefi // 16 and src.trefi_pb == src.trefi // 16
    for name in ("burst_length", "burst_cycles", "transfers_per_tck", "tccd_s", "tccd_l",
                 "trtrs", "bank_groups", "banks_per_group", "rows", "columns"):
        assert getattr(p, name) == getattr(src, name), name


# --- find_preset ------------------------------------------------------------------------------

def test_find_preset_by_rate_and_default():
    """find_preset picks by data rate; None gives the fastest grade; standard is case-blind."""
    assert find_preset("LPDDR4", 2400) is DRAM_PRESETS["LPDDR4-2400"]
    assert find_preset("lpddr4x", None) is DRAM_PRESETS["LPDDR4X-4266"]
    assert find_preset("LPDDR4") is DRAM_PRESETS["LPDDR4-3200"]
    assert find_preset("GDDR6") is DRAM_PRESETS["GDDR6-14000"]
    assert find_preset("GDDR6", 10000) is DRAM_PRESETS["GDDR6-10000"]


def test_find_preset_unknown_rate_lists_grades():
    """An unknown data rate raises KeyError listing that standard's available grades."""
    with pytest.raises(KeyError) as err:
        find_preset("LPDDR4", 4266)
    listed = re.findall(r"\b[A-Z0-9]+-\d+\b", str(err.value).split("grades:")[1])
    assert listed == ["LPDDR4-2400", "LPDDR4-3200"]


def test_find_preset_unknown_standard_lists_standards():
    """An unknown standard raises KeyError listing the allowed standards."""
    with pytest.raises(KeyError) as err:
        find_preset("DDR5", 4800)
    assert all(s in str(err.value) for s in STANDARDS)


# --- with_overrides ---------------------------------------------------------------------------

def test_with_overrides_replaces_and_records():
    """Overrides give a new preset with those values, trc untouched, names in `overridden`."""
    base = DRAM_PRESETS["DDR4-3200"]
    new = with_overrides(base, {"cl": 24, "tras": 60})
    assert (new.cl, new.tras, new.trc) == (24, 60, base.trc)
    assert new.overridden == ("cl", "tras")
    assert base.cl == 22 and base.overridden == ()
    assert with_overrides(base, {}) is base
    assert check_consistency(new) == ["DDR4-3200: tras + trp = 60 + 22 = 82 > trc = 74"]


def test_with_overrides_typo_suggests_field():
    """A misspelt field name raises ValueError naming the closest field."""
    with pytest.raises(ValueError, match="did you mean 'tfaw'"):
        with_overrides(DRAM_PRESETS["DDR4-3200"], {"tfwa": 40})
    with pytest.raises(ValueError, match="did you mean .*'trcd_rd'"):
        with_overrides(DRAM_PRESETS["DDR4-3200"], {"trcd": 20})
    with pytest.raises(ValueError, match="did you mean 'cl'"):
        with_overrides(DRAM_PRESETS["DDR4-3200"], {"CL": 20})


@pytest.mark.parametrize("overrides", [
    {"trcd_rd": 0}, {"trp": -1}, {"tck_ps": 0}, {"cl": 22.0}, {"cl": True}, {"cl": "22"},
])
def test_with_overrides_rejects_non_positive_or_non_int(overrides):
    """Timing overrides must be positive ints."""
    with pytest.raises(ValueError):
        with_overrides(DRAM_PRESETS["DDR4-3200"], overrides)


def test_with_overrides_rejects_non_int_fields():
    """Text fields (standard, source, notes...) cannot be overridden."""
    with pytest.raises(ValueError, match="cannot be overridden"):
        with_overrides(DRAM_PRESETS["DDR4-3200"], {"standard": "DDR5"})


def test_with_overrides_per_bank_refresh():
    """Per-bank refresh is switched on or off together with its two timings."""
    lp = DRAM_PRESETS["LPDDR4-2400"]
    on = with_overrides(lp, {"per_bank_refresh_supported": True, "trfc_pb": 108,
                             "trefi_pb": 586})
    assert on.per_bank_refresh_supported and on.trfc_pb == 108
    with pytest.raises(ValueError, match="trfc_pb"):
        with_overrides(lp, {"per_bank_refresh_supported": True})
    off = with_overrides(DRAM_PRESETS["LPDDR4-3200"],
                         {"per_bank_refresh_supported": False, "trfc_pb": 0, "trefi_pb": 0})
    assert not off.per_bank_refresh_supported
    with pytest.raises(ValueError, match="must be 0"):
        with_overrides(DRAM_PRESETS["DDR4-3200"], {"trfc_pb": 100})


# --- serialisation and docs -------------------------------------------------------------------

@pytest.mark.parametrize("grade", PRESETS)
def test_to_table_json_round_trip(grade):
    """to_table is JSON-serialisable and rebuilds an equal DramTiming."""
    p = DRAM_PRESETS[grade]
    table = json.loads(json.dumps(to_table(p)))
    assert list(table) == list(FIELD_DOC)
    table["derived"] = tuple(table["derived"])
    table["overridden"] = tuple(table["overridden"])
    assert DramTiming(**table) == p


def test_json_schema_describes_every_field():
    """json_schema has a typed, described property per field."""
    schema = json_schema()
    assert set(schema["properties"]) == set(FIELD_DOC)
    assert schema["properties"]["cl"] == {"type": "integer", "minimum": 1,
                                          "description": FIELD_DOC["cl"]}
    assert schema["properties"]["trfc_pb"]["minimum"] == 0
    assert "overridden" not in schema["required"] and "trc" in schema["required"]
    assert set(TIMING_FIELDS) <= set(schema["properties"])


def test_docs_list_every_preset():
    """docs/dram_presets.md has a row for every preset."""
    docs = Path(__file__).resolve().parents[2] / "docs" / "dram_presets.md"
    text = docs.read_text()
    for grade in DRAM_PRESETS:
        assert f"`{grade}`" in text, grade


def test_registry_holds_the_module_constants():
    """DRAM_PRESETS maps each grade to its own module-level preset object."""
    assert DRAM_PRESETS["DDR4-3200"] is ds.DDR4_3200
    assert len(set(map(id, DRAM_PRESETS.values()))) == len(DRAM_PRESETS)


@pytest.mark.parametrize("overrides, key", [({"tccd_s": 9}, "tccd_s"), ({"trrd_l": 2}, "trrd_l"),
                                            ({"twtr_s": 13}, "twtr_s")])
def test_with_overrides_refuses_short_rule_stricter_than_long(overrides, key):
    """tX_S > tX_L (another bank group stricter than the same group) is refused, naming the key."""
    from simulator.errors import SpecError
    with pytest.raises(SpecError) as e:
        with_overrides(DRAM_PRESETS["DDR4-3200"], overrides)
    assert e.value.key == key and "never stricter" in str(e.value)
