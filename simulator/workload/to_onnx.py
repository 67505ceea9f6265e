"""A Network -> an ONNX model with shapes only, so the YAML and ONNX formats check each other.

`export_onnx(net, path)` writes one ONNX node per layer, named after the layer, with the layer's
name as its output tensor: conv2d -> Conv (+ its activation), fc / matmul -> Gemm (after a
Flatten when the input is not flat yet), pools -> MaxPool / AveragePool / GlobalAveragePool,
add -> Add (Sum for more inputs), concat -> Concat, upsample -> Resize (nearest), flatten ->
Flatten, detect -> Identity, a standalone activation -> its op. Activations: relu -> Relu,
relu6 -> Clip(0, 6), leaky_relu -> LeakyRelu(0.1), sigmoid -> Sigmoid, silu -> x * Sigmoid(x).

Weights are initializers with their shapes and no values in the model: their data is external,
in `<model>.weights` next to it, written as a sparse file of zeros (it takes no disk blocks on
the usual filesystems), so the model is valid ONNX that any tool opens. npusim never reads
weights. The input is [N, C, H, W] at the network's size and batch.
Reading the file back (workload/from_onnx.py) gives the same layers, MACs and cycles, except
that `detect` comes back as a `reshape` (both are views that cost nothing).
"""
from __future__ import annotations

from pathlib import Path

from simulator.errors import SpecError

EXPORT_OPSET = 17
LEAKY_RELU_ALPHA = 0.1     # Darknet's leaky ReLU slope (YOLOv3); the cost does not depend on it
_IMPORTED_ONLY = ("linear", "conv_transpose", "batch_matmul", "elementwise", "softmax",
                  "layernorm", "reduce", "resize", "transpose", "slice", "pad", "gather",
                  "reshape", "passthrough")


