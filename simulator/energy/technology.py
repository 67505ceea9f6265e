"""Per-event energies at a process node: Horowitz's 45 nm table, scaled to the chip's node and voltage.

Every figure here is public and cited; the two rules that carry it to another node are named:
  - Horowitz, "Computing's energy problem (and what we can do about it)", ISSCC 2014, Figure 1.1.9
    (45 nm, 0.9 V): arithmetic energies and 64-bit SRAM reads of 8 KB, 32 KB and 1 MB arrays.
  - Dynamic energy C V^2 with switched capacitance proportional to the feature size (constant-field
    scaling, Dennard et al., IEEE JSSC 9(5), 1974): E(node, V) = E45 x (node / 45) x (V / 0.9)^2.
    Stillmaker and Baas (Integration 58, 2017) show this classical rule drifts from simulated
    energy below ~22 nm; the error it brings is stated in docs/validation.md.
  - On-chip wire: Borkar and Chien, "The future of microprocessors", CACM 54(5), 2011, Figure 11(b):
    wire energy at 45 nm, read off the figure as about 0.075 pJ per bit per mm.
"""
from __future__ import annotations

import math

HOROWITZ_NODE_NM = 45
HOROWITZ_VDD_V = 0.9

# Horowitz ISSCC 2014 Fig. 1.1.9, pJ per operation at 45 nm, 0.9 V.
ADD_PJ = {"int8": 0.03, "int32": 0.1, "fp16": 0.4, "fp32": 0.9}
MULT_PJ = {"int8": 0.2, "int32": 3.1, "fp16": 1.1, "fp32": 3.7}
# 64-bit read of an SRAM array of the given size, pJ (8 KB, 32 KB, 1 MB).
SRAM_READ_64B_PJ = ((8 * 1024, 10.0), (32 * 1024, 20.0), (1024 * 1024, 100.0))
# Borkar and Chien CACM 2011 Fig. 11(b), 45 nm, pJ per bit per mm (read off the figure).
WIRE_PJ_PER_BIT_MM = 0.075

# assumption: nominal core voltage per node when the arch does not give one (docs/assumptions.md).
NOMINAL_VDD_V = {250: 2.5, 180: 1.8, 130: 1.2, 90: 1.0, 65: 1.0, 45: 0.9, 40: 0.9, 32: 0.9, 28: 0.9,
                 22: 0.85, 20: 0.85, 16: 0.8, 14: 0.8, 12: 0.8, 10: 0.75, 7: 0.75, 5: 0.7}

# assumption: leakage at 45 nm and 0.9 V, scaled like dynamic energy (node x V^2) per docs/energy.md:
# an SRAM bit leaks 50 pW; a MAC's logic leaks 1% of the dynamic power it draws at 1 GHz, full activity.
SRAM_LEAKAGE_PW_PER_BIT_45NM = 50.0
LOGIC_LEAKAGE_FRACTION_AT_1GHZ = 0.01


def nominal_vdd_v(process_nm: int) -> float:
    """The node's nominal core voltage (the nearest listed node)."""
    nearest = min(NOMINAL_VDD_V, key=lambda n: abs(n - process_nm))
    return NOMINAL_VDD_V[nearest]


def node_scale(process_nm: float, vdd_v: float) -> float:
    """Factor from 45 nm / 0.9 V to (process_nm, vdd_v): (node / 45) x (V / 0.9)^2 (Dennard, C V^2)."""
    return (process_nm / HOROWITZ_NODE_NM) * (vdd_v / HOROWITZ_VDD_V) ** 2


def _int_pj(table: dict, bits: int, exponent: float) -> float:
    """Integer op energy at `bits` between Horowitz's 8- and 32-bit points, on a power law in the width."""
    e8, e32 = table["int8"], table["int32"]
    k = math.log(e32 / e8) / math.log(4.0) if exponent is None else exponent
    return e8 * (bits / 8) ** k


def mac_pj_45nm(precision: str, accumulator_bits: int) -> float:
    """One multiply-accumulate at 45 nm: a multiply at the operand precision plus an add at the
    accumulator width. Integer widths between Horowitz's 8 and 32 bits follow the power law through
    his two points (multiply: exponent 1.98, i.e. about quadratic; add: 0.87, about linear)."""
    if precision.startswith("int"):
        bits = int(precision[3:])
        mult = _int_pj(MULT_PJ, bits, None)
        add = _int_pj(ADD_PJ, accumulator_bits, None)
        return mult + add
    fmt = "fp16" if precision in ("fp16", "bf16") else "fp32"   # bf16 as fp16: same multiplier class
    add = ADD_PJ["fp32"] if accumulator_bits >= 32 else ADD_PJ["fp16"]
    return MULT_PJ[fmt] + add


def add_pj_45nm(precision: str) -> float:
    """One element-wise op (add, compare) of the vector unit at the operand precision, 45 nm."""
    if precision.startswith("int"):
        return _int_pj(ADD_PJ, int(precision[3:]), None)
    return ADD_PJ["fp16" if precision in ("fp16", "bf16") else "fp32"]


def sram_pj_per_byte_45nm(array_bytes: int) -> float:
    """Energy per byte read from an SRAM array of `array_bytes`, 45 nm: Horowitz's three 64-bit
    reads, interpolated (and extrapolated past either end) linearly in log(size) vs log(energy)."""
    pts = SRAM_READ_64B_PJ
    size = max(1, int(array_bytes))
    if size <= pts[1][0]:
        (s0, e0), (s1, e1) = pts[0], pts[1]
    else:
        (s0, e0), (s1, e1) = pts[1], pts[2]
    slope = math.log(e1 / e0) / math.log(s1 / s0)
    return e0 * (size / s0) ** slope / 8.0


def wire_pj_per_byte_45nm(distance_mm: float) -> float:
    """Energy to move one byte `distance_mm` over on-chip wire at 45 nm."""
    return 8 * WIRE_PJ_PER_BIT_MM * distance_mm
