"""ONNX import and export: ops, folding, transformers, int8, dynamic axes, errors, round trips."""
from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, numpy_helper

import simulator
from simulator.cli import cli
from simulator.errors import SpecError
from simulator.workload import load_network
from simulator.workload.from_onnx import UnsupportedOpsWarning
from simulator.workload.onnx_read import read_model
from simulator.workload.to_onnx import export_onnx

sys.path.insert(0, str(Path(__file__).parent))
import onnx_models as M  # noqa: E402


def _save(tmp_path, model, name="model.onnx") -> str:
    return M.save(model, tmp_path / name)


def _cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _error(path, **kw) -> str:
    with pytest.raises(SpecError) as info:
        load_network(path, **kw)
    return str(info.value)


# --- CNN ops and folding -------------------------------------------------------------------

def test_small_cnn_layers_macs_and_folding(tmp_path):
    """BN folds into its conv's bias, ReLU and Clip(0,6) fuse, Flatten before Gemm vanishes."""
    net = load_network(_save(tmp_path, M.small_cnn()))
    assert net.total_macs == M.small_cnn_macs()
    got = [(l.name, l.op, l.activation, l.bias, l.out_shape) for l in net.layers]
    assert got == [("conv1", "conv2d", "relu", True, (16, 32, 32)),
                   ("pool1", "maxpool", None, False, (16, 16, 16)),
                   ("dw2", "conv2d", "relu6", False, (16, 16, 16)),
                   ("conv3", "conv2d", None, False, (32, 8, 8)),
                   ("gap", "global_avgpool", None, False, (32, 1, 1)),
                   ("fc", "fc", None, True, (10, 1, 1))]
    dw = net.layer("dw2")
    assert (dw.groups, dw.dilation, dw.c, dw.padding) == (16, (2, 2), 1, (2, 2, 2, 2))
    assert net.precision == "fp32"


def test_input_size_overrides_the_model_size(tmp_path):
    """--input HxW reshapes a model exported at 32x32 (shape inference is rerun)."""
    net = load_network(_save(tmp_path, M.small_cnn()), input_size=(64, 48), batch=2)
    assert net.input_size == (64, 48) and net.batch == 2
    assert net.total_macs == 2 * (M.small_cnn_macs(64, 48) - 320) + 2 * 320


def test_dynamic_axes_need_input_and_take_it(tmp_path):
    """A model with dynamic H, W: an error asking for --input, then shapes for the given size."""
    path = _save(tmp_path, M.small_cnn(dims=["batch", 3, "height", "width"]))
    message = _error(path)
    assert "dynamic dims" in message and "--input" in message and "image" in message
    assert load_network(path, input_size="40x40").total_macs == M.small_cnn_macs(40, 40)


def test_residual_block_add_takes_the_relu(tmp_path):
    """Conv-BN-ReLU-Conv-BN + x -> ReLU: two biased convs and an add with a fused relu."""
    net = load_network(_save(tmp_path, M.residual_block()))
    assert [(l.op, l.activation, l.bias) for l in net.layers] == [
        ("conv2d", "relu", True), ("conv2d", None, True), ("add", "relu", False)]
    assert net.layer("add").inputs == ("conv_b", "input")
    assert net.total_macs == 2 * 16 * 16 * 9 * 16 * 16


def test_conv_transpose_and_resize_and_pads(tmp_path):
    """ConvTranspose 2x2 stride 2 has its true MACs; bilinear Resize and Pad run on vector units."""
    b = M.Builder()
    x = b.op("ConvTranspose", ["image", b.w(8, 4, 2, 2)], "up", kernel_shape=[2, 2], strides=[2, 2])
    x = b.op("Resize", [x, "", b.const([1.0, 1.0, 1.5, 1.5], np.float32)], "bilinear",
             mode="linear")
    x = b.op("Pad", [x, b.const([0, 0, 1, 1, 0, 0, 1, 1])], "pad")
    net = load_network(_save(tmp_path, b.model([M.image_input(8, 10, 10)], [x])))
    up, rs, pad = net.layers
    assert up.op == "conv_transpose" and up.out_shape == (4, 20, 20)
    assert up.macs == 8 * 4 * 2 * 2 * 10 * 10            # every input pixel x kernel x K
    assert (rs.op, rs.mode, rs.out_shape, rs.vector_elems) == ("resize", "linear", (4, 30, 30),
                                                               4 * 30 * 30 * 4)
    assert pad.op == "pad" and pad.out_shape == (4, 32, 32)
    assert simulator.simulate("teaching", net).cycles > 0


