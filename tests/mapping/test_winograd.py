"""Winograd F(m x m, 3 x 3): eligible layers, the MAC count of the formula, hand-counted cycles."""
import numpy as np
import pytest

from simulator.errors import SpecError
from simulator.engine.constants import KIND_WEIGHTS
from simulator.mapping import winograd as wg
from simulator.mapping.program import build_program, tile_context
from simulator.pipeline import simulate
from simulator.spec import load_arch
from simulator.workload import load_network


def _wino(m, latency=0):
    return {"compute.winograd.output_tile": m, "compute.winograd.weight_bits": 12,
            "compute.winograd.transform_latency": latency}


def _layers(r):
    return {l.name: l for l in r.layers}


@pytest.mark.parametrize("m, expected, ratio", [(2, 28 * 28 * 16 * 64 * 64, 2.25), (4, 14 * 14 * 36 * 64 * 64, 4.0)])
def test_a_winograd_layer_has_the_mac_count_of_its_formula(m, expected, ratio):
    """56x56, 64 -> 64 channels: ceil(56/m)^2 tiles x (m+2)^2 x C x K MACs, 2.25x / 4x fewer than direct."""
    net = load_network("conv_micro")
    layer = next(l for l in net.layers if l.name == "conv3x3_56")
    assert wg.layer_macs(layer, m) == expected and layer.macs == expected * ratio
    # buffers large enough for tiles of many 4x4 blocks: F(4x4) wins then on a systolic array too
    big = {**_wino(m), **{f"compute.array.buffers.{b}.size": "256 KiB" for b in ("weights", "inputs", "outputs")}}
    for ideal in (True, False):
        mapped = build_program(load_arch("teaching", big), net, ideal_memory=ideal)
        lid = mapped.layer_names.index("conv3x3_56")
        assert mapped.layer_winograd[lid] == m
        assert mapped.program.tile_macs[mapped.program.tile_layer == lid].sum() == expected == mapped.layer_macs[lid]


def test_only_3x3_stride_1_ungrouped_convs_are_eligible():
    """The valid and padded 3x3 stride-1 convs may run Winograd; 1x1, depthwise, stride 2 and fc never do;
    the mapper keeps direct where it is faster (the 8x8 tiny layer on a 16x16 array)."""
    net = load_network("conv_micro")
    eligible = {l.name for l in net.layers if wg.eligible(l)}
    assert eligible == {"tiny", "conv3x3_56"}
    mapped = build_program(load_arch("teaching", _wino(2)), net)
    used = dict(zip(mapped.layer_names, mapped.layer_winograd))
    assert used["conv3x3_56"] == 2 and used["tiny"] == 0
    assert used["conv1x1"] == used["dw3x3"] == used["conv_s2"] == used["fc"] == 0
    assert set(mapped.tilings[n].winograd for n in ("conv1x1", "dw3x3", "conv_s2")) == {0}


def test_systolic_winograd_cycles_by_hand():
    """16x16 ws array, F(2x2,3x3): 16 positions x 16 folds x (784 tiles + 30 skew + 16 preload) + latency."""
    r = simulate("teaching", "conv_micro", ideal_memory=True, overrides=_wino(2, latency=5))
    assert _layers(r)["conv3x3_56"].busy_cycles == 16 * (4 * 4) * (784 + 16 + 16 - 2 + 16) + 5
    direct = simulate("teaching", "conv_micro", ideal_memory=True)
    assert _layers(direct)["conv3x3_56"].busy_cycles == (36 * 4) * (3136 + 30 + 16)


def test_dot_product_winograd_cycles_by_hand():
    """16-wide x 4-unit dot-product array, F(2x2,3x3): ceil(64/16) x ceil(64/4) x 784 x 16 + both latencies."""
    dot = {"compute.array.kind": "dot_product", "compute.array.rows": 16, "compute.array.cols": 4,
           "compute.array.pipeline_latency": 7}
    r = simulate("teaching", "conv_micro", ideal_memory=True, overrides={**dot, **_wino(2, latency=3)})
    assert _layers(r)["conv3x3_56"].busy_cycles == 4 * 16 * 784 * 16 + 7 + 3


def test_weights_cross_the_memory_in_3x3_form():
    """Winograd weights load as 9 bytes per channel pair (not 16 x 12 bits): the transform happens on chip."""
    mapped = build_program(load_arch("teaching", _wino(2)), load_network("conv_micro"))
    p = mapped.program
    x_layer = p.tile_layer[np.repeat(np.arange(len(p.tile_unit)), np.diff(p.xfer_start))]
    lid = mapped.layer_names.index("conv3x3_56")
    w = p.xfer_bytes[(p.xfer_kind == KIND_WEIGHTS) & (x_layer == lid)]
    assert mapped.layer_winograd[lid] == 2
    assert len(w) and (w % 9 == 0).all() and w.sum() >= 64 * 64 * 9
    # in the weights slot the tile's pairs take 16 x 12 bits each, and they fit
    t = mapped.tilings["conv3x3_56"]
    assert wg.weight_buffer_bytes(t.kc * t.cr, 2, 12) == t.kc * t.cr * 24 <= tile_context(load_arch("teaching")).weights_slot_bytes


def test_winograd_is_refused_on_row_stationary():
    """Row stationary runs no GEMMs, so compute.winograd is refused by key."""
    with pytest.raises(SpecError) as exc:
        load_arch("eyeriss_v1", _wino(2))
    assert exc.value.key == "compute.winograd"
