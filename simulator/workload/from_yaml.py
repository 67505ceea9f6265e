"""The YAML network format -> Network: validate every key, then build (docs/formats/network.md).

A file names the network, its input (channels and a default size) and a list of layers; each
layer names its op and its inputs (default: the previous layer; the first layer reads 'input').
No shape is written: shapes are inferred for the input size and batch given at load time.
Every problem is a SpecError naming the file and the key (`layers[12].kernel`), the layer and
its line, and what is allowed.
"""
from __future__ import annotations

from collections.abc import Mapping

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from simulator.errors import SpecError
from simulator.workload.graph import INPUT_NODE, Network, build_network, check_input_size
from simulator.workload.ops import (ACTIVATIONS, FUSABLE_ACTIVATION_OPS, MULTI_INPUT_OPS, OPS,
                                    PADDING_WORDS, SINGLE_INPUT_OPS, UPSAMPLE_MODES, LayerSpec)

KERNELS_DIR_ENV = "NPUSIM_KERNELS_DIR"
TOP_KEYS = ("name", "description", "source", "input", "layers")
INPUT_KEYS = ("channels", "size")
COMMON_KEYS = ("name", "op", "inputs")
NO_ACTIVATION_WORDS = ("none", "linear")

# op -> (required keys, optional keys), beyond COMMON_KEYS.
OP_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "conv2d": (("out_channels", "kernel"),
               ("stride", "padding", "dilation", "groups", "bias", "activation")),
    "fc": (("out_features",), ("bias", "activation")),
    "matmul": (("out_features",), ("bias", "activation")),
    "maxpool": (("kernel",), ("stride", "padding", "activation")),
    "avgpool": (("kernel",), ("stride", "padding", "activation")),
    "global_avgpool": ((), ("activation",)),
    "add": ((), ("activation",)),
    "concat": ((), ()),
    "upsample": (("scale",), ("mode",)),
    "activation": (("activation",), ()),
    "detect": ((), ()),
    "flatten": ((), ()),
}
assert set(OP_KEYS) == set(OPS)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


# --- YAML reading: dicts remember their line; duplicate keys are errors -------------------

class _LineDict(dict):
    """A mapping from the YAML file that remembers its 1-based line."""

    line: int | None = None


