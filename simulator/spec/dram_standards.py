"""DRAM standards as data: one frozen, cited, fully written-out timing preset per speed grade.

A `DramTiming` holds every timing of one speed grade as int command-clock cycles (nCK) plus the
command clock period `tck_ps` and the organisation. Presets are copied from public cycle-level
DRAM simulators (DRAMSim3, Ramulator 1, Ramulator 2.1); each names its source file and row in
`source`, and any value that was computed rather than copied is listed in `derived` and explained
in `notes`. There is no inheritance between presets: each one is written out in full (STYLE habit
4), so a preset can be checked against its source line by line. The reference figures are
tabulated with their units in docs/dram_presets.md.

Only data and small pure helpers live here; the engine lowers a `DramTiming` to integer arrays
elsewhere (resources/dram.py).
"""
from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass

from simulator.errors import SpecError

__all__ = [
    "STANDARDS", "FIELD_DOC", "TIMING_FIELDS", "DramTiming", "DRAM_PRESETS", "DramSupply", "DramCurrents",
    "DRAM_CURRENTS",
    "find_preset", "with_overrides", "check_consistency",
    "peak_bytes_per_s", "burst_bytes", "tck_hz", "to_table", "json_schema",
]

STANDARDS = ("LPDDR4", "LPDDR4X", "DDR4", "GDDR6", "HBM2")

# One line per field: what it is and its unit. Drives docs and json_schema().
FIELD_DOC: dict[str, str] = {
    "standard": "DRAM standard, one of STANDARDS",
    "speed_grade": "speed-grade name, '<standard>-<data rate in MT/s>', the DRAM_PRESETS key",
    "data_rate_mtps": "per-pin data rate (MT/s)",
    "tck_ps": "command clock period tCK (ps)",
    "transfers_per_tck": "data transfers per pin per command clock (2 for DDR; 8 for GDDR6)",
    "burst_length": "burst length BL (data beats per column access)",
    "burst_cycles": "nCK the data bus is busy per burst (= burst_length / transfers_per_tck)",
    "cl": "CL: read command to first read data (nCK)",
    "cwl": "CWL: write command to first write data (nCK)",
    "trcd_rd": "tRCD(RD): ACT to RD on the same bank (nCK)",
    "trcd_wr": "tRCD(WR): ACT to WR on the same bank (nCK); = trcd_rd if the standard has one",
    "trp": "tRP: PRE (one bank) to ACT on that bank (nCK)",
    "trp_ab": "tRP(all bank): PREA to ACT (nCK); = trp where the standard has one tRP",
    "tras": "tRAS: ACT to PRE on the same bank (nCK)",
    "trc": "tRC: ACT to ACT on the same bank (nCK)",
    "tccd_s": "tCCD_S: column command to column command, different bank group (nCK)",
    "tccd_l": "tCCD_L: column command to column command, same bank group (nCK)",
    "trrd_s": "tRRD_S: ACT to ACT, different bank group (nCK)",
    "trrd_l": "tRRD_L: ACT to ACT, same bank group (nCK)",
    "tfaw": "tFAW: window in which at most four ACTs may issue per rank/channel (nCK)",
    "twr": "tWR: end of write data to PRE on the same bank (nCK)",
    "twtr_s": "tWTR_S: end of write data to RD, different bank group (nCK)",
    "twtr_l": "tWTR_L: end of write data to RD, same bank group (nCK)",
    "trtp": "tRTP: RD to PRE on the same bank (nCK)",
    "trtrs": "tRTRS: rank-to-rank switch / data-bus turnaround gap (nCK)",
    "tppd": "tPPD: PRE (or PREA) to PRE (or PREA) on any bank of the channel (nCK); 0 where the standard has none",
    "trfc": "tRFC(all bank): REF to any ACT (nCK)",
    "trfc_pb": "tRFC(per bank): REFpb to ACT on that bank (nCK); 0 when per-bank refresh is off",
    "trefi": "tREFI: average interval between all-bank REF commands (nCK)",
    "trefi_pb": "tREFI(per bank): average interval between REFpb commands (nCK); 0 when off",
    "bank_groups": "bank groups per rank/channel (1 where the standard has none)",
    "banks_per_group": "banks in each bank group",
    "rows": "rows per bank",
    "columns": "columns per row, each device_width_bits wide (row bytes = columns * width / 8)",
    "device_width_bits": "data pins per device (or per device channel): x8, x16, x128",
    "default_channel_width_bits": "channel data-bus width the source simulates (bits)",
    "per_bank_refresh_supported": "preset carries per-bank refresh timings (trfc_pb, trefi_pb)",
    "source": "exact citation: tool, file, row the values were copied from",
    "derived": "names of fields computed rather than copied; each explained in notes",
    "notes": "derivations, choices between sources and caveats",
    "overridden": "names of fields changed by with_overrides() (empty for a stored preset)",
}

# Int fields counted in nCK (tck_ps, in ps, is checked with them).
TIMING_FIELDS = (
    "cl", "cwl", "trcd_rd", "trcd_wr", "trp", "trp_ab", "tras", "trc",
    "tccd_s", "tccd_l", "trrd_s", "trrd_l", "tfaw", "twr", "twtr_s", "twtr_l", "trtp", "trtrs", "tppd",
    "trfc", "trfc_pb", "trefi", "trefi_pb",
)
_PER_BANK_FIELDS = ("trfc_pb", "trefi_pb")
_MAY_BE_ZERO = _PER_BANK_FIELDS + ("tppd",)  # the only int fields that may be 0


def _type_name(f: dataclasses.Field) -> str:
    """'int', 'str', 'bool' or 'tuple[str, ...]', whether or not annotations are strings."""
    return f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))


