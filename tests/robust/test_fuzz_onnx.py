"""The ONNX reader on damaged files: every byte string is a network or a SpecError, never a traceback.

Mutations of a small valid model (byte flips, truncations, spliced garbage) and of its graph
(nodes dropped or reordered, shapes or attributes altered) go through `load_network`.
"""
import os
import random
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

onnx = pytest.importorskip("onnx")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.workload import onnx_models as M  # noqa: E402

from simulator.errors import SpecError  # noqa: E402
from simulator.workload import load_network  # noqa: E402

EXAMPLES = int(os.environ.get("NPUSIM_FUZZ_EXAMPLES", "40"))
VALID = M.small_cnn().SerializeToString()


def _load(tmp_path, data: bytes, name: str):
    path = tmp_path / name
    path.write_bytes(data)
    try:
        load_network(str(path))
    except SpecError:
        pass


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1, max_size=8),
       st.integers(0, len(VALID)), st.binary(max_size=32))
def test_mutated_bytes_load_or_are_refused(tmp_path_factory, flips, cut, garbage):
    """Flipped bytes, a truncation and spliced garbage: a network or a SpecError."""
    data = bytearray(VALID)
    for pos, value in flips:
        data[pos] = value
    data = bytes(data[:cut]) + garbage + bytes(data[cut:]) if garbage else bytes(data[:max(cut, 1)])
    _load(tmp_path_factory.mktemp("onnx"), data, "m.onnx")


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_mutated_graphs_load_or_are_refused(tmp_path_factory, seed):
    """Nodes dropped, reordered or rewired, dims and attributes changed: a network or a SpecError."""
    rng = random.Random(seed)
    model = M.small_cnn()
    nodes = list(model.graph.node)
    for _ in range(rng.randint(1, 4)):
        what = rng.choice(["drop", "swap", "rewire", "dim", "attr"])
        if what == "drop" and len(nodes) > 1:
            nodes.pop(rng.randrange(len(nodes)))
        elif what == "swap" and len(nodes) > 1:
            i, j = rng.randrange(len(nodes)), rng.randrange(len(nodes))
            nodes[i], nodes[j] = nodes[j], nodes[i]
        elif what == "rewire" and nodes:
            n = rng.choice(nodes)
            if n.input:
                n.input[rng.randrange(len(n.input))] = rng.choice(["nowhere", n.output[0] if n.output else "x"])
        elif what == "dim":
            dims = model.graph.input[0].type.tensor_type.shape.dim
            if dims:
                dims[rng.randrange(len(dims))].dim_value = rng.choice([0, 1, 3, 10**9])
        elif what == "attr" and nodes:
            n = rng.choice(nodes)
            if n.attribute:
                a = n.attribute[rng.randrange(len(n.attribute))]
                if a.ints:
                    a.ints[rng.randrange(len(a.ints))] = rng.choice([0, -1, 99])
                elif a.HasField("i"):
                    a.i = rng.choice([0, -1, 99])
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    _load(tmp_path_factory.mktemp("onnx"), model.SerializeToString(), "g.onnx")
