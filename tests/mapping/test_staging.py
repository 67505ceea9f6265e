"""Staged inputs (mapping/placement.py, mapping/tiling.py): a MAC layer whose input lives in DRAM reads
each input block from DRAM once, by its first load, and every later load of it (another channel
block) from the SRAM stage; checked by hand on small layers, and monotone in the SRAM size."""
import copy

import numpy as np
import pytest
import yaml

from simulator.engine.constants import KIND_INPUTS, LOAD
from simulator.mapping import tiling
from simulator.mapping.placement import DRAM, SRAM, stage_bytes
from simulator.mapping.program import build_program, tile_context
from simulator.spec import load_arch
from simulator.spec.registry import bundled_archs
from simulator.workload import load_network

TEACHING = yaml.safe_load(bundled_archs()["teaching"].read_text())


def _arch(sram_kib: int):
    raw = copy.deepcopy(TEACHING)
    raw["memory"]["sram"]["size"] = f"{sram_kib} KiB"
    return load_arch(raw)


def _conv(k: int, c: int, h: int):
    """One 3x3 conv, padding 1, c -> k channels over h x h: its input is the graph input (in DRAM)."""
    return load_network({"name": "one_conv", "input": {"channels": c, "size": [h, h]},
                         "layers": [{"name": "conv", "op": "conv2d", "out_channels": k, "kernel": 3, "padding": 1}]})


def _input_loads(mapped, mem) -> int:
    p = mapped.program
    tile_of = np.repeat(np.arange(len(p.tile_unit)), np.diff(p.xfer_start))
    sel = (p.xfer_kind == KIND_INPUTS) & (p.xfer_dir == LOAD) & (p.xfer_mem == mem)
    return int(p.xfer_bytes[sel].sum())


def _once_by_hand(c: int, h: int, ph: int, qw: int) -> int:
    """The input bytes of every pixel block once: its rows and columns with the 3x3 halo, clipped at
    the edges (padding 1), all c channels; the halos overlapping the next block are counted again."""
    total = 0
    for p0 in range(0, h, ph):
        rows = min(h, p0 + ph + 1) - max(0, p0 - 1)
        for q0 in range(0, h, qw):
            cols = min(h, q0 + qw + 1) - max(0, q0 - 1)
            total += c * rows * cols
    return total


def test_the_stage_ladder_halves_the_input():
    """Stage sizes are ceil(input / 2^j): the largest not above the budget, 0 below one byte."""
    assert stage_bytes(10**9, 18432) == 18432
    assert stage_bytes(18431, 18432) == 9216
    assert stage_bytes(5000, 18432) == 4608
    assert stage_bytes(7, 10) == 5 and stage_bytes(2, 10) == 2 and stage_bytes(0, 10) == 0
    assert stage_bytes(-5, 10) == 0


@pytest.mark.parametrize("k,c,h,sram_kib,order,stage", [
    (64, 64, 64, 96, "band_major", 2 * 64 * 10 * 18),      # two 8 x 16 blocks with their halo, 64 channels
    (64, 64, 32, 128, "reduction_split", 64 * 32 * 32),    # the whole input: re-loaded a channel block apart
])
def test_a_staged_input_is_read_from_dram_once_and_reloaded_from_sram(k, c, h, sram_kib, order, stage):
    """The input's DRAM bytes are each block once (halos re-read), by hand; the SRAM bytes are the re-loads."""
    mapped = build_program(_arch(sram_kib), _conv(k, c, h))
    t = mapped.tilings["conv"]
    assert (t.order, t.kc, t.cr, t.ph, t.qw) == (order, 16, 32, 8, 16)
    assert t.in_stage_bytes == stage <= mapped.placement.inputs_staged["conv"][1]
    once = _once_by_hand(c, h, t.ph, t.qw)
    assert once > c * h * h                                  # the halos between blocks are re-read
    n_kc = k // t.kc
    assert _input_loads(mapped, DRAM) == once
    assert _input_loads(mapped, SRAM) == (n_kc - 1) * once
    assert t.est_dram_bytes >= once                          # the estimate reads it once too (full spans)
    assert mapped.placement.sram_peak_bytes >= t.in_stage_bytes       # the peak counts the stage in use
    # without the stage (a smaller SRAM) every channel block re-reads the input from DRAM
    small = build_program(_arch(40), _conv(k, c, h))
    assert small.tilings["conv"].in_stage_bytes == 0
    assert _input_loads(small, DRAM) == n_kc * once and _input_loads(small, SRAM) == 0


def _dram_bytes(mapped) -> int:
    p = mapped.program
    return int(p.xfer_bytes[p.xfer_mem == DRAM].sum())


