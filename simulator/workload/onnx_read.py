"""Reading an ONNX file without its weights: the model's structure, initializers as shapes only.

A simulation needs every tensor's shape, never a weight's value, so a 500 MB model should load in
the time it takes to read its graph. `read_model` maps the file and walks the protobuf wire
format of `ModelProto` -> `graph` (`GraphProto`) -> `initializer` (`TensorProto`): every field is
copied except the data of initializers larger than `KEEP_DATA_BYTES` (the small ones carry
shapes and axes that shape inference reads, e.g. a Reshape target). The pages of the skipped
data are never touched. External data is never loaded, so a model whose weight file is missing
still loads. A truncated or non-ONNX file is a SpecError naming the file.
"""
from __future__ import annotations

import mmap
from pathlib import Path

from simulator.errors import SpecError

# initializers up to this size keep their values: shape tensors, axes, scales (a few bytes each)
KEEP_DATA_BYTES = 4096

# protobuf field numbers (onnx/onnx.proto3)
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER = 5
_TENSOR_DATA_FIELDS = frozenset({4, 5, 6, 7, 9, 10, 11})   # float/int32/string/int64/raw/double/uint64

_WIRE_VARINT, _WIRE_64BIT, _WIRE_LEN, _WIRE_32BIT = 0, 1, 2, 5


class _Truncated(Exception):
    """The wire data ends inside a field."""


def _varint(buf, pos: int, end: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= end:
            raise _Truncated
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(buf, start: int, end: int):
    """Yield (field number, wire type, field start, payload start, field end) over [start, end)."""
    pos = start
    while pos < end:
        field_start = pos
        tag, pos = _varint(buf, pos, end)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire == _WIRE_VARINT:
            _, pos = _varint(buf, pos, end)
            payload = pos
        elif wire == _WIRE_64BIT:
            payload, pos = pos, pos + 8
        elif wire == _WIRE_32BIT:
            payload, pos = pos, pos + 4
        elif wire == _WIRE_LEN:
            length, payload = _varint(buf, pos, end)
            pos = payload + length
        else:
            raise ValueError(f"wire type {wire}")
        if pos > end:
            raise _Truncated
        yield number, wire, field_start, payload, pos


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _encode_varint((number << 3) | _WIRE_LEN) + _encode_varint(len(payload)) + payload


def _tensor_without_data(buf, start: int, end: int) -> bytes:
    if end - start <= KEEP_DATA_BYTES:
        return bytes(buf[start:end])
    parts = [bytes(buf[fs:fe]) for number, _, fs, _, fe in _fields(buf, start, end)
             if number not in _TENSOR_DATA_FIELDS]
    return b"".join(parts)


def _graph_without_data(buf, start: int, end: int) -> bytes:
    parts = []
    for number, wire, fs, payload, fe in _fields(buf, start, end):
        if number == _GRAPH_INITIALIZER and wire == _WIRE_LEN:
            parts.append(_len_field(number, _tensor_without_data(buf, payload, fe)))
        else:
            parts.append(bytes(buf[fs:fe]))
    return b"".join(parts)


def model_bytes_without_weights(buf) -> bytes:
    """The serialized ModelProto in `buf` with large initializers' data left out."""
    parts = []
    for number, wire, fs, payload, fe in _fields(buf, 0, len(buf)):
        if number == _MODEL_GRAPH and wire == _WIRE_LEN:
            parts.append(_len_field(number, _graph_without_data(buf, payload, fe)))
        else:
            parts.append(bytes(buf[fs:fe]))
    return b"".join(parts)


def read_model(path: str | Path):
    """The ONNX model at `path` as an onnx.ModelProto whose large initializers carry no data."""
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    source = str(path)
    not_onnx = ("is not an ONNX model (an ONNX file is a serialized onnx.ModelProto, e.g. written "
                "by torch.onnx.export or onnx.save)")
    try:
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            if size == 0:
                raise SpecError(source, "", f"the file is empty; it {not_onnx}")
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                data = model_bytes_without_weights(buf)
    except OSError as exc:
        raise SpecError(source, "", f"cannot read the file: {exc.strerror or exc}") from None
    except _Truncated:
        raise SpecError(source, "", "the file ends in the middle of a record: it is truncated "
                        "(an incomplete download or copy?), or it " + not_onnx) from None
    except ValueError as exc:
        raise SpecError(source, "", f"the file {not_onnx}; its bytes are not protobuf ({exc})") \
            from None
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except DecodeError as exc:
        raise SpecError(source, "", f"the file {not_onnx} ({exc})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise SpecError(source, "graph", f"the file has no graph with nodes; it {not_onnx}")
    return model
