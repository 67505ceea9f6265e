"""Depth-first layer fusion (mapping/fusion.py): group choice, band order, SRAM rings, accounting."""
from __future__ import annotations

import numpy as np
import pytest

import simulator
from simulator.errors import MappingError
from simulator.mapping.program import build_program
from simulator.pipeline import simulate

from fusion_helpers import mapped_and_times, ring_peaks

SMALL = {"memory.sram.size": "1 MiB"}     # YOLOv3 416 on 1 MiB: groups with adds, an upsample and a concat


@pytest.fixture(scope="module")
def fused():
    return mapped_and_times("inferx_x1", "yolov3", (416, 416), overrides=SMALL)


@pytest.fixture(scope="module")
def runs():
    return {f: simulate("inferx_x1", "yolov3", input=(416, 416), overrides=SMALL, fuse=f) for f in ("none", "auto")}


def test_groups_take_residual_adds_upsamples_and_concats(fused):
    """YOLOv3's shortcut adds, upsample and route (concat) layers fuse with the convs around them."""
    mapped, _ = fused
    ops = {op for g in mapped.fusion.groups for name in g.layers
           for op in [mapped.layer_ops[mapped.layer_names.index(name)]]}
    assert {"conv2d", "add", "upsample", "concat"} <= ops
    for g in mapped.fusion.groups:
        idx = [mapped.layer_names.index(n) for n in g.layers]
        between = [mapped.layer_ops[i] for i in range(idx[0], idx[-1] + 1) if i not in idx]
        assert set(between) <= {"detect", "flatten", "reshape", "passthrough"}   # consecutive but aliases
        assert g.bands >= 2


def test_auto_is_never_slower_than_none_by_estimate(fused):
    """Every group is kept only when its estimate beats running its layers unfused."""
    mapped, _ = fused
    assert mapped.fusion.groups
    for g in mapped.fusion.groups:
        assert (g.est_cycles, g.est_dram_bytes) < (g.est_cycles_unfused, g.est_dram_bytes_unfused)


def test_rings_and_staged_weights_fit_the_sram(fused):
    """A group's rings plus its staged weights fit the SRAM; placement keeps the rings in SRAM."""
    mapped, _ = fused
    pl = mapped.placement
    for g in mapped.fusion.groups:
        assert g.footprint_bytes <= pl.sram_activation_capacity_bytes
        for name, ring in g.ring_bytes.items():
            t = pl.tensor_of[name]
            assert pl.fused[t] and pl.memory[t] == simulator.mapping.placement.SRAM and pl.size_bytes[t] == ring
    assert pl.sram_peak_bytes <= 1 << 20


def test_rings_hold_every_row_still_needed(fused):
    """Measured in the run: the rows of an intermediate produced and not yet read never exceed its ring."""
    for name, (peak, ring) in ring_peaks(*fused).items():
        assert 0 < peak <= ring, name


def test_producers_precede_consumers_on_every_unit(fused):
    """Band-major order: on each unit, a tile comes after every tile of the regions it reads."""
    p = fused[0].program
    pos = np.empty(len(p.unit_tiles), np.int64)
    pos[p.unit_tiles] = np.arange(len(p.unit_tiles))
    region_last = {}
    for t in p.unit_tiles:                       # per region and unit: its latest tile position
        key = (int(p.tile_region[t]), int(p.tile_unit[t]))
        region_last[key] = max(region_last.get(key, -1), int(pos[t]))
    for t in range(len(p.tile_unit)):
        for d in range(p.dep_start[t], p.dep_start[t + 1]):
            for g in range(p.dep_lo[d], p.dep_hi[d] + 1):
                last = region_last.get((g, int(p.tile_unit[t])))
                assert last is None or last < pos[t]


