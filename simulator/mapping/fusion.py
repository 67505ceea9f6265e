"""Depth-first layer fusion: groups of consecutive layers run band by band, intermediates in SRAM.

A *fused group* is a run of consecutive layers (topological order, alias layers skipped) in which
every layer but the last feeds the next one. A tensor produced in the group and read only inside it
(a conv's output, a residual add's operand, an upsample or a concat) is an *intermediate*: it never
exists whole, only as a ring of rows in SRAM. A tensor the group produces that is also read outside
it (a YOLOv3 route to a later layer, a detection head, the group's last layer) is a *boundary*
tensor: written whole to wherever placement puts it.

Bands. The group's last layer is cut into `bands` blocks of `H` output rows; band b needs rows
[0, need(b)) of every layer of the group, propagated backwards through the kernels, strides,
paddings and upsample factors of the consumers (`_needs`). Each layer is tiled with output-row
blocks of at most its steady-state band height (the largest increment of need(b) after the first
band: `choose_conv_tiling(max_rows=...)`), and its tiles are *staged*: a tile belongs to the first
band that needs any of its rows, or to a later band if a producer tile it reads belongs to one
(mapping/program.py). The program emits the group band-major (band 0 of every layer in order, then
band 1, ...), so every producer tile precedes its consumers on every unit and nothing deadlocks.

Ring size of an intermediate T (SRAM bytes it holds while the group runs): a producer tile of band
k waits until T's consumers' tiles of band k - RING_LAG_BANDS are done (mapping/program.py adds
these dependencies; they point backwards in the sequence, so they cannot deadlock). While band s is
produced, the consumers still read from low(s - RING_LAG_BANDS + 1) (the first input row of their
rows of that band) and rows up to need_T(s) plus one producer tile are written; the ring holds
those rows, plus the input rows of one consumer tile where a consumer's tiles are taller than its
band (a vector layer sizes its own tiles), at most the whole tensor. The tests measure each ring's
live bytes in runs against it (docs/assumptions.md).
A group also stages all its layers' weights in SRAM for its whole life (each weight block read
from DRAM once, then from SRAM by every band): the group's footprint is its rings plus its
weights, and it must fit the SRAM left by pinned weights.

Group choice (`plan_fusion`), greedy along the topological order: from each layer that streams
rows, grow the group one layer at a time while it stays a chain and some band height fits; of
these prefixes keep the one that saves the most estimated cycles over running its layers unfused
(ties: the most DRAM bytes saved), and only if it is neither slower nor moves more DRAM bytes by the
estimate and saves one of them; continue after it. For a group
the band height is the one of H = P/2, P/4, ... (P the last layer's rows) with the least estimated
time, ties to the fewest bands (fewer weight re-reads and halo rows). The estimate of a set of
layers is max(compute, DRAM bytes / DRAM bandwidth, SRAM bytes / SRAM bandwidth), with compute the
sum of the layers' own estimates (mapping/tiling.py for MAC layers, elements / lanes for vector
layers; fused, each layer tiled to its band, plus one tile's time per layer and band, the latency
a band-major order exposes); unfused, each tensor placement leaves in DRAM is written and read once
and weights read once; fused, intermediates move through SRAM (written once, read once) and
weights are read from SRAM once per band. So `auto` is never slower than `none` by this estimate.

Computing the choice. A layer's need, band rows, ring and banded compute depend on the group's last
layer j but not on its first layer i (every consumer of a layer lies after it, so it is in the
group exactly when it is at or before j); so `_Tail` evaluates all band heights of j once, for all
layers back to the first start that reaches j, and each group seq[i..j] reads its totals as suffix
sums from i. Only the bytes of inputs made before i depend on i; they grow with j one layer at a
time. This gives the same plans as evaluating every (i, j, H) from scratch
(tests/mapping/test_fusion_plan_speed.py keeps that version as the reference).

Fusion applies only with real memory: in ideal-memory mode (SCALE-Sim compatible) it is off.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.mapping.placement import DRAM
from simulator.mapping.vector_tiling import _input_rows, _rows_correspond

FUSION_MODES = ("none", "auto")
# assumption: a producer runs at most this many bands ahead of an intermediate's consumers (the
#   program makes its tiles wait for theirs: mapping/program.py); the ring is sized for it
RING_LAG_BANDS = 2


@dataclass(frozen=True)
class FusedGroup:
    """One fused group: its layers, band count and what each layer and intermediate needs."""
    layers: tuple[str, ...]              # consecutive tiling layers, topological order
    bands: int
    band_rows: dict[str, int]            # per layer: most output rows of one band (its tiles' max_rows)
    need: dict[str, np.ndarray]          # per layer: output rows needed by the end of band b, int64 [bands]
    ring_bytes: dict[str, int]           # intermediates: producing layer -> bytes of its SRAM ring
    weight_bytes: int                    # the group's weights, staged in SRAM for its life
    est_cycles: float                    # estimate, fused (module docstring)
    est_cycles_unfused: float
    est_dram_bytes: int
    est_dram_bytes_unfused: int

    @property
    def footprint_bytes(self) -> int:
        return sum(self.ring_bytes.values()) + self.weight_bytes


@dataclass(frozen=True)
class FusionPlan:
    groups: tuple[FusedGroup, ...] = ()
    group_of: dict[str, int] = field(default_factory=dict)   # layer name -> index into groups

    def intermediates(self) -> dict[str, int]:
        """Producing layer -> ring bytes, over all groups."""
        return {name: b for g in self.groups for name, b in g.ring_bytes.items()}


NO_FUSION = FusionPlan()


def streams_rows(layer) -> bool:
    """True when the layer's output rows can be produced band by band from bands of its inputs."""
    if layer.is_mac_op:
        return bool(layer.tiles_rows) and not layer.stationary_per_image and layer.p > 1
    if layer.op in ("global_avgpool",) or len(layer.out_shape) != 3 or layer.out_shape[1] <= 1:
        return False
    return all(_rows_correspond(layer, i) for i in range(len(layer.in_shapes)))


