"""What a sweep is: its axes (swept spec keys and their values), points, and the YAML sweep file.

    --grid memory.sram.size=1MiB..16MiB*2      one axis per --grid key; axes form a cartesian product
    --zip compute.array.rows=16,32 --zip compute.array.cols=16,32    one axis whose keys advance together

A value list is comma-separated; an item may be a range: `A..B*F` (geometric: A, A*F, ... up to B)
or `A..B+S` (arithmetic), with units (`32B..128B+32B`, `512KiB..4MiB*2`); `A..B` alone steps by 1
between plain integers. Points are numbered in row-major order over the axes (first axis slowest,
the zip axis last). A point is identified by its index and a hash of everything that defines it
(arch, network, input, batch, fixed and swept overrides), which is what `--resume` checks.
Nothing here imports numba: a sweep is planned and validated before any simulation starts.
"""
from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import math
import re
import typing
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple

import yaml

from simulator import units
from simulator.errors import SpecError

MAX_VALUES_PER_AXIS = 10_000
MAX_POINTS = 1_000_000

_NUM = r"[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?"
_QUANTITY = re.compile(rf"\s*({_NUM})(\s*)([A-Za-z/]*)\s*")
_STEP = re.compile(rf"(.+?)\s*([*+])\s*({_NUM}\s*[A-Za-z/]*)\s*")
_UNIT_TABLES = (units.SIZE_UNITS_BYTES, units.FREQUENCY_UNITS_HZ, units.RATE_UNITS_BYTES_PER_S,
                units.TRANSFER_RATE_UNITS_PER_S, units.TIME_UNITS_PS)
_RANGE_HELP = ("write a range as START..STOP*FACTOR (geometric, e.g. 1MiB..16MiB*2) or START..STOP+STEP "
               "(arithmetic, e.g. 32..128+32)")


# ---------------------------------------------------------------------------------------------
# Values and ranges
# ---------------------------------------------------------------------------------------------

class _Quantity(NamedTuple):
    number: Fraction
    unit: str
    space: str          # what separated number and unit in the text ('' or ' ')


def _quantity(text: str, source: str, key: str, whole: str) -> _Quantity:
    m = _QUANTITY.fullmatch(text)
    if not m:
        raise SpecError(source, key, f"'{text}' in '{whole}' is not a number (with an optional unit); {_RANGE_HELP}")
    return _Quantity(Fraction(m.group(1)), m.group(3), m.group(2))


def _scale(unit_from: str, unit_to: str, source: str, key: str, whole: str) -> Fraction:
    """Factor converting a number in `unit_from` to `unit_to` (both in one table of units.py)."""
    if unit_from == unit_to or not unit_from or not unit_to:
        return Fraction(1)
    for table in _UNIT_TABLES:
        if unit_from in table and unit_to in table and table[unit_to]:
            return Fraction(table[unit_from]) / Fraction(table[unit_to])
    raise SpecError(source, key, f"'{whole}' mixes units '{unit_from}' and '{unit_to}', which do not convert")


def _format(number: Fraction, unit: str, space: str) -> object:
    """A range value: an int or float when unitless, else text such as '4MiB' (the start's style)."""
    plain: object = int(number) if number.denominator == 1 else float(number)
    return f"{plain}{space}{unit}" if unit else plain


