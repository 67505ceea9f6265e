"""Systolic-array timing of one GEMM-shaped piece of work, per dataflow.

A layer (or a tile of it) is a GEMM: `reduction` = C x R x S, `filters` = output channels,
`pixels` = N x P x Q. The dataflow decides which dimension lies on the array's rows (Sr), which
on its columns (Sc) and which streams through in time (T); SCALE-Sim 3.0.0's table:

    ws: Sr = reduction, Sc = filters, T = pixels
    os: Sr = pixels,    Sc = filters, T = reduction
    is: Sr = reduction, Sc = pixels,  T = filters

A fold is one placement of an R x C slice; it takes T + R + C - 2 cycles to stream, fill the skew
and drain, plus an R-cycle preload of the stationary operand for ws and is. SCALE-Sim runs folds
back to back with the preload exposed every time (`overlap_preload=False`); npusim's normal mode
preloads the next fold's stationary operand while the current fold streams (double-buffered PE
registers), so only the first preload of a tile is exposed.
"""
from __future__ import annotations

from dataclasses import dataclass

WS, OS, IS = "weight_stationary", "output_stationary", "input_stationary"
DATAFLOW_CODES = {WS: 0, OS: 1, IS: 2}


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@dataclass(frozen=True)
class FoldTiming:
    """Cycles of one piece of GEMM work on one array."""
    folds: int
    stream_cycles: int        # T per fold (after dividing by MACs per PE)
    cycles: int               # total compute cycles including preload, fill and drain


def spatial_dims(dataflow: str, reduction: int, filters: int, pixels: int) -> tuple[int, int, int]:
    """(Sr, Sc, T) for a dataflow: which GEMM dimension goes on rows, columns and time."""
    if dataflow == WS:
        return reduction, filters, pixels
    if dataflow == OS:
        return pixels, filters, reduction
    if dataflow == IS:
        return reduction, pixels, filters
    raise ValueError(f"unknown dataflow {dataflow!r}")


def gemm_cycles(dataflow: str, rows: int, cols: int, reduction: int, filters: int, pixels: int,
                macs_per_pe: int = 1, overlap_preload: bool = True) -> FoldTiming:
    """Compute cycles of a reduction x filters x pixels GEMM on a rows x cols array.

    With overlap_preload=False and macs_per_pe=1 this is SCALE-Sim's stall-free count plus one
    (SCALE-Sim reports the 0-based index of the last cycle; npusim counts cycles).
    A PE doing several MACs per cycle streams T in ceil(T / macs_per_pe) cycles.
    """
    sr, sc, t = spatial_dims(dataflow, reduction, filters, pixels)
    folds = ceil_div(sr, rows) * ceil_div(sc, cols)
    stream = ceil_div(t, macs_per_pe)
    per_fold = stream + rows + cols - 2
    preload = rows if dataflow in (WS, IS) else 0
    exposed_preloads = 1 if overlap_preload else folds
    return FoldTiming(folds=folds, stream_cycles=stream, cycles=folds * per_fold + preload * exposed_preloads)


def scalesim_total_cycles(dataflow: str, rows: int, cols: int, ifmap_h: int, ifmap_w: int,
                          filter_h: int, filter_w: int, channels: int, num_filters: int, stride: int) -> int:
    """SCALE-Sim's 'Total Cycles' for one topology-CSV row (no padding, 0-based last cycle)."""
    oh = ceil_div(ifmap_h - filter_h + stride, stride)
    ow = ceil_div(ifmap_w - filter_w + stride, stride)
    timing = gemm_cycles(dataflow, rows, cols, filter_h * filter_w * channels, num_filters, oh * ow,
                         overlap_preload=False)
    return timing.cycles - 1


def gemm_cycles_np(dataflow: str, rows: int, cols: int, reduction, filters, pixels,
                   macs_per_pe: int = 1, overlap_preload: bool = True):
    """Vectorized `gemm_cycles(...).cycles` over numpy arrays of GEMM sizes (int64)."""
    import numpy as np
    sr, sc, t = spatial_dims(dataflow, np.asarray(reduction, np.int64), np.asarray(filters, np.int64),
                             np.asarray(pixels, np.int64))
    folds = (-(-sr // rows)) * (-(-sc // cols))
    per_fold = (-(-t // macs_per_pe)) + rows + cols - 2
    preload = rows if dataflow in (WS, IS) else 0
    exposed = 1 if overlap_preload else folds
    return folds * per_fold + preload * exposed
