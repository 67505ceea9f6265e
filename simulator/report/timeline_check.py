"""The 'timeline' section of a saved result JSON, checked before `npusim timeline` draws it.

A hand-edited or truncated file gets one SpecError naming the key that is wrong, instead of a
KeyError or TypeError from inside the plotting code.
"""
from __future__ import annotations

import math

from simulator.errors import SpecError

_SCALARS = ("cycles", "bins", "bin_cycles", "clock_hz", "latency_ms", "mac_utilization_total",
            "dram_peak_gbps", "arrays", "batch")
_TEXT = ("arch", "network", "input")
_SERIES = ("mac_utilization", "dram_read_gbps", "dram_write_gbps")
_LAYER_NUMBERS = ("start_cycle", "end_cycle", "cycles", "busy_cycles")
_LAYER_TEXT = ("name", "op", "unit_kind")
MAX_BINS = 100_000            # a summary has 400; more is not something `npusim run` wrote


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_timeline(data: object, source: str, causes: tuple[str, ...]) -> dict:
    """Return `data` if it is a timeline summary `plot_from_dict` can draw, else raise SpecError."""
    def bad(key: str, what: str) -> SpecError:
        return SpecError(source, f"timeline.{key}" if key else "timeline", f"{what}; the file is damaged or was "
                         "not written by `npusim run --json` (write it again)")
    if not isinstance(data, dict):
        raise bad("", "must be a mapping")
    for key in _SCALARS:
        if not _number(data.get(key)) or data[key] < 0:
            raise bad(key, "must be a non-negative number")
    if not isinstance(data["bins"], int) or not 1 <= data["bins"] <= MAX_BINS:
        raise bad("bins", f"must be a whole number from 1 to {MAX_BINS}")
    if data["clock_hz"] <= 0:
        raise bad("clock_hz", "must be positive")
    for key in _TEXT:
        if not isinstance(data.get(key), str):
            raise bad(key, "must be text")
    bins = data["bins"]

    def series(key: str, value: object) -> None:
        if not isinstance(value, list) or len(value) != bins or not all(_number(v) for v in value):
            raise bad(key, f"must be a list of {bins} numbers (one per bin)")
    for key in _SERIES:
        series(key, data.get(key))
    times = data.get("array_time")
    if not isinstance(times, dict):
        raise bad("array_time", "must be a mapping of cause to series")
    for cause in causes:
        series(f"array_time.{cause}", times.get(cause))
    layers = data.get("layers")
    if not isinstance(layers, list):
        raise bad("layers", "must be a list of layer rows")
    for i, row in enumerate(layers):
        if not isinstance(row, dict):
            raise bad(f"layers[{i}]", "must be a mapping")
        for key in _LAYER_NUMBERS:
            if not _number(row.get(key)):
                raise bad(f"layers[{i}].{key}", "must be a number")
        for key in _LAYER_TEXT:
            if not isinstance(row.get(key), str):
                raise bad(f"layers[{i}].{key}", "must be text")
        stalls = row.get("stall_cycles")
        if not isinstance(stalls, dict) or not all(_number(v) for v in stalls.values()):
            raise bad(f"layers[{i}].stall_cycles", "must be a mapping of cause to cycles")
    return data
