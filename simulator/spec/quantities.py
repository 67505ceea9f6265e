"""Pydantic field types that accept a quantity with units and hold a plain int.

`clock: 933 MHz` validates to `clock_hz = 933_000_000`; the JSON schema says a string with a
unit (checked by a pattern) or a positive integer is accepted, so editors can autocomplete and
check arch files.
"""
from __future__ import annotations

import re
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


def _schema(example: str, description: str, table: dict, unit_required: bool = False) -> WithJsonSchema:
    """A string with one of `table`'s units (or none), or a positive integer in the base unit;
    with `unit_required`, only a string with a unit.

    The unit note sits on the string branch: a field's own description replaces the top level's.
    """
    names = sorted((u for u in table if u), key=lambda u: (-len(u), u))  # longest first
    pattern = (r"^\s*[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\s*("
               + "|".join(re.escape(u) for u in names) + (r")\s*$" if unit_required else r")?\s*$"))
    text = {"type": "string", "pattern": pattern, "examples": [example], "description": description}
    branches = [text] if unit_required else [text, {"type": "integer", "exclusiveMinimum": 0}]
    return WithJsonSchema({"anyOf": branches, "description": description})


SizeBytes = Annotated[int, BeforeValidator(_via(units.parse_size_bytes)), Field(gt=0),
                      _schema("512 KiB", "a size: " + units.allowed_units(units.SIZE_UNITS_BYTES)
                              + "; a bare number is bytes", units.SIZE_UNITS_BYTES)]
Bits = Annotated[int, BeforeValidator(_via(units.parse_bits)), Field(gt=0),
                 _schema("32 bit", "a width: " + units.allowed_units(units.SIZE_UNITS_BYTES)
                         + "; a bare number is bits", units.SIZE_UNITS_BYTES)]
# A clock needs its unit: a bare 500 would silently be 500 Hz (a 2,000 s inference).
FrequencyHz = Annotated[int, BeforeValidator(_via(lambda v: units.parse_frequency_hz(v, require_unit=True))),
                        Field(gt=0),
                        _schema("933 MHz", "a frequency with its unit: "
                                + units.allowed_units(units.FREQUENCY_UNITS_HZ), units.FREQUENCY_UNITS_HZ,
                                unit_required=True)]
TransferRateMtps = Annotated[int, BeforeValidator(_via(units.parse_transfer_rate_mtps)), Field(gt=0),
                             _schema("4266 MT/s", "a per-pin data rate: "
                                     + units.allowed_units(units.TRANSFER_RATE_UNITS_PER_S)
                                     + "; a bare number is MT/s", units.TRANSFER_RATE_UNITS_PER_S)]
BytesPerCycle = Annotated[int, BeforeValidator(_via(units.parse_size_bytes)), Field(gt=0),
                          _schema("64 B", "bytes per clock cycle: a size ("
                                  + units.allowed_units(units.SIZE_UNITS_BYTES)
                                  + ") moved each cycle; a bare number is bytes", units.SIZE_UNITS_BYTES)]

