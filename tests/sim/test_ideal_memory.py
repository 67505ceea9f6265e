"""--ideal-memory runs the engine in SCALE-Sim's regime: its stall-free cycles come out exactly.

Reference values: shared/refs/scalesim.md (SCALE-Sim 3.0.0, CALC mode). SCALE-Sim's 'Total Cycles'
is the 0-based index of the last cycle: npusim's cycle count minus one, per layer.
"""
import pytest

from simulator.pipeline import simulate

EIGHT_BY_EIGHT = {"compute.array.rows": 8, "compute.array.cols": 8}


@pytest.mark.parametrize("dataflow, tiny, conv56", [
    ("weight_stationary", 1547, 1_819_007),
    ("output_stationary", 1375, 1_850_239),
    ("input_stationary", 2447, 2_427_263),
])
def test_single_layers_match_scalesim(dataflow, tiny, conv56):
    """The tiny layer and the 56x56 layer (conv_micro at its default input) on an 8x8 array."""
    r = simulate("teaching", "conv_micro", ideal_memory=True,
                 overrides={**EIGHT_BY_EIGHT, "compute.array.dataflow": dataflow})
    layers = {l.name: l for l in r.layers}
    assert layers["tiny"].busy_cycles - 1 == tiny
    assert layers["conv3x3_56"].busy_cycles - 1 == conv56
    # memory is free: no operand stall anywhere
    assert r.stall_cycles["weights"] == r.stall_cycles["inputs"] == r.stall_cycles["outputs"] == 0


def test_yolov3_608_on_64x64_matches_scalesim_sum():
    """All 75 convs of YOLOv3-608 on one 64x64 ws array: sum of SCALE-Sim's per-layer cycles."""
    r = simulate("teaching", "yolov3", input=(608, 608), ideal_memory=True,
                 overrides={"compute.array.rows": 64, "compute.array.cols": 64})
    convs = [l for l in r.layers if l.op == "conv2d"]
    assert len(convs) == 75
    assert sum(l.busy_cycles - 1 for l in convs) == 20_476_833
    # one array, layers back to back: each conv's span is its busy time
    assert all(l.cycles == l.busy_cycles for l in convs)


def test_normal_mode_hides_preloads():
    """With real memory made infinitely fast the overlapped-preload mode beats SCALE-Sim's serial folds."""
    ideal = simulate("teaching", "conv_micro", ideal_memory=True, overrides=EIGHT_BY_EIGHT)
    fast = simulate("teaching", "conv_micro", overrides={**EIGHT_BY_EIGHT})
    ideal_busy = sum(l.busy_cycles for l in ideal.layers if l.op == "conv2d")
    fast_busy = sum(l.busy_cycles for l in fast.layers if l.op == "conv2d")
    assert fast_busy < ideal_busy
