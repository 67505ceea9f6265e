"""Tiling of a MAC layer onto the arrays: choose tile sizes, then enumerate the tiles.

A conv is a GEMM per group: reduction c x r x s, filters k / groups, pixels n x p x q. A tile
covers `gb` groups x `kc` output channels x `cr` input channels x a `ph` x `qw` block of output
pixels of `nb` images, and must fit the array's local buffers with room for `prefetch_depth`
tiles at once (weights kc*cr*r*s, inputs cr x rows_in x cols_in with the halo, partial sums
kc*ph*qw at accumulator width). Partial sums stay in the accumulator buffer across the `cr`
chunks of one output tile; the tile sizes are chosen so that they always fit, so no spill.

Batch folding: when a tile holds a whole image (ph = p, qw = q; or an fc layer), its pixel
dimension may span `nb` > 1 images of the batch: the array streams nb x p x q pixels per fold, so
a fold's fill and drain (and a weight-stationary preload) are paid once for nb images, and a
weight tile is loaded once per nb images (never for a per-image stationary operand: batch_matmul).
Candidates: nb = 1 and the largest nb whose inputs and partial sums fit the slots, balanced over
the batch.

Four loop orders decide what is reused between consecutive tiles of an array:
- weights_resident (whole reduction in one tile): for each channel block, all pixel blocks;
  the block's weights are loaded once per array, the inputs once per channel block.
- inputs_resident (whole reduction in one tile): for each pixel block, all channel blocks; the
  inputs are loaded once per array, the weights once per pixel block.
- reduction_split: for each channel block and pixel block, the `cr` chunks; every tile loads
  its weights and inputs.
- partials_resident (reduction split in chunks): for each channel block, each `cr` chunk, all
  pixel blocks of the batch; a weight tile is loaded once and stays while the whole batch streams
  through it, the inputs once per channel block. The partial sums of every pixel block the array
  runs for the channel block stay in the accumulator buffer across the chunks, so the candidate
  exists only when they fit the outputs slot.
Weights of a layer the placement stages in SRAM (`w_staged`, mapping/placement.py) are read from
DRAM once, by the first tile that needs each weight block; every later load of it reads the SRAM.
Output tiles are split across arrays by channel block or by pixel block, whichever balances
better.

Row stationary (`mapping/systolic.py`) uses the same tiles: the tile's `ph` output rows become
the strips of PE sets along the array's columns, the kernel's rows its rows, and the tile's
(filter, channel) pairs run on the sets side by side. The local buffers are then the chip's
scratchpads and tile buffers in aggregate: the weights slot holds the tile's filter rows, the
inputs slot its input rows (halo included), the outputs slot its partial sums.

A chip with Winograd hardware (`compute.winograd`) also gets Winograd candidates for its 3x3
stride-1 layers (mapping/winograd.py): pixel blocks aligned to the m x m output tiles, the
weights slot holding the transformed weights; the layer runs Winograd if one of them wins.
Compute cycles come from mapping/array_timing.py, whatever the array's kind.

Among all candidates the mapper keeps the one with the least estimated time (the max of
compute, DRAM, SRAM and interconnect time), then the least traffic, then the fewest tiles.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.mapping import winograd as wg
from simulator.mapping.array_timing import feed_cycles, tile_cycles, tile_macs

ORDERS = ("weights_resident", "inputs_resident", "reduction_split", "partials_resident")


@dataclass(frozen=True)
class TileContext:
    """What the mapper needs to know about the chip and where operands live."""
    rows: int
    cols: int
    macs_per_pe: int
    dataflow: str
    kind: str                    # compute.array.kind: systolic or dot_product
    pipeline_latency: int        # dot_product: adder-tree latency per tile
    winograd_m: int              # m of F(m x m, 3 x 3); 0: no Winograd hardware
    winograd_weight_bits: int
    winograd_latency: int        # transforms' latency per Winograd tile
    arrays: int
    operand_bytes: int
    acc_bytes: int
    weights_slot_bytes: int      # weight buffer / prefetch depth
    inputs_slot_bytes: int
    outputs_slot_bytes: int
    dram_bytes_per_cycle: float
    sram_bytes_per_cycle: float
    ic_bytes_per_cycle: float
    weights_feed_bytes_per_cycle: int = 1 << 40   # compute.array.buffers.*.bytes_per_cycle
    inputs_feed_bytes_per_cycle: int = 1 << 40
    outputs_feed_bytes_per_cycle: int = 1 << 40


@dataclass(frozen=True)
class ConvTiling:
    gb: int
    kc: int
    cr: int
    ph: int
    qw: int
    order: str
    split: str                   # 'channels' or 'spatial'
    est_cycles: float
    est_traffic_bytes: float
    est_compute_cycles: int      # on the busiest array
    n_tiles: int
    winograd: int = 0            # m of F(m x m, 3 x 3) if the layer runs Winograd, else 0
    nb: int = 1                  # images per tile (batch fold); > 1 only with whole-image tiles


def _halving(n: int) -> list[int]:
    out, v = [], n
    while True:
        out.append(v)
        if v == 1:
            break
        v = -(-v // 2)
    return out


def _span(out_len: int, stride: int, k: int, dil: int, in_len: int) -> int:
    """Input extent needed for `out_len` outputs (halo included), at most the input size."""
    return min(in_len, (out_len - 1) * stride + (k - 1) * dil + 1)


def conv_shape_key(layer) -> tuple:
    """Everything of a layer that choose_conv_tiling reads: layers with equal keys tile alike."""
    return (layer.op, layer.groups, layer.k, layer.c, layer.r, layer.s, layer.p, layer.q, layer.n,
            tuple(layer.in_shapes[0]), tuple(layer.stride), tuple(layer.dilation), layer.stationary_elems,
            layer.output_elems, layer.input_elems)


def _batch_fold(n: int, fits) -> list[int]:
    """Images per tile to try: 1 and the largest count `fits` accepts, balanced over the n images."""
    top = 1
    for v in _halving(n):                      # largest power-of-two-ish count that fits
        if fits(v):
            top = v
            break
    if top > 1:
        lo, hi = top, n                        # refine: largest v in [top, n] that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if fits(mid) else (lo, mid - 1)
        top = -(-n // -(-n // lo))             # same block count, equal blocks
    return sorted({1, top}, reverse=True)


def choose_conv_tiling(layer, ctx: TileContext, in_dram: bool, w_dram: bool, out_dram: bool,
                       w_staged: bool = False, max_rows: int = 0) -> ConvTiling:
    """Pick tile sizes, loop order, array split and batch fold for a conv/fc layer (module docstring).

    `w_staged`: the layer's weights are staged in SRAM (read from DRAM once, re-reads from SRAM).
    `max_rows` > 0: at most that many output rows per tile (a fused group's band, mapping/fusion.py).
    """
    ob, G = ctx.operand_bytes, layer.groups
    kg = layer.k // G                     # output channels per group
    C, R, S = layer.c, layer.r, layer.s
    P, Q = layer.p, layer.q
    cin, hin, win = layer.in_shapes[0]
    fc = not layer.tiles_rows
    sh, sw = layer.stride
    dh, dw = layer.dilation
    A = ctx.arrays
    # batch_matmul's stationary operand is an activation: one per image, never shared
    w_total = layer.stationary_elems * ob * (layer.n if layer.stationary_per_image else 1)
    out_total = layer.output_elems * ob
    best: ConvTiling | None = None
    best_key = None

    kc_split = sorted({min(kg, ctx.cols * 2**j) for j in range(12) if ctx.cols * 2**(j - 1) < kg} | {kg})
    shapes = [(1, kc, cr) for kc in kc_split for cr in _halving(C)]
    if G > 1:
        # whole groups per tile (depthwise); a group too large for the buffers (AlexNet's grouped
        # convs) is split within the group like an ungrouped conv
        shapes = [(gb, kg, C) for gb in _halving(G)] + shapes
    modes = [0] + ([ctx.winograd_m] if ctx.winograd_m and wg.eligible(layer) else [])
    for m in modes:
        # Winograd blocks are whole m x m output tiles (the last block may be partial)
        align = (lambda v, cap: wg.round_up(v, m, cap)) if m else (lambda v, cap: v)
        q_opts = [1] if fc else sorted({align(v, Q) for v in _halving(Q)}, reverse=True)
        p_opts = [1] if fc else sorted({align(v, P) for v in _halving(min(P, max_rows) if max_rows else P)},
                                       reverse=True)
        for gb, kc, cr in shapes:
            w_tile = (int(wg.weight_buffer_bytes(gb * kc * cr, m, ctx.winograd_weight_bits)) if m
                      else gb * kc * cr * R * S * ob)
            if w_tile > ctx.weights_slot_bytes:
                continue
            for qw in q_opts:
                cols_in = 1 if fc else _span(qw, sw, S, dw, win)
                # largest ph that fits the input and psum slots
                ph_fit = 0
                for ph in p_opts:
                    rows_in = 1 if fc else _span(ph, sh, R, dh, hin)
                    if (gb * cr * rows_in * cols_in * ob <= ctx.inputs_slot_bytes
                            and gb * kc * ph * qw * ctx.acc_bytes <= ctx.outputs_slot_bytes):
                        ph_fit = ph
                        break
                if ph_fit == 0:
                    continue
                ph_opts = ({ph_fit} | {min(ph_fit, align(-(-P // d), P)) for d in (2, A, 2 * A)}) if not fc else {1}
                for ph in sorted(ph_opts, reverse=True):
                    nbs = [1]
                    # a per-image stationary operand (batch_matmul) cannot be shared by images
                    if layer.n > 1 and not layer.stationary_per_image and (fc or (ph == P and qw == Q)):
                        rows_in = 1 if fc else _span(ph, sh, R, dh, hin)
                        nbs = _batch_fold(layer.n, lambda v: (
                            gb * cr * rows_in * cols_in * v * ob <= ctx.inputs_slot_bytes
                            and gb * kc * ph * qw * v * ctx.acc_bytes <= ctx.outputs_slot_bytes))
                    cand = [c for nb in nbs
                            for c in _evaluate(layer, ctx, gb, kc, cr, ph, qw, kg, in_dram, w_dram, out_dram,
                                               w_total, out_total, fc, m, nb, w_staged)]
                    for c in cand:
                        key = (round(c.est_cycles), c.est_traffic_bytes, c.est_compute_cycles, c.n_tiles)
                        if best_key is None or key < best_key:
                            best, best_key = c, key
    if best is None:
        from simulator.errors import MappingError
        raise MappingError("", layer.name,
                           f"no tile of layer '{layer.name}' fits the array's local buffers "
                           f"(weights slot {ctx.weights_slot_bytes} B, inputs slot {ctx.inputs_slot_bytes} B, "
                           f"outputs slot {ctx.outputs_slot_bytes} B); enlarge compute.array.buffers or "
                           f"lower compute.array.prefetch_depth")
    return best


def _evaluate(layer, ctx, gb, kc, cr, ph, qw, kg, in_dram, w_dram, out_dram, w_total, out_total, fc, m=0,
              nb=1, w_staged=False):
    ob, G, C = ctx.operand_bytes, layer.groups, layer.c
    A = ctx.arrays
    n_g, n_kc, n_cr = -(-G // gb), -(-kg // kc), -(-C // cr)
    n_ib = -(-layer.n // nb)                  # image blocks of the batch
    if fc:
        n_sp, rows_in, cols_in = n_ib, 1, 1
        in_once = layer.input_elems * ob
    else:
        n_px = -(-layer.p // ph) * -(-layer.q // qw)
        n_sp = n_ib * n_px
        rows_in = _span(ph, layer.stride[0], layer.r, layer.dilation[0], layer.in_shapes[0][1])
        cols_in = _span(qw, layer.stride[1], layer.s, layer.dilation[1], layer.in_shapes[0][2])
        in_once = layer.n * n_px * G * C * rows_in * cols_in * ob
    pr, pq = (1, 1) if fc else (ph, qw)
    one_tile = int(max(tile_cycles(ctx, (layer.r, layer.s), gb, kc, cr, pr, pq, m, images=nb),
                       feed_cycles(ctx, int(tile_macs((layer.r, layer.s), gb, kc, cr, pr, pq, m, images=nb)) if m
                                   else gb * kc * cr * layer.r * layer.s * pr * pq * nb,
                                   gb * kc * cr * layer.r * layer.s * ob, gb * cr * rows_in * cols_in * nb * ob,
                                   gb * kc * pr * pq * nb)))
    n_out = n_g * n_kc * n_sp
    out = []
    orders = ("weights_resident", "inputs_resident") if n_cr == 1 else ("reduction_split", "partials_resident")
    for split in ("channels", "spatial"):
        if split == "channels":
            per_unit = -(-(n_g * n_kc) // A) * n_sp
            units_w, units_i = 1, min(A, n_g * n_kc)      # how many arrays load each weight / input block
        else:
            per_unit = -(-n_sp // A) * n_g * n_kc
            units_w, units_i = min(A, n_sp), 1
        compute = per_unit * n_cr * one_tile
        # partial sums of every pixel block an array runs for one channel block
        px_per_unit = n_sp if split == "channels" else -(-n_sp // A)
        partials_fit = gb * kc * px_per_unit * (1 if fc else ph * qw) * nb * ctx.acc_bytes <= ctx.outputs_slot_bytes
        for order in orders:
            if order == "partials_resident" and not partials_fit:
                continue
            if order in ("weights_resident", "partials_resident"):
                w_traffic = w_total * units_w
                i_traffic = in_once * n_kc
            elif order == "inputs_resident":
                w_traffic = w_total * n_sp
                i_traffic = in_once * units_i if split == "channels" else in_once
            else:
                w_traffic = w_total * n_sp
                i_traffic = in_once * n_kc
            w_from_dram = (min(w_traffic, w_total) if w_staged else w_traffic) if w_dram else 0
            dram = w_from_dram + (i_traffic if in_dram else 0) + (out_total if out_dram else 0)
            total = w_traffic + i_traffic + out_total
            sram = total - dram
            est = max(compute, dram / ctx.dram_bytes_per_cycle, sram / ctx.sram_bytes_per_cycle,
                      total / ctx.ic_bytes_per_cycle)
            out.append(ConvTiling(gb, kc, cr, ph, qw, order, split, float(est), float(dram * 4 + sram),
                                  int(compute), n_out * n_cr, m, nb))
    return out


def conv_tiles(layer, t: ConvTiling, ctx: TileContext) -> dict[str, np.ndarray]:
    """Enumerate the tiles of a conv/fc layer in execution order, one row per tile.

    Returns int64 columns: unit, macs, compute_cycles, w_bytes, in_bytes, out_bytes, img (the
    tile's first image), img_last (its last: a batch fold spans img..img_last), in_row_lo,
    in_row_hi (input rows read, for dependencies), out_row_lo, out_row_hi, in_offset, w_offset,
    out_offset (byte offsets into the tensors, for addresses), and w_first (bool: the first load
    of its weight block in the whole layer, which a staged layer reads from DRAM), w_block (its weight
    block's index) and w_bytes_each (its weight bytes before reuse: a fused group reloads per band).
    """
    ob, G, C = ctx.operand_bytes, layer.groups, layer.c
    kg = layer.k // G
    fc = not layer.tiles_rows
    n_g, n_kc, n_cr = -(-G // t.gb), -(-kg // t.kc), -(-C // t.cr)
    P, Q = (1, 1) if fc else (layer.p, layer.q)
    n_ph, n_qw = -(-P // t.ph), -(-Q // t.qw)
    N, nb = layer.n, t.nb
    cin, hin, win = layer.in_shapes[0]
    # index grids in loop order ("img" indexes blocks of nb images)
    if t.order == "inputs_resident":
        dims = ("img", "ph", "qw", "g", "kc", "cr")
    elif t.order == "partials_resident":
        dims = ("g", "kc", "cr", "img", "ph", "qw")
    else:
        dims = ("g", "kc", "img", "ph", "qw", "cr")
    sizes = {"g": n_g, "kc": n_kc, "img": -(-N // nb), "ph": n_ph, "qw": n_qw, "cr": n_cr}
    grids = np.meshgrid(*[np.arange(sizes[d], dtype=np.int64) for d in dims], indexing="ij")
    idx = {d: g.ravel() for d, g in zip(dims, grids)}
    img_block = idx["img"]
    idx["img"] = img_block * nb                       # first image of the tile
    n_img = np.minimum(nb, N - idx["img"])
    g0, k0, c0 = idx["g"] * t.gb, idx["kc"] * t.kc, idx["cr"] * t.cr
    g_len = np.minimum(t.gb, G - g0)
    k_len = np.minimum(t.kc, kg - k0)
    c_len = np.minimum(t.cr, C - c0)
    p0, q0 = idx["ph"] * t.ph, idx["qw"] * t.qw
    p_len, q_len = np.minimum(t.ph, P - p0), np.minimum(t.qw, Q - q0)
    pix = p_len * q_len
    kernel = (layer.r, layer.s)
    macs = tile_macs(kernel, g_len, k_len, c_len, p_len, q_len, t.winograd, images=n_img)
    cycles = tile_cycles(ctx, kernel, g_len, k_len, c_len, p_len, q_len, t.winograd, images=n_img)
    if fc:
        row_lo, row_hi = np.zeros_like(p0), np.full_like(p0, hin)
        col_len = np.ones_like(p0)
        rows_in = np.ones_like(p0)
        in_bytes = g_len * c_len * n_img * ob
        in_offset = idx["img"] * cin * hin * win * ob + c0 * ob
    else:
        sh, sw = layer.stride
        dh, dw = layer.dilation
        top, left = layer.padding[0], layer.padding[1]
        row_lo = np.maximum(0, p0 * sh - top)
        row_hi = np.minimum(hin, (p0 + p_len - 1) * sh - top + (layer.r - 1) * dh + 1)
        col_lo = np.maximum(0, q0 * sw - left)
        col_hi = np.minimum(win, (q0 + q_len - 1) * sw - left + (layer.s - 1) * dw + 1)
        rows_in = np.maximum(row_hi - row_lo, 0)
        col_len = np.maximum(col_hi - col_lo, 0)
        in_bytes = g_len * c_len * rows_in * col_len * n_img * ob
        # layout: per image, row-major (H, W, C) so a row block is contiguous
        in_offset = (idx["img"] * hin + row_lo) * win * cin * ob + (g0 * C + c0) * ob
    w_bytes = g_len * k_len * c_len * layer.r * layer.s * ob
    cycles = np.maximum(cycles, feed_cycles(ctx, macs, w_bytes, in_bytes, g_len * k_len * pix * n_img))
    w_offset = ((g0 * kg + k0) * C + c0) * layer.r * layer.s * ob
    per_image = layer.stationary_per_image
    if per_image:
        w_offset = w_offset + idx["img"] * layer.stationary_elems * ob
    last_cr = idx["cr"] == n_cr - 1
    out_bytes = np.where(last_cr, g_len * k_len * pix * n_img * ob, 0)
    out_offset = (idx["img"] * P + p0) * Q * layer.k * ob + (g0 * kg + k0) * ob
    # array assignment
    if t.split == "channels":
        unit = (idx["g"] * n_kc + idx["kc"]) % ctx.arrays
    else:
        unit = ((img_block * n_ph + idx["ph"]) * n_qw + idx["qw"]) % ctx.arrays
    # the layer's weight blocks; batch_matmul's stationary operand is one per image
    w_block = (idx["g"] * n_kc + idx["kc"]) * n_cr + idx["cr"]
    if per_image:
        w_block = w_block + idx["img"] * (n_g * n_kc * n_cr)
    w_first = _first_occurrence(w_block)
    # reuse: the resident operand is loaded by the first tile of its block on each array
    if t.order in ("weights_resident", "partials_resident"):
        first = _first_occurrence(w_block * ctx.arrays + unit)
        w_bytes = np.where(first, w_bytes, 0)
    elif t.order == "inputs_resident":
        key = (((img_block * n_ph + idx["ph"]) * n_qw + idx["qw"]) * n_g + idx["g"]) * ctx.arrays + unit
        first = _first_occurrence(key)
        in_bytes = np.where(first, in_bytes, 0)
    return {"unit": unit, "macs": macs, "compute_cycles": cycles, "w_bytes": w_bytes, "in_bytes": in_bytes,
            "out_bytes": out_bytes, "img": idx["img"], "img_last": idx["img"] + n_img - 1, "w_first": w_first,
            "in_row_lo": row_lo, "in_row_hi": row_hi,
            "out_row_lo": p0, "out_row_hi": p0 + p_len, "in_offset": in_offset, "w_offset": w_offset,
            "out_offset": out_offset, "region_rows": np.full_like(p0, t.ph),
            "w_block": w_block, "w_bytes_each": g_len * k_len * c_len * layer.r * layer.s * ob}


def _first_occurrence(key: np.ndarray) -> np.ndarray:
    first = np.zeros(len(key), dtype=bool)
    _, pos = np.unique(key, return_index=True)
    first[pos] = True
    return first
