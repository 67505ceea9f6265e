"""An ONNX model -> Network: shapes from ONNX shape inference, one layer per op that does work.

`load_onnx(path, input_size, batch)` reads the model without its weights (`onnx_read`), sets
the first graph input's batch and spatial size (`--input HxW`; for a sequence model, `--input S`
sets the sequence length), runs ONNX shape inference with data propagation, and walks the nodes
in topological order:

- Tensors computed from the graph input are *activations*; everything else (initializers,
  Constant, and Shape / Gather / Cast / ConstantOfShape / Concat ... on shapes) is known before
  the run and costs nothing. Graph inputs after the first (a BERT attention mask, token types)
  are treated the same way: supplied with the weights, not computed on the chip.
- Each activation node becomes one layer (`onnx_ops.translate`) on the unit that would run it:
  Conv, ConvTranspose, Gemm and MatMul on the arrays, the rest on the vector units.
- Folded into the producing layer, as a compiler for an accelerator does: BatchNormalization
  (into the conv's bias), an Add of a per-channel constant after a GEMM (its bias), the
  activations npusim fuses (relu, relu6 = Clip(0, 6), leaky_relu, sigmoid, silu = x * Sigmoid(x))
  into conv / fc / add / pools with one consumer, QuantizeLinear after a layer (the requantization
  in its output path) and DequantizeLinear (the consumer reads the int8 tensor), and a Flatten read
  only by Gemms (an fc reads its input flattened anyway).

Ops outside `onnx_ops.SUPPORTED` are one SpecError listing every type with its count and node
names; with `skip_unsupported=True` they become passthroughs and an `UnsupportedOpsWarning`
lists them instead.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from math import prod
from pathlib import Path

import networkx as nx

from simulator.errors import SpecError
from simulator.workload.graph import Network, check_input_size, network_from_layers
from simulator.workload.onnx_ops import QUANTIZED_OPS, SUPPORTED, Draft, Translator, chw
from simulator.workload.onnx_read import read_model
from simulator.workload.ops import Layer, infer_layer, input_layer

# the oldest default-domain opset whose operators this importer reads (Resize, Clip's inputs,
# Split's sizes are handled in both their old and new forms from here on)
MIN_OPSET = 7


class UnsupportedOpsWarning(UserWarning):
    """Ops npusim does not model were skipped as passthroughs (`skip_unsupported=True`)."""


@dataclass
class _Model:
    """The model after shape inference: what the translation reads."""
    source: str
    graph: object
    nodes: list
    dims: dict[str, tuple[int, ...] | None]         # tensor -> static dims (None: unknown)
    elem_type: dict[str, int]
    constants: dict[str, object] = field(default_factory=dict)   # tensor -> small numpy value
    initializers: set[str] = field(default_factory=set)


def load_onnx(path: str | Path, input_size: object = None, batch: int = 1,
              skip_unsupported: bool = False) -> Network:
    """Load an ONNX file as a Network for `input_size` (None: the model's own) and `batch`."""
    path = Path(path)
    model = read_model(path)
    return network_from_onnx(model, path, input_size, batch, skip_unsupported)


def network_from_onnx(model, path: Path, input_size: object = None, batch: int = 1,
                      skip_unsupported: bool = False) -> Network:
    """Translate an onnx.ModelProto (weights optional) into a Network; see the module docstring."""
    source = str(path)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise SpecError(source, "batch", f"batch must be a positive integer, got {batch!r}")
    _check_opset(model, source)
    graph = model.graph
    init_names = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    if not inputs:
        raise SpecError(source, "graph.input", "the model has no graph input besides its weights; "
                        "npusim needs the input tensor's shape")
    primary = inputs[0]
    default_hw, dims_of_input = _input_dims(source, primary, inputs[1:], input_size, batch)
    inferred = _infer(model, source, dims_of_input)
    m = _collect(inferred, source)
    nodes = _topological(m, source, {i.name for i in inputs})
    m.nodes = nodes
    precision = _precision(m, primary)

    in_dims = m.dims[primary.name]
    in_shape = chw(in_dims, batch)
    if len(in_dims) == 2:                        # token ids [N, S]: one channel, S rows
        in_shape = (1, in_dims[1], 1)
    translator = Translator(m, batch, primary.name, in_shape)
    drafts, unsupported = translator.run()
    if unsupported and not skip_unsupported:
        raise SpecError(source, "graph.node", _unsupported_message(unsupported, skip=False))
    if unsupported:
        warnings.warn(UnsupportedOpsWarning(f"{source}: {_unsupported_message(unsupported, True)}"),
                      stacklevel=2)
    layers = _shape_layers(drafts, in_shape, batch, source)
    name = graph.name or path.stem
    if name == "torch_jit" or name == "main_graph":      # exporters' default graph names
        name = path.stem
    return network_from_layers(
        layers, name=name, input_layer_=input_layer(in_shape[0], in_shape[1:], batch),
        source_path=path, input_size=in_shape[1:], batch=batch, description=graph.doc_string,
        reference=model.producer_name, default_input_size=default_hw, precision=precision)


# --- opset, inputs, shape inference --------------------------------------------------------

def _check_opset(model, source: str) -> None:
    import onnx
    newest = onnx.defs.onnx_opset_version()
    default = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")]
    if not default:
        raise SpecError(source, "opset_import", "the model imports no version of the default "
                        "ONNX operator set (ai.onnx); re-export it with an opset, e.g. 17")
    version = default[0]
    if version > newest:
        raise SpecError(source, "opset_import", f"the model uses ONNX opset {version}, newer than "
                        f"the installed onnx package {onnx.__version__} knows (up to {newest}); "
                        f"upgrade onnx or re-export the model with opset <= {newest}")
    if version < MIN_OPSET:
        raise SpecError(source, "opset_import", f"the model uses ONNX opset {version}; npusim "
                        f"reads opset {MIN_OPSET} to {newest}; convert it with "
                        f"onnx.version_converter.convert_version(model, 17)")


def _shape_of(value_info) -> list[int | str | None]:
    """Dims of a ValueInfo: int, a symbolic name, or None (unknown)."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return []
    out = []
    for d in t.shape.dim:
        if d.HasField("dim_value") and d.dim_value > 0:
            out.append(int(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            out.append(d.dim_param)
        else:
            out.append(None)
    return out


def _input_dims(source: str, primary, others, input_size, batch: int):
    """(default (h, w) or None, {input name: dims}) for the first input and the others."""
    key = f"graph.input[{primary.name}]"
    dims = _shape_of(primary)
    t = primary.type.tensor_type
    if not t.HasField("shape") or not dims:
        raise SpecError(source, key, f"the graph input '{primary.name}' has no shape; npusim "
                        f"needs its rank, e.g. [N, C, H, W] (re-export with an example input "
                        f"of the right rank)")
    rank = len(dims)
    if rank not in (2, 3, 4):
        raise SpecError(source, key, f"the graph input '{primary.name}' has rank {rank} "
                        f"({dims}); npusim reads images [N, C, H, W] and sequences [N, S] or "
                        f"[N, S, D]")
    spatial = (2, 3) if rank == 4 else (1,)
    static = all(isinstance(dims[i], int) for i in spatial)
    default_hw = ((dims[2], dims[3]) if rank == 4 else (dims[1], 1)) if static else None
    symbols: dict[str, int] = {}
    if isinstance(dims[0], str):
        symbols[dims[0]] = batch
    dims[0] = batch
    if input_size is not None:
        h, w = check_input_size(source, input_size)
        if rank == 4:
            new = {2: h, 3: w}
        else:
            if w not in (1, h):
                raise SpecError("--input", "input", f"'{primary.name}' is a sequence "
                                f"{_fmt_dims(dims)}: give its length as --input S (or Sx1), "
                                f"got {h}x{w}")
            new = {1: h}
        for i, v in new.items():
            if isinstance(dims[i], str):
                symbols[dims[i]] = v
            dims[i] = v
    missing = [i for i, d in enumerate(dims) if not isinstance(d, int)]
    if missing:
        what = "H x W" if rank == 4 else "sequence length"
        raise SpecError(source, key, f"the graph input '{primary.name}' has dynamic dims "
                        f"{_fmt_dims(dims)}; give the {what} with --input (input_size=...) "
                        f"{'HxW, e.g. 224x224' if rank == 4 else 'S, e.g. 384'}")
    result = {primary.name: dims}
    for other in others:
        odims = _shape_of(other)
        for i, d in enumerate(odims):
            if isinstance(d, str) and d in symbols:
                odims[i] = symbols[d]
            elif i == 0 and not isinstance(d, int):
                odims[i] = batch
            elif not isinstance(d, int):
                raise SpecError(source, f"graph.input[{other.name}]",
                                f"the graph input '{other.name}' has a dynamic dim {i} "
                                f"({d!r}) that the first input's dims do not name; give it a "
                                f"static size when exporting")
        result[other.name] = odims
    return default_hw, result


def _fmt_dims(dims) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def _infer(model, source: str, input_dims: dict[str, list[int]]):
    """Shape inference with the graph inputs set to `input_dims` (previous results dropped)."""
    import onnx
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for vi in m.graph.input:
        if vi.name in input_dims:
            shape = vi.type.tensor_type.shape
            for d, v in zip(shape.dim, input_dims[vi.name]):
                d.Clear()
                d.dim_value = v
    del m.graph.value_info[:]
    for vi in m.graph.output:                  # recomputed; old static dims would conflict
        vi.type.tensor_type.ClearField("shape")
    try:
        return onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)
    except Exception as exc:                   # noqa: BLE001  (onnx raises several types)
        first = str(exc).strip().splitlines()
        text = first[0] if first else type(exc).__name__
        if "No Op registered" in text or "is not a registered function" in text:
            # an op shape inference does not know: reported with the others below
            return onnx.shape_inference.infer_shapes(m, strict_mode=False, data_prop=True)
        sizes = ", ".join(f"{k} {_fmt_dims(v)}" for k, v in input_dims.items())
        raise SpecError(source, "graph", f"ONNX shape inference fails for inputs {sizes}: "
                        f"{text[:600]}; if the model was exported for one input size, export it "
                        f"with dynamic axes or give that size with --input") from None


def _collect(model, source: str) -> _Model:
    from onnx import numpy_helper
    graph = model.graph
    dims: dict[str, tuple[int, ...] | None] = {}
    elem: dict[str, int] = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        d = _shape_of(vi)
        known = vi.type.tensor_type.HasField("shape") and all(isinstance(v, int) for v in d)
        dims[vi.name] = tuple(d) if known else None
        elem[vi.name] = vi.type.tensor_type.elem_type
    m = _Model(source=source, graph=graph, nodes=list(graph.node), dims=dims, elem_type=elem)
    for t in graph.initializer:
        dims[t.name] = tuple(int(v) for v in t.dims)
        elem[t.name] = t.data_type
        m.initializers.add(t.name)
        if t.data_location != 1 and prod(t.dims) <= 1024 and _has_data(t):
            try:
                m.constants[t.name] = numpy_helper.to_array(t)
            except Exception:              # noqa: BLE001  (a malformed constant: value unknown)
                pass
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            for a in node.attribute:
                if a.name == "value":
                    try:
                        m.constants[node.output[0]] = numpy_helper.to_array(a.t)
                    except Exception:      # noqa: BLE001
                        pass
                elif a.name in ("value_ints", "value_floats"):
                    import numpy as np
                    m.constants[node.output[0]] = np.array(list(a.ints or a.floats))
                elif a.name in ("value_int", "value_float"):
                    import numpy as np
                    m.constants[node.output[0]] = np.array(a.i if a.name == "value_int" else a.f)
    return m


def _has_data(t) -> bool:
    return bool(t.raw_data or t.float_data or t.int32_data or t.int64_data or t.double_data
                or t.uint64_data)


def _topological(m: _Model, source: str, graph_inputs: set[str]) -> list:
    """The nodes in topological order (the file's order where it is one); cycles are errors."""
    nodes = m.nodes
    producer = {}
    for i, node in enumerate(nodes):
        for out in node.output:
            if out:
                producer[out] = i
    known = graph_inputs | m.initializers
    g = nx.DiGraph()
    g.add_nodes_from(range(len(nodes)))
    for i, node in enumerate(nodes):
        for inp in node.input:
            if not inp:
                continue
            if inp in producer:
                g.add_edge(producer[inp], i)
            elif inp not in known:
                raise SpecError(source, f"graph.node[{_node_label(node, i)}]",
                                f"node '{_node_label(node, i)}' ({node.op_type}) reads tensor "
                                f"'{inp}', which no node, initializer or graph input defines")
    if not nx.is_directed_acyclic_graph(g):
        cycle = [u for u, _ in nx.find_cycle(g)]
        path = " -> ".join(_node_label(nodes[i], i) for i in cycle + cycle[:1])
        raise SpecError(source, f"graph.node[{_node_label(nodes[cycle[0]], cycle[0])}]",
                        f"the nodes form a cycle: {path} (each arrow: output read by); an ONNX "
                        f"graph must be acyclic")
    order = list(nx.lexicographical_topological_sort(g))
    return [nodes[i] for i in order]


def _node_label(node, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def _precision(m: _Model, primary) -> str | None:
    from onnx import TensorProto
    if any(n.op_type in QUANTIZED_OPS for n in m.nodes):
        return "int8"
    return {TensorProto.FLOAT: "fp32", TensorProto.FLOAT16: "fp16",
            TensorProto.BFLOAT16: "bf16"}.get(primary.type.tensor_type.elem_type)


# --- messages and shaping -------------------------------------------------------------------

def _unsupported_message(unsupported: dict[str, list[str]], skip: bool) -> str:
    total = sum(len(v) for v in unsupported.values())
    parts = []
    for op, names in sorted(unsupported.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        shown = ", ".join(names[:5]) + (f", ... ({len(names) - 5} more)" if len(names) > 5 else "")
        parts.append(f"{op} x{len(names)} ({shown})")
    if skip:
        return (f"skipped {total} node(s) npusim does not model, as passthroughs that cost "
                f"nothing (the result undercounts their work): {'; '.join(parts)}")
    return (f"{total} node(s) of {len(unsupported)} op type(s) npusim does not model: "
            f"{'; '.join(parts)}. Supported ops: {', '.join(sorted(SUPPORTED))}. Give "
            f"--skip-unsupported (skip_unsupported=True) to run them as passthroughs that cost "
            f"nothing, with a warning listing them")


def _shape_layers(drafts: list[Draft], in_shape, batch: int, source: str) -> list[Layer]:
    """Drafts -> shaped Layers: YAML-equivalent ops through `infer_layer`, the rest as given."""
    shapes = {"input": tuple(in_shape)}
    layers = []
    for index, d in enumerate(drafts):
        in_shapes = tuple(shapes[ref] for ref in d.inputs)
        if d.spec is not None:
            spec = replace(d.spec, index=index, activation=d.activation,
                           bias=d.bias if d.bias is not None else d.spec.bias)
            layer = infer_layer(spec, in_shapes, batch, source, in_shape[1:])
            if d.expect_shape is not None and prod(layer.out_shape) != prod(d.expect_shape):
                raise SpecError(source, f"graph.node[{d.name}]",
                                f"node '{d.name}' gives {layer.out_shape} by npusim's rules but "
                                f"{d.expect_shape} by ONNX shape inference")
        else:
            fields = dict(d.fields)
            if "in_shape0" in fields:           # a GEMM's view of its first operand
                in_shapes = (fields.pop("in_shape0"),) + in_shapes[1:]
            fields["in_shapes"] = in_shapes
            layer = Layer(name=d.name, op=d.op, inputs=d.inputs, batch=batch, index=index,
                          activation=d.activation, bias=bool(d.bias), **fields)
        shapes[d.name] = layer.out_shape
        layers.append(layer)
    return layers
