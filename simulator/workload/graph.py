"""The network: a DAG of shaped layers held in a networkx DiGraph, with totals.

Nodes are layer names with the attribute `layer` (a `Layer`); the graph input is the node
'input' (op 'input', no MACs). An edge producer -> consumer exists for every name in a layer's
`inputs`. `Network.layers` is a deterministic topological order (ties broken by the order in
the file) that excludes 'input'. `build_network` checks names and references, rejects cycles
and shapes every layer for one input size and batch; every failure is a SpecError.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import networkx as nx

from simulator.errors import SpecError
from simulator.workload.ops import Layer, LayerSpec, infer_layer, input_layer

INPUT_NODE = "input"


@dataclass(frozen=True, eq=False)
class Network:
    """A shaped network for one input size (h, w) and batch.

    `source_path` is the YAML file (None when built in Python); `reference` is the file's
    `source:` (where the architecture comes from); `default_input_size` the file's own size.
    """

    name: str
    source_path: Path | None
    input_size: tuple[int, int]
    input_channels: int
    batch: int
    graph: nx.DiGraph = field(repr=False)
    layers: tuple[Layer, ...] = field(repr=False)
    description: str = ""
    reference: str = ""
    default_input_size: tuple[int, int] | None = None
    precision: str | None = None         # what an imported model says ('int8', 'fp32'), else None

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def layer(self, name: str) -> Layer:
        """The layer called `name` ('input' gives the input pseudo-layer)."""
        try:
            return self.graph.nodes[name]["layer"]
        except KeyError:
            near = difflib.get_close_matches(name, list(self.graph.nodes), n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise KeyError(f"no layer '{name}' in network '{self.name}'{hint}") from None

    def producers(self, name: str) -> tuple[str, ...]:
        """Names of the layers `name` reads, in its `inputs` order (duplicates removed)."""
        self.layer(name)
        if name == INPUT_NODE:
            return ()
        return tuple(dict.fromkeys(self.layer(name).inputs))

    def consumers(self, name: str) -> tuple[str, ...]:
        """Names of the layers that read `name`, in topological order."""
        self.layer(name)
        order = self._order
        return tuple(sorted(self.graph.successors(name), key=order.__getitem__))

    @cached_property
    def _order(self) -> dict[str, int]:
        order = {layer.name: i for i, layer in enumerate(self.layers)}
        order[INPUT_NODE] = -1
        return order

    @property
    def outputs(self) -> tuple[str, ...]:
        """Layers nobody reads (the network outputs), in topological order."""
        return tuple(layer.name for layer in self.layers if self.graph.out_degree(layer.name) == 0)

    @property
    def total_macs(self) -> int:
        """Sum of MACs over all layers (conv2d, fc, matmul), batch included."""
        return sum(layer.macs for layer in self.layers)

    @property
    def total_weight_elems(self) -> int:
        """Sum of weight elements (k*c*r*s) over MAC layers; biases excluded."""
        return sum(layer.weight_elems for layer in self.layers)

    @property
    def total_bias_elems(self) -> int:
        """Sum of bias elements (one per output channel of a MAC layer with bias)."""
        return sum(layer.bias_elems for layer in self.layers)

    @property
    def total_vector_elems(self) -> int:
        """Sum of `Layer.vector_elems`: element-operations outside the MAC array."""
        return sum(layer.vector_elems for layer in self.layers)

    @property
    def num_conv_layers(self) -> int:
        """Number of conv2d layers."""
        return sum(1 for layer in self.layers if layer.op == "conv2d")

    @property
    def peak_activation_elems(self) -> int:
        """The largest single layer output in elements (batch included; input excluded)."""
        return max((layer.output_elems for layer in self.layers), default=0)

    def to_dict(self) -> dict:
        """A JSON-ready summary: sizes, totals and every layer's `to_dict()`."""
        return {
            "name": self.name, "source_path": str(self.source_path) if self.source_path else None,
            "input_size": list(self.input_size), "input_channels": self.input_channels,
            "batch": self.batch, "total_macs": self.total_macs,
            "total_weight_elems": self.total_weight_elems,
            "total_bias_elems": self.total_bias_elems,
            "num_conv_layers": self.num_conv_layers,
            "peak_activation_elems": self.peak_activation_elems,
            "layers": [layer.to_dict() for layer in self.layers],
        }