def parse_range(text: str, source: str = "--grid", key: str = "") -> list:
    """'1MiB..16MiB*2' -> ['1MiB', '2MiB', '4MiB', '8MiB', '16MiB']; '32..128+32' -> [32, 64, 96, 128].

    Exact (rational) arithmetic; STOP is included when the series reaches it exactly. Units may
    differ between START, STOP and STEP when they convert (512KiB..4MiB*2); values take START's
    unit. `A..B` steps by 1 between plain integers.
    """
    start_text, sep, rest = text.partition("..")
    if not sep or ".." in rest:
        raise SpecError(source, key, f"'{text}' is not a range; {_RANGE_HELP}")
    m = _STEP.fullmatch(rest)
    stop_text, op, step_text = (m.group(1), m.group(2), m.group(3)) if m else (rest, "", "")
    start = _quantity(start_text, source, key, text)
    stop = _quantity(stop_text, source, key, text)
    step = _quantity(step_text, source, key, text) if op else None
    if op == "*" and step.unit:
        raise SpecError(source, key, f"the factor in '{text}' must be a plain number, not '{step_text.strip()}'")
    if not op:
        if start.unit or stop.unit or start.number.denominator != 1 or stop.number.denominator != 1:
            raise SpecError(source, key, f"'{text}' has no step; {_RANGE_HELP}")
        op, step = "+", _Quantity(Fraction(1), "", "")
    unit = start.unit or stop.unit or (step.unit if op == "+" else "")
    space = start.space if start.unit else stop.space
    lo = start.number * _scale(start.unit, unit, source, key, text)
    hi = stop.number * _scale(stop.unit, unit, source, key, text)
    by = step.number * (_scale(step.unit, unit, source, key, text) if op == "+" else 1)
    if lo > hi:
        raise SpecError(source, key, f"the range '{text}' is empty: START is above STOP")
    if op == "*" and (lo <= 0 or by <= 1):
        raise SpecError(source, key, f"a geometric range needs START > 0 and FACTOR > 1 (got '{text}')")
    if op == "+" and by <= 0:
        raise SpecError(source, key, f"an arithmetic range needs STEP > 0 (got '{text}')")
    count = (math.floor(math.log(hi / lo) / math.log(by)) + 2 if op == "*" else int((hi - lo) / by) + 1)
    if count > MAX_VALUES_PER_AXIS + 1:
        raise SpecError(source, key, f"the range '{text}' has more than {MAX_VALUES_PER_AXIS} values")
    values, v = [], lo
    while v <= hi:
        values.append(_format(v, unit, space))
        v = v * by if op == "*" else v + by
    return values


def parse_values(spec: object, source: str = "--grid", key: str = "") -> list:
    """The values of one key: 'a,b,c' (items may be ranges; each item a YAML scalar), or a list.

    A YAML list's items keep their YAML types; a string item containing '..' is a range.
    """
    if isinstance(spec, str):
        items = [item.strip() for item in spec.split(",")]
        if any(not item for item in items):
            raise SpecError(source, key, f"empty value in '{spec}'; separate values with commas, e.g. 1MiB,2MiB")
        values: list = []
        for item in items:
            if ".." in item:
                values += parse_range(item, source, key)
            else:
                try:
                    values.append(yaml.safe_load(item))
                except yaml.YAMLError:
                    values.append(item)
        return values
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise SpecError(source, key, "the list of values is empty")
        values = []
        for item in spec:
            if isinstance(item, str) and ".." in item:
                values += parse_range(item.strip(), source, key)
            elif isinstance(item, (list, tuple)):
                raise SpecError(source, key, f"a value may not be a list (got {item!r})")
            else:
                values.append(item)
        return values
    if spec is None:
        raise SpecError(source, key, "no values given")
    return [spec]


