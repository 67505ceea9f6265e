"""YAML file (+ --set overrides) -> validated ArchSpec, or one clear SpecError.

Validate, then build (STYLE habit 3): overrides are applied to the raw mapping, the schema fills
defaults and rejects bad input with the dotted key and what is allowed. Pydantic's errors are
reworded here: its internal step names (union branches, validator functions) never reach the
user, and each message says what the key must be, what was given and what is allowed.
"""
from __future__ import annotations

import copy
import difflib
import os
import typing
import warnings
from pathlib import Path
from typing import Iterable, Mapping

import yaml
import yaml.cyaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from simulator.errors import SpecError, SpecWarning
from simulator.limits import check_spec_ints
from simulator.spec.arch import ArchSpec
from simulator.spec.registry import bundled_archs, resolve


# A YAML file is small; these bound what a hostile or broken one can cost before it is refused.
# Named here (docs/reliability.md); the bundled files are far below both (yolov3: ~2,000 nodes, depth 6).
YAML_MAX_NODES = 200_000      # nodes after expanding aliases (a "billion laughs" alias bomb)
YAML_MAX_DEPTH = 64           # nesting of mappings and lists
YAML_MAX_BYTES = 16 * 2**20   # a spec file; a larger one is not a spec


class _StrictLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a key written twice in one mapping (the last would win)."""


def check_duplicate_keys(node: yaml.MappingNode) -> None:
    """A key written twice in one mapping is an error; keys brought in by a merge (`<<: *base`)
    may be overridden by the mapping's own keys, as YAML intends."""
    seen: set = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.value in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"key '{key_node.value}' appears twice in one mapping", key_node.start_mark)
        seen.add(key_node.value)


def _no_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    check_duplicate_keys(node)
    return loader.construct_mapping(node, deep=deep)   # flattens merge keys first


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def read_text(path: Path, what: str = "file") -> str:
    """A spec file's text: UTF-8, at most YAML_MAX_BYTES; anything else is a SpecError."""
    try:
        size = os.stat(path).st_size
        if size > YAML_MAX_BYTES:
            raise SpecError(str(path), "", f"the {what} is {size:,} bytes; a spec file is at most "
                                           f"{YAML_MAX_BYTES:,} bytes (YAML_MAX_BYTES)")
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read the {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), "", f"the {what} is not UTF-8 text (byte {exc.start} is "
                                       f"0x{exc.object[exc.start]:02x}); save it as UTF-8 YAML") from None


def _expanded_size(node: yaml.Node) -> tuple[int, int]:
    """(nodes, depth) of the document with every alias expanded, without expanding it.

    Each node is visited once (shared by aliases, its size is memoized), so an alias bomb costs
    as many steps as it has distinct nodes; a cycle (a recursive alias) counts as too deep.
    """
    memo: dict[int, tuple[int, int]] = {}
    active: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(node, False)]
    while stack:
        n, children_done = stack.pop()
        if id(n) in memo:
            continue
        kids = ([k for pair in n.value for k in pair] if isinstance(n, yaml.MappingNode)
                else list(n.value) if isinstance(n, yaml.SequenceNode) else [])
        if not children_done:
            if id(n) in active or len(active) > YAML_MAX_DEPTH:
                memo[id(n)] = (YAML_MAX_NODES + 1, YAML_MAX_DEPTH + 1)
                continue
            active.add(id(n))
            stack.append((n, True))
            stack.extend((k, False) for k in kids if id(k) not in memo)
            continue
        active.discard(id(n))
        count = 1 + sum(memo[id(k)][0] for k in kids)
        depth = 1 + max((memo[id(k)][1] for k in kids), default=0)
        memo[id(n)] = (min(count, YAML_MAX_NODES + 1), min(depth, YAML_MAX_DEPTH + 1))
    return memo[id(node)]


_LIBYAML_LOADERS: dict[type, type | None] = {}


