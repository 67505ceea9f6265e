"""Quantities with units: every family parses to an exact int; bad input says what is allowed."""
from __future__ import annotations

import pytest

from simulator import units
from simulator.units import UnitError


@pytest.mark.parametrize("text, expected", [
    ("512KiB", 512 * 1024), ("512 KiB", 524288), ("6 MiB", 6 * 2**20), ("1 GiB", 2**30),
    ("64 B", 64), ("64B", 64), ("64", 64), (64, 64), ("2 KB", 2000), ("3 MB", 3_000_000),
    ("1 GB", 10**9), ("32 bit", 4), ("32 bits", 4), ("64 b", 8), ("8 Kbit", 1000),
    ("1 Mbit", 125_000), ("8 Kibit", 1024), ("8 Mibit", 2**20), ("0.5 KiB", 512),
    ("1e3 B", 1000), ("1.5 MiB", 3 * 2**19),
])
def test_sizes_parse_to_bytes(text, expected):
    """Every size unit (decimal, binary, bits) converts to whole bytes; bare numbers are bytes."""
    assert units.parse_size_bytes(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("1.067 GHz", 1_067_000_000), ("933 MHz", 933_000_000), ("500 MHz", 500_000_000),
    ("100 kHz", 100_000), ("100 KHz", 100_000), ("50 Hz", 50), (1_000_000, 1_000_000),
    (1.067e9, 1_067_000_000),
])
def test_frequencies_parse_to_hz(text, expected):
    """Hz, kHz, MHz, GHz give exact int Hz ('1.067 GHz' is 1067000000, not a rounded float)."""
    value = units.parse_frequency_hz(text)
    assert value == expected and isinstance(value, int)


@pytest.mark.parametrize("text, expected", [
    ("17 GB/s", 17_000_000_000), ("17.064 GB/s", 17_064_000_000), ("1 TB/s", 10**12),
    ("100 MB/s", 10**8), ("2 KB/s", 2000), ("1 GiB/s", 2**30), ("1 MiB/s", 2**20),
    ("1 KiB/s", 1024), ("5 B/s", 5), ("42", 42),
])
def test_rates_parse_to_bytes_per_s(text, expected):
    """Byte rates in decimal and binary units give int bytes per second."""
    assert units.parse_rate_bytes_per_s(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("4266 MT/s", 4266), ("3.2 GT/s", 3200), ("14 Gbps", 14000), ("2000 Mbps", 2000), (3200, 3200),
])
def test_transfer_rates_parse_to_mtps(text, expected):
    """Per-pin data rates (MT/s, GT/s, Mbps, Gbps) give int MT/s."""
    assert units.parse_transfer_rate_mtps(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("7.8 us", 7_800_000), ("13.75 ns", 13_750), ("1 ms", 10**9), ("625 ps", 625), (625, 625),
])
def test_times_parse_to_ps(text, expected):
    """Times in ps, ns, us, ms give int picoseconds."""
    assert units.parse_time_ps(text) == expected


@pytest.mark.parametrize("text, expected", [("32 bit", 32), ("4 B", 32), ("16", 16), ("1 KiB", 8192)])
def test_bits_parse_to_bits(text, expected):
    """Widths in bits or bytes give int bits; bare numbers are bits."""
    assert units.parse_bits(text) == expected


@pytest.mark.parametrize("parse, text, kind, allowed", [
    (units.parse_size_bytes, "256 KiBs", "size", ["B", "KiB", "MiB", "bit"]),
    (units.parse_size_bytes, "1 MHz", "size", ["KiB", "MiB"]),
    (units.parse_frequency_hz, "500 MHzz", "frequency", ["Hz", "kHz", "MHz", "GHz"]),
    (units.parse_frequency_hz, "2 GB", "frequency", ["MHz", "GHz"]),
    (units.parse_rate_bytes_per_s, "17 GB/sec", "rate", ["B/s", "GB/s", "GiB/s"]),
    (units.parse_transfer_rate_mtps, "3200 MHz", "transfer rate", ["MT/s", "GT/s", "Mbps", "Gbps"]),
    (units.parse_time_ps, "7.8 sec", "time", ["ps", "ns", "us", "ms"]),
])
def test_unknown_unit_lists_allowed_units(parse, text, kind, allowed):
    """A wrong or misspelt unit names the input, the kind of quantity and every allowed unit."""
    with pytest.raises(UnitError) as info:
        parse(text)
    message = str(info.value)
    assert f"'{text}'" in message and kind in message and "allowed:" in message
    for unit in allowed:
        assert unit in message


@pytest.mark.parametrize("text, near", [("256 KiBs", "KiB"), ("500 mhz", "MHz"), ("1 kib", "KiB")])
def test_misspelt_unit_suggests_the_closest(text, near):
    """A unit in the wrong case or with a typo suggests the intended one."""
    parse = units.parse_frequency_hz if "hz" in text.lower() else units.parse_size_bytes
    with pytest.raises(UnitError, match=f"did you mean '{near}'"):
        parse(text)


@pytest.mark.parametrize("text", ["3 bit", "1 b", "0.3 B", "1.5", 1.5, "1.0001 KiB"])
def test_fractional_bytes_rejected(text):
    """A size that is not a whole number of bytes is refused and says so."""
    with pytest.raises(UnitError, match="not a whole number of bytes"):
        units.parse_size_bytes(text)


def test_fractional_hz_rejected():
    """A frequency with a fraction of a Hz is refused rather than rounded."""
    with pytest.raises(UnitError, match="not a whole number of Hz"):
        units.parse_frequency_hz("1.0000000001 GHz")


@pytest.mark.parametrize("value", ["", "KiB", "abc", "1 2 KiB", [1], {"a": 1}, None, True,
                                   float("nan"), float("inf")])
def test_not_a_quantity(value):
    """Text without a number, lists, None, booleans and non-finite floats are not sizes."""
    with pytest.raises(UnitError, match="size"):
        units.parse_size_bytes(value)


def test_negative_quantity_parses_with_its_sign():
    """'-5 KiB' reads as a negative size (the schema refuses it as not greater than 0)."""
    assert units.parse_size_bytes("-5 KiB") == -5120


def test_unit_error_is_a_value_error():
    """UnitError subclasses ValueError, so pydantic validators can surface it."""
    assert issubclass(UnitError, ValueError)


@pytest.mark.parametrize("n, text", [(11829248, "11.28 MiB"), (512, "512 B"), (2048, "2.00 KiB"),
                                     (3 * 2**30, "3.00 GiB")])
def test_format_bytes(n, text):
    """Byte counts print in binary units with two decimals."""
    assert units.format_bytes(n) == text


@pytest.mark.parametrize("hz, text", [(1_067_000_000, "1.067 GHz"), (500_000_000, "500 MHz"),
                                      (32_000, "32 kHz"), (50, "50 Hz")])
def test_format_hz(hz, text):
    """Frequencies print in the largest unit that keeps the number at least 1."""
    assert units.format_hz(hz) == text
