"""A shared local buffer (compute.array.buffers.shared): the spec's one-of with each operand's own
buffer, and the mapper's per-layer split of its banks between the operands it holds."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from simulator.errors import SpecError
from simulator.mapping import tiling
from simulator.mapping.program import build_program, tile_context
from simulator.pipeline import simulate
from simulator.spec import load_arch
from simulator.workload import load_network

TEACHING = yaml.safe_load(open("archs/teaching.yaml").read())


def _shared(operands=("weights", "inputs", "outputs"), size="48 KiB", banks=12) -> dict:
    """teaching with its 48 KiB of local buffers as one banked buffer (a test chip: no bundled chip's
    source says its buffers are shared), or a 32 KiB one for weights and inputs beside its outputs buffer."""
    raw = copy.deepcopy(TEACHING)
    b = raw["compute"]["array"]["buffers"]
    for op in operands:
        del b[op]
    b["shared"] = {"size": size, "banks": banks, "bank_width": "16 B", "operands": list(operands)}
    return raw


@pytest.mark.parametrize("change,key", [
    (lambda b: b.update(weights={"size": "16 KiB", "bytes_per_cycle": 16}), "compute.array.buffers.weights"),
    (lambda b: b["shared"].update(operands=["inputs"]), "compute.array.buffers.shared.operands"),
    (lambda b: b["shared"].update(operands=["inputs", "inputs"]), "compute.array.buffers.shared.operands"),
    (lambda b: b["shared"].update(banks=2), "compute.array.buffers.shared.banks"),
    (lambda b: b["shared"].update(operands=["weights", "inputs"]), "compute.array.buffers.outputs"),
])
def test_a_buffer_is_shared_or_its_own_never_both_nor_neither(change, key):
    """Each operand is in shared.operands or has its own buffer; the error names the key."""
    raw = _shared()
    change(raw["compute"]["array"]["buffers"])
    with pytest.raises(SpecError) as info:
        load_arch(raw)
    assert info.value.key == key, str(info.value)


def test_the_splits_give_every_shared_operand_a_bank():
    """12 banks over 3 operands: C(11, 2) = 55 splits, each summing to 12 with at least one bank each;
    2 operands: 11 splits, the unshared operand keeping its own slot."""
    ctx = tile_context(load_arch(_shared()))
    splits = tiling.buffer_splits(ctx)
    assert len(splits) == 55 and all(sum(b) == 12 and min(b) >= 1 for b, _ in splits)
    b, c = splits[0]
    assert c.weights_slot_bytes == b[0] * 4096 // 2 and c.inputs_feed_bytes_per_cycle == b[1] * 16
    two = tiling.buffer_splits(tile_context(load_arch(_shared(("weights", "inputs"), "32 KiB", 8))))
    assert len(two) == 7 and all(b[2] == 0 and c.outputs_slot_bytes == 8192 for b, c in two)


def test_the_split_is_chosen_per_layer_and_beats_the_fixed_thirds():
    """On ResNet-50 the layers get different splits, and each layer's estimate is no worse than with
    the same 48 KiB as three fixed 16 KiB buffers (teaching itself: the 4/4/4 split is a candidate)."""
    net = load_network("resnet50")
    fixed = build_program(load_arch(TEACHING), net).tilings
    shared = build_program(load_arch(_shared()), net).tilings
    splits = {t.buffer_banks for t in shared.values()}
    assert len(splits) > 1 and all(sum(b) == 12 for b in splits)
    for name, t in shared.items():
        assert t.est_cycles <= fixed[name].est_cycles, name
        assert t.slots == tuple(n * 4096 // 2 for n in t.buffer_banks)


def test_the_tiles_are_fed_through_the_chosen_split():
    """A narrow bank port: a tile's compute cycles are at least its feed through the banks it was given."""
    raw = _shared()
    raw["compute"]["array"]["buffers"]["shared"]["bank_width"] = "1 B"
    spec, net = load_arch(raw), load_network("conv_micro")
    mapped = build_program(spec, net)
    ctx = tile_context(spec)
    layer = next(l for l in net.layers if l.name == "conv3x3_56")
    t = mapped.tilings[layer.name]
    cols = tiling.conv_tiles(layer, t, ctx)
    sctx = tiling.split_context(ctx, t.buffer_banks)
    assert sctx.inputs_feed_bytes_per_cycle == t.buffer_banks[1]
    feed = -(-(cols["macs"] // 16) // t.buffer_banks[1])        # weight-stationary: inputs enter per column
    assert np.all(cols["compute_cycles"] >= feed)


def test_a_shared_buffer_chip_runs_and_reports_its_split():
    """simulate() runs it; the JSON's mappings give each MAC layer's banks per operand."""
    r = simulate(_shared(), "conv_micro")
    maps = r.to_dict()["mappings"]
    assert set(maps) == {"tiny", "conv1x1", "conv3x3_56", "dw3x3", "conv_s2", "fc"}
    for m in maps.values():
        banks = m["chosen"]["buffer_banks"]
        assert sum(banks.values()) == 12 and min(banks.values()) >= 1
