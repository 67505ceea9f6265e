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


def _needs(layers, tensor_of, bands: int, H: int) -> dict[str, np.ndarray]:
    """Rows of each layer's output that bands 0..b of the last layer need (module docstring)."""
    last = layers[-1]
    b = np.arange(bands, dtype=np.int64)
    need = {last.name: np.minimum(last.out_shape[1], (b + 1) * H)}
    for i in range(len(layers) - 2, -1, -1):
        L = layers[i]
        t = tensor_of[L.name]
        v = np.zeros(bands, np.int64)
        for C in layers[i + 1:]:
            for idx, inp in enumerate(C.inputs):
                if tensor_of[inp] == t:
                    v = np.maximum(v, rows_in(C, idx, np.zeros(bands, np.int64), need[C.name])[1])
        need[L.name] = np.minimum(np.maximum.accumulate(v), L.out_shape[1])
    return need


def _band_rows(need: np.ndarray) -> int:
    inc = np.diff(need)
    return int(max(1, inc.max())) if len(inc) else int(need[0])


@dataclass(frozen=True)
class LayerCost:
    """A layer's own estimate inputs: compute cycles (whole chip) and bytes of each operand."""
    compute: float
    weight_bytes: int
    tile_rows: int = 0          # output rows of the layer's tiles when not bounded by the band (vector layers)


