"""Bundled networks: reference figures, shapes against SCALE-Sim topologies, graph structure."""
from __future__ import annotations

import csv
import math
from pathlib import Path

import networkx as nx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulator.workload import (INPUT_NODE, Layer, LayerSpec, Network, build_network,
                                bundled_networks, load_network)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scalesim"
BUNDLED = ("yolov3", "resnet50", "mobilenet_v2", "conv_micro")


def _scalesim_rows(name: str) -> list[dict]:
    """Rows of a SCALE-Sim topology CSV (header skipped, trailing comma ignored)."""
    with open(FIXTURES / name, newline="") as f:
        rows = [[cell.strip() for cell in row if cell.strip()] for row in csv.reader(f)]
    out = []
    for row in rows[1:]:
        name_, h, w, fh, fw, ch, nf, stride = row
        out.append(dict(name=name_, h=int(h), w=int(w), fh=int(fh), fw=int(fw), c=int(ch),
                        k=int(nf), stride=int(stride)))
    return out


def _convs(net: Network) -> list[Layer]:
    return [layer for layer in net.layers if layer.op == "conv2d"]


# --- YOLOv3 ------------------------------------------------------------------------------------

def test_bundled_networks_lists_the_four_files():
    """bundled_networks() maps each bundled stem to its YAML file."""
    found = bundled_networks()
    for name in BUNDLED:
        assert found[name].name == f"{name}.yaml" and found[name].is_file()


def test_yolov3_608_reference_figures():
    """YOLOv3 at 608: 70,345,950,208 conv MACs, 61,895,776 weights, 75 convs, peak 11,829,248."""
    net = load_network("yolov3")
    assert net.input_size == (608, 608) and net.input_channels == 3 and net.batch == 1
    assert net.total_macs == 70_345_950_208
    assert sum(layer.macs for layer in _convs(net)) == 70_345_950_208
    assert net.total_weight_elems == 61_895_776
    assert net.num_conv_layers == 75
    assert net.peak_activation_elems == 11_829_248 == 608 * 608 * 32
    assert net.layer("conv0").output_elems == net.peak_activation_elems


def test_yolov3_all_parameters_with_bn_and_head_biases():
    """Weights + BN scale/shift (72 BN convs) + head biases = Darknet's 61,949,149 parameters."""
    net = load_network("yolov3")
    heads = {"conv81", "conv93", "conv105"}
    bn_channels = sum(layer.k for layer in _convs(net) if layer.name not in heads)
    head_biases = sum(net.layer(name).bias_elems for name in heads)
    assert head_biases == 3 * 255
    assert net.total_weight_elems + 2 * bn_channels + head_biases == 61_949_149


def test_yolov3_416_reference_figures():
    """YOLOv3 at 416: 32,932,037,632 MACs, largest activation 5,537,792 elements."""
    net = load_network("yolov3", input_size=(416, 416))
    assert net.total_macs == 32_932_037_632
    assert net.peak_activation_elems == 5_537_792
    assert net.total_weight_elems == 61_895_776


def test_yolov3_largest_conv_working_set():
    """Layer 2 (conv1) in + out is 17,743,872 elements at 608 and 8,306,688 at 416."""
    for size, expected in ((608, 17_743_872), (416, 8_306_688)):
        net = load_network("yolov3", input_size=size)
        sets = [layer.input_elems + layer.output_elems for layer in _convs(net)]
        assert max(sets) == expected
        conv1 = net.layer("conv1")
        assert conv1.input_elems + conv1.output_elems == expected


def test_yolov3_op_census():
    """YOLOv3 has 23 residual adds, 2 upsamples, 2 concats, 3 detect layers, nothing else."""
    net = load_network("yolov3")
    ops = [layer.op for layer in net.layers]
    assert {op: ops.count(op) for op in set(ops)} == {
        "conv2d": 75, "add": 23, "upsample": 2, "concat": 2, "detect": 3}
    assert set(net.outputs) == {"yolo82", "yolo94", "yolo106"}


