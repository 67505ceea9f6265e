"""The GPU execution model: occupancy, waves, the kernel barrier and the L2 as a cache (mapping/gpu.py)."""
import numpy as np
import pytest
import yaml

from simulator.errors import SpecError
from simulator.mapping.gpu import gpu_context, occupancy, step_cycles, waves
from simulator.mapping.gpu_l2 import SEGMENT_BYTES, L2Cache, segments_of
from simulator.mapping.program import build_program
from simulator.pipeline import simulate
from simulator.spec import load_arch
from simulator.spec.registry import archs_dir
from simulator.workload import load_network

LAUNCH = 100


def _gpu(sms=2, tiles=((64, 64, 64),), max_blocks=2, launch=LAUNCH) -> dict:
    """tesla_t4 cut down: `sms` SMs of 1024 MACs, every block at the full tensor-core rate."""
    raw = yaml.safe_load((archs_dir() / "tesla_t4.yaml").read_text())
    raw["compute"]["arrays"] = sms
    raw["compute"]["vector"]["units"] = sms
    raw["compute"]["gpu"].update(block_tiles=[list(t) for t in tiles], max_blocks_per_sm=max_blocks,
                                 tensor_core_efficiency=1.0, kernel_launch=launch)
    return raw


def _net(batch_rows: int, layers) -> dict:
    return {"name": "g", "input": {"channels": 64, "size": [batch_rows, 8]}, "layers": layers}


def _conv(name, k=64, **kw):
    return {"name": name, "op": "conv2d", "out_channels": k, "kernel": 1, "stride": 1, "padding": 0, **kw}


def test_waves_by_hand():
    """waves = ceil(blocks / (SMs x blocks per SM)) on a few grids."""
    assert waves(12, 2, 2) == 3                  # exactly full
    assert waves(13, 2, 2) == 4                  # one block in the last wave
    assert waves(1568, 40, 2) == 20              # ResNet-50 layer1 3x3 at batch 64 in 128 x 64 blocks (1568 pixel blocks)
    assert waves(7, 40, 4) == 1                  # fewer blocks than slots: one partial wave