def _evaluate(layers, tensor_of, consumers_in, boundary, costs, banded, H: int, ctx, placement, pin_weights: bool):
    """The group with band height H: (FusedGroup, footprint) or None when no band fits (rows)."""
    P = layers[-1].out_shape[1]
    bands = -(-P // H)
    if bands < 2:
        return None
    need = _needs(layers, tensor_of, bands, H)
    band_rows = {L.name: _band_rows(need[L.name]) for L in layers}
    names = {L.name for L in layers}
    ob = ctx.operand_bytes
    # the tallest tile of each layer: its band, or its own tile height if that is taller (a vector
    # layer's tiles are sized by its buffer; a Winograd layer's are aligned up to m rows)
    tall = {L.name: max(band_rows[L.name] + max(ctx.winograd_m - 1, 0), costs[L.name].tile_rows) for L in layers}
    rings: dict[str, int] = {}
    for L in layers[:-1]:
        if L.name in boundary:
            continue
        # low[j]: the first row consumers of band j and later still read
        low = np.full(bands, np.iinfo(np.int64).max, np.int64)
        for C, idx in consumers_in[L.name]:
            prev = np.concatenate(([0], need[C.name][:-1]))
            low = np.minimum(low, rows_in(C, idx, prev, prev + 1)[0])
        low[0] = 0
        # while band s is produced, consumers of bands <= s - RING_LAG_BANDS are done
        lagged = low[np.maximum(np.arange(bands) - RING_LAG_BANDS + 1, 0)]
        # a producer tile runs up to its height past need; a consumer tile taller than its band
        # holds the rows it reads until its last row's band
        extra = max([0] + [int(np.diff(rows_in(C, idx, [0], [tall[C.name]]), axis=0)[0, 0])
                           for C, idx in consumers_in[L.name] if tall[C.name] > band_rows[C.name]])
        c, h, w = L.out_shape
        rows = min(h, int((need[L.name] - lagged).max()) + tall[L.name] + extra)
        rings[L.name] = rows * c * w * ob
    weights = 0 if pin_weights else sum(costs[n].weight_bytes for n in names)
    # estimates (module docstring)
    compute_u = sum(costs[n].compute for n in names)
    # fused: each layer tiled to its band, plus one tile's time per layer and band (band-major
    # order: a unit reaches layer l+1's band only after layer l's band, so the last tile's latency
    # is exposed once per layer and band)
    compute = sum(banded(n, band_rows[n]) for n in names)
    group_out = {tensor_of[n] for n in names}
    dram_u = dram_f = sram_u = sram_f = 0
    w_dram = placement.weights_memory == DRAM and not pin_weights
    for L in layers:
        t = tensor_of[L.name]
        size = int(placement.size_bytes[t])
        in_dram = placement.memory[t] == DRAM
        # unfused: written once and read once (per consumer), where placement put it
        readers = 1 + len(consumers_in[L.name])
        if in_dram:
            dram_u += size * readers
        else:
            sram_u += size * readers
        if L.name in rings:
            sram_f += size * readers
        elif in_dram:
            dram_f += size * readers
        else:
            sram_f += size * readers
        for inp in L.inputs:
            ti = tensor_of[inp]
            if ti in group_out:
                continue
            s = int(placement.size_bytes[ti])
            if placement.memory[ti] == DRAM:
                dram_u += s
                dram_f += s
            else:
                sram_u += s
                sram_f += s
        wb = costs[L.name].weight_bytes
        if w_dram:
            dram_u += wb
            dram_f += wb
        sram_f += wb * bands
    est = lambda c, d, s: max(c, d / ctx.dram_bytes_per_cycle, s / ctx.sram_bytes_per_cycle)
    return FusedGroup(layers=tuple(L.name for L in layers), bands=bands, band_rows=band_rows, need=need,
                      ring_bytes=rings, weight_bytes=weights, est_cycles=est(compute, dram_f, sram_f),
                      est_cycles_unfused=est(compute_u, dram_u, sram_u), est_dram_bytes=dram_f,
                      est_dram_bytes_unfused=dram_u)


def _halving(n: int) -> list[int]:
    out, v = [], n
    while v > 1:
        v = -(-v // 2)
        out.append(v)
    return out


def plan_fusion(net, placement, costs: dict[str, LayerCost], banded, ctx, capacity: int,
                pin_weights: bool) -> FusionPlan:
    """Choose fused groups greedily along the topological order (module docstring).

    `banded(name, max_rows)`: the layer's compute estimate in a group (whole chip, cycles), tiled
    to at most max_rows output rows, plus one tile's time per band.
    `placement` is the unfused placement (where each tensor would live without fusion);
    `capacity` the SRAM bytes activations may use (the SRAM less pinned weights).
    """
    tensor_of = placement.tensor_of
    seq = [L for L in net.layers if L.name in costs]           # tiling layers (no aliases)
    by_tensor: dict[int, list] = {}
    for C in seq:
        for idx, inp in enumerate(C.inputs):
            by_tensor.setdefault(tensor_of[inp], []).append((C, idx))
    outputs = {tensor_of[L.name] for L in net.layers if L.op == "detect" or not net.consumers(L.name)}
    groups: list[FusedGroup] = []
    i = 0
    while i < len(seq):
        if not streams_rows(seq[i]):
            i += 1
            continue
        best, j = None, i
        while j + 1 < len(seq):
            nxt, cur = seq[j + 1], seq[j]
            if not streams_rows(nxt):
                break
            feeds = [idx for idx, inp in enumerate(nxt.inputs) if tensor_of[inp] == tensor_of[cur.name]]
            if not feeds:
                break
            j += 1
            layers = seq[i:j + 1]
            names = {L.name for L in layers}
            if any(C.in_shapes[idx][1] != L.out_shape[1]
                   for L in layers for C, idx in by_tensor.get(tensor_of[L.name], ()) if C.name in names):
                break                                         # rows do not correspond (a reshape between)
            consumers_in = {L.name: [(C, idx) for C, idx in by_tensor.get(tensor_of[L.name], ())
                                     if C.name in names] for L in layers}
            boundary = {L.name for L in layers
                        if tensor_of[L.name] in outputs
                        or any(C.name not in names for C, _ in by_tensor.get(tensor_of[L.name], ()))}
            boundary.add(layers[-1].name)
            fits = []
            for H in _halving(layers[-1].out_shape[1]):
                g = _evaluate(layers, tensor_of, consumers_in, boundary, costs, banded, H, ctx, placement,
                              pin_weights)
                if g is not None and g.footprint_bytes <= capacity:
                    fits.append(((g.est_cycles, g.bands), g))
            if not fits:
                break                                         # a longer group only needs more SRAM
            g = min(fits, key=lambda kv: kv[0])[1]
            gain = (g.est_cycles_unfused - g.est_cycles, g.est_dram_bytes_unfused - g.est_dram_bytes)
            # neither slower nor more DRAM traffic by the estimate, and better in one
            if min(gain) >= 0 and gain > (0, 0) and (best is None or gain > best[0]):
                best = (gain, g, j)
        if best is None:
            i += 1
            continue
        groups.append(best[1])
        i = best[2] + 1
    group_of = {name: gi for gi, g in enumerate(groups) for name in g.layers}
    return FusionPlan(groups=tuple(groups), group_of=group_of)


def tile_stages(need: np.ndarray, out_row_lo: np.ndarray) -> np.ndarray:
    """The first band whose rows include each tile's first output row (the last band if none)."""
    return np.minimum(np.searchsorted(need, np.asarray(out_row_lo, np.int64), side="right"), len(need) - 1)
