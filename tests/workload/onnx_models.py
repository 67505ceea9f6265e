"""ONNX models built with onnx.helper for the import tests: a CNN, a residual block, a
transformer encoder block, int8 QDQ and QLinear models, dynamic axes, and broken files."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


class Builder:
    """Nodes and initializers of one graph; weights get random values (the importer never reads them)."""

    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def w(self, *dims, dtype=np.float32) -> str:
        self.n += 1
        name = f"w{self.n}"
        self.inits.append(numpy_helper.from_array(np.zeros(dims, dtype), name))
        return name

    def const(self, values, dtype=np.int64) -> str:
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(numpy_helper.from_array(np.asarray(values, dtype), name))
        return name

    def op(self, op_type: str, inputs, name: str | None = None, n_out: int = 1, **attrs):
        self.n += 1
        name = name or f"{op_type.lower()}{self.n}"
        outs = [name] if n_out == 1 else [f"{name}:{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def model(self, inputs, outputs, opset: int = OPSET, name: str = "test"):
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs]
        graph = helper.make_graph(self.nodes, name, inputs, outs, initializer=self.inits)
        return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def image_input(c=3, h=32, w=32, n=1, name="image"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [n, c, h, w])


def small_cnn(h=32, w=32, dims=None):
    """conv(3->16, 3x3 pad 1)+BN+ReLU, maxpool 2, depthwise 3x3 dilated 2 + Clip(0,6), conv 1x1
    stride 2 SAME_UPPER, global average pool, flatten, Gemm 10 (+bias)."""
    b = Builder()
    x = b.op("Conv", ["image", b.w(16, 3, 3, 3), b.w(16)], "conv1", kernel_shape=[3, 3],
             pads=[1, 1, 1, 1])
    x = b.op("BatchNormalization", [x, b.w(16), b.w(16), b.w(16), b.w(16)], "bn1")
    x = b.op("Relu", [x], "relu1")
    x = b.op("MaxPool", [x], "pool1", kernel_shape=[2, 2], strides=[2, 2])
    x = b.op("Conv", [x, b.w(16, 1, 3, 3)], "dw2", kernel_shape=[3, 3], group=16,
             dilations=[2, 2], pads=[2, 2, 2, 2])
    x = b.op("Clip", [x, b.const(0.0, np.float32), b.const(6.0, np.float32)], "relu6_2")
    x = b.op("Conv", [x, b.w(32, 16, 1, 1)], "conv3", kernel_shape=[1, 1], strides=[2, 2],
             auto_pad="SAME_UPPER")
    x = b.op("GlobalAveragePool", [x], "gap")
    x = b.op("Flatten", [x], "flat", axis=1)
    x = b.op("Gemm", [x, b.w(10, 32), b.w(10)], "fc", transB=1)
    inp = image_input(h=h, w=w) if dims is None else helper.make_tensor_value_info(
        "image", TensorProto.FLOAT, dims)
    return b.model([inp], [x])


def small_cnn_macs(h=32, w=32) -> int:
    """The MACs of `small_cnn` by hand: conv1, depthwise, 1x1 stride 2, fc."""
    h2, w2 = h // 2, w // 2
    h3, w3 = -(-h2 // 2), -(-w2 // 2)
    return 16 * 3 * 9 * h * w + 16 * 9 * h2 * w2 + 32 * 16 * h3 * w3 + 10 * 32


def residual_block(c=16, h=16, w=16):
    """x -> conv3x3+BN+ReLU -> conv3x3+BN -> Add(x) -> ReLU (ResNet's basic block)."""
    b = Builder()
    y = b.op("Conv", ["image", b.w(c, c, 3, 3)], "conv_a", kernel_shape=[3, 3], pads=[1] * 4)
    y = b.op("BatchNormalization", [y, b.w(c), b.w(c), b.w(c), b.w(c)], "bn_a")
    y = b.op("Relu", [y], "relu_a")
    y = b.op("Conv", [y, b.w(c, c, 3, 3)], "conv_b", kernel_shape=[3, 3], pads=[1] * 4)
    y = b.op("BatchNormalization", [y, b.w(c), b.w(c), b.w(c), b.w(c)], "bn_b")
    y = b.op("Add", [y, "image"], "add")
    y = b.op("Relu", [y], "relu_out")
    return b.model([image_input(c, h, w)], [y])


def encoder_layer(b: Builder, x: str, d=64, heads=4, ffn=256, prefix="") -> str:
    """A BERT-style encoder layer as PyTorch exports it at opset 17: LayerNormalization, Q/K/V
    MatMul + Add(bias), Reshape/Transpose to heads, QK^T, Div, Softmax, PV, output projection,
    residual Add, and a GELU written as x * 0.5 * (1 + Erf(x / sqrt 2))."""
    dk = d // heads
    n = lambda s: f"{prefix}{s}"
    ln = b.op("LayerNormalization", [x, b.w(d), b.w(d)], n("ln1"), axis=-1)
    heads_shape = b.const([0, 0, heads, dk])

    def proj(name, src, n_in, n_out):
        y = b.op("MatMul", [src, b.w(n_in, n_out)], n(f"{name}_mm"))
        return b.op("Add", [y, b.w(n_out)], n(f"{name}_bias"))

    def split_heads(name, perm):
        y = b.op("Reshape", [proj(name, ln, d, d), heads_shape], n(f"{name}_heads"))
        return b.op("Transpose", [y], n(f"{name}_t"), perm=perm)

    q = split_heads("q", [0, 2, 1, 3])
    k = split_heads("k", [0, 2, 3, 1])
    v = split_heads("v", [0, 2, 1, 3])
    s = b.op("MatMul", [q, k], n("scores"))
    s = b.op("Div", [s, b.const(float(np.sqrt(dk)), np.float32)], n("scale"))
    p = b.op("Softmax", [s], n("softmax"), axis=-1)
    ctx = b.op("MatMul", [p, v], n("context"))
    ctx = b.op("Transpose", [ctx], n("ctx_t"), perm=[0, 2, 1, 3])
    ctx = b.op("Reshape", [ctx, b.const([0, 0, d])], n("ctx_merge"))
    r1 = b.op("Add", [proj("out", ctx, d, d), x], n("residual1"))
    y = b.op("LayerNormalization", [r1, b.w(d), b.w(d)], n("ln2"), axis=-1)
    h1 = proj("ffn1", y, d, ffn)
    g = b.op("Div", [h1, b.const(float(np.sqrt(2.0)), np.float32)], n("gelu_div"))
    g = b.op("Erf", [g], n("gelu_erf"))
    g = b.op("Add", [g, b.const(1.0, np.float32)], n("gelu_add"))
    g = b.op("Mul", [h1, g], n("gelu_mul"))
    g = b.op("Mul", [g, b.const(0.5, np.float32)], n("gelu_half"))
    return b.op("Add", [proj("ffn2", g, ffn, d), r1], n("residual2"))


def encoder_block(seq=64, d=64, heads=4, ffn=256, batch=1, dynamic=False):
    """One encoder layer on a [batch, seq, d] input (dims symbolic when `dynamic`)."""
    b = Builder()
    out = encoder_layer(b, "tokens", d, heads, ffn)
    dims = ["batch", "sequence", d] if dynamic else [batch, seq, d]
    inp = helper.make_tensor_value_info("tokens", TensorProto.FLOAT, dims)
    return b.model([inp], [out])


def vit(image=224, patch=16, d=768, heads=12, ffn=3072, layers=12, classes=1000):
    """ViT (ViT-B/16 by default) as exported: patch conv, flatten + transpose to tokens, class
    token (Expand of a constant) concatenated, position embedding added, encoder layers, final
    LayerNorm, Gather of the class token, Gemm head."""
    b = Builder()
    x = b.op("Conv", ["image", b.w(d, 3, patch, patch), b.w(d)], "patch_embed",
             kernel_shape=[patch, patch], strides=[patch, patch])
    x = b.op("Reshape", [x, b.const([0, 0, -1])], "patches")
    x = b.op("Transpose", [x], "tokens", perm=[0, 2, 1])
    cls = b.op("Expand", [b.w(1, 1, d), b.const([1, 1, d])], "cls_expand")
    x = b.op("Concat", [cls, x], "with_cls", axis=1)
    n_tok = (image // patch) ** 2 + 1
    x = b.op("Add", [x, b.w(1, n_tok, d)], "pos_embed")
    for i in range(layers):
        x = encoder_layer(b, x, d, heads, ffn, prefix=f"l{i}.")
    x = b.op("LayerNormalization", [x, b.w(d), b.w(d)], "ln_final", axis=-1)
    x = b.op("Gather", [x, b.const(0)], "cls_token", axis=1)
    x = b.op("Gemm", [x, b.w(classes, d), b.w(classes)], "head", transB=1)
    return b.model([_image(image)], [x])


def _image(size):
    return helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])