@dataclass(frozen=True, kw_only=True)
class DramTiming:
    """One complete speed-grade preset: timings in nCK, tCK in ps, organisation, citation."""

    standard: str
    speed_grade: str
    data_rate_mtps: int
    tck_ps: int
    transfers_per_tck: int
    burst_length: int
    burst_cycles: int
    cl: int
    cwl: int
    trcd_rd: int
    trcd_wr: int
    trp: int
    trp_ab: int
    tras: int
    trc: int
    tccd_s: int
    tccd_l: int
    trrd_s: int
    trrd_l: int
    tfaw: int
    twr: int
    twtr_s: int
    twtr_l: int
    trtp: int
    trtrs: int
    tppd: int
    trfc: int
    trfc_pb: int
    trefi: int
    trefi_pb: int
    bank_groups: int
    banks_per_group: int
    rows: int
    columns: int
    device_width_bits: int
    default_channel_width_bits: int
    per_bank_refresh_supported: bool
    source: str
    derived: tuple[str, ...]
    notes: str
    overridden: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = self.speed_grade or "<DramTiming>"
        if self.standard not in STANDARDS:
            raise SpecError(where, "standard",
                            f"unknown standard '{self.standard}'; allowed: {', '.join(STANDARDS)}")
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if _type_name(f) == "int":
                if isinstance(value, bool) or not isinstance(value, int):
                    raise SpecError(where, f.name, f"must be an int, got {value!r}")
                low = 0 if f.name in _MAY_BE_ZERO else 1
                if value < low:
                    raise SpecError(where, f.name, f"must be >= {low}, got {value}")
        if not isinstance(self.per_bank_refresh_supported, bool):
            raise SpecError(where, "per_bank_refresh_supported",
                            f"must be a bool, got {self.per_bank_refresh_supported!r}")
        if self.burst_cycles * self.transfers_per_tck != self.burst_length:
            raise SpecError(where, "burst_cycles",
                            f"burst_cycles ({self.burst_cycles}) x transfers_per_tck "
                            f"({self.transfers_per_tck}) must equal burst_length "
                            f"({self.burst_length}); change them together")
        for name in _PER_BANK_FIELDS:
            value = getattr(self, name)
            if self.per_bank_refresh_supported and value == 0:
                raise SpecError(where, name, "must be > 0 when per_bank_refresh_supported")
            if not self.per_bank_refresh_supported and value != 0:
                raise SpecError(where, name,
                                f"must be 0 when per-bank refresh is not supported, got {value}")
        names = {f.name for f in dataclasses.fields(self)}
        for attr in ("derived", "overridden"):
            bad = [n for n in getattr(self, attr) if n not in names]
            if bad:
                raise SpecError(where, attr, f"names no field: {bad}")


# ---------------------------------------------------------------------------------------------
# Presets. Every value is written out; see `source`, `derived` and `notes` of each.
# ---------------------------------------------------------------------------------------------

DDR4_3200 = DramTiming(
    standard="DDR4", speed_grade="DDR4-3200", data_rate_mtps=3200,
    tck_ps=625, transfers_per_tck=2, burst_length=8, burst_cycles=4,
    cl=22, cwl=16, trcd_rd=22, trcd_wr=22, trp=22, trp_ab=22, tras=52, trc=74,
    tccd_s=4, tccd_l=8, trrd_s=4, trrd_l=8, tfaw=34,
    twr=24, twtr_s=4, twtr_l=12, trtp=12, trtrs=1, tppd=0,
    trfc=560, trfc_pb=0, trefi=12480, trefi_pb=0,
    bank_groups=4, banks_per_group=4, rows=65536, columns=1024,
    device_width_bits=8, default_channel_width_bits=64, per_bank_refresh_supported=False,
    source="DRAMSim3 configs/DDR4_8Gb_x8_3200.ini (umd-memsys/DRAMSim3 @ 2981759), [timing] "
           "and [dram_structure], values in tCK cycles; column 'DDR4-3200 (DRAMSim3, 8Gb x8)' "
           "of refs/dram_timing.md",
    derived=("tck_ps", "trc"),
    notes="tck_ps: the .ini writes tCK = 0.63 ns, a rounding of 2 / 3200 MT/s = 0.625 ns; the "
          "exact 625 ps is stored (Ramulator 2.1 DDR4_3200AA tCK_ps is also 625). "
          "trc: DRAMSim3 has no tRC key and computes tRC = tRAS + tRP = 52 + 22 = 74 in "
          "src/configuration.cc (Ramulator 2.1 DDR4_3200AA nRC is also 74). "
          "trfc: 560 nCK = 350 ns as DRAMSim3 writes it, which is the JEDEC 8Gb tRFC1 figure "
          "(unchecked here); Ramulator 2.1 resolves 360 ns = 576 nCK, which looks "
          "conservative, so DRAMSim3's value is kept. Refresh is 1x mode: tRFC2 416 and "
          "tRFC4 256 are not stored. DDR4 has no per-bank refresh (trfc_pb = trefi_pb = 0). "
          "One tRCD and one tRP: trcd_wr = trcd_rd, trp_ab = trp. trtrs = tRTRS 1 from the "
          ".ini. Bus: 8 x8 devices on DRAMSim3's 64-bit bus_width, 64 B per BL8 burst. "
          "Not stored: AL 0, tWR2 25, tXS 576, tXP 10, tCKE 8, tCKESR 9.",
)

