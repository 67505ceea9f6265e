"""Compute cycles of one tile on the chip's kind of MAC array, direct or Winograd.

One entry point for the mapper: `tile_cycles` picks the timing model from the array's kind
(`compute.array.kind`): systolic arrays keep SCALE-Sim's fold formula (mapping/systolic.py),
dot-product arrays the pass count (mapping/dot_product.py); a Winograd tile (mapping/winograd.py)
runs (m+2)^2 GEMMs of channels x filters x tiles instead of one of (channels x 9) x filters x
pixels, plus the transforms' pipeline latency.
"""
from __future__ import annotations

import numpy as np

from simulator.mapping import winograd as wg
from simulator.mapping.dot_product import dot_product_cycles
from simulator.mapping.systolic import IS, WS, gemm_cycles_np


def tile_cycles(ctx, kernel: tuple[int, int], groups, filters, channels, out_rows, out_cols, m: int = 0,
                overlap_preload: bool = True):
    """Cycles of `groups` x (`channels` -> `filters`) over an out_rows x out_cols block (numpy-friendly).

    `channels` and `filters` are per group; `m` > 0 runs the block as Winograd F(m x m, 3 x 3).
    """
    r, s = kernel
    if m:
        n_tiles = wg.tiles(out_rows, out_cols, m)
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
    pixels = np.asarray(out_rows, np.int64) * out_cols
    if ctx.kind == "dot_product":
        return dot_product_cycles(ctx.rows, ctx.cols, channels, filters, pixels * r * s, ctx.pipeline_latency, groups)
    g = np.asarray(groups, np.int64)
    return gemm_cycles_np(ctx.dataflow, ctx.rows, ctx.cols, g * channels * r * s, g * filters, pixels,
                          ctx.macs_per_pe, overlap_preload=overlap_preload, kernel=kernel, out_rows=out_rows,
                          groups=g)


def tile_macs(kernel: tuple[int, int], groups, filters, channels, out_rows, out_cols, m: int = 0):
    """MACs the array performs for the block: direct, or Winograd's (m+2)^2 per tile and channel pair."""
    pairs = np.asarray(groups, np.int64) * filters * channels
    if m:
        return pairs * wg.tiles(out_rows, out_cols, m) * wg.positions(m)
    return pairs * kernel[0] * kernel[1] * out_rows * out_cols