def test_yolov3_layers_match_scalesim_csv():
    """Each of the 75 convs matches yolov3_608.csv: filter, channels, filters, stride, output."""
    rows = _scalesim_rows("yolov3_608.csv")
    convs = _convs(load_network("yolov3", input_size=608))
    assert len(rows) == len(convs) == 75
    for row, layer in zip(rows, convs):
        where = f"{row['name']} vs {layer.name}"
        assert (layer.r, layer.s, layer.c, layer.k) == (row["fh"], row["fw"], row["c"],
                                                        row["k"]), where
        assert layer.stride == (row["stride"], row["stride"]) and layer.groups == 1, where
        out = math.ceil((row["h"] - row["fh"] + row["stride"]) / row["stride"])
        assert (layer.p, layer.q) == (out, out), where
        # SCALE-Sim folds padding into the input; Darknet's extra row/col is never read.
        _, h, w = layer.in_shapes[0]
        padded_h = h + layer.padding[0] + layer.padding[2]
        assert 0 <= padded_h - row["h"] < layer.stride[0], where


def test_yolov3_heads_route_back():
    """Darknet's 'route -4' is expressed by conv84/conv96 reading conv79/conv91 directly."""
    net = load_network("yolov3")
    assert net.producers("conv84") == ("conv79",)
    assert net.producers("conv96") == ("conv91",)
    assert net.consumers("conv79") == ("conv80", "conv84")
    assert net.layer("route86").out_shape == (768, 38, 38)
    assert net.layer("route98").out_shape == (384, 76, 76)
    assert net.producers("route86") == ("up85", "add61")


@pytest.mark.parametrize("size, grids", [(416, (13, 26, 52)), (1024, (32, 64, 128)),
                                         ((608, 1024), ((19, 32), (38, 64), (76, 128)))])
def test_yolov3_shapes_follow_input_size(size, grids):
    """Shapes are inferred from the run-time size: detect grids are the input / 32, 16, 8."""
    net = load_network("yolov3", input_size=size)
    h, w = (size, size) if isinstance(size, int) else size
    assert net.layer("conv0").out_shape == (32, h, w)
    for name, grid in zip(("yolo82", "yolo94", "yolo106"), grids):
        gh, gw = (grid, grid) if isinstance(grid, int) else grid
        assert net.layer(name).out_shape == (255, gh, gw)


def test_batch_two_doubles_macs_and_activations():
    """Batch 2 doubles MACs and activation elements but not weights."""
    one, two = load_network("yolov3", input_size=416), load_network("yolov3", 416, batch=2)
    assert two.total_macs == 2 * one.total_macs
    assert two.total_weight_elems == one.total_weight_elems
    assert two.peak_activation_elems == 2 * one.peak_activation_elems
    for a, b in zip(one.layers, two.layers):
        assert (b.n, b.input_elems, b.output_elems, b.vector_elems) == (
            2 * a.n, 2 * a.input_elems, 2 * a.output_elems, 2 * a.vector_elems)
        assert b.out_shape == a.out_shape


# --- ResNet-50, MobileNetV2: checked against an independent recount -------------------------

def _naive_resnet50(size: int = 224) -> tuple[int, int, int]:
    """(MACs, conv+fc weights, torchvision parameters) of ResNet-50 v1.5, counted by hand."""
    macs = weights = bn = 0

    def conv(cin, cout, k, stride, pad, h):
        nonlocal macs, weights, bn
        out = (h + 2 * pad - k) // stride + 1
        macs += cout * cin * k * k * out * out
        weights += cout * cin * k * k
        bn += 2 * cout
        return out

    h = conv(3, 64, 7, 2, 3, size)
    h = (h + 2 - 3) // 2 + 1
    cin = 64
    for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        for b in range(blocks):
            s = stride if b == 0 else 1
            if b == 0:
                conv(cin, planes * 4, 1, s, 0, h)
            conv(cin, planes, 1, 1, 0, h)
            h2 = conv(planes, planes, 3, s, 1, h)
            conv(planes, planes * 4, 1, 1, 0, h2)
            h, cin = h2, planes * 4
    macs += 2048 * 1000
    weights += 2048 * 1000
    return macs, weights, weights + bn + 1000


