"""Layers: what each op computes, its output shape, and its MAC and element counts.

A `LayerSpec` is one layer as the user wrote it (types checked, no shapes). `infer_layer` turns
it into a frozen `Layer` once the shapes of its inputs are known: every shape is per image as
(channels, height, width); the batch size `n` multiplies MACs and activation elements.

Ops (`OPS`):
    conv2d          out_channels, kernel, stride, padding, dilation, groups, bias, activation
    fc, matmul      fully connected on the flattened input (C*H*W); out_features, bias, activation
    maxpool/avgpool kernel, stride (default = kernel), padding; floor rounding (PyTorch default)
    global_avgpool  (C, H, W) -> (C, 1, 1)
    add             elementwise over >= 2 inputs of identical shape
    concat          along channels over >= 2 inputs with identical H and W
    upsample        nearest-neighbour, integer scale
    activation      standalone relu / relu6 / leaky_relu / sigmoid / silu
    detect          detection head (YOLO layer): passthrough, output = input, no arithmetic counted
    flatten         (C, H, W) -> (C*H*W, 1, 1)

Ops only an imported ONNX model produces (`IMPORTED_OPS`; shapes come from ONNX shape inference,
see workload/from_onnx.py, so `infer_layer` never sees them):
    linear          a weight GEMM applied to every row (token) of a (C, H, W) tensor: a 1x1 conv
    conv_transpose  ConvTranspose as its sub-pixel decomposition (output grid, kernel ceil(k/stride))
    batch_matmul    two activations: `groups` independent (M x K) @ (K x N) products per image;
                    the second operand is the array's stationary operand, read like weights
    elementwise     one vector operation per output element (`function`: the ONNX op type)
    softmax, layernorm   SOFTMAX_OPS_PER_ELEM / LAYERNORM_OPS_PER_ELEM operations per element
    reduce          one operation per input element (ReduceMean, ReduceSum, ...)
    resize          RESIZE_TAPS[mode] operations per output element
    transpose, slice, pad, gather   data movement: each output element written once
    reshape         Reshape / Squeeze / Unsqueeze / Identity / Dropout: a view, no copy (alias)
    passthrough     an unsupported op skipped on request (--skip-unsupported): an alias, no cost

Convolution output size, per axis:
    floor((in + pad_before + pad_after - dilation*(k-1) - 1) / stride) + 1.
Padding 'same' gives ceil(in / stride) with the odd pixel of padding at the bottom/right (the
TensorFlow / ONNX SAME_UPPER convention); 'valid' is no padding.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

from simulator.errors import SpecError

Shape = tuple[int, int, int]

OPS = ("conv2d", "fc", "matmul", "maxpool", "avgpool", "global_avgpool", "add", "concat",
       "upsample", "activation", "detect", "flatten")
MAC_OPS = frozenset({"conv2d", "fc", "matmul"})
ACTIVATIONS = ("relu", "relu6", "leaky_relu", "sigmoid", "silu")
UPSAMPLE_MODES = ("nearest",)
PADDING_WORDS = ("same", "valid")
INPUT_OP = "input"            # the op of the graph-input pseudo-layer (never written in a file)

# assumption: softmax is 4 vector operations per element (running max, subtract and exp, sum,
# divide), the three passes of the usual numerically stable kernel (docs/assumptions.md)
SOFTMAX_OPS_PER_ELEM = 4
# assumption: layer normalization is 5 vector operations per element (mean, subtract, square and
# sum, scale by the reciprocal standard deviation, affine), as a fused kernel (docs/assumptions.md)
LAYERNORM_OPS_PER_ELEM = 5
# assumption: a resize computes each output element from its taps, one vector operation per tap
# (nearest 1, bilinear 2x2, bicubic 4x4) (docs/assumptions.md)
RESIZE_TAPS = {"nearest": 1, "linear": 4, "cubic": 16}
IMPORTED_OPS = ("linear", "conv_transpose", "batch_matmul", "elementwise", "softmax", "layernorm",
                "reduce", "resize", "transpose", "slice", "pad", "gather", "reshape", "passthrough")
# MAC ops whose output rows are tiled like a conv's (fc / matmul read their input flattened)
ROW_MAC_OPS = frozenset({"conv2d", "linear", "conv_transpose", "batch_matmul"})
ALL_MAC_OPS = MAC_OPS | ROW_MAC_OPS

SINGLE_INPUT_OPS = frozenset({"conv2d", "fc", "matmul", "maxpool", "avgpool", "global_avgpool",
                              "upsample", "activation", "detect", "flatten"})
MULTI_INPUT_OPS = frozenset({"add", "concat"})
FUSABLE_ACTIVATION_OPS = frozenset({"conv2d", "fc", "matmul", "add", "maxpool", "avgpool",
                                    "global_avgpool"})


@dataclass(frozen=True)
class LayerSpec:
    """One layer as written (types and ranges checked, shapes not yet known).

    `key` is where the layer was written ('layers[12]') and `line` its YAML line, both used
    in error messages. `padding` is (top, left, bottom, right) or the word 'same' / 'valid';
    `stride` None means the op's default (1 for conv2d, the window for pools).
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    index: int = 0
    key: str = ""
    line: int | None = None
    out_channels: int = 0
    out_features: int = 0
    kernel: tuple[int, int] = (0, 0)
    stride: tuple[int, int] | None = None
    padding: tuple[int, int, int, int] | str = (0, 0, 0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    bias: bool = True
    activation: str | None = None
    scale: int = 0
    mode: str = "nearest"


@dataclass(frozen=True)
class Layer:
    """A shaped layer. Shapes are per image (C, H, W); `batch` multiplies element counts.

    The loop nest n, k, c, p, q, r, s is filled for MAC ops (conv2d, fc, matmul) and is zero
    for the others: n batch, k output channels (all groups), c input channels per group,
    p x q output pixels, r x s kernel. An fc/matmul is k = out_features, c = C*H*W of its
    input, p = q = r = s = 1. `kernel` is (r, s) for MAC ops and the window for pools.
    """

    name: str
    op: str
    inputs: tuple[str, ...]
    batch: int
    in_shapes: tuple[Shape, ...]
    out_shape: Shape
    n: int = 0
    k: int = 0
    c: int = 0
    p: int = 0
    q: int = 0
    r: int = 0
    s: int = 0
    groups: int = 1
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)
    kernel: tuple[int, int] = (0, 0)
    scale: int = 0
    mode: str | None = None
    activation: str | None = None
    bias: bool = False
    index: int = -1
    function: str | None = None

    @property
    def is_mac_op(self) -> bool:
        """True for the layers that run on the MAC array (conv2d, fc, matmul and imported GEMMs)."""
        return self.op in ALL_MAC_OPS

    @property
    def tiles_rows(self) -> bool:
        """True for MAC ops whose output rows (p) are tiled; fc / matmul have one row per image."""
        return self.op in ROW_MAC_OPS

    @property
    def stationary_per_image(self) -> bool:
        """True when the array's stationary operand is an activation (batch_matmul), not weights."""
        return self.op == "batch_matmul"

    @property
    def stationary_elems(self) -> int:
        """The stationary operand k*c*r*s: the weights, or batch_matmul's second operand per image."""
        return self.k * self.c * self.r * self.s

    @property
    def macs(self) -> int:
        """Multiply-accumulates: n*k*c*p*q*r*s (c is per group, so grouped convs are right)."""
        return self.n * self.k * self.c * self.p * self.q * self.r * self.s

    @property
    def weight_elems(self) -> int:
        """Weight elements k*c*r*s, biases excluded (see `bias_elems`); 0 for batch_matmul."""
        return 0 if self.stationary_per_image else self.stationary_elems

    @property
    def bias_elems(self) -> int:
        """One bias per output channel for a MAC op with bias (BN folded into it), else 0."""
        return self.k if (self.bias and self.is_mac_op) else 0

    @property
    def input_elems(self) -> int:
        """Activation elements read: the sum over inputs of C*H*W, times the batch."""
        return sum(prod(shape) for shape in self.in_shapes) * self.batch

    @property
    def output_elems(self) -> int:
        """Activation elements written: C*H*W of the output, times the batch."""
        return prod(self.out_shape) * self.batch

    @property
    def vector_elems(self) -> int:
        """Elements the vector unit processes (element-operations), batch included.

        - MAC ops: 0 on the vector unit, plus the output elements if an activation is fused.
        - maxpool / avgpool: output elements x window size (kh*kw compares or adds each).
        - global_avgpool: input elements (each summed once).
        - add: output elements x (number of inputs - 1), i.e. the output elements for 2 inputs.
        - activation: output elements.
        - concat, upsample, flatten, detect, input: 0 (data movement only, no arithmetic).
        - imported ops: elementwise its output; softmax / layernorm their output times
          SOFTMAX_OPS_PER_ELEM / LAYERNORM_OPS_PER_ELEM; reduce its input; resize its output
          times its taps; transpose, slice, pad, gather, reshape, passthrough 0 (movement).
        A fused `activation:` on add, pools or global_avgpool adds its output elements.
        """
        out = self.output_elems
        if self.op in ("maxpool", "avgpool"):
            work = out * self.kernel[0] * self.kernel[1]
        elif self.op == "global_avgpool":
            work = self.input_elems
        elif self.op == "add":
            work = out * (len(self.in_shapes) - 1)
        elif self.op in ("activation", "elementwise"):
            return out
        elif self.op == "softmax":
            return out * SOFTMAX_OPS_PER_ELEM
        elif self.op == "layernorm":
            return out * LAYERNORM_OPS_PER_ELEM
        elif self.op == "reduce":
            return self.input_elems
        elif self.op == "resize":
            return out * RESIZE_TAPS[self.mode or "nearest"]
        else:
            work = 0
        return work + (out if self.activation else 0)

    def to_dict(self) -> dict:
        """A JSON-ready summary: shapes, loop nest (MAC ops) and counts."""
        d = {
            "name": self.name, "op": self.op, "inputs": list(self.inputs),
            "in_shapes": [list(s) for s in self.in_shapes], "out_shape": list(self.out_shape),
            "batch": self.batch, "macs": self.macs, "weight_elems": self.weight_elems,
            "bias_elems": self.bias_elems, "input_elems": self.input_elems,
            "output_elems": self.output_elems, "vector_elems": self.vector_elems,
            "activation": self.activation,
        }
        if self.function:
            d["function"] = self.function
        if self.is_mac_op:
            d["loop_nest"] = {"n": self.n, "k": self.k, "c": self.c, "p": self.p, "q": self.q,
                              "r": self.r, "s": self.s}
            d.update(groups=self.groups, stride=list(self.stride),
                     dilation=list(self.dilation), padding=list(self.padding))
        elif self.op in ("maxpool", "avgpool"):
            d.update(kernel=list(self.kernel), stride=list(self.stride),
                     padding=list(self.padding))
        elif self.op == "upsample":
            d.update(scale=self.scale, mode=self.mode)
        return d


