"""ONNX operators -> npusim layers: which unit runs each op, its loop nest, and what folds away.

`Translator.run()` walks the activation nodes of a shape-inferred model (workload/from_onnx.py)
and returns `Draft`s, one per layer, plus the unsupported nodes by op type. A draft either holds
a `LayerSpec` of an op the YAML format has (conv2d, fc, pools, add, concat, upsample, activation,
flatten), shaped later by the same `infer_layer` as a YAML network, or the fields of an
imported-only op (ops.IMPORTED_OPS) with its shape from ONNX shape inference.

Tensors become per-image (C, H, W) by `chw`: [N, C, H, W] -> (C, H, W); [N, S, D] (tokens)
-> (D, S, 1), so a token is a row and a per-token Linear is a 1x1 conv; [N, D] -> (D, 1, 1);
more leading dims fold into C. A first dim that is a multiple of the batch (PyTorch's
[N*heads, S, d] in attention) counts as batch x heads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil, prod

from simulator.errors import SpecError
from simulator.workload.ops import ACTIVATIONS, LayerSpec

MAC_NODE_OPS = frozenset({"Conv", "ConvInteger", "QLinearConv", "ConvTranspose", "Gemm", "MatMul",
                          "MatMulInteger", "QLinearMatMul"})
QUANTIZED_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul",
                           "ConvInteger", "MatMulInteger"})
# one vector operation per output element each
ELEMENTWISE_OPS = frozenset({"Mul", "Add", "Sub", "Div", "Pow", "Sqrt", "Erf", "Tanh", "Gelu",
                             "HardSwish", "HardSigmoid", "PRelu", "Relu", "LeakyRelu", "Sigmoid",
                             "Clip", "Exp", "Neg", "Reciprocal", "Abs", "Max", "Min", "Sum",
                             "Cast"})
ALIAS_NODE_OPS = frozenset({"Reshape", "Squeeze", "Unsqueeze", "Identity", "Dropout"})
SUPPORTED = (MAC_NODE_OPS | ELEMENTWISE_OPS | ALIAS_NODE_OPS | {
    "BatchNormalization", "Softmax", "LogSoftmax", "LayerNormalization", "ReduceMean",
    "ReduceSum", "ReduceMax", "ReduceMin", "MaxPool", "AveragePool", "GlobalAveragePool",
    "GlobalMaxPool", "Concat", "Split", "Slice", "Resize", "Upsample", "Transpose", "Flatten",
    "Pad", "Gather", "QuantizeLinear", "DequantizeLinear", "Constant", "Shape",
    "ConstantOfShape"})
# ops an activation may be fused into (the array's or vector unit's output path)
FUSE_INTO = frozenset({"conv2d", "fc", "matmul", "linear", "conv_transpose", "add", "maxpool",
                       "avgpool", "global_avgpool"})
BIAS_INTO = frozenset({"conv2d", "fc", "matmul", "linear", "conv_transpose"})
ACTIVATION_OF = {"Relu": "relu", "LeakyRelu": "leaky_relu", "Sigmoid": "sigmoid"}
RELU6_BOUNDS = (0.0, 6.0)
RESIZE_MODES = {"nearest": "nearest", "linear": "linear", "bilinear": "linear", "cubic": "cubic"}


def chw(dims, batch: int) -> tuple[int, int, int]:
    """Per-image (C, H, W) of a tensor with dims `dims` (see the module docstring)."""
    dims = list(dims)
    if len(dims) >= 2 and dims[0] % batch == 0:
        e = ([dims[0] // batch] if dims[0] != batch else []) + dims[1:]
    else:
        e = dims
    if not e:
        return (1, 1, 1)
    if len(e) == 1:
        return (e[0], 1, 1)
    if len(e) == 2:
        return (e[1], e[0], 1)
    if len(e) == 3:
        return (e[0], e[1], e[2])
    return (prod(e[:-2]), e[-2], e[-1])


class Unsupported(Exception):
    """A node this importer cannot model (an unknown op, or a known op in an unknown form)."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


@dataclass
class Draft:
    """One layer before shaping: a YAML-equivalent `spec`, or an imported op's `fields`."""
    name: str
    op: str
    inputs: tuple[str, ...]
    spec: LayerSpec | None = None
    fields: dict = field(default_factory=dict)
    activation: str | None = None
    bias: bool | None = None
    expect_shape: tuple[int, int, int] | None = None