def _with_libyaml(loader_class: type) -> type | None:
    """`loader_class` (its constructors and resolver) over libyaml's parser, which reads a network
    file about 10 times faster than PyYAML's Python one; None without libyaml."""
    if loader_class not in _LIBYAML_LOADERS:
        fast = None
        if getattr(yaml, "__with_libyaml__", False):
            class fast(yaml.cyaml.CParser, loader_class):    # noqa: N801 - a class made per loader
                def __init__(self, stream):
                    yaml.cyaml.CParser.__init__(self, stream)
                    yaml.constructor.BaseConstructor.__init__(self)
                    yaml.resolver.BaseResolver.__init__(self)
        _LIBYAML_LOADERS[loader_class] = fast
    return _LIBYAML_LOADERS[loader_class]


def load_yaml_text(text: str, loader_class: type, source: str) -> object:
    """Compose, check the size and depth, then construct; a problem is a yaml.YAMLError or SpecError.

    libyaml parses the text first when it is installed. If it finds a problem, or the text has a
    character PyYAML refuses, `loader_class` parses it again: every error (its words, its line)
    is PyYAML's, as it always was; a text both accept gives the same nodes.
    """
    fast = _with_libyaml(loader_class)
    if fast is not None and not yaml.reader.Reader.NON_PRINTABLE.search(text):
        try:
            return _compose_and_construct(text, fast, source)
        except (yaml.YAMLError, SpecError):
            pass
    return _compose_and_construct(text, loader_class, source)


def _compose_and_construct(text: str, loader_class: type, source: str) -> object:
    loader = loader_class(text)
    try:
        try:
            node = loader.get_single_node()
        except RecursionError:
            raise SpecError(source, "", f"the YAML is nested too deeply (more than {YAML_MAX_DEPTH} levels, "
                                        "YAML_MAX_DEPTH)") from None
        if node is None:
            return None
        count, depth = _expanded_size(node)
        if depth > YAML_MAX_DEPTH:
            raise SpecError(source, "", f"the YAML is nested more than {YAML_MAX_DEPTH} levels deep "
                                        "(YAML_MAX_DEPTH), or an alias refers to itself")
        if count > YAML_MAX_NODES:
            raise SpecError(source, "", f"the YAML expands to more than {YAML_MAX_NODES:,} values once its "
                                        "aliases (*name) are expanded (YAML_MAX_NODES); a spec is far smaller")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def read_yaml(path: Path) -> object:
    """Parse a YAML file; a syntax error (or a key written twice) becomes a SpecError with the line."""
    text = read_text(path)
    try:
        return load_yaml_text(text, _StrictLoader, str(path))
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
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise SpecError("--set", item, "write an override as dotted.key=value, e.g. memory.sram.size=2MiB")
        try:
            out[key] = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            out[key] = value
    return out


def apply_overrides(raw: dict, overrides: Mapping[str, object], source: str) -> dict:
    """Set dotted keys in a nested mapping (a copy); intermediate mappings are created.

    A key that the format does not have is left for validation, which names it and suggests
    the closest key, exactly as for a typo in the file.
    """
    data = copy.deepcopy(raw)
    for dotted, value in overrides.items():
        node = data
        parts = dotted.split(".")
        for i, part in enumerate(parts[:-1]):
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise SpecError(source, dotted, f"'{'.'.join(parts[:i + 1])}' is a value "
                                                f"({child!r}), not a section; cannot set a key inside it")
            node = child
        node[parts[-1]] = value
    return data


# ---------------------------------------------------------------------------------------------
# Pydantic errors -> one message in the user's terms
# ---------------------------------------------------------------------------------------------

# What a value must be, by pydantic error type (pydantic's own wording is "Input should be ...").
_MUST_BE = {
    "int_parsing": "a whole number", "int_type": "a whole number", "int_from_float": "a whole number",
    "bool_parsing": "true or false", "bool_type": "true or false",
    "float_parsing": "a number", "float_type": "a number",
    "string_type": "text (quote it if YAML reads it as a number or true/false)",
    "dict_type": "a mapping of keys", "list_type": "a list",
}
_SECTION_TYPES = ("model_type", "model_attributes_type", "dataclass_type")


def _fields(cls: type[BaseModel]) -> dict[str, FieldInfo]:
    """YAML key -> field (the alias where there is one)."""
    return {f.alias or n: f for n, f in cls.model_fields.items()}


def _section(field: FieldInfo | None) -> type[BaseModel] | None:
    ann = getattr(field, "annotation", None)
    return ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None