def test_resnet50_reference_figures():
    """ResNet-50 v1.5 at 224: 4,089,184,256 MACs; weights in [25.4 M, 25.6 M]; 25,557,032 params."""
    net = load_network("resnet50")
    macs, weights, params = _naive_resnet50()
    assert net.total_macs == macs == 4_089_184_256
    assert net.total_weight_elems == weights == 25_502_912
    assert 25.4e6 <= net.total_weight_elems <= 25.6e6
    bn = 2 * sum(layer.k for layer in _convs(net))
    assert net.total_weight_elems + bn + net.layer("fc").bias_elems == params == 25_557_032
    assert net.num_conv_layers == 53
    assert [layer.op for layer in net.layers].count("add") == 16
    assert net.layer("fc").in_shapes == ((2048, 1, 1),) and net.layer("fc").out_shape == (
        1000, 1, 1)
    assert net.peak_activation_elems == 64 * 112 * 112


def test_resnet50_filters_match_v1_csv():
    """Per conv, ResNet-50 v1.5 has v1's filter, channel and filter-count sizes (CSV order)."""
    rows = _scalesim_rows("resnet50_224_padded.csv")
    net = load_network("resnet50")
    layers = _convs(net) + [net.layer("fc")]
    # the CSV lists a stage's projection after the block's third conv, as the YAML does
    assert len(rows) == len(layers) == 54
    for row, layer in zip(rows, layers):
        assert (layer.r, layer.s, layer.c, layer.k) == (row["fh"], row["fw"], row["c"],
                                                        row["k"]), row["name"]
    # v1.5 moves the stride to the 3x3: same block outputs, different internal sizes
    assert net.layer("layer2_0_conv2").stride == (2, 2)
    assert net.layer("layer2_0_conv1").out_shape == (128, 56, 56)
    assert net.layer("layer2_0_add").out_shape == (512, 28, 28)


