"""plan_fusion (mapping/fusion.py) returns exactly the plans of the straightforward greedy kept here.

`_ref_plan_fusion` is the greedy as first written (fusion.py before the speed-up of 2026-11-29):
every candidate group and band height evaluated from scratch. The fast `plan_fusion` must return
the same groups, bands, band rows, needs, rings and byte estimates, and the same cycle estimates up
to float rounding (the reference sums a set's floats in set order).
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest

from simulator.mapping import fusion as fu
from simulator.mapping.placement import DRAM
from simulator.mapping.program import build_program
from simulator.spec import load_arch
from simulator.workload import load_network


# --- the reference: fusion.py's greedy as first written -------------------------------------------

def _ref_needs(layers, tensor_of, bands: int, H: int) -> dict[str, np.ndarray]:
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
                    v = np.maximum(v, fu.rows_in(C, idx, np.zeros(bands, np.int64), need[C.name])[1])
        need[L.name] = np.minimum(np.maximum.accumulate(v), L.out_shape[1])
    return need


def _ref_band_rows(need: np.ndarray) -> int:
    inc = np.diff(need)
    return int(max(1, inc.max())) if len(inc) else int(need[0])


def _ref_evaluate(layers, tensor_of, consumers_in, boundary, costs, banded, H, ctx, placement, pin_weights):
    P = layers[-1].out_shape[1]
    bands = -(-P // H)
    if bands < 2:
        return None
    need = _ref_needs(layers, tensor_of, bands, H)
    band_rows = {L.name: _ref_band_rows(need[L.name]) for L in layers}
    names = {L.name for L in layers}
    ob = ctx.operand_bytes
    tall = {L.name: max(band_rows[L.name] + max(ctx.winograd_m - 1, 0), costs[L.name].tile_rows) for L in layers}
    rings: dict[str, int] = {}
    for L in layers[:-1]:
        if L.name in boundary:
            continue
        low = np.full(bands, np.iinfo(np.int64).max, np.int64)
        for C, idx in consumers_in[L.name]:
            prev = np.concatenate(([0], need[C.name][:-1]))
            low = np.minimum(low, fu.rows_in(C, idx, prev, prev + 1)[0])
        low[0] = 0
        lagged = low[np.maximum(np.arange(bands) - fu.RING_LAG_BANDS + 1, 0)]
        extra = max([0] + [int(np.diff(fu.rows_in(C, idx, [0], [tall[C.name]]), axis=0)[0, 0])
                           for C, idx in consumers_in[L.name] if tall[C.name] > band_rows[C.name]])
        c, h, w = L.out_shape
        rows = min(h, int((need[L.name] - lagged).max()) + tall[L.name] + extra)
        rings[L.name] = rows * c * w * ob
    weights = 0 if pin_weights else sum(costs[n].weight_bytes for n in names)
    compute_u = sum(costs[n].compute for n in names)
    compute = sum(banded(n, band_rows[n]) for n in names)
    group_out = {tensor_of[n] for n in names}
    dram_u = dram_f = sram_u = sram_f = 0
    w_dram = placement.weights_memory == DRAM and not pin_weights
    for L in layers:
        t = tensor_of[L.name]
        size = int(placement.size_bytes[t])
        in_dram = placement.memory[t] == DRAM
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
    return fu.FusedGroup(layers=tuple(L.name for L in layers), bands=bands, band_rows=band_rows, need=need,
                         ring_bytes=rings, weight_bytes=weights, est_cycles=est(compute, dram_f, sram_f),
                         est_cycles_unfused=est(compute_u, dram_u, sram_u), est_dram_bytes=dram_f,
                         est_dram_bytes_unfused=dram_u)


def _ref_plan_fusion(net, placement, costs, banded, ctx, capacity, pin_weights) -> fu.FusionPlan:
    tensor_of = placement.tensor_of
    seq = [L for L in net.layers if L.name in costs]
    by_tensor: dict[int, list] = {}
    for C in seq:
        for idx, inp in enumerate(C.inputs):
            by_tensor.setdefault(tensor_of[inp], []).append((C, idx))
    outputs = {tensor_of[L.name] for L in net.layers if L.op == "detect" or not net.consumers(L.name)}
    groups = []
    i = 0
    while i < len(seq):
        if not fu.streams_rows(seq[i]):
            i += 1
            continue
        best, j = None, i
        while j + 1 < len(seq):
            nxt, cur = seq[j + 1], seq[j]
            if not fu.streams_rows(nxt):
                break
            feeds = [idx for idx, inp in enumerate(nxt.inputs) if tensor_of[inp] == tensor_of[cur.name]]
            if not feeds:
                break
            j += 1
            layers = seq[i:j + 1]
            names = {L.name for L in layers}
            if any(C.in_shapes[idx][1] != L.out_shape[1]
                   for L in layers for C, idx in by_tensor.get(tensor_of[L.name], ()) if C.name in names):
                break
            consumers_in = {L.name: [(C, idx) for C, idx in by_tensor.get(tensor_of[L.name], ())
                                     if C.name in names] for L in layers}
            boundary = {L.name for L in layers
                        if tensor_of[L.name] in outputs
                        or any(C.name not in names for C, _ in by_tensor.get(tensor_of[L.name], ()))}
            boundary.add(layers[-1].name)
            fits = []
            for H in fu._halving(layers[-1].out_shape[1]):
                g = _ref_evaluate(layers, tensor_of, consumers_in, boundary, costs, banded, H, ctx, placement,
                                  pin_weights)
                if g is not None and g.footprint_bytes <= capacity:
                    fits.append(((g.est_cycles, g.bands), g))
            if not fits:
                break
            g = min(fits, key=lambda kv: kv[0])[1]
            gain = (g.est_cycles_unfused - g.est_cycles, g.est_dram_bytes_unfused - g.est_dram_bytes)
            if min(gain) >= 0 and gain > (0, 0) and (best is None or gain > best[0]):
                best = (gain, g, j)
        if best is None:
            i += 1
            continue
        groups.append(best[1])
        i = best[2] + 1
    group_of = {name: gi for gi, g in enumerate(groups) for name in g.layers}
    return fu.FusionPlan(groups=tuple(groups), group_of=group_of)


# --- comparison ------------------------------------------------------------------------------------

def plans_differ(a: fu.FusionPlan, b: fu.FusionPlan) -> str:
    """'' when the plans are the same (cycle estimates to 1e-12 relative), else what differs first."""
    if len(a.groups) != len(b.groups):
        return f"groups: {[g.layers for g in a.groups]} vs {[g.layers for g in b.groups]}"
    if a.group_of != b.group_of:
        return "group_of"
    for k, (g, r) in enumerate(zip(a.groups, b.groups)):
        for f in ("layers", "bands", "band_rows", "ring_bytes", "weight_bytes", "est_dram_bytes",
                  "est_dram_bytes_unfused"):
            if getattr(g, f) != getattr(r, f):
                return f"group {k} {f}: {getattr(g, f)} vs {getattr(r, f)}"
        if g.need.keys() != r.need.keys() or any(
                g.need[n].dtype != r.need[n].dtype or not np.array_equal(g.need[n], r.need[n]) for n in g.need):
            return f"group {k} need"
        for f in ("est_cycles", "est_cycles_unfused"):
            if not math.isclose(getattr(g, f), getattr(r, f), rel_tol=1e-12):
                return f"group {k} {f}: {getattr(g, f)} vs {getattr(r, f)}"
    return ""


def plan_and_reference(arch, network, size=None, overrides=()):
    """(plan_fusion's plan, the reference's plan) for the arguments build_program passes."""
    spec = load_arch(arch, overrides)
    net = load_network(network, size)
    calls = []
    fast = fu.plan_fusion

    def spy(*args):
        calls.append(args)
        return fast(*args)

    fu.plan_fusion = spy
    try:
        build_program(spec, net)
    finally:
        fu.plan_fusion = fast
    (args,) = calls
    return fast(*args), _ref_plan_fusion(*args)


I, B = "inferx_x1", "blaize_el_cano"
# (arch, network, input (h, w), overrides, in the default run): the default run keeps the cases whose
# reference takes about a second or less; NPUSIM_FUSION_FULL=1 runs them all (about 1 min)
ALL_CASES = [
    (I, "yolov3", (256, 256), {}, False),
    (I, "yolov3", (416, 416), {}, False),
    (I, "yolov3", (608, 608), {}, True),
    (I, "yolov3", (736, 1280), {}, True),
    (I, "yolov3", (1088, 1920), {}, True),
    (I, "resnet50", None, {}, False),
    (I, "mobilenet_v2", None, {}, False),
    (I, "yolov3", (416, 416), {"memory.sram.size": "1 MiB"}, True),
    (I, "yolov3", (608, 608), {"memory.sram.size": "2 MiB"}, True),
    (I, "yolov3", (608, 608), {"memory.sram.size": "1 MiB"}, True),
    (I, "yolov3", (608, 608), {"memory.sram.size": "12 MiB"}, False),
    (I, "mobilenet_v2", None, {"memory.sram.pin_weights": True, "memory.sram.size": "4 MiB"}, False),
    (B, "yolov3", (256, 256), {}, True),
    (B, "yolov3", (416, 416), {}, True),
    (B, "yolov3", (608, 608), {}, False),
    (B, "yolov3", (736, 1280), {}, False),
    (B, "yolov3", (1088, 1920), {}, False),
    (B, "resnet50", None, {}, True),
    (B, "mobilenet_v2", None, {}, True),
    (B, "yolov3", (416, 416), {"memory.sram.size": "2 MiB"}, True),
    (B, "resnet50", None, {"memory.sram.size": "64 KiB"}, True),
    (B, "resnet50", None, {"memory.sram.pin_weights": True, "memory.sram.size": "32 MiB"}, True),
    (B, "mobilenet_v2", None, {"memory.sram.pin_weights": True, "memory.sram.size": "5 MiB"}, False),
]
CASES = [c[:4] for c in ALL_CASES if c[4] or os.environ.get("NPUSIM_FUSION_FULL") == "1"]


@pytest.mark.parametrize("arch,network,size,overrides", CASES,
                         ids=[f"{a}-{n}-{s}-{'-'.join(map(str, o.values())) if o else 'default'}"
                              for a, n, s, o in CASES])
def test_plan_matches_the_reference(arch, network, size, overrides):
    """The fast greedy chooses the same groups, band heights and rings as the reference."""
    fast, ref = plan_and_reference(arch, network, size, overrides)
    assert plans_differ(fast, ref) == ""