def test_fusion_cuts_dram_traffic_and_keeps_the_invariants(runs):
    """Fused: less DRAM traffic and time than layer by layer; busy + stalls = makespan; above the rooflines."""
    none, auto = runs["none"], runs["auto"]
    assert auto.dram_read_bytes + auto.dram_write_bytes < 0.8 * (none.dram_read_bytes + none.dram_write_bytes)
    assert auto.cycles < none.cycles
    for unit in auto.per_array:
        assert unit["busy"] + sum(v for k, v in unit.items() if k not in ("unit", "busy")) == auto.cycles
    assert auto.cycles >= auto.total_macs / auto.chip_macs
    assert auto.cycles >= (auto.dram_read_bytes + auto.dram_write_bytes) / (auto.dram_peak_bytes_per_s / auto.clock_hz)
    assert auto.total_macs == none.total_macs
    assert auto.fused_groups and not none.fused_groups
    assert all(g["est_dram_saved_bytes"] > 0 for g in auto.fused_groups)


def test_dram_bytes_equal_what_the_fused_tiles_asked_for(runs):
    """The run's DRAM reads equal the fused program's DRAM load transfers."""
    from simulator.mapping.placement import DRAM
    from simulator.mapping.program import LOAD
    spec = simulator.load_arch("inferx_x1", SMALL)
    p = build_program(spec, simulator.load_network("yolov3", (416, 416)), fuse="auto").program
    assert p.xfer_bytes[(p.xfer_mem == DRAM) & (p.xfer_dir == LOAD)].sum() == runs["auto"].dram_read_bytes


def test_setup_is_charged_once_per_layer_and_unit():
    """A fused layer runs in bands but pays its setup once on each unit, as an unfused layer does."""
    over = {**SMALL, "overheads.layer_setup_cycles": 500}
    spec = simulator.load_arch("inferx_x1", over)
    p = build_program(spec, simulator.load_network("yolov3", (416, 416)), fuse="auto").program
    pairs = {(int(u), int(l)) for u, l in zip(p.tile_unit, p.tile_layer)}
    assert int(p.tile_setup.sum()) == 500 * len(pairs)


# More SRAM may move this much more DRAM traffic with fusion on. Placement is monotone for a given
# plan, but the groups are chosen by estimated time under the SRAM size: measured, YOLOv3 256x256 on
# inferx_x1 moves 67.4 MB at 1 MiB (conv0..add4 fused) and 69.1 MB at 2 MiB (+2.5%: there conv0's
# band overhead makes conv0..add4 slower by the estimate, so conv0's output goes through DRAM).
FUSED_SRAM_TRAFFIC_TOLERANCE = 0.05


def test_more_sram_barely_changes_fused_dram_traffic():
    """With fusion on, DRAM bytes fall as the SRAM grows, up to FUSED_SRAM_TRAFFIC_TOLERANCE (YOLOv3 256x256)."""
    traffic = []
    for kib in (256, 512, 1024, 2048, 4096):
        r = simulate("inferx_x1", "yolov3", input=(256, 256), overrides={"memory.sram.size": f"{kib} KiB"}, fuse="auto")
        traffic.append(r.dram_read_bytes + r.dram_write_bytes)
    assert all(b <= a * (1 + FUSED_SRAM_TRAFFIC_TOLERANCE) for a, b in zip(traffic, traffic[1:])), traffic
    assert traffic[-1] < 0.7 * traffic[0]


def test_ideal_memory_never_fuses():
    """Ideal-memory mode stays SCALE-Sim compatible: no fused group even when asked."""
    spec = simulator.load_arch("inferx_x1")
    mapped = build_program(spec, simulator.load_network("yolov3", (416, 416)), ideal_memory=True, fuse="auto")
    assert not mapped.fusion.groups


def test_fusion_is_deterministic():
    """Two fused runs give identical results."""
    a = simulate("inferx_x1", "yolov3", input=(256, 256), overrides=SMALL, fuse="auto").to_dict()
    b = simulate("inferx_x1", "yolov3", input=(256, 256), overrides=SMALL, fuse="auto").to_dict()
    assert a == b


def test_unknown_fusion_mode_is_a_mapping_error():
    """build_program refuses a fusion mode it does not know, naming compute.fusion."""
    spec = simulator.load_arch("inferx_x1")
    with pytest.raises(MappingError, match="compute.fusion"):
        build_program(spec, simulator.load_network("yolov3", (256, 256)), fuse="sideways")
