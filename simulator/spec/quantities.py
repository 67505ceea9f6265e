"""Pydantic field types that accept a quantity with units and hold a plain int.

`clock: 933 MHz` validates to `clock_hz = 933_000_000`; the JSON schema says a string with a
unit or an integer is accepted, so editors can autocomplete arch files.
"""
from __future__ import annotations

from typing import Annotated, Callable

from pydantic import BeforeValidator, Field, WithJsonSchema

from simulator import units


def _via(parse: Callable[[object], int]) -> Callable[[object], int]:
    def convert(value: object) -> int:
        try:
            return parse(value)
        except units.UnitError as exc:
            raise ValueError(str(exc)) from None
    return convert


def _schema(example: str, description: str) -> WithJsonSchema:
    return WithJsonSchema({"anyOf": [{"type": "string", "examples": [example]},
                                     {"type": "integer", "exclusiveMinimum": 0}],
                           "description": description})


SizeBytes = Annotated[int, BeforeValidator(_via(units.parse_size_bytes)), Field(gt=0),
                      _schema("512 KiB", "a size: B, KiB, MiB, KB, MB, bit; bare numbers are bytes")]
Bits = Annotated[int, BeforeValidator(_via(units.parse_bits)), Field(gt=0),
                 _schema("32 bit", "a width in bits: bit or B; bare numbers are bits")]
FrequencyHz = Annotated[int, BeforeValidator(_via(units.parse_frequency_hz)), Field(gt=0),
                        _schema("933 MHz", "a frequency: Hz, kHz, MHz, GHz")]
TransferRateMtps = Annotated[int, BeforeValidator(_via(units.parse_transfer_rate_mtps)), Field(gt=0),
                             _schema("4266 MT/s", "per-pin data rate: MT/s, GT/s, Mbps, Gbps")]
BytesPerCycle = Annotated[int, BeforeValidator(_via(units.parse_size_bytes)), Field(gt=0),
                          _schema("64 B", "bytes per clock cycle (a size per cycle)")]