def test_silu_pattern_fuses(tmp_path):
    """x * Sigmoid(x) after a conv (PyTorch's SiLU) becomes the conv's silu activation."""
    b = M.Builder()
    x = b.op("Conv", ["image", b.w(8, 3, 1, 1)], "conv", kernel_shape=[1, 1])
    s = b.op("Sigmoid", [x], "sig")
    y = b.op("Mul", [x, s], "silu")
    net = load_network(_save(tmp_path, b.model([M.image_input()], [y])))
    assert [(l.name, l.activation) for l in net.layers] == [("conv", "silu")]


# --- transformers --------------------------------------------------------------------------

def test_encoder_block_attention_runs_on_the_arrays(tmp_path):
    """Q/K/V/FFN as linear, QK^T and PV as batch_matmul (seq x seq per head), softmax and
    layer norm on vector units; MACs as the block's formula."""
    seq, d, heads, ffn = 64, 64, 4, 256
    net = load_network(_save(tmp_path, M.encoder_block(seq, d, heads, ffn)))
    assert net.total_macs == M.encoder_macs(seq, d, heads, ffn)
    scores = net.layer("scores")
    assert scores.op == "batch_matmul" and scores.is_mac_op
    assert (scores.groups, scores.p, scores.c, scores.k // scores.groups) == (heads, seq, d // heads, seq)
    assert scores.weight_elems == 0 and scores.stationary_elems == heads * seq * (d // heads)
    assert net.layer("q_mm").op == "linear" and net.layer("q_mm").bias
    assert net.layer("softmax").vector_elems == 4 * heads * seq * seq
    assert net.layer("ln1").op == "layernorm" and net.layer("q_heads").op == "reshape"
    assert net.total_weight_elems == 4 * d * d + 2 * d * ffn


def test_encoder_block_simulates_with_sequence_override(tmp_path):
    """A dynamic [batch, sequence, D] model runs at --input S; attention's MatMuls get array
    cycles, and the score matrix grows with S squared."""
    path = _save(tmp_path, M.encoder_block(dynamic=True))
    r64 = simulator.simulate("teaching", path, input=(64, 64))
    r128 = simulator.simulate("teaching", path, input=(128, 1))
    s64 = next(l for l in r64.layers if l.name == "scores")
    s128 = next(l for l in r128.layers if l.name == "scores")
    assert s128.macs == 4 * s64.macs and s64.cycles > 0
    assert r128.cycles > r64.cycles
    with pytest.raises(SpecError, match="sequence"):
        load_network(path, input_size=(64, 32))


def test_batch_matmul_reads_its_second_operand_per_image(tmp_path):
    """With batch 2, the stationary operand of QK^T is loaded for each image (never shared)."""
    path = _save(tmp_path, M.encoder_block(dynamic=True))
    from simulator.mapping.program import build_program
    from simulator.spec import load_arch
    from simulator.engine.constants import KIND_WEIGHTS
    arch = load_arch("teaching")
    loads = []
    for batch in (1, 2):
        net = load_network(path, input_size=32, batch=batch)
        mapped = build_program(arch, net)
        p = mapped.program
        layer_id = mapped.layer_names.index("scores")
        tiles = np.nonzero(p.tile_layer == layer_id)[0]
        xt = np.repeat(np.arange(len(p.tile_unit)), np.diff(p.xfer_start))
        sel = np.isin(xt, tiles) & (p.xfer_kind == KIND_WEIGHTS)
        loads.append(int(p.xfer_bytes[sel].sum()))
    assert loads[1] == 2 * loads[0] > 0


# --- int8 ----------------------------------------------------------------------------------

def test_qdq_model_is_int8_and_folds_its_qdq_pairs(tmp_path):
    """QuantizeLinear/DequantizeLinear: precision int8; weight DQs and activation Q/DQ fold;
    quantizing the float input is a vector layer."""
    net = load_network(_save(tmp_path, M.qdq_cnn()))
    assert net.precision == "int8"
    assert [(l.name, l.op, l.activation) for l in net.layers] == [
        ("in_q", "elementwise", None), ("conv1", "conv2d", "relu"), ("conv2", "conv2d", None)]
    assert net.total_macs == 8 * 3 * 9 * 256 + 8 * 8 * 9 * 256


def test_qlinear_ops_are_mac_layers(tmp_path):
    """QLinearConv and MatMulInteger run on the arrays with int8 precision."""
    net = load_network(_save(tmp_path, M.qlinear_model()))
    assert net.precision == "int8"
    assert [l.op for l in net.layers] == ["conv2d", "reshape", "transpose", "linear"]
    assert net.total_macs == 8 * 3 * 9 * 256 + 256 * 8 * 4
    result = _cli("info", M.save(M.qlinear_model(), tmp_path / "q.onnx"), "--json", "-")
    assert '"precision": "int8"' in result.output


# --- unsupported ops -----------------------------------------------------------------------

def test_unsupported_ops_are_one_error_with_counts_and_names(tmp_path):
    """Every unsupported type is listed with its count and node names; CLI exit 2, no traceback."""
    path = _save(tmp_path, M.with_unsupported())
    message = _error(path)
    assert "Einsum x2 (einsum_a, einsum_b)" in message and "TopK x1 (topk)" in message
    assert "--skip-unsupported" in message
    result = _cli("info", path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "Einsum x2" in result.output


def test_skip_unsupported_makes_passthroughs_and_warns(tmp_path):
    """--skip-unsupported: the nodes are zero-cost passthroughs and a warning lists them."""
    path = _save(tmp_path, M.with_unsupported())
    with pytest.warns(UnsupportedOpsWarning, match="Einsum x2"):
        net = load_network(path, skip_unsupported=True)
    assert [l.op for l in net.layers].count("passthrough") == 3
    result = _cli("run", "teaching", path, "--skip-unsupported", "--no-layers")
    assert result.exit_code == 0, result.output
    assert "npusim: warning:" in result.stderr and "TopK x1" in result.stderr


def test_compare_and_sweep_take_skip_unsupported(tmp_path):
    """compare and sweep also run a model with unsupported ops under --skip-unsupported."""
    path = _save(tmp_path, M.with_unsupported())
    result = _cli("compare", "teaching", path, "--skip-unsupported", "--json", "-")
    assert result.exit_code == 0, result.output
    result = _cli("sweep", "teaching", path, "--grid", "memory.sram.size=1MiB,2MiB", "--skip-unsupported",
                  "--workers", "1", "--no-progress")
    assert result.exit_code == 0, result.output
    assert _cli("compare", "teaching", path).exit_code == 2


# --- files: weights, bad input -------------------------------------------------------------

def test_missing_external_weights_still_load(tmp_path):
    """Initializers whose external data file does not exist: the model loads from shapes."""
    model = M.small_cnn()
    for t in model.graph.initializer:
        if t.dims and np.prod(t.dims) > 16:
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            entry = t.external_data.add()
            entry.key, entry.value = "location", "missing.bin"
    assert load_network(_save(tmp_path, model)).total_macs == M.small_cnn_macs()


def test_large_weights_are_never_read(tmp_path):
    """A 64 MiB embedded initializer is left out of the parsed model (only its dims are kept)."""
    model = M.small_cnn()
    big = numpy_helper.from_array(np.ones((4096, 4096), np.float32), "unused_big")
    model.graph.initializer.append(big)
    path = _save(tmp_path, model)
    assert Path(path).stat().st_size > 64 * 2**20
    parsed = read_model(path)
    assert parsed.ByteSize() < 64 * 1024
    kept = {t.name: t for t in parsed.graph.initializer}
    assert list(kept["unused_big"].dims) == [4096, 4096] and not kept["unused_big"].raw_data
    assert load_network(path).total_macs == M.small_cnn_macs()


@pytest.mark.parametrize("make, needles", [
    (lambda p: p.write_bytes(M.small_cnn().SerializeToString()[:300]), ("truncated",)),
    (lambda p: p.write_text("name: not a model\nlayers: []\n"), ("not an ONNX model",)),
    (lambda p: p.write_bytes(b""), ("empty",)),
    (lambda p: M.save(M.cyclic(), p), ("cycle", "add1", "relu2")),
    (lambda p: M.save(M.small_cnn(), p) and _set_opset(p, 99), ("opset 99",)),
    (lambda p: M.save(_no_input_shape(), p), ("has no shape",)),
])
def test_bad_files_get_clear_errors(tmp_path, make, needles):
    """Truncated, not ONNX, empty, cyclic, unknown opset, missing input shape: one paragraph
    naming the file, exit 2, never a traceback."""
    path = tmp_path / "bad.onnx"
    make(path)
    message = _error(path)
    assert str(path) in message
    for needle in needles:
        assert needle in message
    result = _cli("info", path)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.output.startswith("npusim: error:") and result.output.count("\n") == 1


def _set_opset(path, version):
    model = onnx.load(str(path))
    model.opset_import[0].version = version
    onnx.save_model(model, str(path))


def _no_input_shape():
    model = M.small_cnn()
    model.graph.input[0].type.tensor_type.ClearField("shape")
    return model


# --- export and round trips ----------------------------------------------------------------

@pytest.mark.parametrize("name, size", [("yolov3", 128), ("resnet50", 64)])
def test_bundled_round_trip_same_layers_macs_and_cycles(tmp_path, name, size):
    """A bundled YAML network written as ONNX and read back: same layers, MACs and cycles."""
    yaml_net = load_network(name, input_size=size)
    path = export_onnx(yaml_net, tmp_path / f"{name}.onnx")
    back = load_network(path)
    assert back.total_macs == yaml_net.total_macs and len(back) == len(yaml_net)
    for a, b in zip(yaml_net.layers, back.layers):
        assert (a.name, a.inputs, a.in_shapes, a.out_shape, a.macs, a.activation, a.bias) == \
               (b.name, b.inputs, b.in_shapes, b.out_shape, b.macs, b.activation, b.bias)
        assert a.op == b.op or (a.op, b.op) == ("detect", "reshape")
    ra = simulator.simulate("inferx_x1", yaml_net)
    rb = simulator.simulate("inferx_x1", back)
    assert ra.cycles == rb.cycles and ra.dram_read_bytes == rb.dram_read_bytes


def test_export_onnx_command_writes_a_checked_model(tmp_path):
    """npusim export-onnx writes a model onnx.checker accepts (weights declared, not written)."""
    out = tmp_path / "micro.onnx"
    result = _cli("export-onnx", "conv_micro", "--input", "32x32", "-o", out)
    assert result.exit_code == 0, result.output
    onnx.checker.check_model(str(out), full_check=True)
    info = _cli("info", out, "--json", "-")
    assert info.exit_code == 0 and '"total_macs"' in info.output


def test_torch_export_has_the_macs_of_its_modules(tmp_path):
    """A PyTorch CNN exported with torch.onnx: MACs equal those its module shapes imply."""
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, stride=2, padding=1, groups=2),
                          nn.Hardswish(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10))
    model.eval()
    macs = []

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            k = module.weight.shape
            macs.append(output.numel() * k[1] * k[2] * k[3])
        elif isinstance(module, nn.Linear):
            macs.append(output.numel() * module.in_features)

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    x = torch.zeros(1, 3, 64, 64)
    with torch.no_grad():
        model(x)
    expected = int(sum(macs))
    for h in handles:
        h.remove()
    path = tmp_path / "torch.onnx"
    try:
        warnings.simplefilter("ignore", DeprecationWarning)    # the TorchScript exporter's notice
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17,
                          input_names=["image"], dynamic_axes={"image": {2: "h", 3: "w"}})
    except (ImportError, ModuleNotFoundError) as exc:       # an exporter dependency missing
        pytest.skip(f"torch.onnx.export needs {exc.name}")
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnsupportedOpsWarning)
        net = load_network(path, input_size=64)
    assert net.total_macs == expected
    assert [l.op for l in net.layers if l.is_mac_op] == ["conv2d", "conv2d", "fc"]
    assert load_network(path, input_size=96).total_macs > net.total_macs