class _Loader(yaml.SafeLoader):
    """SafeLoader whose mappings are _LineDicts and which refuses duplicate keys."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> _LineDict:
    seen: set = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(key_node, yaml.ScalarNode):
            continue
        if key_node.value in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark,
                f"duplicate key '{key_node.value}'", key_node.start_mark)
        seen.add(key_node.value)
    loader.flatten_mapping(node)
    mapping = _LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> object:
    from simulator.spec.load import load_yaml_text, read_text   # the size, depth and encoding guards

    text = read_text(path, "network file")
    try:
        return load_yaml_text(text, _Loader, str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        detail = f"{problem} ({context})" if context else problem
        raise SpecError(str(path), "", f"{line}invalid YAML: {detail}") from None


# --- value checks --------------------------------------------------------------------------

class _Checker:
    """Validates the values of one layer; errors carry file, key, layer name and line."""

    def __init__(self, source: str, key: str, name: str, line: int | None):
        self.source, self.key, self.name, self.line = source, key, name, line

    def error(self, field: str | None, message: str) -> SpecError:
        key = f"{self.key}.{field}" if field else self.key
        line = f" (line {self.line})" if self.line else ""
        who = f"layer '{self.name}'" if self.name else "layer"
        return SpecError(self.source, key, f"{who}{line}: {message}")

    def int_at_least(self, field: str, value: object, low: int, what: str = "") -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            kind = "a positive integer" if low == 1 else f"an integer >= {low}"
            raise self.error(field, f"{what or field} must be {kind}, got {value!r}")
        return value

    def pair(self, field: str, value: object, low: int = 1) -> tuple[int, int]:
        """An int (both axes) or [height, width]."""
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise self.error(field, f"{field} must be an int or [height, width], got "
                                 f"{value!r}")
            return (self.int_at_least(field, value[0], low, f"{field} height"),
                    self.int_at_least(field, value[1], low, f"{field} width"))
        v = self.int_at_least(field, value, low)
        return (v, v)

    def padding(self, value: object) -> tuple[int, int, int, int] | str:
        allowed = ("an int, [height, width], [top, left, bottom, right], 'same' or 'valid'")
        if isinstance(value, str):
            if value.lower() not in PADDING_WORDS:
                raise self.error("padding", f"padding '{value}' is not allowed; use {allowed}")
            return value.lower()
        if isinstance(value, (list, tuple)):
            if len(value) == 2:
                h, w = self.pair("padding", value, low=0)
                return (h, w, h, w)
            if len(value) == 4:
                return tuple(self.int_at_least("padding", v, 0) for v in value)  # type: ignore
            raise self.error("padding", f"padding {value!r} has {len(value)} values; use "
                             f"{allowed}")
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error("padding", f"padding {value!r} is not allowed; use {allowed}")
        v = self.int_at_least("padding", value, 0)
        return (v, v, v, v)

    def choice(self, field: str, value: object, allowed: tuple[str, ...]) -> str:
        if not isinstance(value, str) or value.lower() not in allowed:
            raise self.error(field, f"{value!r} is not allowed for {field}; allowed: "
                             f"{', '.join(allowed)}{_suggest(value, allowed)}")
        return value.lower()

    def activation(self, value: object, required: bool) -> str | None:
        if value is None or (isinstance(value, str) and value.lower() in NO_ACTIVATION_WORDS):
            if required:
                raise self.error("activation", f"a standalone activation needs a function; "
                                 f"allowed: {', '.join(ACTIVATIONS)}")
            return None
        return self.choice("activation", value, ACTIVATIONS)

    def boolean(self, field: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise self.error(field, f"{field} must be true or false, got {value!r}")
        return value


def _suggest(word: object, allowed) -> str:
    if not isinstance(word, str):
        return ""
    near = difflib.get_close_matches(word.lower(), list(allowed), n=1, cutoff=0.5)
    return f" (did you mean '{near[0]}'?)" if near else ""


def _layer_spec(source: str, index: int, raw: object, previous: str) -> LayerSpec:
    """Validate layer number `index` (0-based) and return its LayerSpec."""
    key = f"layers[{index}]"
    if not isinstance(raw, dict):
        raise SpecError(source, key, f"each layer must be a mapping such as {{name: conv0, op: "
                        f"conv2d, ...}}, got {raw!r}")
    line = getattr(raw, "line", None)
    name = raw.get("name")
    check = _Checker(source, key, name if isinstance(name, str) else "", line)
    if name is None:
        raise check.error("name", "missing required key 'name'")
    if not isinstance(name, str) or not _NAME.match(name):
        raise check.error("name", f"name {name!r} must be a string of letters, digits, '_', "
                          f"'.', '-' that starts with a letter or '_'")
    op = raw.get("op")
    if op is None:
        raise check.error("op", f"missing required key 'op'; allowed ops: {', '.join(OPS)}")
    if not isinstance(op, str) or op not in OPS:
        raise check.error("op", f"unknown op {op!r}; allowed ops: {', '.join(OPS)}"
                          f"{_suggest(op, OPS)}")

    required, optional = OP_KEYS[op]
    allowed = COMMON_KEYS + required + optional
    for field in raw:
        if field not in allowed:
            others = [o for o, (req, opt) in OP_KEYS.items() if field in req + opt]
            belongs = f" ('{field}' belongs to op {', '.join(others)})" if others else ""
            raise check.error(str(field), f"unknown key '{field}' for op '{op}'{belongs}"
                              f"{_suggest(field, allowed)}; allowed keys: {', '.join(allowed)}")
    for field in required:
        if field not in raw:
            raise check.error(field, f"missing required key '{field}' for op '{op}'; "
                              f"required: {', '.join(required)}")

    inputs = raw.get("inputs", [previous])
    if isinstance(inputs, str):
        inputs = [inputs]
    if (not isinstance(inputs, list) or not inputs
            or not all(isinstance(ref, str) for ref in inputs)):
        raise check.error("inputs", f"inputs must be a layer name or a non-empty list of "
                          f"layer names ('{INPUT_NODE}' is the graph input), got {inputs!r}")
    if op in SINGLE_INPUT_OPS and len(inputs) != 1:
        raise check.error("inputs", f"op '{op}' reads exactly one input, got {len(inputs)}: "
                          f"{inputs}")
    if op in MULTI_INPUT_OPS and len(inputs) < 2:
        raise check.error("inputs", f"op '{op}' needs at least 2 inputs, got {inputs}; to "
                          f"forward one layer, name it in the next layer's inputs instead")

    fields: dict = {}
    if "out_channels" in raw:
        fields["out_channels"] = check.int_at_least("out_channels", raw["out_channels"], 1)
    if "out_features" in raw:
        fields["out_features"] = check.int_at_least("out_features", raw["out_features"], 1)
    if "kernel" in raw:
        fields["kernel"] = check.pair("kernel", raw["kernel"])
    if "stride" in raw:
        fields["stride"] = check.pair("stride", raw["stride"])
    if "dilation" in raw:
        fields["dilation"] = check.pair("dilation", raw["dilation"])
    if "padding" in raw:
        fields["padding"] = check.padding(raw["padding"])
    if "groups" in raw:
        fields["groups"] = check.int_at_least("groups", raw["groups"], 1)
    if "bias" in raw:
        fields["bias"] = check.boolean("bias", raw["bias"])
    if op in FUSABLE_ACTIVATION_OPS or op == "activation":
        fields["activation"] = check.activation(raw.get("activation"), op == "activation")
    if "scale" in raw:
        fields["scale"] = check.int_at_least("scale", raw["scale"], 1)
    if "mode" in raw:
        fields["mode"] = check.choice("mode", raw["mode"], UPSAMPLE_MODES)
    return LayerSpec(name=name, op=op, inputs=tuple(inputs), index=index, key=key, line=line,
                     **fields)


# --- files ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class NetworkFile:
    """A validated network file, not yet shaped: `build()` shapes it for a size and batch."""

    path: Path | None            # None: built from a dict in Python
    name: str
    description: str
    reference: str
    input_channels: int
    default_input_size: tuple[int, int]
    specs: tuple[LayerSpec, ...]

    def build(self, input_size: object = None, batch: int = 1) -> Network:
        """Shape the network for `input_size` (None: the file's default) and `batch`."""
        size = self.default_input_size if input_size is None else input_size
        return build_network(self.specs, name=self.name, input_channels=self.input_channels,
                             input_size=size, batch=batch, source_path=self.path,
                             description=self.description, reference=self.reference,
                             default_input_size=self.default_input_size)


def _unknown_keys(source: str, where: str, mapping: dict, allowed: tuple[str, ...]) -> None:
    for key in mapping:
        if key not in allowed:
            path = f"{where}.{key}" if where else str(key)
            raise SpecError(source, path, f"unknown key '{key}'{_suggest(key, allowed)}; "
                            f"allowed keys: {', '.join(allowed)}")


def parse_network_file(path: str | Path) -> NetworkFile:
    """Read and validate a network YAML file (no shapes yet); SpecError on any problem."""
    path = Path(path)
    return parse_network_doc(_read_yaml(path), str(path), path.stem, path)


def parse_network_doc(doc: object, source: str, default_name: str, path: Path | None = None) -> NetworkFile:
    """Validate a network mapping (a YAML file's content, or the same dict from Python)."""
    if not isinstance(doc, dict):
        raise SpecError(source, "", "a network file must be a mapping with keys "
                        f"{', '.join(TOP_KEYS)}; got {type(doc).__name__}")
    _unknown_keys(source, "", doc, TOP_KEYS)
    name = doc.get("name", default_name)
    if not isinstance(name, str) or not name:
        raise SpecError(source, "name", f"name must be a non-empty string, got {name!r}")
    for text_key in ("description", "source"):
        if not isinstance(doc.get(text_key, ""), str):
            raise SpecError(source, text_key, f"{text_key} must be a string")

    net_input = doc.get("input")
    if not isinstance(net_input, dict):
        raise SpecError(source, "input", "missing or invalid 'input'; write e.g. "
                        "input: {channels: 3, size: [608, 608]}")
    _unknown_keys(source, "input", net_input, INPUT_KEYS)
    for key in INPUT_KEYS:
        if key not in net_input:
            raise SpecError(source, f"input.{key}", f"missing required key 'input.{key}'; "
                            f"write e.g. input: {{channels: 3, size: [608, 608]}}")
    channels = net_input["channels"]
    if isinstance(channels, bool) or not isinstance(channels, int) or channels <= 0:
        raise SpecError(source, "input.channels", f"input.channels must be a positive integer, "
                        f"got {channels!r}")
    try:
        size = check_input_size(source, net_input["size"])
    except SpecError as exc:
        raise SpecError(source, "input.size", exc.message) from None

    raw_layers = doc.get("layers")
    if not isinstance(raw_layers, list) or not raw_layers:
        raise SpecError(source, "layers", "missing or empty 'layers'; it must be a list of "
                        "layers such as - {name: conv0, op: conv2d, out_channels: 32, kernel: 3}")
    specs = []
    previous = INPUT_NODE
    for index, raw in enumerate(raw_layers):
        spec = _layer_spec(source, index, raw, previous)
        specs.append(spec)
        previous = spec.name
    return NetworkFile(path=path, name=name, description=doc.get("description", ""),
                       reference=doc.get("source", ""), input_channels=channels,
                       default_input_size=size, specs=tuple(specs))


def kernels_dir() -> Path:
    """Where bundled networks live: $NPUSIM_KERNELS_DIR, else the repository's kernels/."""
    env = os.environ.get(KERNELS_DIR_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "kernels"


def bundled_networks() -> dict[str, Path]:
    """Bundled network names (file stems in `kernels_dir()`) -> their YAML paths, sorted."""
    folder = kernels_dir()
    if not folder.is_dir():
        return {}
    files = sorted(list(folder.glob("*.yaml")) + list(folder.glob("*.yml")))
    return {path.stem: path for path in files}


def resolve_network_path(name_or_path: str | Path) -> Path:
    """A bundled name ('yolov3') or a path to a YAML file -> the file's path."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        raise SpecError("<python>", "network", f"a network is a bundled name, a YAML or ONNX path, or a mapping "
                                               f"with a YAML file's keys; got {type(name_or_path).__name__}")
    text = str(name_or_path)
    path = Path(text)
    looks_like_path = (isinstance(name_or_path, Path) or path.suffix in (".yaml", ".yml", ".onnx")
                       or "/" in text or os.sep in text)
    if looks_like_path:
        try:
            found = path.is_file()
        except OSError as exc:                 # a name too long for the file system, say
            raise SpecError(text[:80], "", f"not a network file: {exc.strerror}") from None
        if not found:
            raise SpecError(text, "", "no such network file (give a bundled network name, or "
                            "the path to a YAML or ONNX file)")
        return path
    bundled = bundled_networks()
    if text in bundled:
        return bundled[text]
    if path.is_file():
        return path
    near = difflib.get_close_matches(text, list(bundled), n=3)
    hint = f" (did you mean {', '.join(near)}?)" if near else ""
    raise SpecError(text, "", f"unknown network '{text}'{hint}; bundled networks: "
                    f"{', '.join(bundled) or '(none found in ' + str(kernels_dir()) + ')'}; "
                    f"or give the path to a YAML file")


def load_network(name_or_path: str | Path, input_size: object = None,
                 batch: int = 1, skip_unsupported: bool = False) -> Network:
    """Load a bundled network by name, or a YAML or ONNX file by path, shaped for (h, w) and batch.

    `input_size` is None (the file's default), an int (square), (h, w) or 'HxW'. An ONNX file
    (suffix .onnx) is imported by workload/from_onnx.py; `skip_unsupported` makes the ops it does
    not model passthroughs (with a warning) instead of an error.
    """
    if isinstance(name_or_path, Mapping):
        return parse_network_doc(dict(name_or_path), "<python>", "network").build(input_size, batch)
    path = resolve_network_path(name_or_path)
    if path.suffix.lower() == ".onnx":
        from simulator.workload.from_onnx import load_onnx
        return load_onnx(path, input_size, batch, skip_unsupported)
    return parse_network_file(path).build(input_size, batch)