def _resolve(model: type[BaseModel], loc: tuple) -> tuple[list[str], FieldInfo | None, type[BaseModel]]:
    """Walk `loc` through the models: (user key parts, field reached or None, section holding it).

    Parts after a plain field are pydantic's step names ('int', 'function-before[...]') and are
    dropped; under a mapping field (`timing`) the next part is the user's own key.
    """
    keys: list[str] = []
    holder, field = model, None
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        keys.append(str(part))
        field = _fields(holder).get(str(part))
        if field is None:  # a key the format does not have
            return keys, None, holder
        inner = _section(field)
        if inner is None:
            if typing.get_origin(field.annotation) is dict and parts:
                keys.append(str(parts.pop(0)))
            return keys, field, holder
        if parts:
            holder = inner
    return keys, field, holder


def _dotted(loc: tuple, model: type[BaseModel] = ArchSpec) -> str:
    """('memory', 'sram', 'banks') -> 'memory.sram.banks', pydantic's step names dropped."""
    return ".".join(_resolve(model, loc)[0])


def _allowed(cls: type[BaseModel]) -> str:
    return ", ".join(_fields(cls))


def _suggest(word: object, choices: Iterable[object]) -> str | None:
    """The closest choice: same spelling in another case first, else difflib's nearest."""
    names = [str(c) for c in choices]
    same = [c for c in names if c.lower() == str(word).lower()]
    near = same or difflib.get_close_matches(str(word), names, n=1, cutoff=0.6)
    return near[0] if near else None


def _got(err: dict, text: str) -> str:
    """' (got 5)', unless the message already quotes the input."""
    if "input" not in err:
        return ""
    value = err["input"]
    if isinstance(value, dict):
        return " (got a mapping)"
    if repr(value) in text or (isinstance(value, str) and f"'{value}'" in text):
        return ""
    return f" (got {value!r})"