def bert(seq=384, d=768, heads=12, ffn=3072, layers=12, vocab=30522):
    """BERT (BERT-base by default) as exported: input_ids [batch, sequence] and an attention
    mask; word + position + token-type embeddings (Gather), LayerNorm, encoder layers."""
    b = Builder()
    x = b.op("Gather", [b.w(vocab, d), "input_ids"], "word_embed", axis=0)
    x = b.op("Add", [x, b.w(1, seq, d)], "pos_embed")
    x = b.op("LayerNormalization", [x, b.w(d), b.w(d)], "embed_ln", axis=-1)
    for i in range(layers):
        x = encoder_layer(b, x, d, heads, ffn, prefix=f"l{i}.")
    ids = helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"])
    mask = helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                         ["batch", "sequence"])
    return b.model([ids, mask], [x])


def encoder_macs(seq, d, heads, ffn) -> int:
    """Q, K, V and output projections, QK^T and PV (seq x seq per head), the two FFN GEMMs."""
    return seq * (4 * d * d + 2 * d * ffn) + 2 * seq * seq * d


def qdq_cnn(h=16, w=16):
    """An int8 QDQ model: Q/DQ on the input, int8 weights through DequantizeLinear, Conv, ReLU,
    Q/DQ on the activation, a second Conv; as onnxruntime's quantizer writes it."""
    b = Builder()
    scale, zero = b.const(0.05, np.float32), b.const(0, np.int8)

    def qdq(x, name):
        q = b.op("QuantizeLinear", [x, scale, zero], f"{name}_q")
        return b.op("DequantizeLinear", [q, scale, zero], f"{name}_dq")

    def wq(*dims):
        return b.op("DequantizeLinear", [b.w(*dims, dtype=np.int8), scale, zero])

    x = qdq("image", "in")
    x = b.op("Conv", [x, wq(8, 3, 3, 3)], "conv1", kernel_shape=[3, 3], pads=[1] * 4)
    x = b.op("Relu", [x], "relu1")
    x = qdq(x, "act1")
    x = b.op("Conv", [x, wq(8, 8, 3, 3)], "conv2", kernel_shape=[3, 3], pads=[1] * 4)
    return b.model([image_input(3, h, w)], [x])


