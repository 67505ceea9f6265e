"""The vectorized search (mapping/tiling.py: one candidate table, ranked at once) picks what the
scalar search it replaced picked: that search is kept here as the slow, obvious reference (one
candidate at a time, the best by the same key). Without the DRAM cap (the state with every operand
in DRAM, where it never binds, and the uncapped ranking at other homes) the choices are identical
on the bundled chips x small networks at batch 1 and 3."""
from __future__ import annotations

import pytest

from simulator.mapping import tiling, winograd as wg
from simulator.mapping.array_timing import feed_cycles, tile_cycles, tile_macs
from simulator.mapping.program import tile_context
from simulator.mapping.tiling import ConvTiling, TileContext, _batch_fold, _halving, _span
from simulator.spec import load_arch
from simulator.spec.registry import bundled_archs
from simulator.workload import load_network

FIELDS = ("gb", "kc", "cr", "ph", "qw", "order", "split", "est_cycles", "est_traffic_bytes", "est_compute_cycles",
          "n_tiles", "winograd", "nb")


def reference_choice(layer, ctx: TileContext, in_dram: bool, w_dram: bool, out_dram: bool,
                       w_staged: bool = False) -> ConvTiling:
    """Pick tile sizes, loop order, array split and batch fold for a conv/fc layer (module docstring).

    `w_staged`: the layer's weights are staged in SRAM (read from DRAM once, re-reads from SRAM).
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
        p_opts = [1] if fc else sorted({align(v, P) for v in _halving(P)}, reverse=True)
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


@pytest.mark.parametrize("arch", sorted(bundled_archs()))
@pytest.mark.parametrize("network,batch", [("conv_micro", 1), ("conv_micro", 3), ("alexnet", 1), ("mobilenet_v2", 3)])
def test_the_table_ranks_as_the_scalar_search(arch, network, batch):
    """Every MAC layer, at three operand homes: the best row of the table is the reference's choice."""
    ctx = tile_context(load_arch(arch))
    seen = set()
    for layer in load_network(network, batch=batch).layers:
        if not layer.is_mac_op or tiling.conv_shape_key(layer) in seen:
            continue
        seen.add(tiling.conv_shape_key(layer))
        tab = tiling.candidate_table(layer, ctx)
        for homes in ((True, True, True, False), (False, True, False, True), (False, False, True, False)):
            score = tiling._score(tab, ctx, *homes)
            got = tiling._tiling(tab, score, int(tiling._rank(tab, score)[0]))
            want = reference_choice(layer, ctx, *homes[:3], w_staged=homes[3])
            assert [getattr(got, f) for f in FIELDS] == [getattr(want, f) for f in FIELDS], (layer.name, homes)
