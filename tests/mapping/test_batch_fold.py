"""Batch folding, staged weights and the buffer ports' feed limit, checked by hand on small layers."""
import numpy as np
import pytest

from simulator.engine.constants import KIND_WEIGHTS, LOAD
from simulator.mapping.placement import DRAM, SRAM
from simulator.mapping.program import build_program
from simulator.pipeline import simulate
from simulator.spec import load_arch
from simulator.workload import load_network

WIDE = """name: wide
description: one 1x1 conv over 32x32 pixels, 16 -> 16 channels (one fold per tile streams 1024 pixels)
source: test
input: {channels: 16, size: [32, 32]}
layers:
  - {name: conv, op: conv2d, out_channels: 16, kernel: 1}
"""
NET = """name: fold
description: one 1x1 conv whose weights (16 KiB) exceed the teaching chip's 8 KiB weights slot
source: test
input: {channels: 512, size: [2, 2]}
layers:
  - {name: conv, op: conv2d, out_channels: 32, kernel: 1}
"""


def _net(tmp_path, batch):
    path = tmp_path / "fold.yaml"
    path.write_text(NET)
    return load_network(str(path), batch=batch)


def _weight_loads(mapped, layer_id, mem):
    p = mapped.program
    tile_of = np.repeat(np.arange(len(p.tile_unit)), np.diff(p.xfer_start))
    sel = ((p.xfer_kind == KIND_WEIGHTS) & (p.xfer_dir == LOAD) & (p.xfer_mem == mem)
           & (p.tile_layer[tile_of] == layer_id))
    return int(p.xfer_bytes[sel].sum())


def test_a_tile_spans_the_batch_and_loads_its_weights_once(tmp_path):
    """2x2x512 -> 32 at batch 4 on 16x16: 2 tiles of 4 images (16 px) x 32 folds each, weights 16 KiB read once."""
    mapped = build_program(load_arch("teaching"), _net(tmp_path, 4))
    t = mapped.tilings["conv"]
    # an 8 KiB weights slot: 32 filters x 256 channels or 16 x 512, two tiles either way
    assert t.nb == 4 and (t.ph, t.qw) == (2, 2) and t.kc * t.cr == 8192
    # each tile: 32 folds (16 x 2 or 32 x 1 of the 16x16 array), 16 pixels (4 images x 2 x 2)
    # streamed per fold with 16 + 16 - 2 cycles of fill and drain, plus the one exposed preload
    assert list(mapped.program.tile_compute) == [32 * (16 + 16 + 16 - 2) + 16] * 2
    assert _weight_loads(mapped, 0, DRAM) == 512 * 32
    one = build_program(load_arch("teaching"), _net(tmp_path, 1))
    assert one.tilings["conv"].nb == 1 and list(one.program.tile_compute) == [32 * (4 + 30) + 16] * 2


def test_batch_fold_runs_every_mac_and_accounts_every_cycle():
    """conv_micro at batch 4: the folded tiles carry all MACs; busy + stalls + idle == makespan per unit."""
    r = simulate("teaching", "conv_micro", batch=4)
    net = load_network("conv_micro", batch=4)
    assert r.total_macs == sum(l.macs for l in net.layers if l.is_mac_op)
    mapped = build_program(load_arch("teaching"), net)
    assert any(t.nb > 1 for t in mapped.tilings.values())
    causes = ("dependency", "weights", "inputs", "outputs", "setup", "idle")
    for unit in r.per_array:
        assert unit["busy"] + sum(unit[c] for c in causes) == r.cycles


def test_batch_raises_resnet50_throughput_on_tpu_v1():
    """tpu_v1 ResNet-50: batch 8 reads the weights about once (not once per image) and runs > 2x the fps of batch 1."""
    one = simulate("tpu_v1", "resnet50", batch=1)
    eight = simulate("tpu_v1", "resnet50", batch=8)
    assert eight.fps > 2 * one.fps
    assert eight.dram_read_bytes < 1.2 * one.dram_read_bytes


def test_staged_weights_are_read_from_dram_once():
    """tesla_t4 ResNet-50 on the array model (40 arrays): each staged layer reads its weights from DRAM once;
    re-reads come from SRAM."""
    arch = load_arch("tesla_t4", {"compute.kind": "arrays", "compute.gpu": None})
    net = load_network("resnet50", batch=1)
    mapped = build_program(arch, net)
    staged = mapped.placement.weights_staged
    assert staged
    reread = 0
    for lid, layer in enumerate(net.layers):
        if layer.name in staged:
            assert _weight_loads(mapped, lid, DRAM) == layer.weight_elems * arch.compute.array.operand_bytes
            reread += _weight_loads(mapped, lid, SRAM)
    assert reread > 0


def test_no_weights_are_staged_when_the_sram_is_full_of_activations():
    """With an SRAM smaller than every layer's live activations plus its weights, nothing is staged."""
    mapped = build_program(load_arch("tpu_v1", {"memory.sram.size": "4 KiB"}), load_network("resnet50"))
    assert mapped.placement.weights_staged == {}


@pytest.mark.parametrize("port, bpc", [("inputs", 4), ("outputs", 16)])
def test_a_narrow_buffer_port_slows_the_feed(port, bpc, tmp_path):
    """Inputs port 16 -> 4 B/cycle or outputs port 64 -> 16: a streaming tile then takes its feed's cycles."""
    path = tmp_path / "wide.yaml"
    path.write_text(WIDE)
    net = load_network(str(path))
    base = build_program(load_arch("teaching"), net).program
    narrow = build_program(load_arch("teaching", {f"compute.array.buffers.{port}.bytes_per_cycle": bpc}),
                           net).program
    macs = narrow.tile_macs
    # inputs: one byte per MAC / 16 columns; outputs: a 4-byte partial sum per MAC / 16 rows
    feed = -(-(macs // 16 * (1 if port == "inputs" else 4)) // bpc)
    assert np.all(narrow.tile_compute == np.maximum(feed, base.tile_compute))
    assert np.all(feed > base.tile_compute)
    # wider than the edge (8x): the array, not the port, bounds the tile
    wide = build_program(load_arch("teaching", {f"compute.array.buffers.{port}.bytes_per_cycle": bpc * 8}),
                         net).program
    assert np.array_equal(wide.tile_compute, base.tile_compute)