LPDDR4_2400 = DramTiming(
    standard="LPDDR4", speed_grade="LPDDR4-2400", data_rate_mtps=2400,
    tck_ps=833, transfers_per_tck=2, burst_length=16, burst_cycles=8,
    cl=17, cwl=14, trcd_rd=15, trcd_wr=15, trp=15, trp_ab=15, tras=32, trc=47,
    tccd_s=4, tccd_l=6, trrd_s=8, trrd_l=8, tfaw=32,
    twr=30, twtr_s=8, twtr_l=16, trtp=12, trtrs=1, tppd=2,
    trfc=392, trfc_pb=0, trefi=8660, trefi_pb=0,
    bank_groups=2, banks_per_group=4, rows=65536, columns=1024,
    device_width_bits=16, default_channel_width_bits=64, per_bank_refresh_supported=False,
    source="DRAMSim3 configs/LPDDR4_8Gb_x16_2400.ini (umd-memsys/DRAMSim3 @ 2981759), "
           "values in tCK cycles; column 'LPDDR4-2400 (DRAMSim3, 8Gb x16)' of "
           "refs/dram_timing.md",
    derived=("tck_ps", "trc", "trtrs"),
    notes="tck_ps: the .ini writes tCK = 0.83 ns, a rounding of 2 / 2400 MT/s = 833.3 ps; "
          "833 ps is stored. trc: no tRC key; DRAMSim3 computes tRAS + tRP = 32 + 15 = 47. "
          "trtrs: the reference table's row does not list tRTRS; a transcription of the same "
          ".ini (same CL 17, CWL 14, tREFI 8660, tPPD 2, tXS 432, tXP 6) shows tRTRS = 1, "
          "which is stored; unverified against the file (DRAMSim3's default when the key is "
          "absent is 2). Copied as DRAMSim3 has them, with caveats: DRAMSim3 models LPDDR4 "
          "with DDR4-like bank groups (2 x 4, tCCD_S/L 4/6, tWTR_S/L 8/16) although LPDDR4 has "
          "8 banks and no bank groups (see LPDDR4-3200); tCCD_S = 4 is below burst_cycles = 8, "
          "so the data bus binds; tRFC 392 nCK (327 ns) and tREFI 8660 nCK (7.2 us) are "
          "DDR4-like, unlike JESD209-4's 8Gb tRFCab 180 ns and tREFI 3.904 us that Ramulator 1 "
          "uses. The .ini has no per-bank refresh timings (DRAMSim3 would fall back to its "
          "generic tRFCb default of 20 nCK), so per-bank refresh is off for this preset "
          "(trfc_pb = trefi_pb = 0); with_overrides can add it. One tRCD and one tRP: trcd_wr "
          "= trcd_rd, trp_ab = trp. Bus: DRAMSim3 bus_width 64 (4 x16 devices), 128 B per "
          "BL16 burst. tppd: tPPD 2 from the .ini. Not stored: tXS 432, tXP 6.",
)

LPDDR4_3200 = DramTiming(
    standard="LPDDR4", speed_grade="LPDDR4-3200", data_rate_mtps=3200,
    tck_ps=625, transfers_per_tck=2, burst_length=16, burst_cycles=8,
    cl=32, cwl=18, trcd_rd=29, trcd_wr=29, trp=27, trp_ab=32, tras=68, trc=95,
    tccd_s=8, tccd_l=8, trrd_s=16, trrd_l=16, tfaw=64,
    twr=28, twtr_s=16, twtr_l=16, trtp=14, trtrs=2, tppd=4,
    trfc=288, trfc_pb=144, trefi=6247, trefi_pb=781,
    bank_groups=1, banks_per_group=8, rows=32768, columns=1024,
    device_width_bits=16, default_channel_width_bits=32, per_bank_refresh_supported=True,
    source="Ramulator 1 src/LPDDR4.h speed_table row LPDDR4_3200 and src/LPDDR4.cpp "
           "RFCAB_TABLE / RFCPB_TABLE / REFI_TABLE (1x refresh) for org LPDDR4_8Gb_x16 "
           "(CMU-SAFARI/ramulator); column 'LPDDR4-3200 (Ramulator 1, 8Gb x16)' of "
           "refs/dram_timing.md",
    derived=("trefi_pb",),
    notes="Ramulator 1 writes these in nCK as formulas: nCL 29+3, nCWL 15+3, nRPpb 29-2, "
          "nRPab 34-2, nRTP 12+2, nWR 29-1 (JESD209-4 counts from the end of multi-cycle "
          "commands; Ramulator 1 converts as if every command took one cycle). Its comments "
          "say CL is set equal to tRCD ('CL is not explicitly specified') and 'CWL is made up, "
          "half of CL'. Ramulator 1's read latency adds nDQSCK 3 to nCL + nBL; cl excludes it. "
          "trp = nRPpb 27 (PRE of one bank), trp_ab = nRPab 32 (PREA). One nCCD, nRRD and "
          "nWTR: the _s and _l fields are equal. 8 banks and no bank groups: 1 x 8. trtrs = "
          "nRTRS 2. trefi_pb: Ramulator 1 has no per-bank refresh interval; 781 = ceil(488 ns "
          "/ 0.625 ns), 488 ns being tREFI / 8 banks (3.904 us / 8), the rule Ramulator 2.1 "
          "lpddr5.py uses for nREFIpb. Organisation: the 8Gb die has two x16 channels of 4Gb "
          "(32768 rows x 1024 columns x 8 banks x 16 bit); Ramulator 1's channel_width is 32 "
          "(two x16 dies side by side), 64 B per BL16 burst. tppd: nPPD 4. Not stored: nDQSCK 3, "
          "nCKE 12, nXP 24, nXSR 300.",
)