@pytest.mark.parametrize("network,arch_sizes", [
    (lambda: _conv(64, 64, 64), (16, 32, 48, 64, 96, 128, 256, 512, 1024)),
    (lambda: load_network("conv_micro"), (16, 32, 64, 128, 192, 256, 384, 512, 1024)),
    (lambda: load_network("resnet50", input_size=(64, 64)), (64, 128, 256, 512, 1024, 2048)),
])
def test_more_sram_stages_more_and_moves_no_more_dram_bytes(network, arch_sizes):
    """Stage budgets never shrink and the program's DRAM bytes never grow as the SRAM grows."""
    net = network()
    last_bytes, last_stage = None, {}
    for kib in arch_sizes:
        mapped = build_program(_arch(kib), net)
        stages = {name: nbytes for name, (_, nbytes) in mapped.placement.inputs_staged.items()}
        for name, nbytes in last_stage.items():
            t_in = mapped.placement.tensor_of[next(l for l in net.layers if l.name == name).inputs[0]]
            # a larger SRAM keeps the stage at least as large, or moves the input on chip
            assert stages.get(name, 0) >= nbytes or mapped.placement.memory[t_in] == SRAM, (kib, name)
        d = _dram_bytes(mapped)
        assert last_bytes is None or d <= last_bytes, (kib, d, last_bytes)
        last_bytes, last_stage = d, stages


@pytest.mark.parametrize("arch,network,batch", [("teaching", "conv_micro", 1), ("teaching", "resnet50", 1),
                                                ("tpu_v1", "resnet50", 8), ("eyeriss_v1", "alexnet", 2)])
def test_a_stage_the_tiling_does_not_use_changes_nothing(arch, network, batch):
    """Where the chosen tiling loads each input block once (or its blocks do not fit the stage), the
    choice is the one without a stage; inputs on chip are never staged."""
    a = load_arch(arch)
    net = load_network(network, batch=batch)
    mapped = build_program(a, net)
    ctx = tile_context(a)
    p = mapped.placement
    for layer in net.layers:
        if not layer.is_mac_op:
            continue
        t = mapped.tilings[layer.name]
        in_dram = p.memory[p.tensor_of[layer.inputs[0]]] == DRAM
        if not in_dram:
            assert layer.name not in p.inputs_staged and t.in_stage_bytes == 0
        if t.in_stage_bytes:
            continue
        w_dram = p.weights_memory == DRAM if not layer.stationary_per_image else \
            p.memory[p.tensor_of[layer.inputs[1]]] == DRAM
        plain = tiling.choose_conv_tiling(layer, ctx, in_dram, w_dram,
                                          p.memory[p.tensor_of[layer.name]] == DRAM,
                                          w_staged=layer.name in p.weights_staged and not layer.stationary_per_image)
        keys = ("gb", "kc", "cr", "ph", "qw", "nb", "order", "split", "est_cycles", "est_dram_bytes")
        assert [getattr(t, k) for k in keys] == [getattr(plain, k) for k in keys], layer.name


def test_the_tiling_moves_no_more_dram_bytes_with_a_larger_stage():
    """Along the ladder of stages, and with the input on chip, a layer's chosen DRAM bytes never grow."""
    ctx = tile_context(load_arch("teaching"))
    for net in (load_network("conv_micro"), load_network("resnet50", input_size=(64, 64))):
        for layer in net.layers:
            if not layer.is_mac_op:
                continue
            total = layer.n * int(np.prod(layer.in_shapes[0])) * ctx.operand_bytes
            for w_dram, o_dram in ((True, True), (True, False), (False, True)):
                ladder = [0] + sorted({stage_bytes(total >> j, total) for j in range(20)} - {0})
                got = [tiling.choose_conv_tiling(layer, ctx, True, w_dram, o_dram, in_stage=s).est_dram_bytes
                       for s in ladder]
                got.append(tiling.choose_conv_tiling(layer, ctx, False, w_dram, o_dram).est_dram_bytes)
                assert all(b <= a for a, b in zip(got, got[1:])), (layer.name, w_dram, o_dram, got)


def test_explain_names_a_staged_input():
    """--explain and the JSON's mappings say where a staged layer's input lives."""
    from simulator.report.explain import mapping_dict
    mapped = build_program(_arch(128), _conv(64, 64, 32))
    assert mapping_dict(mapped.tilings["conv"])["operand_homes"]["inputs"] == "dram, staged in sram"


@pytest.mark.parametrize("network", ["conv_micro", "alexnet"])
def test_no_change_when_everything_fits(network, monkeypatch):
    """With every activation on chip (64 MiB of SRAM), only a layer reading the graph input (in DRAM)
    may use a stage: every other layer's tiling is the one without input stages, and conv_micro's
    whole program (its first layer loads each block once) is unchanged."""
    import dataclasses

    import simulator.mapping.program as program
    net = load_network(network)
    staged = build_program(_arch(64 * 1024), net)
    p = staged.placement
    assert all(p.memory[t] == SRAM for t in range(1, len(p.names)) if t not in
               {p.tensor_of[l.name] for l in net.layers if not net.consumers(l.name) or l.op == "detect"})
    place = program.place_tensors
    monkeypatch.setattr(program, "place_tensors",
                        lambda *a, **k: dataclasses.replace(place(*a, **k), inputs_staged={}))
    plain = build_program(_arch(64 * 1024), net)
    for layer in net.layers:
        if layer.is_mac_op and layer.inputs[0] != "input":
            assert staged.tilings[layer.name] == plain.tilings[layer.name], layer.name
    if network == "conv_micro":
        for f in staged.program._fields:
            assert np.array_equal(getattr(staged.program, f), getattr(plain.program, f)), f
    else:
        assert staged.tilings["conv1"].in_stage_bytes > 0        # AlexNet's conv1 re-reads the image per channel block
