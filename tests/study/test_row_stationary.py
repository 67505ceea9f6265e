"""Row-stationary timing (Eyeriss): hand-computed cycles, vectorized == scalar, and AlexNet maps onto it."""
from __future__ import annotations

import numpy as np
import pytest

from simulator.mapping.systolic import RS, WS, gemm_cycles, gemm_cycles_np, rs_active_pes, rs_set_shape
from simulator.spec.arch import DramSpec

# The bandwidth DRAM server where the engine has a choice: these tests are about mapping, not DRAM.
FAST = {"memory.dram.model": "bandwidth"} if "model" in DramSpec.model_fields else {}


def test_alexnet_conv1_on_eyeriss_by_hand():
    """11x11 filters, 55 output rows on 12x14: one 11x14 set, 4 strips, 605-cycle units: 696,983 cycles."""
    t = gemm_cycles(RS, 12, 14, 3 * 11 * 11, 96, 55 * 55, kernel=(11, 11), out_rows=55)
    assert (t.folds, t.stream_cycles) == (3 * 96 * 4, 11 * 55)
    assert t.cycles == 1152 * 605 + 11 + 14 - 2
    assert rs_active_pes(12, 14, 11, 55) == 154


def test_alexnet_conv3_on_eyeriss_by_hand():
    """3x3 filters, 13 output rows: four 3x13 sets (156 PEs) share 256 x 384 pairs of 39-cycle units."""
    t = gemm_cycles(RS, 12, 14, 256 * 9, 384, 13 * 13, kernel=(3, 3), out_rows=13)
    assert t.cycles == (256 * 384 // 4) * 39 + 3 + 13 - 2
    assert rs_active_pes(12, 14, 3, 13) == 156
    assert rs_active_pes(12, 14, 3, 13, pairs=2) == 2 * 3 * 13


def test_tall_filters_and_long_strips_fold():
    """A 13-row filter on 12 rows folds into two 7-row passes; 30 output rows into three 10-row strips."""
    r_eff, e_eff, sets, r_fold, strips = rs_set_shape(12, 14, 13, 30)
    assert (r_eff, r_fold, e_eff, strips, sets) == (7, 2, 10, 3, 1)
    t = gemm_cycles(RS, 12, 14, 13 * 2, 1, 30 * 4, kernel=(13, 2), out_rows=30)
    assert t.folds == 1 * 2 * 3 and t.stream_cycles == 2 * 4


def test_groups_count_only_pairs_with_work():
    """Two groups of 4 channels x 8 filters are 64 (filter, channel) pairs, not 8 x 16."""
    t = gemm_cycles(RS, 12, 14, 2 * 4 * 9, 2 * 8, 13 * 13, kernel=(3, 3), out_rows=13, groups=2)
    assert t.folds == -(-64 // 4)


def test_macs_per_pe_divides_the_unit():
    """A PE doing 4 MACs per cycle finishes an S x Q unit in ceil(S x Q / 4) cycles."""
    assert gemm_cycles(RS, 12, 14, 9, 1, 13, kernel=(3, 3), out_rows=1, macs_per_pe=4).stream_cycles == 10


def test_vectorized_equals_scalar():
    """gemm_cycles_np over arrays of tile shapes equals gemm_cycles tile by tile."""
    rng = np.random.default_rng(7)
    c, k, p, q, g = (rng.integers(1, 40, 50) for _ in range(5))
    for r, s in ((1, 1), (3, 3), (5, 5), (11, 11), (13, 3)):
        vec = gemm_cycles_np(RS, 12, 14, g * c * r * s, g * k, p * q, 1, kernel=(r, s), out_rows=p, groups=g)
        one = [gemm_cycles(RS, 12, 14, int(g[i] * c[i] * r * s), int(g[i] * k[i]), int(p[i] * q[i]),
                           kernel=(r, s), out_rows=int(p[i]), groups=int(g[i])).cycles for i in range(50)]
        assert vec.tolist() == one


def test_other_dataflows_ignore_the_conv_arguments():
    """Weight stationary gives the same cycles with or without kernel, out_rows and groups."""
    assert gemm_cycles(WS, 8, 8, 72, 12, 64).cycles == \
        gemm_cycles(WS, 8, 8, 72, 12, 64, kernel=(3, 3), out_rows=8, groups=1).cycles


def test_grouped_convs_split_within_a_group():
    """AlexNet's grouped conv2 (307 KiB of weights per group) maps on Eyeriss; every MAC is in a tile."""
    from simulator.mapping.program import build_program
    from simulator.spec import load_arch
    from simulator.workload import load_network

    net = load_network("alexnet", input_size=(99, 99), batch=1)
    mapped = build_program(load_arch("eyeriss_v1"), net)
    macs = np.bincount(mapped.program.tile_layer, weights=mapped.program.tile_macs, minlength=len(net.layers))
    for i, layer in enumerate(net.layers):
        assert macs[i] == layer.macs
    assert mapped.tilings["conv2"].gb == 1 and mapped.tilings["conv2"].kc < 128


def test_eyeriss_runs_alexnet_convs_end_to_end():
    """A small AlexNet on Eyeriss simulates; utilization is below the mapped PE share and above zero."""
    from simulator.report.study import EyerissCase, run_eyeriss

    e = run_eyeriss(EyerissCase(size=67, batch=1, last_layer="conv3"), FAST)
    assert 0 < e["mac_utilization"] <= e["pes_active"] <= 1
    assert e["fps"] > 0 and e["dram_mb_per_batch"] > 0
    assert [l["layer"] for l in e["layers"]] == ["conv1", "conv2", "conv3"]


def test_ideal_memory_runs_row_stationary():
    """--ideal-memory accepts a row-stationary chip (a coarse per-layer count) and never beats the roofline."""
    from simulator.pipeline import simulate

    r = simulate("eyeriss_v1", "conv_micro", ideal_memory=True)
    assert r.cycles * 168 >= r.total_macs > 0