LPDDR4X_4266 = DramTiming(
    standard="LPDDR4X", speed_grade="LPDDR4X-4266", data_rate_mtps=4266,
    tck_ps=469, transfers_per_tck=2, burst_length=16, burst_cycles=8,
    cl=42, cwl=23, trcd_rd=39, trcd_wr=39, trp=37, trp_ab=44, tras=91, trc=128,
    tccd_s=8, tccd_l=8, trrd_s=22, trrd_l=22, tfaw=86,
    twr=38, twtr_s=22, twtr_l=22, trtp=18, trtrs=2, tppd=4,
    trfc=384, trfc_pb=192, trefi=8325, trefi_pb=1041,
    bank_groups=1, banks_per_group=8, rows=32768, columns=1024,
    device_width_bits=16, default_channel_width_bits=32, per_bank_refresh_supported=True,
    source="DERIVED, UNVALIDATED: scaled from the Ramulator 1 LPDDR4_3200 row (src/LPDDR4.h, "
           "src/LPDDR4.cpp, org LPDDR4_8Gb_x16, CMU-SAFARI/ramulator) to tCK = 469 ps; no "
           "public simulator ships an LPDDR4X-4266 preset (refs/dram_timing.md, 'LPDDR4X-4266 "
           "gap')",
    derived=("tck_ps", "cl", "cwl", "trcd_rd", "trcd_wr", "trp", "trp_ab", "tras", "trc",
             "trrd_s", "trrd_l", "tfaw", "twr", "twtr_s", "twtr_l", "trtp",
             "trfc", "trfc_pb", "trefi", "trefi_pb"),
    notes="tppd: 4 nCK as in the LPDDR4-3200 row (JEDEC states tPPD in clocks, so it is not scaled). "
          "Unvalidated against JESD209-4. LPDDR4X shares LPDDR4's core timings in ns; only "
          "the I/O voltage (VDDQ 0.6 V instead of 1.1 V) and the top data rate differ, so the "
          "ns part of each LPDDR4-3200 timing is rescaled to tCK = 469 ps (tck_ps: 2 / 4266 "
          "MT/s = 468.8 ps, rounded) with ceil(ns / tCK). Ramulator 1 writes its timings as an "
          "ns-derived base plus an nCK command-length correction (nCL 29+3); only the base is "
          "scaled, the correction is kept: base ns = base nCK x 0.625 ns. cl = ceil(29 x 0.625 "
          "/ 0.469) + 3 = 39 + 3; trcd_rd = trcd_wr = 39; trp = ceil(18.125 / 0.469) - 2 = 37; "
          "trp_ab = ceil(34 x 0.625 / 0.469) - 2 = 46 - 2 = 44; cwl = ceil(39 / 2) + 3 = 23 "
          "(Ramulator 1: CWL 'made up, half of CL'); tras = ceil(42.5 / 0.469) = 91; trc = "
          "tras + trp = 128 (Ramulator 1's nRC is nRAS + nRPpb at every grade); trtp = "
          "max(ceil(7.5 / 0.469), 8) + 2 = 18; twtr_s = twtr_l = ceil(10 / 0.469) = 22; twr = "
          "39 - 1 = 38; trrd_s = trrd_l = ceil(10 / 0.469) = 22; tfaw = ceil(40 / 0.469) = "
          "86; trfc = ceil(180 / 0.469) = 384; trfc_pb = ceil(90 / 0.469) = 192; trefi = "
          "ceil(3904 / 0.469) = 8325 (Ramulator "
          "1's REFI_TABLE is ceil(3904 ns / tCK) at every grade; a strict JEDEC reading would "
          "floor to 8324, 0.01% apart); trefi_pb = ceil(488 / 0.469) = 1041. Kept in nCK: "
          "burst (nBL 8), tCCD 8 (= BL16 / 2), tRTRS 2. Check of the rule: applied from the "
          "3200 row it reproduces Ramulator 1's own LPDDR4_2400 and LPDDR4_1600 rows exactly "
          "(tests/spec/test_dram_standards.py). Scaling whole values instead (ceil(32 x "
          "0.625 / 0.469) = 43 for cl) differs by at most 1 nCK per field. JESD209-4 gives RL "
          "and WL per speed bin in nCK; those were not checked. Organisation as LPDDR4-3200 "
          "(8Gb x16 die, 32-bit Ramulator 1 channel).",
)

GDDR6_14000 = DramTiming(
    standard="GDDR6", speed_grade="GDDR6-14000", data_rate_mtps=14000,
    tck_ps=570, transfers_per_tck=8, burst_length=16, burst_cycles=2,
    cl=24, cwl=6, trcd_rd=27, trcd_wr=16, trp=27, trp_ab=27, tras=53, trc=79,
    tccd_s=2, tccd_l=4, trrd_s=8, trrd_l=8, tfaw=29,
    twr=27, twtr_s=9, twtr_l=11, trtp=4, trtrs=1, tppd=1,
    trfc=211, trfc_pb=106, trefi=3333, trefi_pb=208,
    bank_groups=4, banks_per_group=4, rows=16384, columns=1024,
    device_width_bits=16, default_channel_width_bits=16, per_bank_refresh_supported=True,
    source="Ramulator 2.1 python/ramulator/dram/gddr6.py, timing preset "
           "GDDR6_14000_1350mV_double and org preset GDDR6_8Gb_x16 (CMU-SAFARI/ramulator2 @ "
           "c5b1c3a), n* values in nCK; column 'GDDR6 14 Gbps (Ramulator 2.1, 8Gb x16)' of "
           "refs/dram_timing.md",
    derived=("trtrs", "trefi_pb"),
    notes="Command clock 1 / 570 ps = 1.754 GHz; 16n prefetch and nBL 2 give 8 transfers per "
          "tCK and BL16 (16 x 16 bit = 32 B per burst per channel). trc = nRC 79 is copied "
          "although nRAS 53 + nRP 27 = 80: each was rounded up from ns separately (about 30 + "
          "15 = 45 ns); the tRAS and tRP rules still hold ACT to ACT on one bank to 80, and "
          "check_consistency() reports it. One tRP: trp_ab = trp. trfc = nRFCab 211, trfc_pb "
          "= nRFCpb 106. trtrs: gddr6.py has no nRTRS; 1 is the bus turnaround its RD-to-WR "
          "rule assumes ('nCL + 1', 'we assume nTurnaround to be 1 cycle'). trefi_pb: gddr6.py "
          "has no per-bank interval; 208 = floor(nREFI 3333 / 16 banks), REFpb refreshing "
          "every bank once per tREFI. Organisation: an x16 device has two 16-bit channels "
          "(channel_width 16), 16384 rows x 1024 columns x 16 banks per channel; a 256-bit "
          "bus at 14 Gb/s gives 448 GB/s. Another revision of gddr6.py (citing Samsung "
          "K4Z80325BC Rev. 1.3) writes tCK_ps 572 and nWTRS/L 10/12; the c5b1c3a values of "
          "the reference table are kept. tppd: nPPD 1. Not stored: nRREFD 15 (REFpb to REFpb or ACT).",
)