def network_to_onnx(net, weights_file: str = "weights.bin"):
    """(onnx.ModelProto of `net`, weight bytes): weights external in `weights_file` (relative)."""
    import onnx
    from onnx import TensorProto, helper

    nodes, inits = [], []
    rank4: dict[str, bool] = {"input": True}       # is the tensor [N, C, H, W] (else [N, F])
    offset = [0]

    def weight(name: str, dims: list[int]) -> str:
        t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims)
        t.data_location = TensorProto.EXTERNAL
        size = 4
        for d in dims:
            size *= d
        for key, value in (("location", weights_file), ("offset", str(offset[0])),
                           ("length", str(size))):
            entry = t.external_data.add()
            entry.key, entry.value = key, value
        offset[0] += size
        inits.append(t)
        return name

    def const(name: str, values, data_type=TensorProto.FLOAT) -> str:
        inits.append(helper.make_tensor(name, data_type, [len(values)], values))
        return name

    def activation(layer, x: str, out: str) -> None:
        act, name = layer.activation, out
        if act == "relu":
            nodes.append(helper.make_node("Relu", [x], [out], name=name))
        elif act == "relu6":
            inits.append(helper.make_tensor(f"{out}.min", TensorProto.FLOAT, [], [0.0]))
            inits.append(helper.make_tensor(f"{out}.max", TensorProto.FLOAT, [], [6.0]))
            nodes.append(helper.make_node("Clip", [x, f"{out}.min", f"{out}.max"], [out],
                                          name=name))
        elif act == "leaky_relu":
            nodes.append(helper.make_node("LeakyRelu", [x], [out], name=name,
                                          alpha=LEAKY_RELU_ALPHA))
        elif act == "sigmoid":
            nodes.append(helper.make_node("Sigmoid", [x], [out], name=name))
        elif act == "silu":
            nodes.append(helper.make_node("Sigmoid", [x], [f"{out}.sigmoid"],
                                          name=f"{name}.sigmoid"))
            nodes.append(helper.make_node("Mul", [x, f"{out}.sigmoid"], [out], name=name))
        else:
            raise SpecError(str(net.source_path or "<python>"), layer.name,
                            f"activation {act!r} has no ONNX export")

    for layer in net.layers:
        op, x = layer.op, (layer.inputs[0] if layer.inputs else "input")
        if op == "conv2d":
            c_in = layer.in_shapes[0][0]
            w = weight(f"{layer.name}.weight", [layer.k, c_in // layer.groups, layer.r, layer.s])
            ins = [x, w] + ([weight(f"{layer.name}.bias", [layer.k])] if layer.bias else [])
            _emit_named(nodes, helper, layer, "Conv", ins, activation, dict(
                kernel_shape=[layer.r, layer.s], strides=list(layer.stride),
                dilations=list(layer.dilation), pads=list(layer.padding), group=layer.groups))
        elif op in ("fc", "matmul"):
            if rank4.get(x, True):
                nodes.append(helper.make_node("Flatten", [x], [f"{layer.name}.flat"],
                                              name=f"{layer.name}.flatten", axis=1))
                x = f"{layer.name}.flat"
            w = weight(f"{layer.name}.weight", [layer.k, layer.c])
            ins = [x, w] + ([weight(f"{layer.name}.bias", [layer.k])] if layer.bias else [])
            _emit_named(nodes, helper, layer, "Gemm", ins, activation, dict(transB=1))
        elif op in ("maxpool", "avgpool"):
            _emit_named(nodes, helper, layer, "MaxPool" if op == "maxpool" else "AveragePool",
                        [x], activation, dict(kernel_shape=list(layer.kernel),
                                              strides=list(layer.stride),
                                              pads=list(layer.padding)))
        elif op == "global_avgpool":
            _emit_named(nodes, helper, layer, "GlobalAveragePool", [x], activation, {})
        elif op == "add":
            _emit_named(nodes, helper, layer, "Add" if len(layer.inputs) == 2 else "Sum",
                        list(layer.inputs), activation, {})
        elif op == "concat":
            _emit_named(nodes, helper, layer, "Concat", list(layer.inputs), activation,
                        dict(axis=1))
        elif op == "upsample":
            scales = const(f"{layer.name}.scales", [1.0, 1.0, float(layer.scale),
                                                    float(layer.scale)])
            _emit_named(nodes, helper, layer, "Resize", [x, "", scales], activation,
                        dict(mode="nearest"))
        elif op == "activation":
            activation(layer, x, layer.name)
        elif op == "detect":
            nodes.append(helper.make_node("Identity", [x], [layer.name], name=layer.name))
        elif op == "flatten":
            nodes.append(helper.make_node("Flatten", [x], [layer.name], name=layer.name, axis=1))
        else:
            raise SpecError(str(net.source_path or "<python>"), layer.name,
                            f"op '{op}' of layer '{layer.name}' has no ONNX export "
                            f"(imported-only ops: {', '.join(_IMPORTED_ONLY)})")
        rank4[layer.name] = op not in ("fc", "matmul", "flatten") and rank4.get(x, True)

    h, w = net.input_size
    n = net.batch
    graph_input = helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                                [n, net.input_channels, h, w])
    def out_dims(name: str) -> list[int]:
        c, hh, ww = net.layer(name).out_shape
        return [n, c, hh, ww] if rank4[name] else [n, c * hh * ww]

    outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, out_dims(name))
               for name in net.outputs]
    graph = helper.make_graph(nodes, net.name, [graph_input], outputs, initializer=inits,
                              doc_string=net.description)
    model = helper.make_model(graph, producer_name="npusim export-onnx",
                              opset_imports=[helper.make_opsetid("", EXPORT_OPSET)])
    model.ir_version = min(model.ir_version, onnx.IR_VERSION)
    return model, offset[0]


def _emit_named(nodes, helper, layer, op_type, inputs, activation, attrs) -> None:
    """The layer's node, named after the layer; a fused activation follows as its own node."""
    if layer.activation:
        pre = f"{layer.name}.pre"
        nodes.append(helper.make_node(op_type, inputs, [pre], name=layer.name, **attrs))
        activation(layer, pre, layer.name)
        nodes[-1].name = f"{layer.name}.{layer.activation}"
    else:
        nodes.append(helper.make_node(op_type, inputs, [layer.name], name=layer.name, **attrs))


def export_onnx(net, path: str | Path) -> Path:
    """Write `net` as an ONNX file (shapes only) at `path`; returns the path."""
    import onnx
    path = Path(path)
    weights = path.with_suffix(".weights")
    model, weight_bytes = network_to_onnx(net, weights.name)
    try:
        onnx.save_model(model, str(path))
        with open(weights, "wb") as fh:       # sparse: zeros that occupy no disk blocks
            fh.truncate(weight_bytes)
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot write the ONNX file: {exc.strerror or exc}") \
            from None
    return path
