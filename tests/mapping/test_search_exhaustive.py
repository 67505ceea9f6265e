"""The mapper's pruned search against an exhaustive one on small layers: every tile size (not only
the halving options), every pixel block, every batch fold, each loop order and split, estimated with
the same estimate (mapping/tiling.py `_expand`, `_score`). The pruned best is within
PRUNED_BOUND of the exhaustive best (the measured worst is recorded beside it)."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import yaml

from simulator.mapping import tiling
from simulator.mapping.program import tile_context
from simulator.spec import load_arch
from simulator.workload import load_network

# The pruned search's best estimate may exceed the exhaustive best by this fraction, no more.
# Measured over the 32 cases below x 3 operand homes: equal in 57 of 96, worse in 39, worst +100%
# (dot8 conv3x3: 12 filters on 8-wide dot-product units, 2 arrays: exhaustive kc = 6, one pass
# per array; the pruned options are kc in {8, 12}, so two passes). What the pruned search misses
# is a balanced non-power-of-two channel block when the weights slot binds (ws16 conv3x3_pad:
# kc 12 x cr 8 fills the 1 KiB slot, the pruned kc 16 forces cr 4: +54%). Its options are the
# halvings of the channels, multiples of the array's columns for the filters and, per block
# width, the tallest pixel block that fits and the ones balancing 2, A, 2A arrays. With
# tiling.BALANCED_BLOCKS (off by default: it changes published figures) the worst is +33%
# (is8 conv3x3_pad: 4 x 4 pixel blocks fill the 16 columns; the pruned widths are halvings of 12).
PRUNED_BOUND = 1.0
BALANCED_BOUND = 0.34

LAYERS = {
    "conv3x3": {"input": {"channels": 8, "size": [10, 10]},
                "layer": {"op": "conv2d", "out_channels": 12, "kernel": 3, "padding": "valid"}},
    "conv3x3_pad": {"input": {"channels": 16, "size": [12, 12]},
                    "layer": {"op": "conv2d", "out_channels": 24, "kernel": 3, "padding": 1}},
    "conv_s2": {"input": {"channels": 12, "size": [14, 14]},
                "layer": {"op": "conv2d", "out_channels": 20, "kernel": 3, "stride": 2, "padding": 1}},
    "pointwise": {"input": {"channels": 40, "size": [7, 7]},
                  "layer": {"op": "conv2d", "out_channels": 36, "kernel": 1}},
    "depthwise": {"input": {"channels": 16, "size": [9, 9]},
                  "layer": {"op": "conv2d", "out_channels": 16, "kernel": 3, "padding": 1, "groups": 16}},
    "fc": {"input": {"channels": 48, "size": [1, 1]}, "layer": {"op": "fc", "out_features": 20}},
}
# (rows, cols, dataflow, kind, arrays, buffer KiB each): small buffers so that tiles are cut
CHIPS = {
    "ws16": (16, 16, "weight_stationary", "systolic", 1, 2),
    "os8x2": (8, 8, "output_stationary", "systolic", 2, 1),
    "is8": (8, 16, "input_stationary", "systolic", 1, 1),
    "dot8": (8, 8, "weight_stationary", "dot_product", 2, 1),
}


def _chip(name: str):
    rows, cols, dataflow, kind, arrays, kib = CHIPS[name]
    raw = yaml.safe_load(open("archs/teaching.yaml").read())
    a = raw["compute"]["array"]
    a.update(rows=rows, cols=cols, dataflow=dataflow, kind=kind)
    raw["compute"]["arrays"] = arrays
    for buf in ("weights", "inputs"):
        a["buffers"][buf] = {"size": f"{kib} KiB", "bytes_per_cycle": 16}
    a["buffers"]["outputs"] = {"size": f"{2 * kib} KiB", "bytes_per_cycle": 64}
    return load_arch(raw)


def _layer(name: str, batch: int):
    spec = LAYERS[name]
    doc = {"name": name, "input": spec["input"], "layers": [{"name": "l", **spec["layer"]}]}
    return load_network(doc, batch=batch).layers[0]


def _exhaustive(layer, ctx) -> tiling.CandidateTable:
    """Every (groups, filters, channels, rows, cols, images) block that fits the slots."""
    ob, G = ctx.operand_bytes, layer.groups
    kg, C, R, S = layer.k // G, layer.c, layer.r, layer.s
    fc = not layer.tiles_rows
    _, hin, win = layer.in_shapes[0]
    P, Q = (1, 1) if fc else (layer.p, layer.q)
    span = lambda n, st, k, d, full: 1 if fc else min(full, (n - 1) * st + (k - 1) * d + 1)
    rows = []
    for gb, kc, cr in itertools.product(range(1, G + 1), range(1, kg + 1), range(1, C + 1)):
        if gb * kc * cr * R * S * ob > ctx.weights_slot_bytes:
            continue
        for ph, qw in itertools.product(range(1, P + 1), range(1, Q + 1)):
            r_in, c_in = span(ph, layer.stride[0], R, layer.dilation[0], hin), span(qw, layer.stride[1], S,
                                                                                    layer.dilation[1], win)
            whole = fc or (ph == P and qw == Q)
            for nb in range(1, (layer.n if whole else 1) + 1):
                if (gb * cr * r_in * c_in * nb * ob <= ctx.inputs_slot_bytes
                        and gb * kc * ph * qw * nb * ctx.acc_bytes <= ctx.outputs_slot_bytes):
                    rows.append((gb, kc, cr, ph, qw, nb, r_in, c_in))
    a = np.array(rows, np.int64).T
    w_total = layer.stationary_elems * ob
    return tiling._expand(layer, ctx, [(0, *a)], kg, fc, w_total, layer.output_elems * ob)


def _best(tab, ctx, homes) -> float:
    est = tiling._score(tab, ctx, *homes)[0]
    return float(np.round(est).min())


@pytest.mark.parametrize("chip", sorted(CHIPS))
@pytest.mark.parametrize("name,batch", [(n, 1) for n in LAYERS] + [("pointwise", 3), ("fc", 4)])
def test_pruned_is_within_the_bound(chip, name, batch):
    """The pruned search's best estimate is at most PRUNED_BOUND above the exhaustive best, with the
    operands in DRAM and with them on chip."""
    ctx = tile_context(_chip(chip))
    layer = _layer(name, batch)
    pruned, full = tiling.candidate_table(layer, ctx), _exhaustive(layer, ctx)
    assert len(full) >= len(pruned)
    for homes in ((True, True, True, False), (False, True, False, False), (False, False, False, False)):
        p, e = _best(pruned, ctx, homes), _best(full, ctx, homes)
        assert e <= p <= e * (1 + PRUNED_BOUND), (homes, p, e, p / e - 1)


@pytest.mark.parametrize("chip", sorted(CHIPS))
@pytest.mark.parametrize("name,batch", [(n, 1) for n in LAYERS] + [("pointwise", 3), ("fc", 4)])
def test_balanced_blocks_close_most_of_the_gap(chip, name, batch, monkeypatch):
    """With tiling.BALANCED_BLOCKS the pruned best is within BALANCED_BOUND of the exhaustive best."""
    monkeypatch.setattr(tiling, "BALANCED_BLOCKS", True)
    monkeypatch.setattr(tiling, "_TABLES", {})
    ctx = tile_context(_chip(chip))
    layer = _layer(name, batch)
    pruned, full = tiling.candidate_table(layer, ctx), _exhaustive(layer, ctx)
    p, e = _best(pruned, ctx, (True, True, True, False)), _best(full, ctx, (True, True, True, False))
    assert e <= p <= e * (1 + BALANCED_BOUND), (p, e, p / e - 1)


def test_max_rows_caps_the_pixel_blocks():
    """choose_conv_tiling(max_rows=r): every candidate's block is at most r rows, r itself among them."""
    ctx = tile_context(_chip("ws16"))
    layer = _layer("conv3x3_pad", 1)
    for r in (1, 3, 5):
        tab = tiling.candidate_table(layer, ctx, max_rows=r)
        assert tab.cols["ph"].max() <= r
        assert tiling.choose_conv_tiling(layer, ctx, True, True, True, max_rows=r).ph <= r
    assert tiling.candidate_table(layer, ctx, max_rows=100).cols["ph"].max() == \
        tiling.candidate_table(layer, ctx).cols["ph"].max()