def qlinear_model(h=16, w=16):
    """QLinearConv and MatMulInteger on an int8 input (the operator form of an int8 model)."""
    b = Builder()
    s, z = b.const(0.05, np.float32), b.const(0, np.int8)
    x = b.op("QLinearConv", ["image", s, z, b.w(8, 3, 3, 3, dtype=np.int8), s, z, s, z],
             "qconv", kernel_shape=[3, 3], pads=[1] * 4)
    x = b.op("Reshape", [x, b.const([1, 8, h * w])], "rows")
    x = b.op("Transpose", [x], "tokens", perm=[0, 2, 1])
    x = b.op("MatMulInteger", [x, b.w(8, 4, dtype=np.int8)], "qmm")
    inp = helper.make_tensor_value_info("image", TensorProto.INT8, [1, 3, h, w])
    out = helper.make_tensor_value_info(x, TensorProto.INT32, None)
    graph = helper.make_graph(b.nodes, "qlinear", [inp], [out], initializer=b.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


def with_unsupported():
    """A CNN with two Einsum nodes and one TopK: ops npusim does not model."""
    b = Builder()
    x = b.op("Conv", ["image", b.w(8, 3, 3, 3)], "conv1", kernel_shape=[3, 3], pads=[1] * 4)
    e1 = b.op("Einsum", [x], "einsum_a", equation="nchw->nchw")
    e2 = b.op("Einsum", [e1], "einsum_b", equation="nchw->nchw")
    flat = b.op("Flatten", [e2], "flat", axis=1)
    vals = b.op("TopK", [flat, b.const([5])], "topk", n_out=2)
    return b.model([image_input(3, 8, 8)], [vals[0]])


def cyclic():
    """Two Relu nodes that read each other's outputs."""
    b = Builder()
    b.nodes.append(helper.make_node("Add", ["image", "r2"], ["a1"], name="add1"))
    b.nodes.append(helper.make_node("Relu", ["a1"], ["r2"], name="relu2"))
    return b.model([image_input(3, 8, 8)], ["r2"])


def save(model, path) -> str:
    onnx.save_model(model, str(path))
    return str(path)