def _naive_mobilenet_v2(size: int = 224) -> tuple[int, int]:
    """(MACs, torchvision parameters) of MobileNetV2 1.0, counted by hand."""
    macs = params = 0

    def conv(cin, cout, k, stride, groups, h):
        nonlocal macs, params
        out = (h + 2 * (k // 2) - k) // stride + 1
        macs += cout * (cin // groups) * k * k * out * out
        params += cout * (cin // groups) * k * k + 2 * cout
        return out

    h = conv(3, 32, 3, 2, 1, size)
    cin = 32
    for t, c, n, s in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)):
        for i in range(n):
            hidden = cin * t
            if t != 1:
                conv(cin, hidden, 1, 1, 1, h)
            h = conv(hidden, hidden, 3, s if i == 0 else 1, hidden, h)
            conv(hidden, c, 1, 1, 1, h)
            cin = c
    conv(320, 1280, 1, 1, 1, h)
    return macs + 1280 * 1000, params + 1280 * 1000 + 1000


def test_mobilenet_v2_reference_figures():
    """MobileNetV2 at 224: 300,774,272 MACs (about 300 M) and 3,504,872 torchvision parameters."""
    net = load_network("mobilenet_v2")
    macs, params = _naive_mobilenet_v2()
    assert net.total_macs == macs == 300_774_272
    bn = 2 * sum(layer.k for layer in _convs(net))
    total = net.total_weight_elems + bn + net.layer("classifier").bias_elems
    assert total == params == 3_504_872
    depthwise = [layer for layer in _convs(net) if layer.name.endswith("_dw")]
    assert len(depthwise) == 17
    assert all(layer.groups == layer.k == layer.in_shapes[0][0] and layer.c == 1
               for layer in depthwise)
    assert [layer.op for layer in net.layers].count("add") == 10
    assert net.layer("features18").out_shape == (1280, 7, 7)
    assert net.layer("features2_dw").activation == "relu6"


def test_conv_micro_matches_scalesim_layers():
    """conv_micro's tiny and 56x56 layers are the SCALE-Sim reference layers at the default."""
    net = load_network("conv_micro")
    assert net.input_size == (10, 10) and net.input_channels == 8
    for csv_name, layer_name in (("tiny_conv_10x10x8_3x3x8x8.csv", "tiny"),
                                 ("single_conv_56x56x64_3x3x64.csv", "conv3x3_56")):
        (row,) = _scalesim_rows(csv_name)
        layer = net.layer(layer_name)
        _, h, w = layer.in_shapes[0]
        assert (h + layer.padding[0] + layer.padding[2], w + layer.padding[1] + layer.padding[3]
                ) == (row["h"], row["w"])
        assert (layer.r, layer.s, layer.c, layer.k, layer.stride[0]) == (
            row["fh"], row["fw"], row["c"], row["k"], row["stride"])
    assert net.layer("tiny").in_shapes == ((8, 10, 10),) and net.layer("tiny").macs == 55_296
    assert net.layer("conv3x3_56").macs == 56 * 56 * 64 * 64 * 9
    assert net.layer("dw3x3").groups == 64 and net.layer("dw3x3").macs == 56 * 56 * 64 * 9
    assert net.layer("conv_s2").out_shape == (128, 28, 28)
    assert net.layer("fc").macs == 128 * 10


# --- graph structure --------------------------------------------------------------------------

@pytest.mark.parametrize("name", BUNDLED)
def test_graph_is_a_dag_with_the_input_as_single_source(name):
    """Every bundled network is a DAG whose only source is 'input'; layers exclude it."""
    net = load_network(name)
    assert nx.is_directed_acyclic_graph(net.graph)
    assert [n for n in net.graph if net.graph.in_degree(n) == 0] == [INPUT_NODE]
    assert INPUT_NODE not in [layer.name for layer in net.layers]
    assert len(net.layers) == net.graph.number_of_nodes() - 1
    assert net.graph.nodes[INPUT_NODE]["layer"].out_shape == (net.input_channels,
                                                               *net.input_size)
    position = {layer.name: i for i, layer in enumerate(net.layers)}
    for layer in net.layers:
        assert net.graph.nodes[layer.name]["layer"] is layer
        assert all(ref == INPUT_NODE or position[ref] < position[layer.name]
                   for ref in layer.inputs)


def test_loading_twice_gives_the_same_layers():
    """Loading is deterministic: same order, same layers."""
    a, b = load_network("yolov3", 416), load_network("yolov3", 416)
    assert a.layers == b.layers
    assert [layer.name for layer in a.layers][:5] == ["conv0", "conv1", "conv2", "conv3",
                                                      "add4"]


def test_load_by_path_and_env_dir(tmp_path, monkeypatch):
    """A YAML path loads directly; NPUSIM_KERNELS_DIR moves the bundled folder."""
    path = bundled_networks()["conv_micro"]
    assert load_network(path).total_macs == load_network("conv_micro").total_macs
    assert load_network(str(path), input_size="20x20").input_size == (20, 20)
    (tmp_path / "mynet.yaml").write_text(path.read_text())
    monkeypatch.setenv("NPUSIM_KERNELS_DIR", str(tmp_path))
    assert list(bundled_networks()) == ["mynet"]
    assert load_network("mynet").source_path == tmp_path / "mynet.yaml"


def test_layer_to_dict_has_the_documented_keys():
    """Layer.to_dict() carries name, op, inputs, out_shape, macs, weights and element counts."""
    d = load_network("yolov3").layer("conv1").to_dict()
    assert {"name", "op", "inputs", "out_shape", "macs", "weight_elems", "input_elems",
            "output_elems"} <= set(d)
    assert d["out_shape"] == [64, 304, 304] and d["inputs"] == ["conv0"]
    assert d["macs"] == 64 * 32 * 9 * 304 * 304 and d["loop_nest"]["c"] == 32
    assert load_network("conv_micro").to_dict()["layers"][0]["name"] == "tiny"


def _net(layers: list[LayerSpec], channels: int = 4, size=(8, 8), batch: int = 1) -> Network:
    specs = [LayerSpec(**{**vars(spec), "index": i}) for i, spec in enumerate(layers)]
    return build_network(specs, name="t", input_channels=channels, input_size=size, batch=batch)


def test_vector_elems_follow_the_documented_rules():
    """vector_elems: pools x window, add per extra input, activations per output, moves 0."""
    net = _net([
        LayerSpec("c", "conv2d", ("input",), out_channels=4, kernel=(3, 3), padding="same",
                  activation="relu"),
        LayerSpec("p", "maxpool", ("c",), kernel=(2, 2)),
        LayerSpec("a", "add", ("input", "c", "c")),
        LayerSpec("u", "upsample", ("p",), scale=2),
        LayerSpec("cat", "concat", ("u", "a")),
        LayerSpec("s", "activation", ("cat",), activation="sigmoid"),
        LayerSpec("g", "global_avgpool", ("s",)),
        LayerSpec("f", "flatten", ("s",)),
    ], batch=2)
    out = 4 * 8 * 8 * 2
    assert net.layer("c").vector_elems == out
    assert net.layer("p").vector_elems == 4 * 4 * 4 * 2 * 4
    assert net.layer("a").vector_elems == 2 * out
    assert net.layer("u").vector_elems == net.layer("cat").vector_elems == 0
    assert net.layer("s").vector_elems == 2 * out and net.layer("s").out_shape == (8, 8, 8)
    assert net.layer("g").vector_elems == 2 * out and net.layer("g").out_shape == (8, 1, 1)
    assert net.layer("f").out_shape == (512, 1, 1) and not net.layer("f").is_mac_op
    assert net.producers("a") == ("input", "c") and net.consumers("c") == ("p", "a")


def test_fc_flattens_its_input_and_counts_a_bias():
    """An fc on a C x H x W input is k x (C*H*W) MACs with k biases."""
    net = _net([LayerSpec("f", "fc", ("input",), out_features=10)], channels=3, size=(4, 5))
    layer = net.layer("f")
    assert (layer.k, layer.c, layer.p, layer.q, layer.r, layer.s) == (10, 60, 1, 1, 1, 1)
    assert layer.macs == layer.weight_elems == 600 and layer.bias_elems == 10


def test_padding_forms_and_dilation():
    """Padding as 4-tuple (top, left, bottom, right), 'valid', and dilation change the output."""
    net = _net([
        LayerSpec("a", "conv2d", ("input",), out_channels=2, kernel=(3, 3),
                  padding=(1, 0, 0, 0)),
        LayerSpec("b", "conv2d", ("input",), out_channels=2, kernel=(3, 3), padding="valid",
                  dilation=(2, 2)),
        LayerSpec("c", "conv2d", ("input",), out_channels=2, kernel=(1, 3), stride=(2, 1),
                  padding="same"),
    ], size=(9, 9))
    assert net.layer("a").out_shape == (2, 8, 7)
    assert net.layer("b").out_shape == (2, 5, 5)
    assert net.layer("c").out_shape == (2, 5, 9) and net.layer("c").padding == (0, 1, 0, 1)


@given(size=st.integers(1, 80), kernel=st.integers(1, 7), stride=st.integers(1, 4),
       dilation=st.integers(1, 3))
def test_same_padding_gives_ceil_of_input_over_stride(size, kernel, stride, dilation):
    """padding 'same' always yields ceil(input / stride), whatever the kernel and dilation."""
    net = _net([LayerSpec("c", "conv2d", ("input",), out_channels=1, kernel=(kernel, kernel),
                          stride=(stride, stride), dilation=(dilation, dilation),
                          padding="same")], channels=1, size=(size, size))
    layer = net.layer("c")
    assert layer.p == layer.q == -(-size // stride)
    top, left, bottom, right = layer.padding
    assert 0 <= bottom - top <= 1 and (top, bottom) == (left, right)
