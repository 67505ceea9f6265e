"""YAML file (+ --set overrides) -> validated ArchSpec, or one clear SpecError.

Validate, then build (STYLE habit 3): overrides are applied to the raw mapping, the schema fills
defaults and rejects bad input with the dotted key and what is allowed.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Iterable, Mapping

import yaml
from pydantic import BaseModel, ValidationError

from simulator.errors import SpecError
from simulator.spec.arch import ArchSpec
from simulator.spec.registry import bundled_archs, resolve


def read_yaml(path: Path) -> object:
    """Parse a YAML file; a syntax error becomes a SpecError with the line."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read the file: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(str(path), "", f"{where}not valid YAML ({problem})") from None


def parse_overrides(items: Iterable[str] | Mapping[str, object]) -> dict[str, object]:
    """['memory.sram.size=2MiB', ...] -> {'memory.sram.size': '2MiB'}; values are YAML scalars."""
    if isinstance(items, Mapping):
        return dict(items)
    out: dict[str, object] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError("--set", item, "write an override as dotted.key=value, e.g. memory.sram.size=2MiB")
        try:
            out[key.strip()] = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            out[key.strip()] = value
    return out


def apply_overrides(raw: dict, overrides: Mapping[str, object], source: str) -> dict:
    """Set dotted keys in a nested mapping (a copy); intermediate mappings are created."""
    import copy
    data = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        node = data
        parts = dotted.split(".")
        for part in parts[:-1]:
            child = node.get(part) if isinstance(node, dict) else None
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise SpecError(source, dotted, f"'{part}' is a value, not a section; cannot set a key inside it")
            node = child
        node[parts[-1]] = value
    return data


def _dotted(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "literal[")) or part in ("int", "str"):
            continue  # pydantic's internal step names, not user keys
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys allowed at `loc`'s parent section, for a typo suggestion."""
    cls = model
    for part in loc[:-1]:
        fields = {f.alias or n: f for n, f in cls.model_fields.items()}
        field = fields.get(part)
        ann = getattr(field, "annotation", None)
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return []
        cls = ann
    return [f.alias or n for n, f in cls.model_fields.items()]


def _message(model: type[BaseModel], err: dict) -> tuple[str, str]:
    loc = tuple(err["loc"])
    key = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" Did you mean '{near[0]}'?" if near else ""
        return key, f"unknown key.{hint} Allowed here: {', '.join(allowed)}."
    if kind == "missing":
        return key, "required key is missing."
    if kind == "literal_error":
        expected = err.get("ctx", {}).get("expected", "")
        return key, f"{err['input']!r} is not allowed; allowed: {expected}."
    msg = err["msg"].removeprefix("Value error, ")
    return key, f"{msg} (got {err.get('input')!r})." if "input" in err and not isinstance(err["input"], dict) else msg


def validate(model: type[BaseModel], raw: object, source: str):
    """Validate a raw mapping into `model`, turning the first problem into a SpecError."""
    if not isinstance(raw, dict):
        raise SpecError(source, "", f"expected a mapping of keys at the top level, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        errors = exc.errors()
        key, msg = _message(model, errors[0])
        more = f" ({len(errors) - 1} more problem(s) after this one.)" if len(errors) > 1 else ""
        raise SpecError(source, key, msg + more) from None


def load_arch(name_or_path: str | os.PathLike | ArchSpec,
              overrides: Iterable[str] | Mapping[str, object] = ()) -> ArchSpec:
    """A bundled chip name or a YAML path (or an ArchSpec) -> validated ArchSpec."""
    if isinstance(name_or_path, ArchSpec):
        if not overrides:
            return name_or_path
        raw, source = name_or_path.model_dump(by_alias=True, mode="json"), f"<{name_or_path.name}>"
    else:
        path = resolve(name_or_path, bundled_archs(), "arch")
        raw, source = read_yaml(path), str(path)
    parsed = parse_overrides(overrides)
    if parsed:
        if not isinstance(raw, dict):
            raise SpecError(source, "", "expected a mapping of keys at the top level")
        raw = apply_overrides(raw, parsed, source)
        source = f"{source} (with --set {', '.join(parsed)})"
    return validate(ArchSpec, raw, source)