GDDR6_10000 = DramTiming(
    standard="GDDR6", speed_grade="GDDR6-10000", data_rate_mtps=10000,
    tck_ps=800, transfers_per_tck=8, burst_length=16, burst_cycles=2,
    cl=18, cwl=5, trcd_rd=20, trcd_wr=12, trp=20, trp_ab=20, tras=38, trc=58,
    tccd_s=2, tccd_l=4, trrd_s=6, trrd_l=6, tfaw=21,
    twr=20, twtr_s=7, twtr_l=8, trtp=3, trtrs=1, tppd=1,
    trfc=151, trfc_pb=76, trefi=2375, trefi_pb=148,
    bank_groups=4, banks_per_group=4, rows=16384, columns=1024,
    device_width_bits=16, default_channel_width_bits=16, per_bank_refresh_supported=True,
    source="DERIVED, UNVALIDATED: scaled from Ramulator 2.1 gddr6.py GDDR6_14000_1350mV_double "
           "/ GDDR6_8Gb_x16 (CMU-SAFARI/ramulator2 @ c5b1c3a) to 10 Gb/s (tCK 800 ps), the "
           "data rate of the NVIDIA Tesla T4's GDDR6",
    derived=("tck_ps", "cl", "cwl", "trcd_rd", "trcd_wr", "trp", "trp_ab", "tras", "trc",
             "trrd_s", "trrd_l", "tfaw", "twr", "twtr_s", "twtr_l", "trtp", "trtrs",
             "trfc", "trfc_pb", "trefi", "trefi_pb"),
    notes="tppd: 1 nCK as in the GDDR6-14000 row (a clock count, not scaled). "
          "Unvalidated against any datasheet. tck_ps = 16 (prefetch) x 1e6 / (nBL 2 x 10000 "
          "MT/s) = 800 ps, the relation gddr6.py uses between rate, nBL and tCK. Every "
          "ns-based timing of GDDR6-14000 is rescaled as ceil(nCK x 570 / 800): cl 24 -> 18, "
          "cwl 6 -> 5, trcd_rd 27 -> 20, trcd_wr 16 -> 12, trp and trp_ab 27 -> 20, tras 53 -> "
          "38, trrd_s and trrd_l 8 -> 6, tfaw 29 -> 21, twr 27 -> 20, twtr_s 9 -> 7, twtr_l "
          "11 -> 8, trtp 4 -> 3, trfc 211 -> 151, trfc_pb 106 -> 76, trefi 3333 -> 2375 (also "
          "gddr6.py's floor(1.9 us / tCK)). trc = tras + trp = 58, because the scaled nRC 79 "
          "-> 57 would fall below tRAS + tRP. trefi_pb = floor(2375 / 16 banks) = 148. Kept "
          "in nCK: burst (nBL 2, BL16), tCCD_S/L 2/4, and trtrs 1 (itself assumed for "
          "GDDR6-14000). CL and CWL are mode-register nCK settings; "
          "scaling their ns keeps the access latency in ns, a slower part may allow less. "
          "Organisation kept as 8Gb x16 to match the timing source; the T4's 16 GB on a "
          "256-bit bus implies 16Gb devices (Ramulator 2.1 GDDR6_16Gb_x16: 16384 rows x 2048 "
          "columns); override rows/columns if capacity matters. 256-bit x 10 Gb/s = 320 GB/s.",
)