def _check_positive(source: str, key: str, value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise SpecError(source, key, f"{what} must be a positive integer, got {value!r}")
    return value


def check_input_size(source: str, size: object) -> tuple[int, int]:
    """An input size given as an int (square), 'HxW' or (h, w) -> (h, w) of positive ints."""
    value = size
    if isinstance(size, str):
        parts = size.lower().replace(" ", "").split("x")
        try:
            value = [int(v) for v in parts]
        except ValueError:
            raise SpecError(source, "input_size", f"input size '{size}' is not HxW, e.g. "
                            f"608x608") from None
        if len(value) == 1:
            value = value * 2
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise SpecError(source, "input_size", f"input size must be an int or (height, width), "
                        f"got {size!r}")
    h = _check_positive(source, "input_size", value[0], "input height")
    w = _check_positive(source, "input_size", value[1], "input width")
    return (h, w)


def _near(name: str, names: Sequence[str]) -> str:
    near = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""


def build_network(specs: Sequence[LayerSpec], *, name: str, input_channels: int,
                  input_size: object, batch: int = 1, source_path: Path | None = None,
                  description: str = "", reference: str = "",
                  default_input_size: tuple[int, int] | None = None) -> Network:
    """Check names and references, reject cycles, shape every layer; return the Network.

    `input_size` is an int, (h, w) or 'HxW'. Errors name `source_path` and the layer's key.
    """
    source = str(source_path) if source_path is not None else "<python>"
    size_hw = check_input_size(source, input_size)
    batch = _check_positive(source, "batch", batch, "batch")
    channels = _check_positive(source, "input.channels", input_channels, "input channels")

    by_name: dict[str, LayerSpec] = {}
    for spec in specs:
        where = spec.key or spec.name
        line = f" (line {spec.line})" if spec.line else ""
        if spec.name == INPUT_NODE:
            raise SpecError(source, f"{where}.name", f"'{INPUT_NODE}' is the graph input and "
                            f"cannot name a layer{line}")
        if spec.name in by_name:
            first = by_name[spec.name]
            raise SpecError(source, f"{where}.name", f"duplicate layer name '{spec.name}'{line}; "
                            f"first defined at {first.key or 'an earlier layer'}; names must "
                            f"be unique")
        by_name[spec.name] = spec

    known = [INPUT_NODE] + list(by_name)
    graph = nx.DiGraph()
    graph.add_node(INPUT_NODE)
    for spec in specs:
        graph.add_node(spec.name)
    for spec in specs:
        for ref in spec.inputs:
            if ref not in graph:
                raise SpecError(source, f"{spec.key or spec.name}.inputs",
                                f"layer '{spec.name}' reads '{ref}', which is not a layer "
                                f"name nor '{INPUT_NODE}'{_near(ref, known)}")
            graph.add_edge(ref, spec.name)

    if not nx.is_directed_acyclic_graph(graph):
        cycle = [u for u, _ in nx.find_cycle(graph)]
        first = min(cycle, key=lambda n: by_name[n].index)
        path = " -> ".join(cycle[cycle.index(first):] + cycle[:cycle.index(first)] + [first])
        raise SpecError(source, f"{by_name[first].key or first}.inputs",
                        f"the layers form a cycle: {path} (each arrow: read by); a network "
                        f"must be a DAG")

    position = {spec.name: spec.index for spec in specs}
    position[INPUT_NODE] = -1
    order = [n for n in nx.lexicographical_topological_sort(graph, key=position.__getitem__)
             if n != INPUT_NODE]

    graph.nodes[INPUT_NODE]["layer"] = input_layer(channels, size_hw, batch)
    shapes = {INPUT_NODE: (channels,) + size_hw}
    layers = []
    for node in order:
        spec = by_name[node]
        layer = infer_layer(spec, tuple(shapes[ref] for ref in spec.inputs), batch, source,
                            size_hw)
        shapes[node] = layer.out_shape
        graph.nodes[node]["layer"] = layer
        layers.append(layer)

    return Network(name=name, source_path=source_path, input_size=size_hw,
                   input_channels=channels, batch=batch, graph=graph, layers=tuple(layers),
                   description=description, reference=reference,
                   default_input_size=default_input_size)


def network_from_layers(layers: Sequence[Layer], *, name: str, input_layer_: Layer,
                        source_path: Path | None, input_size: tuple[int, int], batch: int,
                        description: str = "", reference: str = "",
                        default_input_size: tuple[int, int] | None = None,
                        precision: str | None = None) -> Network:
    """A Network from layers already shaped and in topological order (an imported model).

    Every name in a layer's `inputs` must be 'input' or an earlier layer (the importer checks
    this and reports cycles itself), so the given order is kept.
    """
    graph = nx.DiGraph()
    graph.add_node(INPUT_NODE, layer=input_layer_)
    for layer in layers:
        graph.add_node(layer.name, layer=layer)
        for ref in layer.inputs:
            assert ref in graph, f"{layer.name} reads {ref} before it is defined"
            graph.add_edge(ref, layer.name)
    return Network(name=name, source_path=source_path, input_size=input_size,
                   input_channels=input_layer_.out_shape[0], batch=batch, graph=graph,
                   layers=tuple(layers), description=description, reference=reference,
                   default_input_size=default_input_size, precision=precision)
