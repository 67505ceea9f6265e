"""Dot-product arrays: cycles are ceil(C/c) x ceil(K/k) x P x Q x R x S + the pipeline latency."""
import pytest

from simulator.errors import SpecError
from simulator.mapping.dot_product import dot_product_cycles
from simulator.mapping.program import build_program, tile_context
from simulator.pipeline import simulate
from simulator.spec import load_arch
from simulator.workload import load_network

C_WIDTH, K_UNITS, LATENCY = 16, 4, 7
DOT = {"compute.array.kind": "dot_product", "compute.array.rows": C_WIDTH, "compute.array.cols": K_UNITS,
       "compute.array.pipeline_latency": LATENCY}


def _ceil(a, b):
    return -(-a // b)


def _hand(c, k, p, q, r, s, groups=1):
    return groups * _ceil(c, C_WIDTH) * _ceil(k, K_UNITS) * p * q * r * s + LATENCY


def test_formula_by_hand():
    """The pass count times the streamed steps, plus the latency once, on a few shapes."""
    assert dot_product_cycles(64, 16, 64, 64, 56 * 56 * 9, 10) == 1 * 4 * 28224 + 10
    assert dot_product_cycles(64, 16, 3, 32, 608 * 608 * 9, 0) == 1 * 2 * 608 * 608 * 9   # RGB: 3 of 64 lanes
    assert dot_product_cycles(64, 16, 65, 17, 1, 0) == 2 * 2
    assert dot_product_cycles(8, 8, 1, 1, 9, 3, groups=32) == 32 * 9 + 3                 # depthwise


def test_every_conv_micro_layer_matches_the_hand_count():
    """Ideal memory, one array: each MAC layer's busy cycles equal the hand count of its shape."""
    r = simulate("teaching", "conv_micro", ideal_memory=True, overrides=DOT)
    busy = {l.name: l.busy_cycles for l in r.layers}
    assert busy["tiny"] == _hand(8, 12, 8, 8, 3, 3)
    assert busy["conv1x1"] == _hand(12, 64, 56, 56, 1, 1)
    assert busy["conv3x3_56"] == _hand(64, 64, 56, 56, 3, 3) == 4 * 16 * 56 * 56 * 9 + 7
    assert busy["dw3x3"] == _hand(1, 1, 56, 56, 3, 3, groups=64)
    assert busy["conv_s2"] == _hand(64, 128, 28, 28, 3, 3)
    assert busy["fc"] == _hand(128, 10, 1, 1, 1, 1)


def test_tiles_in_normal_mode_pay_the_latency_once_each():
    """Normal mode: a layer's tile cycles are the hand count of each tile block, latency once per tile."""
    arch = load_arch("teaching", DOT)
    net = load_network("conv_micro")
    mapped = build_program(arch, net)
    lid = mapped.layer_names.index("conv3x3_56")
    t = mapped.tilings["conv3x3_56"]
    p = mapped.program
    expected, n = 0, 0
    for k0 in range(0, 64, t.kc):
        for c0 in range(0, 64, t.cr):
            for p0 in range(0, 56, t.ph):
                for q0 in range(0, 56, t.qw):
                    kl, cl, pl, ql = min(t.kc, 64 - k0), min(t.cr, 64 - c0), min(t.ph, 56 - p0), min(t.qw, 56 - q0)
                    expected += _hand(cl, kl, pl, ql, 3, 3)
                    n += 1
    on_layer = p.tile_layer == lid
    assert on_layer.sum() == n and p.tile_compute[on_layer].sum() == expected
    assert tile_context(arch).kind == "dot_product"


def test_no_fill_or_drain_unlike_a_systolic_array():
    """The same 64 MACs as a 16x4 dot-product array beat an 8x8 weight-stationary array on a 3x3 layer."""
    dot = simulate("teaching", "conv_micro", ideal_memory=True, overrides=DOT)
    ws = simulate("teaching", "conv_micro", ideal_memory=True,
                  overrides={"compute.array.rows": 8, "compute.array.cols": 8})
    layer = lambda r: next(l for l in r.layers if l.name == "conv3x3_56")
    assert layer(dot).busy_cycles < layer(ws).busy_cycles
    assert layer(dot).macs == layer(ws).macs == 64 * 64 * 9 * 56 * 56


@pytest.mark.parametrize("override, key", [
    ({"compute.array.dataflow": "output_stationary"}, "compute.array.dataflow"),
    ({"compute.array.macs_per_pe": 2}, "compute.array.macs_per_pe"),
])
def test_dot_product_refuses_systolic_keys(override, key):
    """A dot-product array holds its weights in one-MAC cells: another dataflow or macs_per_pe is refused by key."""
    with pytest.raises(SpecError) as exc:
        load_arch("teaching", {**DOT, **override})
    assert exc.value.key == key


def test_pipeline_latency_is_refused_on_a_systolic_array():
    """pipeline_latency belongs to dot_product arrays; a systolic array's fill and drain come from its shape."""
    with pytest.raises(SpecError) as exc:
        load_arch("teaching", {"compute.array.pipeline_latency": 5})
    assert exc.value.key == "compute.array.pipeline_latency"
