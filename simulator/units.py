"""Quantities with units, parsed once: "933 MHz", "512KiB", "17 GB/s", "32 bit" -> int.

From the spec on, frequencies are int Hz, sizes int bytes, rates int bytes per second (or a
float where a rate is inherently fractional), so floats never reach the engine's clock.
"""
from __future__ import annotations

import difflib
import math
import re
from fractions import Fraction

# A sign is accepted so that "-5 KiB" reads as a negative size (refused by the schema as "must be
# greater than 0") rather than as something that is not a size at all.
_NUMBER = r"([-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?)"
_QUANTITY = re.compile(r"^\s*" + _NUMBER + r"\s*([A-Za-z/]*)\s*$")

SIZE_UNITS_BYTES = {
    "": 1, "B": 1,
    "KB": 10**3, "MB": 10**6, "GB": 10**9,
    "KiB": 2**10, "MiB": 2**20, "GiB": 2**30,
    "bit": Fraction(1, 8), "bits": Fraction(1, 8), "b": Fraction(1, 8),
    "Kbit": Fraction(10**3, 8), "Mbit": Fraction(10**6, 8), "Kibit": Fraction(2**10, 8),
    "Mibit": Fraction(2**20, 8),
}
FREQUENCY_UNITS_HZ = {"Hz": 1, "kHz": 10**3, "KHz": 10**3, "MHz": 10**6, "GHz": 10**9}
RATE_UNITS_BYTES_PER_S = {
    "B/s": 1, "KB/s": 10**3, "MB/s": 10**6, "GB/s": 10**9, "TB/s": 10**12,
    "KiB/s": 2**10, "MiB/s": 2**20, "GiB/s": 2**30,
}
TRANSFER_RATE_UNITS_PER_S = {"MT/s": 10**6, "GT/s": 10**9, "Mbps": 10**6, "Gbps": 10**9}
TIME_UNITS_PS = {"ps": 1, "ns": 10**3, "us": 10**6, "ms": 10**9}


class UnitError(ValueError):
    """A quantity that does not parse or has the wrong kind of unit (message says what is allowed)."""


def _split(text: object, kind: str, table: dict) -> tuple[Fraction, str]:
    if isinstance(text, bool) or not isinstance(text, (int, float, str)):
        raise UnitError(f"expected a {kind} such as {_example(kind)}, got {text!r}")
    if isinstance(text, float) and not math.isfinite(text):
        raise UnitError(f"expected a finite {kind} such as {_example(kind)}, got {text!r}")
    if isinstance(text, (int, float)):
        return Fraction(repr(text)), ""  # via repr: 1.1 means 11/10, not the nearest double
    m = _QUANTITY.match(text)
    if not m:
        raise UnitError(f"'{text}' is not a {kind}; write e.g. {_example(kind)}")
    number, unit = Fraction(m.group(1)), m.group(2)
    if unit and unit not in table:  # no unit: the base unit, as for a bare int
        raise UnitError(f"unknown unit '{unit}' in '{text}' for a {kind};{_suggest_unit(unit, table)} "
                        f"allowed: {allowed_units(table)}")
    return number, unit


def allowed_units(table: dict) -> str:
    """'B, KB, MB, ...' (a bare number, the base unit, is allowed too)."""
    return ", ".join(u for u in table if u)


def _suggest_unit(unit: str, table: dict) -> str:
    same_case = [u for u in table if u and u.lower() == unit.lower()]
    near = same_case or difflib.get_close_matches(unit, [u for u in table if u], n=1, cutoff=0.6)
    return f" did you mean '{near[0]}'?" if near else ""


def _example(kind: str) -> str:
    return {"size": "'512 KiB' or '32 bit'", "frequency": "'933 MHz'",
            "rate": "'17 GB/s'", "transfer rate": "'4266 MT/s'", "time": "'7.8 us'"}[kind]


def _exact_int(value: Fraction, text: object, kind: str) -> int:
    if value.denominator != 1:
        raise UnitError(f"'{text}' is {float(value):g} {kind}, not a whole number of {kind}")
    return int(value)


def parse_size_bytes(text: object) -> int:
    """'512KiB' -> 524288; '32 bit' -> 4; a bare number is bytes. Must be whole bytes."""
    number, unit = _split(text, "size", SIZE_UNITS_BYTES)
    return _exact_int(number * SIZE_UNITS_BYTES[unit], text, "bytes")


def parse_bits(text: object) -> int:
    """'32 bit' -> 32; '4 B' -> 32; a bare number is bits."""
    number, unit = _split(text, "size", SIZE_UNITS_BYTES)
    scale = 1 if unit == "" else SIZE_UNITS_BYTES[unit] * 8
    return _exact_int(number * scale, text, "bits")


def parse_frequency_hz(text: object, require_unit: bool = False) -> int:
    """'1.067 GHz' -> 1067000000; a bare number is Hz, unless `require_unit` (a chip's clock:
    `clock: 500` is far more likely a forgotten 'MHz' than 500 Hz, so the spec refuses it)."""
    number, unit = _split(text, "frequency", FREQUENCY_UNITS_HZ)
    if require_unit and not unit:
        raise UnitError(f"{text!r} has no unit; a frequency needs one: write e.g. '{text} MHz' "
                        f"(allowed: {allowed_units(FREQUENCY_UNITS_HZ)})")
    return _exact_int(number * FREQUENCY_UNITS_HZ.get(unit, 1), text, "Hz")


def parse_rate_bytes_per_s(text: object) -> int:
    """'17 GB/s' -> 17000000000; a bare number is bytes per second."""
    number, unit = _split(text, "rate", RATE_UNITS_BYTES_PER_S)
    return _exact_int(number * RATE_UNITS_BYTES_PER_S.get(unit, 1), text, "bytes/s")


def parse_transfer_rate_mtps(text: object) -> int:
    """'4266 MT/s' -> 4266; '14 Gbps' -> 14000; a bare number is MT/s."""
    number, unit = _split(text, "transfer rate", TRANSFER_RATE_UNITS_PER_S)
    scale = Fraction(TRANSFER_RATE_UNITS_PER_S[unit], 10**6) if unit else 1
    return _exact_int(number * scale, text, "MT/s")


def parse_time_ps(text: object) -> int:
    """'7.8 us' -> 7800000; a bare number is ps."""
    number, unit = _split(text, "time", TIME_UNITS_PS)
    return _exact_int(number * TIME_UNITS_PS.get(unit, 1), text, "ps")


def format_bytes(n: float) -> str:
    """Human-readable binary size: 11829248 -> '11.28 MiB'."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{int(n)} B"


def format_hz(hz: float) -> str:
    """1067000000 -> '1.067 GHz'."""
    for unit, scale in (("GHz", 1e9), ("MHz", 1e6), ("kHz", 1e3)):
        if hz >= scale:
            return f"{hz / scale:g} {unit}"
    return f"{hz:g} Hz"