def test_occupancy_from_shared_memory_and_registers():
    """T4: 64 KiB shared memory for 2 stages, 128 KiB of accumulators, at most 16 blocks."""
    ctx = gpu_context(load_arch("tesla_t4"))
    assert occupancy(ctx, 128, 128, 64) == 2     # smem 2 x 256 x 64 = 32 KiB; regs 64 KiB
    assert occupancy(ctx, 256, 128, 64) == 1     # smem 48 KiB; regs 128 KiB
    assert occupancy(ctx, 64, 64, 64) == 4       # smem 16 KiB -> 4; regs 16 KiB -> 8
    assert step_cycles(ctx, 128, 128, 64, 2) == -(-128 * 128 * 64 * 2 // 768)   # 1024 MACs x 0.75


def test_last_wave_partly_empty():
    """5 blocks on 2 SMs x 2 slots: 2 waves, the second holding one block; the other slots idle."""
    # M = 5 x 64 pixels (an 40 x 8 image), N = 64, K = 64: 5 blocks of one k-step each
    net = _net(40, [_conv("c")])
    r = simulate(_gpu(), net, ideal_memory=True)
    step = 64 * 64 * 64 * 2 // 1024               # two blocks share the SM: 512 cycles a step
    assert r.cycles == LAUNCH + 2 * step
    units = {u["unit"]: u for u in r.per_array}
    assert units["array0"]["busy"] == 2 * step    # slot 0 of SM 0 runs blocks 0 and 4
    for name in ("array1", "array2", "array3"):
        assert units[name]["busy"] == step and units[name]["idle"] == step


def test_full_waves_have_no_idle_slot():
    """8 blocks on 2 SMs x 2 slots: 2 full waves, every slot busy twice."""
    r = simulate(_gpu(), _net(64, [_conv("c")]), ideal_memory=True)
    assert r.cycles == LAUNCH + 2 * 512
    assert all(u["busy"] == 1024 for u in r.per_array if u["unit"].startswith("array"))


def test_block_steps_over_the_reduction():
    """A block walks the reduction k at a time: K = 3 x 3 x 64 = 576 is 9 steps of 64."""
    net = _net(8, [{"name": "c", "op": "conv2d", "out_channels": 64, "kernel": 3, "stride": 1, "padding": 1}])
    mapped = build_program(load_arch(_gpu()), load_network(net), ideal_memory=True)
    assert mapped.tilings["c"].k_steps == 9 and mapped.tilings["c"].blocks == 1
    assert len(mapped.program.tile_unit) == 9
    assert int(mapped.program.tile_macs.sum()) == 64 * 64 * 576


def test_layers_do_not_overlap():
    """On a GPU chip a kernel starts only after the whole previous kernel, even on an independent branch."""
    net = _net(64, [_conv("a"), _conv("b", inputs=["input"]), {"name": "s", "op": "add", "inputs": ["a", "b"]}])
    r = simulate(_gpu(), net, batch=2)
    t = r.timeline
    for first, second in ((0, 1), (1, 2)):
        done = t.tile_done[t.tile_layer == first].max()
        start = (t.tile_start - t.tile_setup)[t.tile_layer == second].min()
        assert start >= done


def test_the_launch_cost_is_paid_once_per_kernel_per_slot():
    """Every slot a kernel uses pays kernel_launch once, before its first block."""
    mapped = build_program(load_arch(_gpu()), load_network(_net(40, [_conv("a"), _conv("b")])), ideal_memory=True)
    setup = mapped.program.tile_setup
    assert set(setup[setup > 0]) == {LAUNCH}
    assert int((setup > 0).sum()) == 4 + 4        # 5 blocks on 4 slots, per kernel


def test_the_l2_decides_by_residency():
    """A segment read again hits while resident; a stream longer than the L2 evicts it; an evicted
    dirty segment of a live tensor is written back, of a dead one dropped."""
    seg_tensor = np.zeros(64, np.int32)
    l2 = L2Cache(4 * SEGMENT_BYTES, 64 * SEGMENT_BYTES, seg_tensor)
    none = np.empty(0, np.int64)
    miss, _ = l2.wave(np.array([0, 1]), np.array([0, 0]), 1, none)
    assert list(miss) == [2]
    miss, _ = l2.wave(np.array([0, 1]), np.array([0, 0]), 1, none)
    assert list(miss) == [0]                      # resident: both hit
    _, wb = l2.wave(none, none, 1, np.array([10, 11]))     # written: dirty
    _, wb = l2.wave(np.array([20, 21, 22, 23]), np.zeros(4, np.int64), 1, none)
    assert wb == 2                                # the dirty pair is evicted by the stream of 4
    miss, _ = l2.wave(np.array([0, 1]), np.array([0, 0]), 1, none)
    assert list(miss) == [2]                      # evicted too
    l2.kill(0)
    l2.wave(none, none, 1, np.array([30]))
    _, wb = l2.wave(np.array([40, 41, 42, 43]), np.zeros(4, np.int64), 1, none)
    assert wb == 0                                # its tensor is dead: dropped


def test_segments_cover_ranges():
    """Byte ranges become the segments they touch, each tagged with its range."""
    segs, owner = segments_of(np.array([0, 3 * SEGMENT_BYTES - 1]), np.array([1, 3 * SEGMENT_BYTES + 1]))
    assert list(segs) == [0, 2, 3] and list(owner) == [0, 1, 1]


def test_dram_reads_follow_the_l2():
    """Weights shared by every block of a wave are read from DRAM once; the rest comes from the L2."""
    r = simulate(_gpu(), _net(64, [_conv("c")]))
    lr = r.layers[0]
    weights = 64 * 64
    inputs = 64 * 64 * 8
    assert lr.dram_read_bytes == weights + inputs
    assert lr.sram_read_bytes == 8 * weights - weights     # 8 blocks read the weights, 7 from the L2


def test_gpu_kind_needs_its_section():
    """kind: gpu without the gpu section is a SpecError naming compute.gpu."""
    raw = _gpu()
    del raw["compute"]["gpu"]
    with pytest.raises(SpecError, match="gpu"):
        load_arch(raw)


def test_a_gpu_run_is_deterministic():
    """Two runs of the same GPU case give the same cycles and the same DRAM bytes."""
    a, b = (simulate("tesla_t4", "conv_micro", batch=2) for _ in range(2))
    assert (a.cycles, a.dram_read_bytes, a.dram_write_bytes) == (b.cycles, b.dram_read_bytes, b.dram_write_bytes)


def test_depthwise_convs_run_on_the_cuda_cores():
    """A depthwise 3x3 conv is cheaper on the CUDA cores than as padded tensor-core tiles: its tiles sit
    on the vector units and count their MACs."""
    net = _net(16, [{"name": "dw", "op": "conv2d", "out_channels": 64, "kernel": 3, "stride": 1, "padding": 1,
                     "groups": 64}])
    mapped = build_program(load_arch(_gpu()), load_network(net), ideal_memory=True)
    assert mapped.tilings["dw"].cuda_cores
    p = mapped.program
    assert (p.tile_unit >= mapped.num_arrays).all()
    assert int(p.tile_macs.sum()) == 64 * 9 * 16 * 8


def test_a_gpu_section_without_kind_gpu_is_refused():
    """A gpu section on an arrays chip is a SpecError naming compute.gpu, not silently ignored."""
    with pytest.raises(SpecError, match="gpu"):
        load_arch(_gpu() | {"compute": _gpu()["compute"] | {"kind": "arrays"}})