class Translator:
    """Walks the nodes once; see the module docstring."""

    def __init__(self, m, batch: int, primary: str, in_shape):
        self.m, self.batch, self.source = m, batch, m.source
        self.owner: dict[str, Draft | str] = {primary: "input"}
        self.out_shape: dict[str, tuple] = {"input": tuple(in_shape)}
        self.drafts: list[Draft] = []
        self.unsupported: dict[str, list[str]] = {}
        self.names: set[str] = {"input"}
        self.act: set[str] = {primary}
        for node in m.nodes:
            if node.op_type not in ("Shape", "Size") and any(i in self.act for i in node.input):
                self.act.update(o for o in node.output if o)
        outputs = {o.name for o in m.graph.output}
        self.consumers: dict[str, list] = {}
        for node in m.nodes:
            if self._is_act_node(node):
                for i in node.input:
                    if i in self.act:
                        self.consumers.setdefault(i, []).append(node)
        for o in outputs:
            self.consumers.setdefault(o, []).append(None)
        self.done: set[int] = set()

    # --- helpers ----------------------------------------------------------------------
    def _is_act_node(self, node) -> bool:
        return node.op_type not in ("Shape", "Size") and any(i in self.act for i in node.input)

    def label(self, node) -> str:
        return node.name or f"{node.op_type}_{node.output[0]}"

    def dims(self, tensor: str, node) -> tuple[int, ...]:
        d = self.m.dims.get(tensor)
        if d is None:
            raise SpecError(self.source, f"graph.node[{self.label(node)}]",
                            f"ONNX shape inference gives no static shape for tensor '{tensor}' "
                            f"of node '{self.label(node)}' ({node.op_type}); give the input size "
                            f"with --input, or export the model with static shapes")
        return d

    def shape(self, tensor: str, node) -> tuple[int, int, int]:
        return chw(self.dims(tensor, node), self.batch)

    # shape attributes that must be positive (a group of 0 would divide by zero), and ones that may be 0
    _POSITIVE = frozenset({"group", "strides", "dilations", "kernel_shape"})
    _NON_NEGATIVE = frozenset({"pads", "output_padding"})

    def attr(self, node, name: str, default=None):
        import onnx
        for a in node.attribute:
            if a.name == name:
                value = onnx.helper.get_attribute_value(a)
                value = value.decode() if isinstance(value, bytes) else value
                low = 1 if name in self._POSITIVE else 0 if name in self._NON_NEGATIVE else None
                if low is not None and node.op_type != "Pad":
                    values = value if isinstance(value, (list, tuple)) else [value]
                    if any(not isinstance(v, int) or v < low for v in values):
                        raise SpecError(self.source, f"graph.node[{self.label(node)}].{name}",
                                        f"{node.op_type} attribute {name} = {value!r}: every value must be an "
                                        f"integer >= {low}")
                return value
        return default

    def const(self, tensor: str):
        return self.m.constants.get(tensor)

    def is_const(self, tensor: str) -> bool:
        return bool(tensor) and tensor not in self.act

    def ref(self, tensor: str) -> str:
        owner = self.owner[tensor]
        return owner if isinstance(owner, str) else owner.name

    def draft_of(self, tensor: str) -> Draft | None:
        owner = self.owner.get(tensor)
        return owner if isinstance(owner, Draft) else None

    def single_consumer(self, tensor: str) -> bool:
        return len(self.consumers.get(tensor, [])) == 1

    def act_inputs(self, node) -> list[str]:
        return [i for i in node.input if i and i in self.act]

    def unique(self, name: str) -> str:
        base = name.replace(" ", "_") or "layer"
        if base == "input":
            base = "input_"
        out, k = base, 1
        while out in self.names:
            k += 1
            out = f"{base}_{k}"
        self.names.add(out)
        return out

    def add(self, node, op: str, inputs, *, spec_fields: dict | None = None,
            fields: dict | None = None, out: str | None = None, name: str | None = None) -> Draft:
        name = self.unique(name or self.label(node))
        refs = tuple(self.ref(t) for t in inputs)
        out = out or node.output[0]
        expect = self.shape(out, node)
        if spec_fields is not None:
            d = Draft(name, op, refs, spec=LayerSpec(name=name, op=op, inputs=refs, **spec_fields),
                      expect_shape=expect)
        else:
            d = Draft(name, op, refs, fields=dict(fields or {}))
            d.fields.setdefault("out_shape", expect)
        self.drafts.append(d)
        for o in ([out] if out != node.output[0] else node.output):
            if o:
                self.owner[o] = d
        return d

    def alias(self, node, tensor: str) -> None:
        """The node folds away: its outputs are the layer that wrote `tensor`."""
        for o in node.output:
            if o:
                self.owner[o] = self.owner[tensor]

    # --- the walk ---------------------------------------------------------------------
    def run(self) -> tuple[list[Draft], dict[str, list[str]]]:
        for index, node in enumerate(self.m.nodes):
            if index in self.done or not self._is_act_node(node):
                continue
            self.index = index
            try:
                if node.op_type not in SUPPORTED or node.domain not in ("", "ai.onnx"):
                    raise Unsupported(node.op_type if not node.domain
                                      else f"{node.domain}.{node.op_type}")
                self.translate(node)
            except Unsupported as exc:
                self.unsupported.setdefault(exc.what, []).append(self.label(node))
                ins = self.act_inputs(node)
                out = node.output[0]
                shape = (self.shape(out, node) if self.m.dims.get(out) is not None
                         else self.out_shape.get(self.ref(ins[0])))
                self.add(node, "passthrough", ins[:1], fields={"out_shape": shape})
        return self.drafts, self.unsupported

    def translate(self, node) -> None:
        op = node.op_type
        ins = self.act_inputs(node)
        x = ins[0]
        if op in ("Conv", "ConvInteger", "QLinearConv"):
            self.conv(node, {"Conv": (0, 1, 2), "ConvInteger": (0, 1, None),
                             "QLinearConv": (0, 3, 8)}[op])
        elif op == "ConvTranspose":
            self.conv_transpose(node)
        elif op in ("Gemm", "MatMul", "MatMulInteger", "QLinearMatMul"):
            self.matmul(node)
        elif op == "BatchNormalization":
            p = self.draft_of(x)
            if p and p.op in BIAS_INTO and self.single_consumer(x) and not p.activation:
                p.bias = True
                self.alias(node, x)
            else:
                self.add(node, "elementwise", [x], fields={"function": op})
        elif op == "DequantizeLinear":
            self.alias(node, x)                  # the consumer reads the int8 tensor
        elif op == "QuantizeLinear":
            if self.draft_of(x) and self.single_consumer(x):
                self.alias(node, x)              # requantized in the producer's output path
            else:
                self.add(node, "elementwise", [x], fields={"function": op})
        elif op == "Sigmoid" and self.silu(node, x):
            pass
        elif op in ACTIVATION_OF or op == "Clip":
            self.activation(node, x)
        elif op in ("Add", "Sum"):
            self.add_op(node, ins)
        elif op in ELEMENTWISE_OPS:
            self.add(node, "elementwise", ins, fields={"function": op})
        elif op in ("Softmax", "LogSoftmax"):
            self.add(node, "softmax", [x])
        elif op == "LayerNormalization":
            self.add(node, "layernorm", [x])
        elif op.startswith("Reduce") or op == "GlobalMaxPool":
            self.add(node, "reduce", [x], fields={"function": op})
        elif op in ("MaxPool", "AveragePool"):
            self.pool(node, x)
        elif op == "GlobalAveragePool":
            if len(self.dims(x, node)) == 4:
                self.add(node, "global_avgpool", [x], spec_fields={})
            else:
                self.add(node, "reduce", [x], fields={"function": op})
        elif op == "Concat":
            axis = self.attr(node, "axis", 1)
            rank = len(self.dims(x, node))
            if rank == 4 and axis in (1, -3) and len(ins) == len(node.input) and len(ins) >= 2:
                self.add(node, "concat", ins, spec_fields={})
            else:
                self.add(node, "concat", ins, fields={"function": op})
        elif op == "Split":
            for i, out in enumerate(o for o in node.output if o):
                self.add(node, "slice", [x], out=out, name=f"{self.label(node)}_{i}",
                         fields={"out_shape": self.shape(out, node), "function": op})
        elif op in ("Slice", "Pad", "Transpose", "Gather"):
            self.add(node, op.lower(), ins, fields={"function": op})
        elif op in ("Resize", "Upsample"):
            self.resize(node, x)
        elif op == "Flatten":
            users = self.consumers.get(node.output[0], [])
            if users and all(u is not None and u.op_type == "Gemm" for u in users):
                self.alias(node, x)              # an fc reads its input flattened
            elif self.attr(node, "axis", 1) == 1:
                self.add(node, "flatten", [x], spec_fields={})
            else:
                self.add(node, "reshape", [x])
        elif op in ALIAS_NODE_OPS:
            self.add(node, "reshape", [x])
        else:
            raise Unsupported(op)

    # --- ops on the arrays ------------------------------------------------------------
    def conv(self, node, idx) -> None:
        x, w = node.input[idx[0]], node.input[idx[1]]
        if not self.is_const(w):
            raise Unsupported(f"{node.op_type} (computed weights)")
        wd = self.dims(w, node)
        if len(wd) != 4:
            raise Unsupported(f"{node.op_type} ({len(wd) - 2}-D)")
        kernel = (wd[2], wd[3])
        stride = tuple(self.attr(node, "strides", [1, 1]))
        dilation = tuple(self.attr(node, "dilations", [1, 1]))
        padding = self.padding(node, x, kernel, stride, dilation)
        has_bias = idx[2] is not None and len(node.input) > idx[2] and bool(node.input[idx[2]])
        self.add(node, "conv2d", [x], spec_fields=dict(
            out_channels=wd[0], kernel=kernel, stride=stride, dilation=dilation,
            padding=padding, groups=self.attr(node, "group", 1), bias=has_bias))

    def padding(self, node, x, kernel, stride, dilation):
        auto = self.attr(node, "auto_pad", "NOTSET")
        if auto == "SAME_UPPER":
            return "same"
        if auto == "VALID":
            return "valid"
        if auto == "SAME_LOWER":
            _, _, h, w = self.dims(x, node)
            pads = []
            for size, k, s, d in zip((h, w), kernel, stride, dilation):
                total = max((ceil(size / s) - 1) * s + d * (k - 1) + 1 - size, 0)
                pads.append((total - total // 2, total // 2))
            return (pads[0][0], pads[1][0], pads[0][1], pads[1][1])
        return tuple(self.attr(node, "pads", [0, 0, 0, 0]))

    def conv_transpose(self, node) -> None:
        x, w = node.input[0], node.input[1]
        if not self.is_const(w):
            raise Unsupported("ConvTranspose (computed weights)")
        wd = self.dims(w, node)
        if len(wd) != 4:
            raise Unsupported(f"ConvTranspose ({len(wd) - 2}-D)")
        groups = self.attr(node, "group", 1)
        sh, sw = self.attr(node, "strides", [1, 1])
        k_out, ho, wo = self.shape(node.output[0], node)
        # sub-pixel decomposition: each output pixel sums ceil(k / stride)^2 taps per channel
        r, s = ceil(wd[2] / sh), ceil(wd[3] / sw)
        d = self.add(node, "conv_transpose", [x], fields=dict(
            n=self.batch, k=k_out, c=wd[0] // groups, p=ho, q=wo, r=r, s=s, groups=groups,
            kernel=(r, s), out_shape=(k_out, ho, wo)))
        d.bias = len(node.input) > 2 and bool(node.input[2])

    def matmul(self, node) -> None:
        op = node.op_type
        a_i, b_i = (0, 3) if op == "QLinearMatMul" else (0, 1)
        a, b = node.input[a_i], node.input[b_i]
        if op == "Gemm" and self.attr(node, "transA", 0):
            raise Unsupported("Gemm (transA=1)")
        if self.is_const(a):
            raise Unsupported(f"{op} (constant first operand)")
        ad, bd = self.dims(a, node), self.dims(b, node)
        if self.is_const(b):
            if len(bd) != 2:
                raise Unsupported(f"{op} (batched constant weights)")
            k_in, n_out = (bd[1], bd[0]) if self.attr(node, "transB", 0) else (bd[0], bd[1])
            if len(ad) <= 2:
                has_bias = op == "Gemm" and len(node.input) > 2 and bool(node.input[2])
                self.add(node, "fc", [a], spec_fields=dict(out_features=n_out, bias=has_bias))
                return
            rows = prod(ad) // self.batch // k_in
            self.add(node, "linear", [a], fields=dict(
                n=self.batch, k=n_out, c=k_in, p=rows, q=1, r=1, s=1, kernel=(1, 1),
                in_shape0=(k_in, rows, 1), out_shape=(n_out, rows, 1)))
            return
        if len(ad) < 2 or len(bd) < 2:
            raise Unsupported(f"{op} (1-D operand)")
        if op == "Gemm" and self.attr(node, "transB", 0):
            k_in, n_out = bd[1], bd[0]
        else:
            k_in, n_out = bd[-2], bd[-1]
        m_rows = ad[-2]
        out = self.dims(node.output[0], node)
        groups = max(prod(out) // self.batch // (m_rows * n_out), 1)
        self.add(node, "batch_matmul", [a, b], fields=dict(
            n=self.batch, k=groups * n_out, c=k_in, p=m_rows, q=1, r=1, s=1, groups=groups,
            kernel=(1, 1), in_shape0=(groups * k_in, m_rows, 1),
            out_shape=(groups * n_out, m_rows, 1), function=op))

    # --- ops on the vector units --------------------------------------------------------
    def fuse(self, x: str, activation: str) -> bool:
        p = self.draft_of(x)
        if p and p.op in FUSE_INTO and self.single_consumer(x) and p.activation is None:
            p.activation = activation
            return True
        return False

    def activation(self, node, x) -> None:
        op = node.op_type
        act = ACTIVATION_OF.get(op)
        if op == "Clip":
            lo = self.attr(node, "min", None)
            hi = self.attr(node, "max", None)
            if len(node.input) > 1 and node.input[1]:
                v = self.const(node.input[1])
                lo = None if v is None else float(v)
            if len(node.input) > 2 and node.input[2]:
                v = self.const(node.input[2])
                hi = None if v is None else float(v)
            act = "relu6" if (lo, hi) == RELU6_BOUNDS else None
        if act and self.fuse(x, act):
            self.alias(node, x)
        elif act in ACTIVATIONS:
            self.add(node, "activation", [x], spec_fields=dict(activation=act))
        else:
            self.add(node, "elementwise", [x], fields={"function": op})

    def silu(self, node, x) -> bool:
        """x * Sigmoid(x) (how PyTorch exports SiLU): one silu activation."""
        s = node.output[0]
        users = self.consumers.get(s, [])
        if len(users) != 1 or users[0] is None or users[0].op_type != "Mul":
            return False
        mul = users[0]
        if sorted(mul.input) != sorted([x, s]):
            return False
        self.done.add(self.m.nodes.index(mul))
        p = self.draft_of(x)
        x_users = self.consumers.get(x, [])
        if (p and p.op in FUSE_INTO and p.activation is None and len(x_users) == 2
                and set(map(id, x_users)) == {id(node), id(mul)}):
            p.activation = "silu"
            self.alias(mul, x)
            self.alias(node, x)
        else:
            d = self.add(mul, "activation", [x], spec_fields=dict(activation="silu"))
            self.owner[s] = d
        return True

    def add_op(self, node, ins) -> None:
        x = ins[0]
        consts = [i for i in node.input if i and i not in self.act]
        if len(ins) == 1 and len(consts) == 1 and node.op_type == "Add":
            p = self.draft_of(x)
            n_const = prod(self.dims(consts[0], node))
            if (p and p.op in BIAS_INTO and self.single_consumer(x) and not p.bias
                    and p.activation is None and n_const == self._out_channels(p)):
                p.bias = True                    # a Linear's bias, exported as MatMul + Add
                self.alias(node, x)
                return
        dims = [self.dims(i, node) for i in ins]
        if len(ins) >= 2 and not consts and all(d == dims[0] for d in dims):
            self.add(node, "add", ins, spec_fields={})
        else:
            self.add(node, "elementwise", ins, fields={"function": node.op_type})

    @staticmethod
    def _out_channels(d: Draft) -> int:
        if d.spec is not None:
            return d.spec.out_channels or d.spec.out_features
        return d.fields.get("k", 0)

    def pool(self, node, x) -> None:
        kernel = tuple(self.attr(node, "kernel_shape"))
        if len(kernel) != 2:
            raise Unsupported(f"{node.op_type} ({len(kernel)}-D)")
        if tuple(self.attr(node, "dilations", [1, 1])) != (1, 1):
            raise Unsupported(f"{node.op_type} (dilated)")
        stride = tuple(self.attr(node, "strides", [1, 1]))
        padding = self.padding(node, x, kernel, stride, (1, 1))
        if self.attr(node, "ceil_mode", 0) and not isinstance(padding, str):
            # ceil rounding = floor rounding with the missing pixels padded at the bottom/right
            _, _, h, w = self.dims(x, node)
            _, p_out, q_out = self.shape(node.output[0], node)
            t, l, b, r = padding
            while (h + t + b - kernel[0]) // stride[0] + 1 < p_out:
                b += 1
            while (w + l + r - kernel[1]) // stride[1] + 1 < q_out:
                r += 1
            padding = (t, l, b, r)
        op = "maxpool" if node.op_type == "MaxPool" else "avgpool"
        self.add(node, op, [x], spec_fields=dict(kernel=kernel, stride=stride, padding=padding))

    def resize(self, node, x) -> None:
        ind, outd = self.dims(x, node), self.dims(node.output[0], node)
        mode = RESIZE_MODES.get(str(self.attr(node, "mode", "nearest")).lower(), "linear")
        if (len(ind) == 4 and mode == "nearest" and ind[:2] == outd[:2]
                and outd[2] % ind[2] == 0 and outd[3] % ind[3] == 0
                and outd[2] // ind[2] == outd[3] // ind[3]):
            self.add(node, "upsample", [x], spec_fields=dict(scale=outd[2] // ind[2]))
        else:
            self.add(node, "resize", [x], fields={"mode": mode, "function": node.op_type})
