"""Tiling of non-MAC layers (add, concat, upsample, pooling, activation) onto the vector units.

A vector tile is a block of `ph` output rows of one image; it reads the input rows that block
needs (pool windows carry their halo, upsample reads 1/scale of the rows) and writes the block.
The vector unit works out of the arrays' input-buffer slot (one slot holds a tile's inputs and
outputs); it processes `lanes` elements per cycle, counting arithmetic (`Layer.vector_elems`) or,
for pure data movement (concat, upsample), each output element once.
"""
from __future__ import annotations

import numpy as np


def _input_rows(layer, idx: int, p0: np.ndarray, p_len: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _, h_in, _ = layer.in_shapes[idx]
    if layer.op == "upsample":
        return p0 // layer.scale, (p0 + p_len - 1) // layer.scale + 1
    if layer.op in ("maxpool", "avgpool"):
        kh = layer.kernel[0]
        sh = layer.stride[0]
        lo = np.maximum(0, p0 * sh - layer.padding[0])
        hi = np.minimum(h_in, (p0 + p_len - 1) * sh - layer.padding[0] + kh)
        return lo, hi
    if layer.op == "global_avgpool":
        return np.zeros_like(p0), np.full_like(p0, h_in)
    h_out = layer.out_shape[1]
    if h_in != h_out:              # transpose, reduce, broadcast: the same share of the input rows
        return p0 * h_in // h_out, np.minimum(h_in, -(-(p0 + p_len) * h_in // h_out))
    return p0, p0 + p_len          # add, concat, activation, elementwise: row for row


def _rows_correspond(layer, idx: int) -> bool:
    """True when output row i needs only the input rows `_input_rows` names (not the whole input)."""
    if layer.op in ("upsample", "maxpool", "avgpool", "global_avgpool"):
        return True
    return layer.op not in ("transpose", "reduce", "gather", "slice", "pad", "resize") \
        and layer.in_shapes[idx][1] == layer.out_shape[1]


def vector_tiles(layer, operand_bytes: int, buffer_bytes: int, lanes: int) -> dict[str, np.ndarray]:
    """Tiles of a vector layer in order; columns like `tiling.conv_tiles`, inputs as lists per input."""
    ob = operand_bytes
    c_out, h_out, w_out = layer.out_shape
    n_img = layer.batch
    if layer.op == "global_avgpool":
        ph = h_out
    else:
        ph = h_out
        while ph > 1:
            p0, pl = np.array([0]), np.array([ph])
            need = c_out * ph * w_out * ob
            for i, (c, _, w) in enumerate(layer.in_shapes):
                lo, hi = _input_rows(layer, i, p0, pl)
                need += c * int(hi[0] - lo[0]) * w * ob
            if need <= buffer_bytes:
                break
            ph = -(-ph // 2)
    n_ph = -(-h_out // ph)
    img, blk = np.meshgrid(np.arange(n_img, dtype=np.int64), np.arange(n_ph, dtype=np.int64), indexing="ij")
    img, blk = img.ravel(), blk.ravel()
    p0 = blk * ph
    p_len = np.minimum(ph, h_out - p0)
    out_elems = c_out * p_len * w_out
    work = np.maximum(layer.vector_elems // max(layer.batch, 1) * p_len // h_out, out_elems)
    cycles = -(-work // lanes)
    inputs = []
    for i, (c, h, w) in enumerate(layer.in_shapes):
        lo, hi = _input_rows(layer, i, p0, p_len)
        inputs.append({"row_lo": lo, "row_hi": hi, "bytes": c * (hi - lo) * w * ob,
                       "offset": (img * h + lo) * w * c * ob, "full": not _rows_correspond(layer, i),
                       "rows_seen": h})
    return {"img": img, "compute_cycles": cycles, "out_bytes": out_elems * ob,
            "out_row_lo": p0, "out_row_hi": p0 + p_len, "out_offset": (img * h_out + p0) * w_out * c_out * ob,
            "inputs": inputs, "rows_per_region": ph, "blocks_per_img": n_ph}
