"""Winograd F(m x m, 3 x 3) convolution: which layers use it, its MACs, its weight footprint.

Lavin and Gray (CVPR 2016): an m x m block of outputs of a 3x3 convolution comes from an
(m+2) x (m+2) input tile through transforms (additions only for F(2x2,3x3)) and (m+2)^2
element-wise products per (input channel, output channel) pair, instead of 9 m^2. Summed over
input channels, each of the (m+2)^2 positions is an independent GEMM of C channels x K filters
x (number of tiles). So a layer of C x K x P x Q outputs costs

    winograd MACs = N x ceil(P / m) x ceil(Q / m) x (m + 2)^2 x C x K

(F(2x2,3x3): 16 products per 4 outputs against 36, 2.25x fewer; F(4x4,3x3): 36 per 16 against
144, 4x fewer). On a systolic array the (m+2)^2 GEMMs run as that many times the folds of the C x
K GEMM, each streaming the tiles; on a dot-product array each position is one more step in time.

Where the work is charged: the input and output transforms run in hardware in the array's input
and output paths, pipelined with the MACs (InferX X1: "input and output translation on-the-fly"),
so they cost `transform_latency` cycles once per tile and no MAC cycles. The weights stay in
their 3x3 form in DRAM and SRAM (the transfers carry 9 values per pair) and are transformed on
chip into the weight buffer, where each pair takes (m+2)^2 values of `weight_bits`: a Winograd
tile needs more weight buffer than a direct one, which the mapper accounts for.

Eligible layers: conv2d, 3x3 kernel, stride 1, dilation 1, one group. The mapper evaluates each
eligible layer both ways and keeps the faster (a 7x7 map with F(4x4) computes 8x8).
"""
from __future__ import annotations

import numpy as np


def eligible(layer) -> bool:
    """A 3x3 stride-1 undilated ungrouped convolution."""
    return (layer.op == "conv2d" and (layer.r, layer.s) == (3, 3) and tuple(layer.stride) == (1, 1)
            and tuple(layer.dilation) == (1, 1) and layer.groups == 1)


def positions(m: int) -> int:
    """(m + 2)^2: the element-wise products per tile and channel pair."""
    return (m + 2) ** 2


def tiles(out_rows, out_cols, m: int):
    """Winograd tiles covering an out_rows x out_cols block of outputs (numpy-friendly)."""
    return (-(-np.asarray(out_rows, np.int64) // m)) * (-(-np.asarray(out_cols, np.int64) // m))


def layer_macs(layer, m: int) -> int:
    """The MACs a Winograd F(m x m, 3 x 3) layer performs: N x tiles x (m+2)^2 x C x K."""
    return int(layer.n * tiles(layer.p, layer.q, m) * positions(m) * layer.c * layer.k)


def weight_buffer_bytes(pairs, m: int, weight_bits: int):
    """Bytes of transformed weights for `pairs` (input, output channel) pairs in the weight buffer."""
    return -(-np.asarray(pairs, np.int64) * positions(m) * weight_bits // 8)


def round_up(v: int, m: int, cap: int) -> int:
    """v rounded up to a multiple of m, at most cap: tile blocks aligned to Winograd tiles."""
    return min(cap, -(-v // m) * m)