HBM2_2000 = DramTiming(
    standard="HBM2", speed_grade="HBM2-2000", data_rate_mtps=2000,
    tck_ps=1000, transfers_per_tck=2, burst_length=4, burst_cycles=2,
    cl=14, cwl=4, trcd_rd=14, trcd_wr=14, trp=14, trp_ab=14, tras=34, trc=48,
    tccd_s=1, tccd_l=2, trrd_s=4, trrd_l=6, tfaw=30,
    twr=16, twtr_s=6, twtr_l=8, trtp=6, trtrs=2, tppd=0,
    trfc=260, trfc_pb=160, trefi=3900, trefi_pb=128,
    bank_groups=4, banks_per_group=4, rows=32768, columns=128,
    device_width_bits=128, default_channel_width_bits=128, per_bank_refresh_supported=True,
    source="DRAMSim3 configs/HBM2_8Gb_x128.ini (umd-memsys/DRAMSim3 @ 2981759), values in "
           "tCK cycles; column 'HBM2 2 Gbps (DRAMSim3, 8Gb x128)' of refs/dram_timing.md "
           "(trfc_pb from the 'HBM2 2 Gbps (Ramulator 2.1, HBM2_8Gb)' column)",
    derived=("trc", "trtrs", "trfc_pb", "columns"),
    notes="DRAMSim3's column is chosen over Ramulator 2.1's: every core timing is a copied "
          "config value rather than a formula (Ramulator 2.1 derives tRRD 4/4 and tFAW 15), "
          "it models the legacy 128-bit channel (8 per stack = 1024 bits, 64 B per BL4 "
          "burst), and it avoids Ramulator 2's pseudo-channel burst accounting that halves "
          "bandwidth (ramulator2 issues 104, 129). trc: no tRC key; DRAMSim3 computes tRAS + "
          "tRP = 34 + 14 = 48 (Ramulator 2.1 nRC is also 48). trtrs: no tRTRS key; 2 is "
          "DRAMSim3's default in src/configuration.cc. trfc_pb: the .ini gives tREFIb 128 "
          "(copied to trefi_pb) but no tRFCb, for which DRAMSim3 would use its generic "
          "default of 20 nCK; 160 is Ramulator 2.1's HBM2_2000Mbps per-bank tRFC (derived "
          "there, 160 ns at the same tCK of 1000 ps). columns: the .ini writes 64, and "
          "DRAMSim3 doubles HBM columns ('for HBM each column is device_width * 2 "
          "(prefetch)'), so a row holds 128 columns of 128 bit = 2 KiB. trtp = tRTP_L 6 (RD "
          "to PRE of the same bank, hence the same bank group; tRTP_S is 4); DRAMSim3's "
          "configuration.cc reads only a key named tRTP, so DRAMSim3 itself runs with its "
          "default 5, and Ramulator 2.1 uses nRTPL 5. tCCD_S = 1 is below burst_cycles = 2, "
          "so the data bus binds. One tRP: trp_ab = trp. Not stored: tXS 268, tXP 8, tCKE 8.",
)

DRAM_PRESETS: dict[str, DramTiming] = {
    p.speed_grade: p
    for p in (DDR4_3200, LPDDR4_2400, LPDDR4_3200, LPDDR4X_4266,
              GDDR6_14000, GDDR6_10000, HBM2_2000)
}


# ---------------------------------------------------------------------------------------------
# Datasheet currents (IDD) and supply voltages per preset, for the energy model (docs/energy.md).
# Currents in mA per device, voltages in V; `device_width_bits` is the data width the currents
# are for, `measured_data_rate_mtps` the data rate the burst currents were measured at.
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class DramSupply:
    """One supply rail of a device: its voltage and the IDD currents drawn from it (mA)."""
    name: str
    vdd_v: float
    idd0_ma: float       # one bank ACT-PRE cycling at tRC
    idd2n_ma: float      # precharge standby (all banks closed)
    idd3n_ma: float      # active standby (a bank open)
    idd4r_ma: float      # burst read
    idd4w_ma: float      # burst write
    idd5_ma: float       # all-bank refresh (IDD5B / IDD5AB)


@dataclass(frozen=True, kw_only=True)
class DramCurrents:
    """A DRAM part's datasheet currents: the inputs of Micron TN-40-07's power calculation."""
    part: str
    device_width_bits: int
    measured_data_rate_mtps: int
    supplies: tuple[DramSupply, ...]
    source: str
    notes: str = ""


DDR4_8GB_X8_CURRENTS = DramCurrents(
    part="DDR4 8Gb x8 (Micron MT40A1G8, DDR4-3200)", device_width_bits=8, measured_data_rate_mtps=3200,
    supplies=(DramSupply(name="VDD", vdd_v=1.2, idd0_ma=57, idd2n_ma=37, idd3n_ma=52, idd4r_ma=168, idd4w_ma=150,
                         idd5_ma=250),),
    source="DRAMSim3 configs/DDR4_8Gb_x8_3200.ini [power] (umd-memsys/DRAMsim3 @ 0eb6360): VDD 1.2, IDD0 57, "
           "IDD2N 37, IDD3N 52, IDD4R 168, IDD4W 150, IDD5AB 250 (the Micron 8Gb x8 DDR4-3200 data sheet's "
           "figures); the same file as the DDR4-3200 timing preset",
    notes="VPP (2.5 V) is not counted: the .ini gives only IPP0 3 mA, and IPP is flat across states in the "
          "Micron data sheet, so it adds no command energy and about 7.5 mW of background per device.",
)

GDDR6_8GB_X16_CURRENTS = DramCurrents(
    part="GDDR6 8Gb x16 (DRAMSim3 GDDR6_8Gb_x16, tCK 0.66 ns)", device_width_bits=16, measured_data_rate_mtps=12000,
    supplies=(DramSupply(name="VDD", vdd_v=1.35, idd0_ma=71, idd2n_ma=60, idd3n_ma=61, idd4r_ma=248, idd4w_ma=231,
                         idd5_ma=286),),
    source="DRAMSim3 configs/GDDR6_8Gb_x16.ini [power] (umd-memsys/DRAMsim3 configs, copy in hplp/DRAMsim3 @ "
           "243602b): VDD 1.35, IDD0 71, IDD2N 60, IDD3N 61, IDD4R 248, IDD4W 231, IDD5AB 286",
    notes="The .ini runs at tCK 0.66 ns with 16n prefetch: 16 x 1e3 / (2 x 0.66) = 12 Gb/s per pin, the rate the "
          "burst currents stand for. The currents are per 16-bit channel as DRAMSim3 uses them.",
)

