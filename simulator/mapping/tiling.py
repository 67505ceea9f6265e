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

Five loop orders decide what is reused between consecutive tiles of an array:
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
- band_major (reduction split in chunks): for each pixel block, each channel block, the `cr` chunks;
  every tile loads its weights and inputs. Without an input stage it is reduction_split with the
  weights re-read per pixel block, so it is a candidate only where a stage serves its re-loads.
Weights of a layer the placement stages in SRAM (`w_staged`, mapping/placement.py) are read from
DRAM once, by the first tile that needs each weight block; every later load of it reads the SRAM.
Likewise a staged input (`in_stage`, its SRAM bytes): a candidate whose input blocks in use fit the
stage (`i_stage`: two pixel blocks with all channels of the tile's groups per array loading its own,
for the pixel-outer orders; the whole input for the orders that loop over channel blocks outside
the pixel blocks) reads each input block from DRAM once, by its first load, and re-loads it from
SRAM; the halo rows consecutive blocks share are read by both.
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

Shared local buffer (`compute.array.buffers.shared`, NVDLA's convolution buffer): the operands it
holds get whole banks, at least one each, chosen per layer: every split is a set of candidates
whose slots are banks x bank bytes / prefetch depth and whose ports (the feed limit,
mapping/array_timing.py) are banks x bank width; the chosen split is reported (`buffer_banks`).

The candidates of a layer shape form one table (numpy columns, `candidate_table`, cached by shape
and context): tile sizes x batch fold x loop order x array split (x buffer split). What depends on
where the operands live is computed from the table per *state* of the operand homes: inputs in
DRAM or SRAM, weights in DRAM / staged / on chip, outputs in DRAM or SRAM.

The choice rule. The estimate of a candidate is the max of its busiest array's compute and its
DRAM, SRAM and interconnect times (their traffic over the peak rates); candidates are ranked by
that estimate (rounded to a cycle), then traffic (DRAM bytes x 4 + SRAM bytes), then compute,
then tiles, then enumeration order. The mapper keeps the best-ranked candidate among those that
move no more DRAM bytes than the choice at every state with fewer operands on chip (its own state
with one operand moved to DRAM, its input's stage halved, or its weights unstaged; `_choose`,
recursively, so the cap is the least DRAM traffic of all lower states' choices). The input stage's
rungs ceil(input / 2^j) (placement.stage_bytes) form a chain: a stage is capped by the next smaller
rung, down to none, and the input on chip by the whole input staged. The bytes the cap compares are
what conv_tiles moves (`_dram_exact`: each block's input span clipped at the image's edges); the
estimate's DRAM term counts every block's full span, which inflates a candidate that re-reads its
input n_kc times by n_kc times the excess, so comparing estimates let a staged candidate that
re-read its weights instead move more simulated bytes (conv_micro at 16 x 16 on two 8 x 4
output-stationary arrays, 128 -> 512 KiB: +0.6%). At the all-in-DRAM state there is no cap. Why:
the placement is monotone (a larger SRAM keeps a superset of tensors and stages a superset of
layers), and a candidate's DRAM bytes cannot grow when an operand moves on chip; ranking by
estimate alone then let a candidate with a marginally better estimate and more DRAM bytes win once
an operand moved on chip (conv_s2 of conv_micro at 16x16 on one 16x16 input-stationary array: its
output moved to SRAM with 4x the SRAM, and a tiling that re-read the weights per pixel block,
+62% DRAM bytes, estimated 0.2% faster; it simulated 13% slower). With the cap, a layer's
estimated DRAM bytes never grow with the SRAM size, and where the cap does not bind the choice is
the fastest estimate as before (on the bundled chips x networks at batch 1 and 8: 14 of 2,828
layer choices changed, each estimated 0.6-7.7% slower with 12-55% less traffic; simulated, each of
those six runs is within -0.4% / +0.1% of its cycles before and moves 0.1-1.3% fewer DRAM bytes).
The runner-up (`ConvTiling.runner_up`, `npusim run --explain`) is the best-ranked candidate under
the same cap that is another mapping (tile sizes, fold, order; the array split when arrays > 1).
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
from dataclasses import dataclass, field

import numpy as np

from simulator.mapping import winograd as wg
from simulator.mapping.array_timing import feed_cycles, tile_cycles, tile_macs

ORDERS = ("weights_resident", "inputs_resident", "reduction_split", "partials_resident", "band_major")
PIXEL_OUTER = (1, 4)        # orders whose pixel-block loop is outside the channel-block loop


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
    # a shared banked local buffer (compute.array.buffers.shared): its operands' slots and ports above
    # are per layer, from the banks the mapper gives each (`buffer_splits`)
    shared_operands: tuple = ()
    shared_banks: int = 0
    shared_bank_bytes: int = 0                    # one bank's bytes
    shared_bank_bytes_per_cycle: int = 0
    prefetch_depth: int = 2


def buffer_fields(array) -> dict:
    """TileContext's local-buffer fields from compute.array (ArraySpec): slots (a buffer / prefetch
    depth) and port widths. A shared buffer's operands get, by default, the most banks a split can
    give one (all but one per other shared operand): what a vector layer, which has no weights,
    works in; a MAC layer's split is chosen per layer (`buffer_splits`)."""
    b, d = array.buffers, array.prefetch_depth
    out = {"prefetch_depth": d}
    for op in ("weights", "inputs", "outputs"):
        own = getattr(b, op)
        if own is not None:
            out[f"{op}_slot_bytes"], out[f"{op}_feed_bytes_per_cycle"] = own.size_bytes // d, own.bytes_per_cycle
    if b.shared is not None:
        out.update(shared_operands=tuple(b.shared.operands), shared_banks=b.shared.banks,
                   shared_bank_bytes=b.shared.size_bytes // b.shared.banks,
                   shared_bank_bytes_per_cycle=b.shared.bank_bytes_per_cycle)
        most = b.shared.banks - len(b.shared.operands) + 1
        for op in b.shared.operands:
            out[f"{op}_slot_bytes"] = most * out["shared_bank_bytes"] // d
            out[f"{op}_feed_bytes_per_cycle"] = most * b.shared.bank_bytes_per_cycle
    return out


def split_context(ctx: TileContext, banks: tuple) -> TileContext:
    """`ctx` with the slots and ports of a shared buffer split as (weights, inputs, outputs) banks."""
    if not banks:
        return ctx
    fields = {}
    for op, n in zip(("weights", "inputs", "outputs"), banks):
        if op in ctx.shared_operands:
            fields[f"{op}_slot_bytes"] = n * ctx.shared_bank_bytes // ctx.prefetch_depth
            fields[f"{op}_feed_bytes_per_cycle"] = n * ctx.shared_bank_bytes_per_cycle
    return dataclasses.replace(ctx, **fields)


def buffer_splits(ctx: TileContext) -> list[tuple[tuple, TileContext]]:
    """((weights, inputs, outputs) banks, the context with those slots and ports) for every way of
    giving each shared operand at least one bank of a shared buffer; [((), ctx)] without one."""
    if not ctx.shared_banks:
        return [((), ctx)]
    ops = ("weights", "inputs", "outputs")
    shared = [op for op in ops if op in ctx.shared_operands]
    out = []
    for counts in itertools.product(range(1, ctx.shared_banks + 1), repeat=len(shared)):
        if sum(counts) == ctx.shared_banks:
            given = dict(zip(shared, counts))
            banks = tuple(given.get(op, 0) for op in ops)
            out.append((banks, split_context(ctx, banks)))
    return out


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
    runner_up: "ConvTiling | None" = None   # the next-best candidate at the same operand homes
    # the estimate's terms (cycles on the busiest resource, bytes) and what they assumed
    est_dram_cycles: float = 0.0
    est_sram_cycles: float = 0.0
    est_ic_cycles: float = 0.0
    est_dram_bytes: int = 0
    est_sram_bytes: int = 0
    homes: tuple = ()            # (inputs on chip, weights level 0 DRAM / 1 staged / 2 on chip, outputs on chip)
    slots: tuple = ()            # (weights, inputs, outputs) slot bytes the tile was sized for
    buffer_banks: tuple = ()     # (weights, inputs, outputs) banks of a shared local buffer; () if separate
    in_stage_bytes: int = 0      # SRAM the staged input blocks in use take (0: the input is not staged)


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


def _extent_sum(layer, axis: int, block: np.ndarray) -> np.ndarray:
    """Per block size: the input rows (axis 0) or columns (1) all output blocks of that size read, each
    block's span clipped at the input's edges (the padding) as conv_tiles clips it."""
    out_len = (layer.p, layer.q)[axis]
    lut = _extent_sums(out_len, layer.stride[axis], (layer.r, layer.s)[axis], layer.dilation[axis],
                       layer.padding[axis], layer.in_shapes[0][1 + axis])
    # a block at least as long as the output is one block of the whole output
    return lut[np.minimum(np.asarray(block, np.int64), out_len)]


@functools.lru_cache(maxsize=256)
def _extent_sums(out_len: int, stride: int, k: int, dil: int, pad: int, in_len: int) -> np.ndarray:
    """_extent_sum of every block size 1..out_len (index 0 unused): shared by every candidate table
    of a layer's shape (depth-first fusion asks for one per band height)."""
    sizes = np.arange(1, out_len + 1, dtype=np.int64)
    # every block of every size laid end to end, one segment per size
    counts = -(-out_len // sizes)
    first = np.zeros(len(sizes), np.int64)
    first[1:] = np.cumsum(counts)[:-1]
    size_of = np.repeat(sizes, counts)
    o0 = (np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first, counts)) * size_of
    o1 = np.minimum(o0 + size_of, out_len)
    lo = np.maximum(0, o0 * stride - pad)
    hi = np.minimum(in_len, (o1 - 1) * stride - pad + (k - 1) * dil + 1)
    lut = np.zeros(out_len + 1, np.int64)
    lut[1:] = np.add.reduceat(np.maximum(hi - lo, 0), first)
    lut.flags.writeable = False          # shared by the cache
    return lut


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


SPLITS = ("channels", "spatial")
# the candidate table's cells per tile shape, in enumeration order: (split, order slot) for each split
# of SPLITS and each of _expand's three order slots
_CELL_SPLIT = np.repeat(np.arange(len(SPLITS)), 3)
_CELL_SLOT = np.tile(np.arange(3), len(SPLITS))
# Also try, for the pixel-outer orders, every block height below the largest that fits, so that a small
# input stage can hold the blocks in use (ranked only where they use the stage). Off: the estimate
# favours them where they do not pay (conv_micro at 16 x 16 on a 4 x 4 input-stationary array with
# 256 KiB -> 1 MiB of SRAM: conv_s2 chose 2 x 2 blocks, 10,000 tiles, estimated faster, simulated 4%
# slower; allowed only where they use a stage, a staged layer got them and ran faster than with its
# input on chip), and they grow the candidate table 4x.
STAGE_BLOCK_HEIGHTS = False
# Also try balanced non-power-of-two channel blocks: the halvings of the filters, and equal blocks of
# as many folds as each power-of-two block (filters over columns, channels x kernel over rows). Off:
# it changes 772 of the 2,828 layer choices of the bundled chips x networks (estimates down by up to
# 19% per run; simulated tpu_v1 YOLOv3-608 +21% fps, ResNet-50 batch 8 +8%, blaize ResNet-50 +18%,
# tesla_t4 YOLOv3 +3% fps with 17% more DRAM bytes), so every published figure would need a re-run;
# tests/mapping/test_search_exhaustive.py measures what it closes (worst gap +100% -> +33%).
BALANCED_BLOCKS = False


@dataclass(frozen=True)
class CandidateTable:
    """Every candidate of a layer for one set of buffer slots, one row each, in enumeration order.

    Columns (int64 numpy arrays): gb, kc, cr, ph, qw, nb, m (Winograd m or 0), order (index into
    ORDERS), split (index into SPLITS), compute (busiest array's cycles), w_traffic, i_traffic
    (bytes the arrays load, from wherever the operand lives), i_stage (SRAM an input stage needs for
    this candidate to read each input block from DRAM once; 0: it loads each block once anyway),
    i_once (its input bytes, each block once, halos included), n_tiles. `w_total`, `out_total`:
    the layer's weight and output bytes. What depends on where the operands live (DRAM bytes, the
    estimate) is computed from these by `_score`.
    """
    cols: dict
    w_total: int
    out_total: int
    # memo of the choice (_choose): state -> (tiling, DRAM bytes); ("dram" | "floor", *state) -> DRAM bytes;
    # ("exact", homes...) -> every row's DRAM bytes; ("allowed", i_on, stage) -> row mask; ("homeless",) -> score terms
    choices: dict = field(default_factory=dict, compare=False, repr=False)
    splits: tuple = ((),)       # per split_id: (weights, inputs, outputs) banks of a shared buffer, () if none
    slots: tuple = ()           # per split_id: (weights, inputs, outputs) slot bytes
    in_total: int = 0           # the layer's input bytes (the first input: the one a stage holds)

    def __len__(self) -> int:
        return len(self.cols["gb"])


def _table(layer, ctx: TileContext, split_ctxs: list, max_rows: int | None = None) -> CandidateTable:
    """The candidate table of `layer` over the contexts of the buffer splits (their slots and ports;
    one without a shared buffer), column `split_id` indexing them (module docstring: the candidates)."""
    W, I, O = (np.array([getattr(c, f"{op}_slot_bytes") for c in split_ctxs], np.int64)
               for op in ("weights", "inputs", "outputs"))
    ob, G = ctx.operand_bytes, layer.groups
    kg = layer.k // G
    C, R, S = layer.c, layer.r, layer.s
    P, Q = layer.p, layer.q
    cin, hin, win = layer.in_shapes[0]
    fc = not layer.tiles_rows
    sh, sw = layer.stride
    dh, dw = layer.dilation
    A = ctx.arrays
    acc = ctx.acc_bytes
    w_total = layer.stationary_elems * ob * (layer.n if layer.stationary_per_image else 1)
    out_total = layer.output_elems * ob
    kc_split = sorted({min(kg, ctx.cols * 2**j) for j in range(12) if ctx.cols * 2**(j - 1) < kg} | {kg})
    cr_split = _halving(C)
    if BALANCED_BLOCKS:
        balanced = lambda n, v: -(-n // -(-n // v))            # equal blocks, as many as blocks of v
        kc_split = sorted(set(kc_split) | set(_halving(kg)) | {balanced(kg, v) for v in kc_split})
        per_fold = [ctx.rows * 2**j // (1 if ctx.kind == "dot_product" else R * S) for j in range(12)]
        cr_split = sorted(set(cr_split) | {balanced(C, v) for v in per_fold if 0 < v < C}, reverse=True)
    shapes = [(1, kc, cr) for kc in kc_split for cr in cr_split]
    if G > 1:
        shapes = [(gb, kg, C) for gb in _halving(G)] + shapes
    sh_all = np.array(shapes, np.int64).reshape(-1, 3)
    fold_ok = layer.n > 1 and not layer.stationary_per_image
    parts = []
    modes = [0] + ([ctx.winograd_m] if ctx.winograd_m and wg.eligible(layer) else [])
    for m in modes:
        align = (lambda v, cap: wg.round_up(v, m, cap)) if m else (lambda v, cap: v)
        q_opts = np.array([1] if fc else sorted({align(v, Q) for v in _halving(Q)}, reverse=True), np.int64)
        p_set = {align(v, P) for v in _halving(P)}
        if max_rows is not None and max_rows < P:           # a cap on the block height (its own option too)
            cap = max_rows - max_rows % m if m else max_rows     # Winograd: whole m x m output tiles
            if cap == 0:
                continue
            p_set = {v for v in p_set if v <= cap} | {cap}
        p_opts = np.array([1] if fc else sorted(p_set, reverse=True), np.int64)
        gb, kc, cr = sh_all[:, 0], sh_all[:, 1], sh_all[:, 2]
        w_tile = (wg.weight_buffer_bytes(gb * kc * cr, m, ctx.winograd_weight_bits) if m else gb * kc * cr * R * S * ob)
        keep = w_tile[None, :] <= W[:, None]                                # [split, shape]
        if not keep.any():
            continue
        cols_in = np.ones_like(q_opts) if fc else np.minimum(win, (q_opts - 1) * sw + (S - 1) * dw + 1)
        rows_in = np.ones_like(p_opts) if fc else np.minimum(hin, (p_opts - 1) * sh + (R - 1) * dh + 1)
        # fits[split, shape, q, p]: the weights, the inputs (halo included) and the partial sums fit their slots
        in_need = (gb * cr)[:, None, None] * rows_in[None, None, :] * cols_in[None, :, None] * ob
        ps_need = (gb * kc)[:, None, None] * p_opts[None, None, :] * q_opts[None, :, None] * acc
        fits = (in_need[None] <= I[:, None, None, None]) & (ps_need[None] <= O[:, None, None, None]) \
            & keep[:, :, None, None]
        any_fit = fits.any(axis=3)
        ph_fit = np.where(any_fit, p_opts[np.argmax(fits, axis=3)], 0)     # largest ph that fits
        ki, si, qi = np.nonzero(any_fit)                                    # row-major: split, shape, qw
        pf = ph_fit[ki, si, qi]
        if fc:
            opts = pf[:, None]
        else:
            caps = np.array([align(-(-P // d), P) for d in (2, A, 2 * A)], np.int64)
            opts = np.concatenate([pf[:, None], np.minimum(pf[:, None], caps[None, :])], axis=1)
            opts = -np.sort(-opts, axis=1)                                  # descending, then drop repeats
        first = np.ones(opts.shape, bool)
        first[:, 1:] = opts[:, 1:] != opts[:, :-1]
        ei, ej = np.nonzero(first)
        e_extra = np.zeros(len(ei), bool)
        if not fc and STAGE_BLOCK_HEIGHTS:
            # stage-only candidates: every lower block height, so that a small input stage can hold the
            # blocks in use (mapping/placement.py); ranked only where the input is staged
            lower = (p_opts[None, :] < pf[:, None]) & (p_opts[None, :, None] != opts[:, None, :]).all(axis=2)
            xi, xj = np.nonzero(lower)
            ei = np.concatenate([ei, xi])
            e_extra = np.concatenate([e_extra, np.ones(len(xi), bool)])
            ph_all = np.concatenate([opts[np.nonzero(first)], p_opts[xj]])
        else:
            ph_all = opts[ei, ej]
        e_k, e_s, e_q, e_ph = ki[ei], si[ei], qi[ei], ph_all
        e_qw = q_opts[e_q]
        e_gb, e_kc, e_cr = gb[e_s], kc[e_s], cr[e_s]
        e_cols = cols_in[e_q]
        e_rows = np.ones_like(e_ph) if fc else np.minimum(hin, (e_ph - 1) * sh + (R - 1) * dh + 1)
        nb = np.ones_like(e_ph)
        reps = np.ones_like(e_ph)
        if fold_ok:
            whole = np.nonzero(np.ones(len(e_ph), bool) if fc else (e_ph == P) & (e_qw == Q))[0]
            tops = []
            for i in whole:
                g_, k_, c_, p_, q_, r_, ci_ = (int(v[i]) for v in (e_gb, e_kc, e_cr, e_ph, e_qw, e_rows, e_cols))
                i_slot, o_slot = int(I[e_k[i]]), int(O[e_k[i]])
                nbs = _batch_fold(layer.n, lambda v: (g_ * c_ * r_ * ci_ * v * ob <= i_slot
                                                     and g_ * k_ * p_ * q_ * v * acc <= o_slot))
                tops.append(nbs[0])
            tops = np.array(tops, np.int64)
            reps[whole] = np.where(tops > 1, 2, 1)
            nb[whole] = tops
        idx = np.repeat(np.arange(len(e_ph)), reps)
        nbx = nb[idx]
        second = np.zeros(len(idx), bool)
        second[1:] = idx[1:] == idx[:-1]
        nbx[second] = 1                                                     # [top, 1]: the fold first
        parts.append((m, e_gb[idx], e_kc[idx], e_cr[idx], e_ph[idx], e_qw[idx], nbx, e_rows[idx], e_cols[idx],
                      e_k[idx], e_extra[idx]))
    return _expand(layer, ctx, parts, kg, fc, w_total, out_total, split_ctxs)


def _expand(layer, ctx, parts, kg, fc, w_total, out_total, split_ctxs=None) -> CandidateTable:
    """Each tile shape x array split x loop order, its compute cycles and traffic (module docstring).

    A part is (m, gb, kc, cr, ph, qw, nb, rows_in, cols_in[, split index into `split_ctxs`])."""
    split_ctxs = split_ctxs or [ctx]
    shared = len(split_ctxs) > 1
    feeds = {f: np.array([getattr(c, f) for c in split_ctxs], np.int64)
             for f in ("weights_feed_bytes_per_cycle", "inputs_feed_bytes_per_cycle", "outputs_feed_bytes_per_cycle",
                       "outputs_slot_bytes")}
    ob, G, C = ctx.operand_bytes, layer.groups, layer.c
    A = ctx.arrays
    kernel = (layer.r, layer.s)
    out = {k: [] for k in ("gb", "kc", "cr", "ph", "qw", "nb", "m", "order", "split", "compute", "w_traffic",
                           "i_traffic", "i_stage", "i_once", "i_traffic_x", "i_once_x", "n_tiles", "split_id",
                           "stage_only")}
    in_total = layer.n * int(np.prod(layer.in_shapes[0])) * ob
    for m, gb, kc, cr, ph, qw, nb, rows_in, cols_in, *rest in parts:
        k = rest[0] if rest else np.zeros_like(gb)
        extra = rest[1] if len(rest) > 1 else np.zeros(len(gb), bool)
        if shared:      # each row's own split: its slots and ports
            fctx = dataclasses.replace(ctx, **{f: v[k] for f, v in feeds.items() if f != "outputs_slot_bytes"})
            o_slot = feeds["outputs_slot_bytes"][k]
        else:
            fctx, o_slot = split_ctxs[0], split_ctxs[0].outputs_slot_bytes
        n_g, n_kc, n_cr = -(-G // gb), -(-kg // kc), -(-C // cr)
        n_ib = -(-layer.n // nb)
        if fc:
            n_sp = n_ib
            in_once = np.full_like(gb, layer.input_elems * ob)
            in_exact = in_once
            pr = pq = np.ones_like(gb)
        else:
            n_px = (-(-layer.p // ph)) * (-(-layer.q // qw))
            n_sp = n_ib * n_px
            in_once = layer.n * n_px * G * C * rows_in * cols_in * ob
            in_exact = layer.n * G * C * _extent_sum(layer, 0, ph) * _extent_sum(layer, 1, qw) * ob
            pr, pq = ph, qw
        macs = tile_macs(kernel, gb, kc, cr, pr, pq, m, images=nb)
        one_tile = np.maximum(tile_cycles(ctx, kernel, gb, kc, cr, pr, pq, m, images=nb),
                              feed_cycles(fctx, macs, gb * kc * cr * layer.r * layer.s * ob,
                                          gb * cr * rows_in * cols_in * nb * ob, gb * kc * pr * pq * nb))
        n_out = n_g * n_kc * n_sp
        reduce_split = (n_cr > 1)[:, None]
        # one column per (split, order slot) cell, in the enumeration order: _CELL_SPLIT, _CELL_SLOT
        n_gk = n_g * n_kc
        per_split = lambda channels, spatial: np.stack([channels, spatial], axis=1)[:, _CELL_SPLIT]
        ones = np.ones_like(gb)
        per_unit = per_split(-(-n_gk // A) * n_sp, -(-n_sp // A) * n_gk)
        units_w = per_split(ones, np.minimum(A, n_sp))
        units_i = per_split(np.minimum(A, n_gk), ones)
        px_per_unit = per_split(n_sp, -(-n_sp // A))
        compute = per_unit * n_cr[:, None] * np.reshape(one_tile, (-1, 1))
        partials_fit = (gb * kc * pr * pq * nb * ctx.acc_bytes)[:, None] * px_per_unit <= np.reshape(o_slot, (-1, 1))
        # an input stage holds the blocks in use: one pixel block (all channels of the tile's groups)
        # on each array loading its own, double-buffered, for the pixel-outer orders; the whole input
        # for the others (they re-load a block once per channel block, a whole layer apart)
        block = gb * C * rows_in * cols_in * nb * ob
        live = np.minimum(in_total, 2 * block[:, None] * np.where(_CELL_SPLIT == 0, 1, A))
        # slot 0: weights_resident / reduction_split; slot 1: inputs_resident / partials_resident;
        # slot 2: band_major (reduction split only: with the whole reduction, inputs_resident)
        slot = _CELL_SLOT
        order = np.where(slot == 2, 4, np.where(reduce_split, 2 + slot, slot))
        valid = ~(reduce_split & (slot == 1) & ~partials_fit) & (reduce_split | (slot < 2))
        w_res = (order == 0) | (order == 3)
        col = lambda v: np.reshape(v, (-1, 1))
        w_tr = np.where(w_res, w_total * units_w, col(w_total * n_sp))
        i_tr = np.where(order == 1, np.where(_CELL_SPLIT == 0, col(in_once) * units_i, col(in_once)),
                        col(in_once * n_kc))
        pixel_outer = (order == 1) | (order == 4)
        valid = valid & (pixel_outer | ~col(extra))        # a lower block height only to fit a band stage
        need = np.where(i_tr > col(in_once), np.where(pixel_outer, live, in_total), 0)
        i_x = i_tr // col(np.maximum(in_once, 1)) * col(in_exact)     # the same loads, exact bytes
        n = len(gb)
        valid = valid.ravel()
        rep = lambda v: np.repeat(np.asarray(v, np.int64), len(_CELL_SLOT))[valid]
        flat = lambda v: np.broadcast_to(v, (n, len(_CELL_SLOT))).ravel()[valid]
        for k, v in (("gb", gb), ("kc", kc), ("cr", cr), ("ph", ph), ("qw", qw), ("nb", nb),
                     ("m", np.full(n, m)), ("n_tiles", n_out * n_cr), ("split_id", k)):
            out[k].append(rep(v))
        order_f = flat(order)
        out["order"].append(order_f)
        # band_major re-loads blocks like reduction_split, the lower block heights are slower: both count
        # only where an input stage serves them
        out["stage_only"].append(rep(extra) | (order_f == 4))
        out["split"].append(flat(_CELL_SPLIT))
        out["compute"].append(flat(compute))
        out["w_traffic"].append(flat(w_tr))
        out["i_traffic"].append(flat(i_tr))
        out["i_stage"].append(flat(need))
        out["i_once"].append(flat(col(in_once)))
        out["i_traffic_x"].append(flat(i_x))
        out["i_once_x"].append(flat(col(in_exact)))
    cols = {k: (np.asarray(v[0] if len(v) == 1 else np.concatenate(v), np.int64) if v else np.zeros(0, np.int64))
            for k, v in out.items()}
    if not shared:
        del cols["split_id"]
    return CandidateTable(cols, int(w_total), int(out_total), in_total=int(in_total))


def _score(tab: CandidateTable, ctx: TileContext, in_dram: bool, w_dram: bool, out_dram: bool, w_staged: bool,
           in_stage: int = 0):
    """(estimate, DRAM bytes, on-chip bytes, their time terms) of every candidate for these operand homes.

    `in_stage`: SRAM bytes of the input stage (mapping/placement.py); a candidate whose blocks in use
    fit it reads each input block from DRAM once and re-loads it from the SRAM copy."""
    c = tab.cols
    w_tr, i_tr = c["w_traffic"], c["i_traffic"]
    w_from_dram = (np.minimum(w_tr, tab.w_total) if w_staged else w_tr) if w_dram else 0
    i_from_dram = (np.where(c["i_stage"] <= in_stage, c["i_once"], i_tr) if in_stage > 0 else i_tr) if in_dram else 0
    dram = w_from_dram + i_from_dram + (tab.out_total if out_dram else 0) + np.zeros_like(w_tr)
    total, t_ic, compute_ic = _homeless(tab, ctx)
    sram = total - dram
    t_dram, t_sram = dram / ctx.dram_bytes_per_cycle, sram / ctx.sram_bytes_per_cycle
    est = np.maximum(np.maximum(compute_ic, t_dram), t_sram)
    return est, dram, sram, t_dram, t_sram, t_ic


def _homeless(tab: CandidateTable, ctx: TileContext):
    """The score's terms that no operand home changes (memoized per table): bytes moved, their
    interconnect time, and the larger of it and the compute cycles."""
    key = ("homeless",)
    if key not in tab.choices:
        c = tab.cols
        total = c["w_traffic"] + c["i_traffic"] + tab.out_total
        t_ic = total / ctx.ic_bytes_per_cycle
        tab.choices[key] = (total, t_ic, np.maximum(c["compute"].astype(np.float64), t_ic))
    return tab.choices[key]


def _dram_exact(tab: CandidateTable, in_dram: bool, w_dram: bool, out_dram: bool, w_staged: bool, in_stage: int = 0):
    """The DRAM bytes of every candidate as conv_tiles moves them: `_score`'s, with each input block's
    span clipped at the image's edges and the last blocks partial (the estimate counts full spans).
    The DRAM cap compares these, so that the simulated bytes, not only the estimate's, never grow with
    the SRAM: a candidate that re-reads its input n_kc times carries n_kc times the estimate's excess,
    one that reads it once from a stage and re-reads its weights instead does not."""
    key = ("exact", in_dram, w_dram, out_dram, w_staged, in_stage)
    if key not in tab.choices:          # memoized: a state's bytes serve its own choice and the caps above it
        c = tab.cols
        w_tr, i_tr = c["w_traffic"], c["i_traffic_x"]
        w_from_dram = (np.minimum(w_tr, tab.w_total) if w_staged else w_tr) if w_dram else 0
        i_from_dram = ((np.where(c["i_stage"] <= in_stage, c["i_once_x"], i_tr) if in_stage > 0 else i_tr)
                       if in_dram else 0)
        tab.choices[key] = w_from_dram + i_from_dram + (tab.out_total if out_dram else 0) + np.zeros_like(w_tr)
    return tab.choices[key]


_TABLES: dict = {}          # (shape key, context) -> CandidateTable; layers repeat shapes
_TABLES_MAX = 512


def candidate_table(layer, ctx: TileContext, max_rows: int | None = None) -> CandidateTable:
    """The candidate table of `layer` (cached by shape and context: YOLOv3 repeats its shapes), over
    every split of a shared local buffer (column `split_id` indexes `buffer_splits(ctx)`).
    `max_rows`: no pixel block taller than this many output rows (None: no limit)."""
    key = (conv_shape_key(layer), ctx, max_rows)
    tab = _TABLES.get(key)
    if tab is None:
        if len(_TABLES) >= _TABLES_MAX:
            _TABLES.clear()
        splits = buffer_splits(ctx)
        tab = _table(layer, ctx, [c for _, c in splits], max_rows)
        tab = _TABLES[key] = dataclasses.replace(tab, splits=tuple(b for b, _ in splits),
                                                 slots=tuple((c.weights_slot_bytes, c.inputs_slot_bytes,
                                                              c.outputs_slot_bytes) for _, c in splits))
    return tab


def choose_conv_tiling(layer, ctx: TileContext, in_dram: bool, w_dram: bool, out_dram: bool,
                       w_staged: bool = False, max_rows: int | None = None, in_stage: int = 0) -> ConvTiling:
    """Pick tile sizes, loop order, array split and batch fold for a conv/fc layer (module docstring).

    `w_staged`: the layer's weights are staged in SRAM (read from DRAM once, re-reads from SRAM).
    `in_stage`: SRAM bytes (a power of two, mapping/placement.py) of the stage of an input in DRAM; 0: none.
    `max_rows`: pixel blocks of at most this many output rows (a hook for depth-first fusion).
    """
    tab = candidate_table(layer, ctx, max_rows)
    if not len(tab):
        from simulator.errors import MappingError
        raise MappingError("", layer.name,
                           f"no tile of layer '{layer.name}' fits the array's local buffers "
                           f"(weights slot {ctx.weights_slot_bytes} B, inputs slot {ctx.inputs_slot_bytes} B, "
                           f"outputs slot {ctx.outputs_slot_bytes} B); enlarge compute.array.buffers or "
                           f"lower compute.array.prefetch_depth")
    # weights' home as a level: 0 DRAM, 1 DRAM staged in SRAM, 2 on chip. Which lower levels a smaller
    # SRAM could give: pinned weights (on chip whatever the size) none; an activation operand
    # (batch_matmul) DRAM; staged weights unstaged ones.
    w_level = 2 if not w_dram else (1 if w_staged else 0)
    w_levels = ((0, 2) if layer.stationary_per_image else (2,)) if w_level == 2 else tuple(range(w_level + 1))
    state = (int(not in_dram), w_level, int(not out_dram), _stage_level(tab, in_stage) if in_dram else 0)
    return _choose(tab, ctx, state, w_levels)[0]


def _stage_level(tab: CandidateTable, in_stage: int) -> int:
    """The input stage `in_stage` (a rung of placement.stage_bytes' ladder) as the smallest rung below it
    that the same candidates fit (the same choice, so one memo entry and a short chain), or 0 where
    no candidate's stage fits it."""
    need = tab.cols["i_stage"]
    need = need[(need > 0) & (need <= in_stage)]
    if not len(need):
        return 0
    top, stage = int(need.max()), int(in_stage)
    while stage > 1 and -(-stage // 2) >= top:
        stage = -(-stage // 2)
    return stage


def _choose(tab: CandidateTable, ctx: TileContext, state: tuple[int, int, int, int], w_levels: tuple[int, ...]):
    """(tiling, its DRAM bytes) at operand homes `state` = (input on chip, weights level, output on
    chip, input stage bytes: a rung of placement.stage_bytes' ladder, 0 for none).

    The fastest estimate among the candidates that move no more DRAM bytes than the choice at any
    state with fewer operands on chip (module docstring: monotone in SRAM size). The stage rungs
    form a chain below the input on chip: a stage of S bytes is capped by one of ceil(S / 2) (down
    to no stage), and the input on chip by the whole input staged (every candidate's stage fits), so
    a larger stage, or the input moved on chip, never moves more DRAM bytes. Memoized per table.
    """
    memo = tab.choices
    if state in memo:
        return memo[state]
    best, exact_best, score, ranked = _best_row(tab, ctx, state, w_levels)
    stage = state[3]
    t = _tiling(tab, score, best, state[:3], stage)
    second = _runner_up(tab, ctx, ranked)
    if second is not None:
        t = dataclasses.replace(t, runner_up=_tiling(tab, score, second, state[:3], stage))
    memo[state] = (t, exact_best)
    return memo[state]


def _runner_up(tab: CandidateTable, ctx: TileContext, ranked: np.ndarray) -> int | None:
    """The first row of the ranked head after its best that is another mapping (the split counts
    with several arrays), or None."""
    c = tab.cols
    keys = ("gb", "kc", "cr", "ph", "qw", "nb", "m", "order") + (("split_id",) if "split_id" in c else ()) \
        + (("split",) if ctx.arrays > 1 else ())
    best, head = ranked[0], ranked[1:]
    other = np.zeros(len(head), bool)
    for k in keys:
        other |= c[k][head] != c[k][best]
    return int(head[np.argmax(other)]) if other.any() else None


def _chosen_dram(tab: CandidateTable, ctx: TileContext, state: tuple[int, int, int, int],
                 w_levels: tuple[int, ...]) -> int:
    """The exact DRAM bytes of _choose's choice at `state`, without building its ConvTiling: the
    states below a layer's own serve only as caps (same rule, same row; memoized beside it)."""
    memo = tab.choices
    if state in memo:
        return memo[state][1]
    key = ("dram",) + state
    if key not in memo:
        memo[key] = _best_row(tab, ctx, state, w_levels, top=1)[1]
    return memo[key]


def _best_row(tab: CandidateTable, ctx: TileContext, state: tuple[int, int, int, int],
              w_levels: tuple[int, ...], top: int = 64):
    """(best row, its exact DRAM bytes, the score, the ranked head of `top` rows) at `state` (_choose)."""
    i_on, w_lv, o_on, stage = state
    lower_in = (0, w_lv, o_on, _stage_level(tab, tab.in_total)) if i_on else \
        ((0, w_lv, o_on, _stage_level(tab, -(-stage // 2))) if stage else None)
    lowers = [lower for lower in (lower_in, (i_on, w_lv, 0, stage) if o_on else None,
                                  *((i_on, lv, o_on, stage) for lv in w_levels if lv < w_lv)) if lower is not None]
    score = _score(tab, ctx, not i_on, w_lv < 2, not o_on, w_lv == 1, stage)
    exact = _dram_exact(tab, not i_on, w_lv < 2, not o_on, w_lv == 1, stage)
    allowed = _allowed(tab, i_on, stage)
    if lowers:
        # The cap is at least the least DRAM bytes any row moves at each lower state (their choices
        # are rows of those sets): a row moving no more than that floor is never excluded by it. A
        # cap-only state needs just its best row, so when the uncapped best is such a row, the chain
        # below is not walked. A state's own choice also names its runner-up: the capped ranking is
        # the uncapped one without the rows the cap excludes, so when the best and the runner-up
        # (the first row of another mapping after it) are both under the floor, both stand.
        ranked = _rank(tab, score, allowed, top)
        best = int(ranked[0])
        floor = min(_dram_floor(tab, lo) for lo in lowers)
        if exact[best] <= floor:
            if top == 1:
                return best, int(exact[best]), score, ranked
            second = _runner_up(tab, ctx, ranked)
            if second is not None and exact[second] <= floor:
                return best, int(exact[best]), score, ranked
    cap = min((_chosen_dram(tab, ctx, lower, w_levels) for lower in lowers), default=None)
    if cap is not None:
        allowed = allowed & (exact <= cap)
    ranked = _rank(tab, score, allowed, top)
    best = int(ranked[0])
    return best, int(exact[best]), score, ranked


def _dram_floor(tab: CandidateTable, state: tuple[int, int, int, int]) -> int:
    """The least DRAM bytes any row a state may choose moves there (a floor under its choice; memoized)."""
    key = ("floor",) + state
    if key not in tab.choices:
        i_on, w_lv, o_on, stage = state
        tab.choices[key] = int(_dram_exact(tab, not i_on, w_lv < 2, not o_on, w_lv == 1, stage)
                               [_allowed(tab, i_on, stage)].min())
    return tab.choices[key]


def _allowed(tab: CandidateTable, i_on: int, stage: int) -> np.ndarray:
    """Rows a state may choose before its cap: stage-only rows (_expand) only where they use the
    input's stage."""
    key = ("allowed", i_on, stage)
    if key not in tab.choices:
        c = tab.cols
        tab.choices[key] = (c["stage_only"] == 0) | ((c["i_stage"] > 0) & (c["i_stage"] <= stage) & (not i_on))
    return tab.choices[key]


def _rank(tab: CandidateTable, score, allowed=None, top: int = 64) -> np.ndarray:
    """The best rows (of `allowed`, a mask), best first: least estimated cycles (rounded), then traffic,
    then compute, then tiles, then enumeration order. At least the `top` best (all if fewer), every
    row tied with the last of them included, so the head is the same as a full sort's."""
    est, dram, sram = score[:3]
    c = tab.cols
    if allowed is None and "stage_only" in c:
        allowed = c["stage_only"] == 0
    rows = np.arange(len(tab)) if allowed is None else np.flatnonzero(allowed)
    key = lambda v: v[rows]                   # every score and column is a full-length array
    r = np.round(est[rows])
    if len(rows) > top:
        cut = np.partition(r, top - 1)[top - 1]
        keep = r <= cut
        rows, r = rows[keep], r[keep]
    return rows[np.lexsort((rows, key(c["n_tiles"]), key(c["compute"]), key(dram * 4 + sram), r))]


def _tiling(tab: CandidateTable, score, i: int, state: tuple = (), stage: int = 0) -> ConvTiling:
    c = tab.cols
    need = int(c["i_stage"][i]) if "i_stage" in c else 0
    est, dram, sram, t_dram, t_sram, t_ic = (v[i] if np.ndim(v) else v for v in score)
    sid = int(c["split_id"][i]) if "split_id" in c else 0
    return ConvTiling(int(c["gb"][i]), int(c["kc"][i]), int(c["cr"][i]), int(c["ph"][i]), int(c["qw"][i]),
                      ORDERS[c["order"][i]], SPLITS[c["split"][i]], float(est), float(dram * 4 + sram),
                      int(c["compute"][i]), int(c["n_tiles"][i]), int(c["m"][i]), int(c["nb"][i]),
                      est_dram_cycles=float(t_dram), est_sram_cycles=float(t_sram), est_ic_cycles=float(t_ic),
                      est_dram_bytes=int(dram), est_sram_bytes=int(sram), homes=state,
                      slots=tab.slots[sid] if tab.slots else (), buffer_banks=tab.splits[sid],
                      in_stage_bytes=need if 0 < need <= stage else 0)


def conv_tiles(layer, t: ConvTiling, ctx: TileContext) -> dict[str, np.ndarray]:
    """Enumerate the tiles of a conv/fc layer in execution order, one row per tile.

    Returns int64 columns: unit, macs, compute_cycles, w_bytes, in_bytes, out_bytes, img (the
    tile's first image), img_last (its last: a batch fold spans img..img_last), in_row_lo,
    in_row_hi (input rows read, for dependencies), out_row_lo, out_row_hi, in_offset, w_offset,
    out_offset (byte offsets into the tensors, for addresses), and w_first (bool: the first load
    of its weight block in the whole layer, which a staged layer reads from DRAM), w_block (its weight
    block's index) and w_bytes_each (its weight bytes before reuse: a fused group reloads per band),
    i_block and i_first (its input block's index, and whether it is the block's first load in the
    layer: a staged input's first load reads DRAM, every later one the SRAM stage).
    """
    ctx = split_context(ctx, t.buffer_banks)      # a shared buffer: the ports of the chosen split
    ob, G, C = ctx.operand_bytes, layer.groups, layer.c
    kg = layer.k // G
    fc = not layer.tiles_rows
    n_g, n_kc, n_cr = -(-G // t.gb), -(-kg // t.kc), -(-C // t.cr)
    P, Q = (1, 1) if fc else (layer.p, layer.q)
    n_ph, n_qw = -(-P // t.ph), -(-Q // t.qw)
    N, nb = layer.n, t.nb
    cin, hin, win = layer.in_shapes[0]
    # index grids in loop order ("img" indexes blocks of nb images)
    if t.order in ("inputs_resident", "band_major"):
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
    # the layer's input blocks (a pixel block of an image block, a group block, a channel chunk)
    i_block = (((img_block * n_ph + idx["ph"]) * n_qw + idx["qw"]) * n_g + idx["g"]) * n_cr + idx["cr"]
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
            "w_block": w_block, "w_bytes_each": g_len * k_len * c_len * layer.r * layer.s * ob,
            "i_block": i_block, "i_first": _first_occurrence(i_block)}


def _first_occurrence(key: np.ndarray) -> np.ndarray:
    first = np.zeros(len(key), dtype=bool)
    _, pos = np.unique(key, return_index=True)
    first[pos] = True
    return first
