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

Row stationary (Eyeriss, Chen et al., JSSC 2017) is not a GEMM placement: each PE keeps one
filter row in its scratchpad and runs a 1-D convolution of it over one input row, producing one
row of partial sums; the R PEs of a column add their rows into one output row. So its timing
needs the kernel height R and width S and the tile's output rows E (`kernel`, `out_rows`):

    PE set      R' x E' PEs: R' = ceil(R / ceil(R / rows)) filter rows (taller filters fold),
                E' = ceil(E / ceil(E / cols)) output rows (longer strips fold)
    sets        (rows // R') x (cols // E') sets run side by side, each on another
                (filter, channel) pair of the tile
    units       (filter, channel) pairs x filter-row folds x strips
    one unit    ceil(S x Q / macs_per_pe) cycles: every PE of the set does S MACs per output
                column, Q output columns (the pixels of one output row of the tile)
    cycles      ceil(units / sets) x one unit + R' + E' - 2 (psums climbing the set's R' rows,
                inputs reaching its E' diagonals)

The PEs a mapping keeps busy are sets x R' x E' (`rs_active_pes`); Eyeriss's "PEs active" is this
figure. Data delivery is assumed to keep up (the scratchpads are filled while the previous unit
runs); the memory system is simulated by the engine, not here.
"""
from __future__ import annotations

from dataclasses import dataclass

WS, OS, IS, RS = "weight_stationary", "output_stationary", "input_stationary", "row_stationary"
DATAFLOW_CODES = {WS: 0, OS: 1, IS: 2, RS: 3}


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


def rs_set_shape(rows: int, cols: int, kernel_rows, out_rows):
    """(R', E', sets, filter-row folds, strips) of a row-stationary mapping (numpy-friendly)."""
    r_fold = -(-kernel_rows // rows)
    r_eff = -(-kernel_rows // r_fold)
    strips = -(-out_rows // cols)
    e_eff = -(-out_rows // strips)
    sets = (rows // r_eff) * (cols // e_eff)
    return r_eff, e_eff, sets, r_fold, strips


def rs_active_pes(rows: int, cols: int, kernel_rows: int, out_rows: int, pairs: int | None = None) -> int:
    """PEs a row-stationary mapping keeps busy: sets x R' x E' (fewer if fewer pairs than sets)."""
    r_eff, e_eff, sets, _, _ = rs_set_shape(rows, cols, kernel_rows, out_rows)
    return (sets if pairs is None else min(sets, pairs)) * r_eff * e_eff


def _rs(rows, cols, reduction, filters, pixels, macs_per_pe, kernel, out_rows, groups):
    """Row-stationary (rounds, one-unit cycles, cycles); see the module docstring. numpy-friendly."""
    r, s = kernel
    pairs = (reduction // (r * s)) * filters // groups       # (filter, channel) pairs with work
    out_cols = -(-pixels // out_rows)
    r_eff, e_eff, sets, r_fold, strips = rs_set_shape(rows, cols, r, out_rows)
    rounds = -(-(pairs * r_fold * strips) // sets)
    unit = -(-(s * out_cols) // macs_per_pe)
    return rounds, unit, rounds * unit + r_eff + e_eff - 2


def gemm_cycles(dataflow: str, rows: int, cols: int, reduction: int, filters: int, pixels: int,
                macs_per_pe: int = 1, overlap_preload: bool = True, kernel: tuple[int, int] = (1, 1),
                out_rows: int = 1, groups: int = 1) -> FoldTiming:
    """Compute cycles of a reduction x filters x pixels GEMM on a rows x cols array.

    With overlap_preload=False and macs_per_pe=1 this is SCALE-Sim's stall-free count plus one
    (SCALE-Sim reports the 0-based index of the last cycle; npusim counts cycles).
    A PE doing several MACs per cycle streams T in ceil(T / macs_per_pe) cycles.
    Row stationary also needs the kernel (R, S), the output rows of the work (pixels = out_rows x
    output columns) and the groups it spans (reduction = groups x channels x R x S, filters =
    groups x filters per group); the other dataflows ignore them.
    """
    if dataflow == RS:
        rounds, unit, cycles = _rs(rows, cols, reduction, filters, pixels, macs_per_pe, kernel, out_rows, groups)
        return FoldTiming(folds=rounds, stream_cycles=unit, cycles=cycles)
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
                   macs_per_pe: int = 1, overlap_preload: bool = True, kernel: tuple[int, int] = (1, 1),
                   out_rows=1, groups=1):
    """Vectorized `gemm_cycles(...).cycles` over numpy arrays of GEMM sizes (int64)."""
    import numpy as np
    if dataflow == RS:
        i64 = lambda v: np.asarray(v, np.int64)
        return _rs(rows, cols, i64(reduction), i64(filters), i64(pixels), macs_per_pe, kernel,
                   i64(out_rows), i64(groups))[2]
    sr, sc, t = spatial_dims(dataflow, np.asarray(reduction, np.int64), np.asarray(filters, np.int64),
                             np.asarray(pixels, np.int64))
    folds = (-(-sr // rows)) * (-(-sc // cols))
    per_fold = (-(-t // macs_per_pe)) + rows + cols - 2
    preload = rows if dataflow in (WS, IS) else 0
    exposed = 1 if overlap_preload else folds
    return folds * per_fold + preload * exposed
