"""Compute cycles of one tile on the chip's kind of MAC array, direct or Winograd.

One entry point for the mapper: `tile_cycles` picks the timing model from the array's kind
(`compute.array.kind`): systolic arrays keep SCALE-Sim's fold formula (mapping/systolic.py),
dot-product arrays the pass count (mapping/dot_product.py); a Winograd tile (mapping/winograd.py)
runs (m+2)^2 GEMMs of channels x filters x tiles instead of one of (channels x 9) x filters x
pixels, plus the transforms' pipeline latency.

The local buffers feed the array through ports of `compute.array.buffers.*.bytes_per_cycle`: a
tile takes at least the bytes each buffer delivers to the array, divided by its port width
(`feed_cycles`). What a buffer delivers follows the dataflow: the stationary operand once per
tile (its tile bytes); a streamed operand once per array edge it enters (MACs / cols for inputs
in weight-, output-stationary and dot-product arrays, MACs / rows for weights in
output-stationary, MACs / cols in input-stationary); row stationary delivers each operand's tile
bytes once (rows are multicast to the PE sets that share them, Chen et al. 2017); the outputs
buffer takes one partial sum per array column (weight-, input-stationary, dot-product) or row
stationary's tile outputs at accumulator width every cycle the array produces them, i.e. MACs /
(rows x MACs per PE), and output-stationary writes each output once. The bundled chips' ports
match their array edges, so the limit binds only on a chip whose ports are narrower.
"""
from __future__ import annotations

import numpy as np

from simulator.mapping import winograd as wg
from simulator.mapping.dot_product import dot_product_cycles
from simulator.mapping.systolic import IS, WS, gemm_cycles_np


def tile_cycles(ctx, kernel: tuple[int, int], groups, filters, channels, out_rows, out_cols, m: int = 0,
                overlap_preload: bool = True, images=1):
    """Cycles of `groups` x (`channels` -> `filters`) over an out_rows x out_cols block (numpy-friendly).

    `channels` and `filters` are per group; `m` > 0 runs the block as Winograd F(m x m, 3 x 3).
    `images` > 1 is a batch fold: the same block of that many images streams through the array as
    one pixel dimension (images x out_rows x out_cols pixels; row stationary sees images x
    out_rows output rows), so a fold's fill and drain are paid once for all of them.
    """
    r, s = kernel
    scalar = not any(isinstance(v, np.ndarray) for v in (groups, filters, channels, out_rows, out_cols, images))
    if scalar and ctx.kind == "dot_product" and not m:
        # the search's common case, in plain ints (numpy scalars cost more than the arithmetic)
        return dot_product_cycles(ctx.rows, ctx.cols, channels, filters, int(out_rows) * int(out_cols) * int(images) * r * s,
                                  ctx.pipeline_latency, groups)
    images = np.asarray(images, np.int64)
    if m:
        n_tiles = wg.tiles(out_rows, out_cols, m) * images
        steps = n_tiles * wg.positions(m)
        if ctx.kind == "dot_product":
            return dot_product_cycles(ctx.rows, ctx.cols, channels, filters, steps,
                                      ctx.pipeline_latency + ctx.winograd_latency, groups)
        # (m+2)^2 GEMMs, each with the folds of the channels x filters GEMM, streaming the tiles
        g = np.asarray(groups, np.int64)
        one = gemm_cycles_np(ctx.dataflow, ctx.rows, ctx.cols, g * channels, g * filters, n_tiles,
                             ctx.macs_per_pe, overlap_preload=overlap_preload)
        preload = ctx.rows if (ctx.dataflow in (WS, IS) and overlap_preload) else 0
        return wg.positions(m) * (one - preload) + preload + ctx.winograd_latency
    pixels = np.asarray(out_rows, np.int64) * out_cols * images
    if ctx.kind == "dot_product":
        return dot_product_cycles(ctx.rows, ctx.cols, channels, filters, pixels * r * s, ctx.pipeline_latency, groups)
    g = np.asarray(groups, np.int64)
    return gemm_cycles_np(ctx.dataflow, ctx.rows, ctx.cols, g * channels * r * s, g * filters, pixels,
                          ctx.macs_per_pe, overlap_preload=overlap_preload, kernel=kernel,
                          out_rows=np.asarray(out_rows, np.int64) * images, groups=g)


def tile_macs(kernel: tuple[int, int], groups, filters, channels, out_rows, out_cols, m: int = 0, images=1):
    """MACs the array performs for the block (of `images` images): direct, or Winograd's (m+2)^2 per tile and channel pair."""
    pairs = np.asarray(groups, np.int64) * filters * channels * images
    if m:
        return pairs * wg.tiles(out_rows, out_cols, m) * wg.positions(m)
    return pairs * kernel[0] * kernel[1] * out_rows * out_cols


def feed_cycles(ctx, macs, w_bytes, in_bytes, out_elems):
    """Cycles the three buffer ports need to feed a tile (ints or numpy arrays; module docstring).

    `macs`: the tile's MACs; `w_bytes`, `in_bytes`: its weight and input tile bytes (stationary
    operands are read once); `out_elems`: its output values.
    """
    ob, ab, R, C, m = ctx.operand_bytes, ctx.acc_bytes, ctx.rows, ctx.cols, ctx.macs_per_pe
    df = "dot_product" if ctx.kind == "dot_product" else ctx.dataflow
    if df in ("weight_stationary", "dot_product"):
        w, i, o = w_bytes, macs * ob // C, macs * ab // (R * m)
    elif df == "output_stationary":
        w, i, o = macs * ob // R, macs * ob // C, out_elems * ab
    elif df == "input_stationary":
        w, i, o = macs * ob // C, in_bytes, macs * ab // (R * m)
    else:                                   # row_stationary
        w, i, o = w_bytes, in_bytes, out_elems * ab
    w, i, o = (-(-w // ctx.weights_feed_bytes_per_cycle), -(-i // ctx.inputs_feed_bytes_per_cycle),
               -(-o // ctx.outputs_feed_bytes_per_cycle))
    if isinstance(w, np.ndarray) or isinstance(i, np.ndarray) or isinstance(o, np.ndarray):
        return np.maximum(np.maximum(w, i), o)
    return max(w, i, o)