def _explain(model: type[BaseModel], group: list[dict]) -> tuple[str, str, str | None]:
    """(dotted key, message, the key a typo was probably meant to be) for errors at one key."""
    err = group[0]
    keys, field, holder = _resolve(model, tuple(err["loc"]))
    kind, ctx = err["type"], err.get("ctx") or {}
    where = f"in '{'.'.join(keys[:-1])}'" if len(keys) > 1 else "at the top level"
    if kind == "dram_preset":  # DramSpec's own check, naming its sub-key in ctx
        keys += str(ctx.get("key", "")).split(".") if ctx.get("key") else []
        return ".".join(keys), str(ctx.get("detail", err["msg"])), None
    key = ".".join(keys)
    if kind == "extra_forbidden":
        near = _suggest(keys[-1], _fields(holder))
        hint = f" Did you mean '{near}'?" if near else ""
        return key, f"unknown key '{keys[-1]}'.{hint} Allowed {where}: {_allowed(holder)}.", near
    if kind == "missing":
        about = f" ({field.description})" if field is not None and field.description else ""
        return key, f"required key '{keys[-1]}'{about} is missing {where}.", None
    if kind == "literal_error":
        options = typing.get_args(field.annotation) if field is not None else ()
        allowed = ", ".join(map(str, options)) or ctx.get("expected", "")
        near = _suggest(err["input"], options)
        hint = f" Did you mean '{near}'?" if near else ""
        return key, f"'{err['input']}' is not allowed.{hint} Allowed: {allowed}.", None
    if kind in _SECTION_TYPES:
        inner = _section(field)
        keys_here = f" with keys {_allowed(inner)}" if inner else " (a mapping of keys)"
        return key, f"must be a section{keys_here}{_got(err, '')}.", None
    if kind in ("greater_than", "greater_than_equal"):
        bound = ctx.get("gt", ctx.get("ge"))
        rel = "greater than" if kind == "greater_than" else "at least"
        text = f"must be {rel} {bound}{_got(err, '')}"
        if kind == "greater_than" and bound == 0:
            text += "; zero and negative values are not allowed"
        return key, text + ".", None
    if kind == "string_too_short":
        return key, "must not be empty.", None
    whats = [_MUST_BE[e["type"]] for e in group if e["type"] in _MUST_BE]
    if whats and len(whats) == len(group):  # one type, or a union's branches (int | bool)
        whats = list(dict.fromkeys(whats))
        if len(whats) > 1:
            whats = [w.replace("true or false", "true/false") for w in whats]
        text = "must be " + " or ".join(whats)
        return key, text + _got(err, text) + ".", None
    text = err["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    return key, text + _got(err, text) + ("" if text.endswith(".") else "."), None


def _first_problem(model: type[BaseModel], errors: list[dict]) -> tuple[str, str]:
    """The message of the most telling problem, and how many others there are.

    A typo comes first, and the 'missing key' it causes is not counted again.
    """
    groups: dict[str, list[dict]] = {}
    for err in errors:
        groups.setdefault(_dotted(tuple(err["loc"]), model), []).append(err)
    explained = [_explain(model, group) for group in groups.values()]
    typos = [e for e in explained if e[2] is not None]
    meant = {e[0].rsplit(".", 1)[0] + "." + e[2] if "." in e[0] else e[2] for e in typos}
    rest = [e for e in explained if not (e[1].startswith("required key") and e[0] in meant)]
    first = typos[0] if typos else rest[0]
    others = [e[0] for e in rest if e is not first]
    more = ""
    if others:
        shown = ", ".join(dict.fromkeys(others))
        more = f" ({len(others)} more problem{'s' if len(others) > 1 else ''}, at: {shown}.)"
    return first[0], first[1] + more


def validate(model: type[BaseModel], raw: object, source: str):
    """Validate a raw mapping into `model`, turning the first problem into a SpecError."""
    if not isinstance(raw, dict):
        top = ", ".join(f for f, info in _fields(model).items() if info.is_required())
        got = "the file is empty" if raw is None else f"got {type(raw).__name__} {raw!r:.40}"
        raise SpecError(source, "", f"expected a mapping of keys at the top level ({top}, ...); {got}")
    try:
        # strict: "16" is not 16, true is not 1, 'yes' is not true, bytes are not text; the same
        # rules as the network reader, so a value means one thing in either file
        spec = model.model_validate(raw, strict=True)
    except ValidationError as exc:
        key, msg = _first_problem(model, exc.errors())
        raise SpecError(source, key, msg) from None
    check_spec_ints(spec.model_dump(by_alias=True), source)
    return spec


def _dump(spec: ArchSpec) -> dict:
    """An ArchSpec back to the keys a file would have (the set ones), valid input again."""
    raw = spec.model_dump(by_alias=True, mode="json", exclude_unset=True)
    raw["clock"] = f"{spec.clock_hz} Hz"        # a clock needs its unit in a file
    return raw


def load_arch(name_or_path: str | os.PathLike | ArchSpec | Mapping,
              overrides: Iterable[str] | Mapping[str, object] = ()) -> ArchSpec:
    """A bundled chip name or a YAML path (or an ArchSpec, or the dict a YAML file would give)
    -> validated ArchSpec.

    `overrides` ('memory.sram.size=2MiB' strings, or a {dotted key: value} mapping) replace keys
    of the file before validation, so they are checked exactly like the file.
    """
    if isinstance(name_or_path, ArchSpec):
        if not overrides:
            return name_or_path
        raw, source = _dump(name_or_path), f"<{name_or_path.name}>"
    elif isinstance(name_or_path, Mapping):     # a chip generated in Python: checked as a file is
        raw, source = copy.deepcopy(dict(name_or_path)), f"<dict {name_or_path.get('name', 'arch')}>"
    else:
        path = resolve(name_or_path, bundled_archs(), "arch")
        raw, source = read_yaml(path), str(path)
    parsed = parse_overrides(overrides)
    if parsed:
        if not isinstance(raw, dict):
            return validate(ArchSpec, raw, source)  # the file's own problem comes first
        source = f"{source} (with --set {', '.join(parsed)})"
        raw = apply_overrides(raw, parsed, source)
    spec = validate(ArchSpec, raw, source)
    for key in spec.memory.dram.keys_without_effect():
        warnings.warn(SpecWarning(f"{source}: memory.dram.{key} has no effect under memory.dram.model: bandwidth "
                                  "(only the cycle model reads it; --set memory.dram.model=cycle to use it)"),
                      stacklevel=2)
    return spec