HBM2_8GB_X128_CURRENTS = DramCurrents(
    part="HBM2 8Gb x128 channel (DRAMSim3 HBM2_8Gb_x128)", device_width_bits=128, measured_data_rate_mtps=2000,
    supplies=(DramSupply(name="VDD", vdd_v=1.2, idd0_ma=65, idd2n_ma=40, idd3n_ma=55, idd4r_ma=390, idd4w_ma=500,
                         idd5_ma=250),),
    source="DRAMSim3 configs/HBM2_8Gb_x128.ini [power] (umd-memsys/DRAMsim3 @ 0eb6360): VDD 1.2, IDD0 65, "
           "IDD2N 40, IDD3N 55, IDD4R 390, IDD4W 500, IDD5AB 250; the same file as the HBM2-2000 timing preset",
)

# assumption: no LPDDR4 current table was in reach (DRAMSim3's LPDDR4 .ini was not available to copy);
# the LPDDR3 part gem5 cites stands in, on LPDDR4's rails (docs/assumptions.md).
LPDDR_X32_CURRENTS = DramCurrents(
    part="LPDDR3-1600 4Gb x32 (Micron EDF8132A1MC), standing in for LPDDR4/4X",
    device_width_bits=32, measured_data_rate_mtps=1600,
    supplies=(DramSupply(name="VDD1", vdd_v=1.8, idd0_ma=8, idd2n_ma=0.8, idd3n_ma=2, idd4r_ma=2, idd4w_ma=2,
                         idd5_ma=28),
              DramSupply(name="VDD2", vdd_v=1.1, idd0_ma=60, idd2n_ma=26, idd3n_ma=34, idd4r_ma=230, idd4w_ma=190,
                         idd5_ma=150)),
    source="gem5 src/mem/DRAMInterface.py class LPDDR3_1600_1x32 ('Current values from datasheet', Micron "
           "EDF8132A1MC): IDD0 8/60, IDD2N 0.8/26, IDD3N 2/34, IDD4R 2/230, IDD4W 2/190, IDD5 28/150 mA on "
           "VDD1 1.8 V / VDD2 1.2 V",
    notes="assumption: an LPDDR3 part stands in for LPDDR4 and LPDDR4X; VDD2 is taken at LPDDR4's 1.1 V "
          "(JESD209-4) instead of LPDDR3's 1.2 V. The burst currents are per byte at the part's 1600 MT/s "
          "(the energy model converts a burst current to energy per byte at that rate, so a faster grade "
          "keeps the per-byte energy). I/O (VDDQ) power is not counted for any standard.",
)

DRAM_CURRENTS: dict[str, DramCurrents] = {
    "DDR4-3200": DDR4_8GB_X8_CURRENTS,
    "LPDDR4-2400": LPDDR_X32_CURRENTS,
    "LPDDR4-3200": LPDDR_X32_CURRENTS,
    "LPDDR4X-4266": LPDDR_X32_CURRENTS,
    "GDDR6-14000": GDDR6_8GB_X16_CURRENTS,
    "GDDR6-10000": GDDR6_8GB_X16_CURRENTS,
    "HBM2-2000": HBM2_8GB_X128_CURRENTS,
}

# ---------------------------------------------------------------------------------------------
# Registry look-up, overrides, checks
# ---------------------------------------------------------------------------------------------

def _grades_of(standard: str) -> list[DramTiming]:
    return sorted((p for p in DRAM_PRESETS.values() if p.standard == standard),
                  key=lambda p: p.data_rate_mtps)


def find_preset(standard: str, data_rate_mtps: int | None = None) -> DramTiming:
    """The preset of `standard` at `data_rate_mtps` MT/s; None picks the fastest listed grade.

    Raises KeyError naming the allowed standards, or the grades available for the standard.
    """
    key = str(standard).strip().upper()
    if key not in STANDARDS:
        raise KeyError(f"unknown DRAM standard '{standard}'; allowed: {', '.join(STANDARDS)}")
    grades = _grades_of(key)
    if data_rate_mtps is None:
        return grades[-1]
    for preset in grades:
        if preset.data_rate_mtps == data_rate_mtps:
            return preset
    available = ", ".join(f"{p.speed_grade} ({p.data_rate_mtps} MT/s)" for p in grades)
    raise KeyError(f"no {key} preset at {data_rate_mtps} MT/s; available {key} grades: "
                   f"{available}")


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(DramTiming))
_INT_FIELDS = tuple(f.name for f in dataclasses.fields(DramTiming) if _type_name(f) == "int")
_OVERRIDABLE = _INT_FIELDS + ("per_bank_refresh_supported",)


def _suggest(name: str) -> str:
    """'did you mean ...? ' naming the closest fields (and those it is a prefix of), or ''."""
    key = name.lower()
    close = [f for f in _OVERRIDABLE if f.startswith(key)]  # also the exact, other-case name
    close += [f for f in difflib.get_close_matches(key, _OVERRIDABLE, n=3, cutoff=0.5)
              if f not in close]
    if not close:
        return ""
    quoted = [f"'{c}'" for c in close[:3]]
    names = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f"did you mean {names}? "