def rows_in(layer, idx: int, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows [a, b) of input `idx` that output rows [lo, hi) of `layer` read (as mapping/tiling.py)."""
    lo, hi = np.asarray(lo, np.int64), np.asarray(hi, np.int64)
    if layer.is_mac_op:
        sh, dh, top, h_in = layer.stride[0], layer.dilation[0], layer.padding[0], layer.in_shapes[0][1]
        return (np.maximum(0, lo * sh - top),
                np.minimum(h_in, (hi - 1) * sh - top + (layer.r - 1) * dh + 1))
    return _input_rows(layer, idx, lo, hi - lo)


@dataclass(frozen=True)
class LayerCost:
    """A layer's own estimate inputs: compute cycles (whole chip) and bytes of each operand."""
    compute: float
    weight_bytes: int
    tile_rows: int = 0          # output rows of the layer's tiles when not bounded by the band (vector layers)


def _halving(n: int) -> list[int]:
    """The band heights tried for a last layer of n rows: ceil(n/2), ceil(n/4), ..., 1."""
    out, v = [], n
    while v > 1:
        v = -(-v // 2)
        out.append(v)
    return out


# 2**40 rows: above any tensor's row count, so adding seg * _SEG_OFFSET keeps segments apart
_SEG_OFFSET = np.int64(1 << 40)


class _Tail:
    """Everything about the groups seq[i..j] that does not depend on where the group starts (i).

    For a fixed last layer j, the rows a layer k needs (`need`, propagated backwards from j through
    its consumers, all of which lie after k), its band rows, its ring and its compute tiled to the
    band depend on k and j only: every consumer of k's tensor lies after k, so it is inside the
    group exactly when it is at or before j, whatever i is. So one table per j serves every start
    i >= lo, and the greedy reads a group's totals as suffix sums from i. All band heights of j are
    evaluated at once: their bands are laid end to end in one array of `segments`.
    """

    def __init__(self, plan: "_Planner", j: int, lo: int):
        self.lo = lo
        seq, ctx, costs = plan.seq, plan.ctx, plan.costs
        last = seq[j]
        P = last.out_shape[1]
        # heights with at least two bands, in _halving's order (that order breaks ties in min)
        self.heights = [H for H in _halving(P) if -(-P // H) >= 2]
        bands = [-(-P // H) for H in self.heights]
        self.bands = bands
        nh = len(bands)
        off = np.zeros(nh, np.int64)
        off[1:] = np.cumsum(bands)[:-1]
        self.off = off
        N = int(sum(bands))
        seg = np.repeat(np.arange(nh, dtype=np.int64), bands)
        b_local = np.arange(N, dtype=np.int64) - off[seg]
        seg_shift = seg * _SEG_OFFSET
        # lagged[b] = low[max(b - RING_LAG_BANDS + 1, 0)] within each segment
        lag_idx = off[seg] + np.maximum(b_local - RING_LAG_BANDS + 1, 0)
        starts = off
        cross = off[1:] - 1            # np.diff entries that straddle two segments

        n = j - lo + 1
        self.need: list = [None] * n
        band_rows = np.zeros((n, nh), np.int64)
        ring = np.zeros((n, nh), np.int64)
        # per layer: dram_u, sram_u, dram_f, sram_f (its output's bytes and its DRAM weights), weights
        scal = np.zeros((n, 5), np.int64)
        comp_u = np.zeros(n, np.float64)
        tall = np.zeros((n, nh), np.int64)
        self.is_ring = [False] * n
        wm = max(ctx.winograd_m - 1, 0)
        ob = ctx.operand_bytes
        zeros_n = np.zeros(N, np.int64)
        zeros_h = np.zeros(nh, np.int64)
        for k in range(j, lo - 1, -1):
            r = k - lo
            L = seq[k]
            inside = [(pc, C, idx) for pc, C, idx in plan.cons[k] if pc <= j]
            if k == j:
                need = np.minimum(P, np.repeat(np.asarray(self.heights, np.int64), bands) * (b_local + 1))
            else:
                v = zeros_n
                for pc, C, idx in inside:
                    v = np.maximum(v, rows_in(C, idx, zeros_n, self.need[pc - lo])[1])
                # need never decreases from band to band: np.maximum.accumulate within each
                # segment (0 <= v < _SEG_OFFSET, so the offsets keep the segments apart)
                need = np.minimum(np.maximum.accumulate(v + seg_shift) - seg_shift, L.out_shape[1])
            self.need[r] = need
            d = np.diff(need)
            d[cross] = 0
            br = np.maximum(np.maximum.reduceat(d, starts), 1)
            band_rows[r] = br
            # the tallest tile of each layer: its band, or its own tile height if that is taller (a
            # vector layer's tiles are sized by its buffer; a Winograd layer's are aligned up to m rows)
            tall[r] = np.maximum(br + wm, costs[L.name].tile_rows)
            boundary = k == j or plan.is_output[k] or plan.last_cons[k] > j
            self.is_ring[r] = not boundary
            if not boundary:
                # low[b]: the first row consumers of band b and later still read
                low = np.full(N, np.iinfo(np.int64).max, np.int64)
                extra = zeros_h
                for pc, C, idx in inside:
                    prev = np.empty(N, np.int64)
                    prev[1:] = self.need[pc - lo][:-1]
                    prev[starts] = 0
                    low = np.minimum(low, rows_in(C, idx, prev, prev + 1)[0])
                    # a producer tile runs up to its height past need; a consumer tile taller than
                    # its band holds the rows it reads until its last row's band
                    tc, bc = tall[pc - lo], band_rows[pc - lo]
                    a, b = rows_in(C, idx, zeros_h, tc)
                    extra = np.maximum(extra, np.where(tc > bc, b - a, 0))
                low[starts] = 0
                # while band s is produced, consumers of bands <= s - RING_LAG_BANDS are done
                mx = np.maximum.reduceat(need - low[lag_idx], starts)
                c, h, w = L.out_shape
                ring[r] = np.minimum(h, mx + tall[r] + extra) * (c * w * ob)
            # the estimate's bytes that do not depend on the band height or on i (module docstring):
            # unfused, its output written once and read once per consumer where placement put it
            t = plan.tensor_of[L.name]
            size = int(plan.placement.size_bytes[t]) * (1 + len(inside))
            in_dram = plan.placement.memory[t] == DRAM
            wb = costs[L.name].weight_bytes
            wd = wb if plan.w_dram else 0
            scal[r] = (size * in_dram + wd, size * (not in_dram),
                       size * (in_dram and boundary) + wd, size * (not in_dram or not boundary), wb)
            comp_u[r] = costs[L.name].compute
        # suffix sums: row r holds the total over layers lo + r .. j
        suf = lambda a: np.cumsum(a[::-1], axis=0)[::-1]
        self.band_rows, self.ring = band_rows, ring
        self.ring_suf = suf(ring).tolist()
        # fused compute: each layer tiled to its band, plus one tile's time per layer and band
        # (band-major order exposes the last tile's latency once per layer and band): `banded`.
        # The banded compute of band height h, summed from layer lo + r to j: filled on demand
        # (`compute`): a height that never fits, or cannot win, needs none (each may cost a tiling search)
        self.banded = plan.banded
        self.names = [L.name for L in seq[lo:j + 1]]
        self.banded_suf: list[list] = [[] for _ in range(nh)]
        self.scal_suf = suf(scal).tolist()
        self.comp_u_suf = suf(comp_u).tolist()

    def compute(self, h: int, i: int) -> float:
        """The banded compute of layers i..j with band height h (suffix sum, from j down)."""
        col = self.banded_suf[h]
        r = i - self.lo
        n = len(self.names)
        if n - r > len(col):                     # col[m]: the sum over the last m + 1 layers
            acc = col[-1] if col else 0.0
            for q in range(n - 1 - len(col), r - 1, -1):
                acc = acc + self.banded(self.names[q], int(self.band_rows[q, h]))
                col.append(acc)
        return col[n - 1 - r]


class _Planner:
    """plan_fusion's inputs, indexed by position in the sequence of tiling layers."""

    def __init__(self, net, placement, costs, banded, ctx, pin_weights):
        self.placement, self.costs, self.banded, self.ctx = placement, costs, banded, ctx
        self.tensor_of = tensor_of = placement.tensor_of
        self.seq = seq = [L for L in net.layers if L.name in costs]           # tiling layers (no aliases)
        pos = {L.name: k for k, L in enumerate(seq)}
        self.producer = {tensor_of[L.name]: k for k, L in enumerate(seq)}      # tensor -> its layer's position
        by_tensor: dict[int, list] = {}
        for C in seq:
            for idx, inp in enumerate(C.inputs):
                by_tensor.setdefault(tensor_of[inp], []).append((pos[C.name], C, idx))
        # consumers of each layer's tensor: all after it, in the group when at or before its last layer
        self.cons = [by_tensor.get(tensor_of[L.name], []) for L in seq]
        self.last_cons = [max((pc for pc, _, _ in cs), default=-1) for cs in self.cons]
        outputs = {tensor_of[L.name] for L in net.layers if L.op == "detect" or not net.consumers(L.name)}
        self.is_output = [tensor_of[L.name] in outputs for L in seq]
        self.w_dram = placement.weights_memory == DRAM and not pin_weights
        self.pin_weights = pin_weights
        self.tails: dict[int, _Tail] = {}

    def tail(self, j: int, i: int) -> _Tail:
        t = self.tails.get(j)
        if t is None or t.lo > i:
            t = self.tails[j] = _Tail(self, j, i)
        return t

    def inputs_bytes(self, k: int, i: int) -> tuple[int, int]:
        """(DRAM, SRAM) bytes of layer k's inputs made outside a group starting at i: read once."""
        d = s = 0
        pl = self.placement
        for inp in self.seq[k].inputs:
            ti = self.tensor_of[inp]
            if self.producer.get(ti, -1) >= i:
                continue
            if pl.memory[ti] == DRAM:
                d += int(pl.size_bytes[ti])
            else:
                s += int(pl.size_bytes[ti])
        return d, s

    def group(self, i: int, j: int, h: int, est: float, est_u: float, dram_f: int, dram_u: int) -> FusedGroup:
        t = self.tails[j]
        seq, lo = self.seq, t.lo
        o, nb = int(t.off[h]), t.bands[h]
        need = {seq[k].name: t.need[k - lo][o:o + nb].copy() for k in range(j, i - 1, -1)}
        band_rows = {seq[k].name: int(t.band_rows[k - lo, h]) for k in range(i, j + 1)}
        rings = {seq[k].name: int(t.ring[k - lo, h]) for k in range(i, j) if t.is_ring[k - lo]}
        weights = 0 if self.pin_weights else t.scal_suf[i - lo][4]
        return FusedGroup(layers=tuple(L.name for L in seq[i:j + 1]), bands=nb, band_rows=band_rows, need=need,
                          ring_bytes=rings, weight_bytes=weights, est_cycles=est, est_cycles_unfused=est_u,
                          est_dram_bytes=dram_f, est_dram_bytes_unfused=dram_u)


def plan_fusion(net, placement, costs: dict[str, LayerCost], banded, ctx, capacity: int,
                pin_weights: bool) -> FusionPlan:
    """Choose fused groups greedily along the topological order (module docstring).

    `banded(name, max_rows)`: the layer's compute estimate in a group (whole chip, cycles), tiled
    to at most max_rows output rows, plus one tile's time per band.
    `placement` is the unfused placement (where each tensor would live without fusion);
    `capacity` the SRAM bytes activations may use (the SRAM less pinned weights).
    """
    pl = _Planner(net, placement, costs, banded, ctx, pin_weights)
    seq, tensor_of = pl.seq, pl.tensor_of
    streams = [streams_rows(L) for L in seq]
    dbw, sbw = ctx.dram_bytes_per_cycle, ctx.sram_bytes_per_cycle
    groups: list[FusedGroup] = []
    i = 0
    while i < len(seq):
        if not streams[i]:
            i += 1
            continue
        best, j = None, i
        d_in, s_in = pl.inputs_bytes(i, i)       # inputs made outside the group, read once
        while j + 1 < len(seq):
            nxt, cur = seq[j + 1], seq[j]
            if not streams[j + 1]:
                break
            feeds = [idx for idx, inp in enumerate(nxt.inputs) if tensor_of[inp] == tensor_of[cur.name]]
            if not feeds:
                break
            j += 1
            if nxt.out_shape[1] < 2:
                break                                         # no band height gives two bands
            # rows must correspond between every producer and consumer in the group; the pairs
            # without layer j were checked for the shorter group
            if any(nxt.in_shapes[idx][1] != seq[p].out_shape[1]
                   for idx, inp in enumerate(nxt.inputs) if (p := pl.producer.get(tensor_of[inp], -1)) >= i):
                break                                         # rows do not correspond (a reshape between)
            d, s = pl.inputs_bytes(j, i)
            d_in, s_in = d_in + d, s_in + s
            t = pl.tail(j, i)
            r = i - t.lo
            dram_u, sram_u, dram_f, sram_f, wsum = t.scal_suf[r]
            dram_u, sram_u, dram_f, sram_f = dram_u + d_in, sram_u + s_in, dram_f + d_in, sram_f + s_in
            weights = 0 if pin_weights else wsum
            rings = t.ring_suf[r]
            # the heights that fit, each with the memory part of its estimate (a floor under it)
            fit = [(max(dram_f / dbw, (sram_f + wsum * bands) / sbw), bands, h)
                   for h, bands in enumerate(t.bands) if rings[h] + weights <= capacity]
            if not fit:
                break                                         # a longer group only needs more SRAM
            est_u = max(t.comp_u_suf[r], dram_u / dbw, sram_u / sbw)
            # every estimate is at least the least floor, so the group gains at most est_u - that
            # (float subtraction is monotone): when that is negative or below the best gain so
            # far, no height can be kept and their computes (tiling searches) are not needed
            most = est_u - min(fit)[0]
            if most < 0 or (best is not None and most < best[0][0]):
                continue
            # the band height with the least estimate among those that fit, ties to fewer bands
            # (the first in _halving's order, as min() over them would pick); a height whose floor
            # is above the least estimate so far cannot be it
            pick = None
            for floor, bands, h in fit:
                if pick is not None and floor > pick[0]:
                    continue
                e = max(t.compute(h, i), dram_f / dbw, (sram_f + wsum * bands) / sbw)
                if pick is None or (e, bands) < pick[:2]:
                    pick = (e, bands, h)
            est = pick[0]
            gain = (est_u - est, dram_u - dram_f)
            # neither slower nor more DRAM traffic by the estimate, and better in one
            if min(gain) >= 0 and gain > (0, 0) and (best is None or gain > best[0]):
                best = (gain, (i, j, pick[2], est, est_u, dram_f, dram_u), j)
        if best is None:
            i += 1
            continue
        groups.append(pl.group(*best[1]))
        i = best[2] + 1
    group_of = {name: gi for gi, g in enumerate(groups) for name in g.layers}
    return FusionPlan(groups=tuple(groups), group_of=group_of)


def tile_stages(need: np.ndarray, out_row_lo: np.ndarray) -> np.ndarray:
    """The first band whose rows include each tile's first output row (the last band if none)."""
    return np.minimum(np.searchsorted(need, np.asarray(out_row_lo, np.int64), side="right"), len(need) - 1)