def test_small_vit_runs_with_class_token_and_head(tmp_path):
    """A 2-layer ViT: patch conv, class token concat, position add, encoders, Gather, Gemm head;
    MACs = patch conv + encoder formula at 17 tokens + head."""
    path = _save(tmp_path, M.vit(image=64, patch=16, d=64, heads=4, ffn=128, layers=2, classes=10))
    net = load_network(path)
    tokens = (64 // 16) ** 2 + 1
    patch = 64 * 3 * 16 * 16 * 16
    assert net.total_macs == patch + 2 * M.encoder_macs(tokens, 64, 4, 128) + 64 * 10
    assert [net.layer(n).op for n in ("with_cls", "cls_token", "head")] == ["concat", "gather", "fc"]
    r = simulator.simulate("teaching", net)
    assert r.cycles > 0 and 0 < r.mac_utilization <= 1


def test_small_bert_takes_sequence_and_its_mask_input(tmp_path):
    """A 2-layer BERT with input_ids and attention_mask [batch, sequence]: --input S sets both;
    the embedding lookup is a vector-unit gather."""
    path = _save(tmp_path, M.bert(seq=32, d=64, heads=4, ffn=128, layers=2, vocab=100))
    net = load_network(path, input_size=32)
    assert net.total_macs == 2 * M.encoder_macs(32, 64, 4, 128)
    assert net.layer("word_embed").op == "gather" and net.input_size == (32, 1)
    assert simulator.simulate("teaching", path, input=(32, 1)).cycles > 0