def with_overrides(preset: DramTiming, overrides: dict[str, int]) -> DramTiming:
    """A copy of `preset` with some int fields replaced (trc and the rest are not recomputed).

    Unknown names raise ValueError (a SpecError) suggesting the closest field name; timing and
    organisation values must be positive ints (trfc_pb and trefi_pb may be 0 when
    per_bank_refresh_supported is False). The changed names are recorded in `overridden`.
    """
    where = f"overrides of {preset.speed_grade}"
    for name, value in overrides.items():
        if name not in _FIELD_NAMES:
            hint = _suggest(str(name))
            raise SpecError(where, str(name),
                            f"unknown DRAM timing field '{name}'; {hint}"
                            f"fields: {', '.join(_OVERRIDABLE)}")
        if name not in _OVERRIDABLE:
            raise SpecError(where, name, f"'{name}' cannot be overridden; allowed: "
                                         f"{', '.join(_OVERRIDABLE)}")
        if name == "per_bank_refresh_supported":
            if not isinstance(value, bool):
                raise SpecError(where, name, f"must be true or false, got {value!r}")
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise SpecError(where, name, f"must be an int (nCK, ps or a count), got {value!r}")
        if value < 0 or (value == 0 and name not in _PER_BANK_FIELDS):
            raise SpecError(where, name, f"must be a positive int, got {value}")
    if not overrides:
        return preset
    changed = tuple(dict.fromkeys(preset.overridden + tuple(overrides)))
    t = dataclasses.replace(preset, **overrides, overridden=changed)
    for short, long_ in (("tccd_s", "tccd_l"), ("trrd_s", "trrd_l"), ("twtr_s", "twtr_l")):
        if getattr(t, short) > getattr(t, long_):
            key = short if short in overrides else long_
            raise SpecError(where, key, f"{short} = {getattr(t, short)} exceeds {long_} = {getattr(t, long_)}; "
                                        "the rule for another bank group (_S) is never stricter than for "
                                        "the same group (_L)")
    return t


def check_consistency(t: DramTiming) -> list[str]:
    """Relations a plausible preset satisfies; returns one message per violation, [] if none.

    Nothing is raised or warned: a preset copied faithfully may break one (GDDR6-14000's tRC).
    """
    problems = []
    if t.tras + t.trp > t.trc:
        problems.append(f"{t.speed_grade}: tras + trp = {t.tras} + {t.trp} = "
                        f"{t.tras + t.trp} > trc = {t.trc}")
    if t.trcd_rd > t.tras:
        problems.append(f"{t.speed_grade}: trcd_rd = {t.trcd_rd} > tras = {t.tras}")
    for short, long in (("tccd_s", "tccd_l"), ("trrd_s", "trrd_l"), ("twtr_s", "twtr_l")):
        if getattr(t, short) > getattr(t, long):
            problems.append(f"{t.speed_grade}: {short} = {getattr(t, short)} > "
                            f"{long} = {getattr(t, long)}")
    if t.trp > t.trp_ab:
        problems.append(f"{t.speed_grade}: trp = {t.trp} > trp_ab = {t.trp_ab}")
    if t.trefi <= t.trfc:
        problems.append(f"{t.speed_grade}: trefi = {t.trefi} <= trfc = {t.trfc}")
    if t.per_bank_refresh_supported and t.trfc_pb > t.trfc:
        problems.append(f"{t.speed_grade}: trfc_pb = {t.trfc_pb} > trfc = {t.trfc}")
    # tCK against the data rate: tck_ps = transfers_per_tck / data rate, within 1%.
    expected_ps = t.transfers_per_tck * 1e6 / t.data_rate_mtps
    if abs(t.tck_ps - expected_ps) > 0.01 * expected_ps:
        problems.append(f"{t.speed_grade}: tck_ps = {t.tck_ps} but {t.transfers_per_tck} "
                        f"transfers per tCK at {t.data_rate_mtps} MT/s need {expected_ps:.1f}")
    return problems


# ---------------------------------------------------------------------------------------------
# Derived quantities (computed on demand, never stored)
# ---------------------------------------------------------------------------------------------

def tck_hz(t: DramTiming) -> float:
    """Command clock frequency (Hz) = 1 / tCK."""
    return 1e12 / t.tck_ps


def peak_bytes_per_s(t: DramTiming, channel_width_bits: int | None = None) -> float:
    """Peak data bandwidth of one channel (bytes/s) = data rate x width / 8."""
    width = t.default_channel_width_bits if channel_width_bits is None else channel_width_bits
    return t.data_rate_mtps * 1e6 * width / 8


def burst_bytes(t: DramTiming, channel_width_bits: int | None = None) -> int:
    """Bytes moved by one burst on a channel = width / 8 x burst_length."""
    width = t.default_channel_width_bits if channel_width_bits is None else channel_width_bits
    if width <= 0 or width % 8:
        raise ValueError(f"channel_width_bits must be a positive multiple of 8, got {width}")
    return width // 8 * t.burst_length


def to_table(t: DramTiming) -> dict:
    """{field: value} in field order, JSON-ready (tuples become lists)."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in ((f.name, getattr(t, f.name)) for f in dataclasses.fields(t))}


_JSON_TYPES = {"int": "integer", "str": "string", "bool": "boolean"}


def json_schema() -> dict:
    """JSON Schema (draft 2020-12) of to_table() output, descriptions from FIELD_DOC."""
    properties = {}
    for f in dataclasses.fields(DramTiming):
        kind = _type_name(f)
        if kind in _JSON_TYPES:
            prop = {"type": _JSON_TYPES[kind]}
        else:  # tuple[str, ...]
            prop = {"type": "array", "items": {"type": "string", "enum": list(_FIELD_NAMES)}}
        if kind == "int":
            prop["minimum"] = 0 if f.name in _PER_BANK_FIELDS else 1
        if f.name == "standard":
            prop["enum"] = list(STANDARDS)
        prop["description"] = FIELD_DOC[f.name]
        properties[f.name] = prop
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "DramTiming",
        "type": "object",
        "properties": properties,
        "required": [f.name for f in dataclasses.fields(DramTiming)
                     if f.default is dataclasses.MISSING],
        "additionalProperties": False,
    }