def input_layer(channels: int, size_hw: tuple[int, int], batch: int) -> Layer:
    """The graph-input pseudo-layer (node 'input'): no inputs, output (C, H, W)."""
    return Layer(name="input", op=INPUT_OP, inputs=(), batch=batch, in_shapes=(),
                 out_shape=(channels, size_hw[0], size_hw[1]))


class _Context:
    """What an error message needs: the file, the layer, the network input size."""

    def __init__(self, spec: LayerSpec, source: str, input_hw: tuple[int, int]):
        self.spec, self.source, self.input_hw = spec, source, input_hw

    def error(self, field: str | None, message: str) -> SpecError:
        spec = self.spec
        key = spec.key or spec.name
        if field:
            key = f"{key}.{field}"
        line = f", line {spec.line}" if spec.line else ""
        h, w = self.input_hw
        return SpecError(self.source, key,
                         f"layer '{spec.name}' ({spec.op}{line}) at network input {h}x{w}: "
                         f"{message}")


_SIZE_HINT = ("; if the file works at its default size, pick an input size that is a multiple of "
              "the network's total stride (32 for YOLOv3 and ResNet-50)")


def _fmt(shape: Shape) -> str:
    return "x".join(str(v) for v in shape)


def _same_padding(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """SAME_UPPER: output ceil(size/stride), extra pixel after (bottom/right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


def _resolve_padding(ctx: _Context, hw: tuple[int, int], kernel: tuple[int, int],
                     stride: tuple[int, int], dilation: tuple[int, int]
                     ) -> tuple[int, int, int, int]:
    pad = ctx.spec.padding
    if pad == "valid":
        return (0, 0, 0, 0)
    if pad == "same":
        top, bottom = _same_padding(hw[0], kernel[0], stride[0], dilation[0])
        left, right = _same_padding(hw[1], kernel[1], stride[1], dilation[1])
        return (top, left, bottom, right)
    return tuple(pad)  # type: ignore[return-value]


def _window_out(ctx: _Context, in_shape: Shape, kernel: tuple[int, int], stride: tuple[int, int],
                dilation: tuple[int, int], pad: tuple[int, int, int, int]) -> tuple[int, int]:
    """Output H, W of a sliding window; a SpecError if the window does not fit."""
    _, h, w = in_shape
    padded = (h + pad[0] + pad[2], w + pad[1] + pad[3])
    eff = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if padded[0] < eff[0] or padded[1] < eff[1]:
        dil = f" (dilated to {eff[0]}x{eff[1]})" if dilation != (1, 1) else ""
        raise ctx.error("kernel", f"the {kernel[0]}x{kernel[1]} window{dil} does not fit its "
                        f"padded input {padded[0]}x{padded[1]} (input {_fmt(in_shape)}, "
                        f"padding {list(pad)}), so the output size would be <= 0; use a larger "
                        f"input size or a smaller kernel")
    return ((padded[0] - eff[0]) // stride[0] + 1, (padded[1] - eff[1]) // stride[1] + 1)


def _conv2d(ctx: _Context, in_shapes: tuple[Shape, ...], batch: int) -> dict:
    spec = ctx.spec
    c_in = in_shapes[0][0]
    if c_in % spec.groups:
        raise ctx.error("groups", f"groups={spec.groups} does not divide the {c_in} input "
                        f"channels (input {_fmt(in_shapes[0])})")
    if spec.out_channels % spec.groups:
        raise ctx.error("groups", f"groups={spec.groups} does not divide out_channels="
                        f"{spec.out_channels}")
    stride = spec.stride or (1, 1)
    pad = _resolve_padding(ctx, in_shapes[0][1:], spec.kernel, stride, spec.dilation)
    p, q = _window_out(ctx, in_shapes[0], spec.kernel, stride, spec.dilation, pad)
    r, s = spec.kernel
    return dict(out_shape=(spec.out_channels, p, q), n=batch, k=spec.out_channels,
                c=c_in // spec.groups, p=p, q=q, r=r, s=s, groups=spec.groups, stride=stride,
                dilation=spec.dilation, padding=pad, kernel=spec.kernel)


def _fc(ctx: _Context, in_shapes: tuple[Shape, ...], batch: int) -> dict:
    k = ctx.spec.out_features
    return dict(out_shape=(k, 1, 1), n=batch, k=k, c=prod(in_shapes[0]), p=1, q=1, r=1, s=1,
                kernel=(1, 1))


def _pool(ctx: _Context, in_shapes: tuple[Shape, ...], batch: int) -> dict:
    spec = ctx.spec
    stride = spec.stride or spec.kernel
    pad = _resolve_padding(ctx, in_shapes[0][1:], spec.kernel, stride, (1, 1))
    p, q = _window_out(ctx, in_shapes[0], spec.kernel, stride, (1, 1), pad)
    return dict(out_shape=(in_shapes[0][0], p, q), stride=stride, padding=pad,
                kernel=spec.kernel)


def _global_avgpool(ctx: _Context, in_shapes: tuple[Shape, ...], batch: int) -> dict:
    return dict(out_shape=(in_shapes[0][0], 1, 1), kernel=tuple(in_shapes[0][1:]))


def _add(ctx: _Context, in_shapes: tuple[Shape, ...], batch: int) -> dict:
    if any(shape != in_shapes[0] for shape in in_shapes):
        listed = ", ".join(f"{name} {_fmt(shape)}" for name, shape in zip(ctx.spec.inputs,
                                                                           in_shapes))
        raise ctx.error("inputs", f"add needs inputs of identical shape (C x H x W), got "
                        f"{listed}{_SIZE_HINT}")
    return dict(out_shape=in_shapes[0])


def _concat(ctx: _Context, in_shapes: tuple[Shape, ...], batch: int) -> dict:
    if any(shape[1:] != in_shapes[0][1:] for shape in in_shapes):
        listed = ", ".join(f"{name} {_fmt(shape)}" for name, shape in zip(ctx.spec.inputs,
                                                                           in_shapes))
        raise ctx.error("inputs", f"concat joins along channels and needs the same H x W on "
                        f"every input, got (C x H x W) {listed}{_SIZE_HINT}")
    return dict(out_shape=(sum(shape[0] for shape in in_shapes),) + in_shapes[0][1:])


def _upsample(ctx: _Context, in_shapes: tuple[Shape, ...], batch: int) -> dict:
    c, h, w = in_shapes[0]
    scale = ctx.spec.scale
    return dict(out_shape=(c, h * scale, w * scale), scale=scale, mode=ctx.spec.mode)


def _passthrough(ctx: _Context, in_shapes: tuple[Shape, ...], batch: int) -> dict:
    return dict(out_shape=in_shapes[0])


def _flatten(ctx: _Context, in_shapes: tuple[Shape, ...], batch: int) -> dict:
    return dict(out_shape=(prod(in_shapes[0]), 1, 1))


_INFER = {
    "conv2d": _conv2d, "fc": _fc, "matmul": _fc, "maxpool": _pool, "avgpool": _pool,
    "global_avgpool": _global_avgpool, "add": _add, "concat": _concat, "upsample": _upsample,
    "activation": _passthrough, "detect": _passthrough, "flatten": _flatten,
}
assert set(_INFER) == set(OPS)


def infer_layer(spec: LayerSpec, in_shapes: tuple[Shape, ...], batch: int, source: str = "",
                input_hw: tuple[int, int] = (0, 0)) -> Layer:
    """Shape one layer from the shapes of its inputs (in `spec.inputs` order).

    `source` and `input_hw` (the network input size) only serve error messages. Raises
    SpecError when the shapes do not fit the op.
    """
    ctx = _Context(spec, source, input_hw)
    if len(in_shapes) != len(spec.inputs):
        raise ctx.error("inputs", f"got {len(in_shapes)} input shapes for "
                        f"{len(spec.inputs)} inputs")
    fields = _INFER[spec.op](ctx, tuple(in_shapes), batch)
    return Layer(name=spec.name, op=spec.op, inputs=spec.inputs, batch=batch,
                 in_shapes=tuple(in_shapes), activation=spec.activation,
                 bias=spec.bias and spec.op in MAC_OPS, index=spec.index, **fields)