def value_text(value: object) -> str:
    """A swept value as written in tables, CSV cells and plot labels."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Keys
# ---------------------------------------------------------------------------------------------

def check_key(key: str, source: str) -> None:
    """Refuse a swept key that the arch format does not have (a typo would fail every point)."""
    from pydantic import BaseModel

    from simulator.spec.arch import ArchSpec

    parts = key.split(".")
    if not key or any(not p for p in parts):
        raise SpecError(source, key, "write a key as a dotted path, e.g. memory.sram.size")
    model: type = ArchSpec
    for i, part in enumerate(parts):
        fields = {f.alias or n: f for n, f in model.model_fields.items()}
        where = f"in '{'.'.join(parts[:i])}'" if i else "at the top level"
        if part not in fields:
            near = difflib.get_close_matches(part, list(fields), n=1, cutoff=0.6)
            hint = f" Did you mean '{'.'.join(parts[:i] + near)}'?" if near else ""
            raise SpecError(source, key, f"unknown key '{part}' {where}.{hint} Allowed {where}: {', '.join(fields)}.")
        ann = fields[part].annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
            continue
        if i < len(parts) - 1 and typing.get_origin(ann) is not dict:
            raise SpecError(source, key, f"'{'.'.join(parts[:i + 1])}' is a value, not a section")
        return


# ---------------------------------------------------------------------------------------------
# Axes, points, the plan
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Axis:
    """One dimension of the sweep: one --grid key, or all --zip keys advancing together."""
    keys: tuple[str, ...]
    values: tuple[tuple, ...]           # per position: one value per key

    @property
    def label(self) -> str:
        return " / ".join(self.keys)

    def text(self, position: int) -> str:
        return " / ".join(value_text(v) for v in self.values[position])


class Point(NamedTuple):
    index: int
    values: dict                        # swept key -> value
    hash: str


@dataclass(frozen=True)
class SweepPlan:
    """Everything that defines a sweep's points; what `run_sweep` executes."""
    arch: object                        # bundled name, path, or ArchSpec
    network: object                     # bundled name, path, or Network
    input: tuple[int, int] | None
    batch: int
    ideal_memory: bool
    fixed: dict                         # overrides applied to every point (--set)
    axes: tuple[Axis, ...]
    source: str = "sweep"               # for error messages: '--grid' or the sweep file

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for axis in self.axes for k in axis.keys)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(axis.values) for axis in self.axes)

    def __len__(self) -> int:
        return math.prod(self.shape)

    def positions(self, index: int) -> tuple[int, ...]:
        """Point index -> position on each axis (row-major, first axis slowest)."""
        out = []
        for n in reversed(self.shape):
            index, r = divmod(index, n)
            out.append(r)
        return tuple(reversed(out))

    def point(self, index: int) -> Point:
        values = {}
        for axis, pos in zip(self.axes, self.positions(index), strict=True):
            values.update(zip(axis.keys, axis.values[pos], strict=True))
        return Point(index, values, self._hash(values))

    def points(self) -> Iterator[Point]:
        for index in range(len(self)):
            yield self.point(index)

    def overrides(self, point: Point) -> dict:
        return {**self.fixed, **point.values}

    def _hash(self, values: dict) -> str:
        ident = {"arch": _identity(self.arch), "network": _identity(self.network), "input": self.input,
                 "batch": self.batch, "ideal_memory": self.ideal_memory,
                 "overrides": {k: value_text(v) for k, v in {**self.fixed, **values}.items()}}
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def _identity(obj: object) -> str:
    """How the arch or network enters a point's hash: a bundled name, an absolute path, or a name."""
    if isinstance(obj, (str, Path)):
        path = Path(obj)
        return str(path.resolve()) if path.suffix in (".yaml", ".yml") or path.is_file() else str(obj)
    return f"<{getattr(obj, 'name', type(obj).__name__)}>"


def _input_size(value: object, source: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if isinstance(value, str):
        parts = value.lower().replace(",", "x").split("x")
        value = tuple(int(p) for p in parts if p.strip().isdigit()) if len(parts) <= 2 else ()
        value = value * 2 if len(value) == 1 and len(parts) == 1 else value
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        return (int(value[0]), int(value[1]))
    raise SpecError(source, "input", f"{value!r} is not an input size; write HxW, e.g. 608x608")


def make_plan(arch, network, grid: Mapping[str, object] | None = None, zip: Mapping[str, object] | None = None,
              input=None, batch: int = 1, ideal_memory: bool = False,
              overrides: Mapping[str, object] | None = None, source: str = "--grid") -> SweepPlan:
    """Check keys and values and build the plan. Values: lists, or 'a,b,c' / range strings."""
    grid, zip, fixed = dict(grid or {}), dict(zip or {}), dict(overrides or {})
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise SpecError(source, "batch", f"{batch!r} is not a batch size; give a positive integer")
    if not grid and not zip:
        raise SpecError(source, "grid", "nothing to sweep: give at least one --grid KEY=VALUES (or --zip)")
    for key in itertools.chain(grid, zip, fixed):
        check_key(key, source)
    both = set(grid) & set(zip)
    if both:
        raise SpecError(source, sorted(both)[0], "a key is either in --grid or in --zip, not both")
    swept_and_fixed = (set(grid) | set(zip)) & set(fixed)
    if swept_and_fixed:
        raise SpecError(source, sorted(swept_and_fixed)[0], "a key is either swept or fixed with --set, not both")
    axes = [Axis((key,), tuple((v,) for v in parse_values(spec, source, key))) for key, spec in grid.items()]
    if zip:
        columns = {key: parse_values(spec, source, key) for key, spec in zip.items()}
        lengths = {key: len(v) for key, v in columns.items()}
        if len(set(lengths.values())) > 1:
            listing = ", ".join(f"{k} has {n}" for k, n in lengths.items())
            where = ("--zip", "") if source == "--grid" else (source, "zip")
            raise SpecError(*where, f"zipped keys advance together, so their value lists must have "
                                    f"equal lengths: {listing}")
        axes.append(Axis(tuple(columns), tuple(zip_(*columns.values()))))
    for axis in axes:
        if len(axis.values) > MAX_VALUES_PER_AXIS:
            raise SpecError(source, axis.keys[0], f"more than {MAX_VALUES_PER_AXIS} values on one axis")
    plan = SweepPlan(arch=arch, network=network, input=_input_size(input, source), batch=batch,
                     ideal_memory=bool(ideal_memory), fixed=fixed, axes=tuple(axes), source=source)
    if len(plan) > MAX_POINTS:
        raise SpecError(source, "grid", f"{len(plan):,} points is more than {MAX_POINTS:,}; split the sweep")
    return plan


zip_ = zip  # the builtin, under a name that make_plan's `zip` parameter does not hide


# ---------------------------------------------------------------------------------------------
# The YAML sweep file
# ---------------------------------------------------------------------------------------------

SWEEP_FILE_KEYS = {
    "arch": "bundled chip name or arch YAML path (relative to this file)",
    "network": "bundled network name or network YAML path (relative to this file)",
    "input": "input size HxW (default: the network's own)",
    "batch": "images per inference (default 1)",
    "ideal_memory": "true for SCALE-Sim-compatible free memory (default false)",
    "set": "mapping of dotted key -> value applied to every point",
    "grid": "mapping of dotted key -> values (list, 'a,b,c' or a range); a cartesian product",
    "zip": "mapping of dotted key -> values; these keys advance together (equal lengths)",
    "out": "results file, .csv or .parquet (relative to this file)",
    "workers": "local worker processes (default: one per core)",
    "scheduler": "Dask scheduler address, e.g. tcp://10.0.0.5:8786",
}


def _near_path(value: object, base: Path, bundled: Mapping[str, Path]) -> object:
    """A bundled name stays a name; anything else is a path relative to the sweep file."""
    if not isinstance(value, str) or value in bundled:
        return value
    path = Path(value)
    return str(path if path.is_absolute() else base / path)


def load_sweep_file(path: str | Path) -> dict:
    """A sweep YAML file -> the keyword arguments it sets (keys of SWEEP_FILE_KEYS), paths resolved."""
    from simulator.spec.load import read_yaml
    from simulator.spec.registry import bundled_archs
    from simulator.workload import bundled_networks

    path = Path(path)
    raw = read_yaml(path)
    source = str(path)
    if not isinstance(raw, dict):
        raise SpecError(source, "", f"expected a mapping with keys {', '.join(SWEEP_FILE_KEYS)}")
    if "compute" in raw or "memory" in raw:
        raise SpecError(source, "", "this is an arch file, not a sweep file: give ARCH NETWORK --grid "
                                    "KEY=VALUES ..., or a sweep file (docs/sweeps.md)")
    for key in raw:
        if key not in SWEEP_FILE_KEYS:
            near = difflib.get_close_matches(str(key), list(SWEEP_FILE_KEYS), n=1)
            hint = f" Did you mean '{near[0]}'?" if near else ""
            raise SpecError(source, str(key), f"unknown key '{key}'.{hint} Allowed: {', '.join(SWEEP_FILE_KEYS)}.")
    for key in ("arch", "network"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise SpecError(source, key, f"required: {SWEEP_FILE_KEYS[key]}")
    for key in ("set", "grid", "zip"):
        if raw.get(key) is not None and not isinstance(raw[key], dict):
            raise SpecError(source, key, f"must be a mapping of dotted key -> values ({SWEEP_FILE_KEYS[key]})")
    for key in ("workers", "batch"):
        value = raw.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
            raise SpecError(source, key, f"must be a positive whole number (got {value!r})")
    for key in ("out", "scheduler"):
        if raw.get(key) is not None and not isinstance(raw[key], str):
            raise SpecError(source, key, f"must be text (got {raw[key]!r})")
    base = path.resolve().parent
    out = dict(raw)
    out["arch"] = _near_path(raw["arch"], base, bundled_archs())
    out["network"] = _near_path(raw["network"], base, bundled_networks())
    if raw.get("out"):
        out["out"] = str(base / raw["out"]) if not Path(raw["out"]).is_absolute() else raw["out"]
    out["overrides"] = out.pop("set", None) or {}
    return out


def parse_key_values(items, option: str) -> dict:
    """['memory.sram.size=1MiB,2MiB', ...] (from --grid/--zip) -> {key: 'values text'}, in order."""
    out: dict = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise SpecError(option, item, f"write {option} KEY=VALUES, e.g. {option} memory.sram.size=1MiB,2MiB")
        if key in out:
            raise SpecError(option, key, f"the key is given twice with {option}; list all its values once")
        out[key] = values
    return out
