"""End-to-end invariants of a simulated inference: conservation, rooflines, monotonicity, determinism."""
import pytest

import simulator
from simulator.pipeline import simulate

CAUSES = ("dependency", "weights", "inputs", "outputs", "setup", "idle")


@pytest.fixture(scope="module")
def yolo416():
    return simulate("inferx_x1", "yolov3", input=(416, 416))


@pytest.fixture(scope="module")
def micro():
    return simulate("teaching", "conv_micro")


def _conservation(result):
    for unit in result.per_array:
        assert unit["busy"] + sum(unit[c] for c in CAUSES) == result.cycles, unit["unit"]


def test_every_unit_cycle_is_accounted_for(yolo416, micro):
    """For every array and vector unit, busy + all stalls + idle == makespan."""
    _conservation(yolo416)
    _conservation(micro)


def test_dram_bytes_equal_what_tiles_asked_for(yolo416):
    """Per-layer DRAM bytes sum to the totals, and the totals equal the tile program's transfers."""
    from simulator.mapping.placement import DRAM
    from simulator.mapping.program import LOAD, build_program

    assert sum(l.dram_read_bytes for l in yolo416.layers) == yolo416.dram_read_bytes
    assert sum(l.dram_write_bytes for l in yolo416.layers) == yolo416.dram_write_bytes
    arch = simulator.load_arch("inferx_x1")
    p = build_program(arch, simulator.load_network("yolov3", (416, 416))).program
    asked = p.xfer_bytes[(p.xfer_mem == DRAM) & (p.xfer_dir == LOAD)].sum()
    assert asked == yolo416.dram_read_bytes


def test_all_macs_are_executed(yolo416):
    """The tiles carry exactly the network's MACs: direct layers their own, Winograd layers their formula's."""
    from simulator.mapping import winograd as wg
    from simulator.mapping.program import build_program

    net = simulator.load_network("yolov3", (416, 416))
    assert net.total_macs == 32_932_037_632
    mapped = build_program(simulator.load_arch("inferx_x1"), net)
    m_of = dict(zip(mapped.layer_names, mapped.layer_winograd))
    expected = sum(wg.layer_macs(l, m_of[l.name]) if m_of[l.name] else l.macs for l in net.layers)
    assert any(m_of.values()) and yolo416.total_macs == expected < net.total_macs


def test_never_faster_than_the_rooflines(yolo416, micro):
    """Cycles >= compute roofline (MACs / chip MACs) and >= DRAM roofline (bytes / peak per cycle)."""
    for r in (yolo416, micro):
        assert r.cycles >= r.total_macs / r.chip_macs
        dram_bytes_per_cycle = r.dram_peak_bytes_per_s / r.clock_hz
        assert r.cycles >= (r.dram_read_bytes + r.dram_write_bytes) / dram_bytes_per_cycle
        assert 0 < r.mac_utilization <= 1
        assert 0 <= r.dram_bandwidth_utilization <= 1


def test_deterministic():
    """Two runs of the same inputs give identical cycles, stalls and bytes."""
    a = simulate("teaching", "conv_micro").to_dict()
    b = simulate("teaching", "conv_micro").to_dict()
    assert a == b


@pytest.mark.parametrize("network, size", [("yolov3", (416, 416)), ("resnet50", (224, 224))])
def test_more_sram_never_increases_dram_traffic(network, size):
    """DRAM bytes are non-increasing as the SRAM grows."""
    traffic = []
    for mib in (1, 2, 4, 8, 16, 64):
        r = simulate("inferx_x1", network, input=size, overrides={"memory.sram.size": f"{mib} MiB"})
        traffic.append(r.dram_read_bytes + r.dram_write_bytes)
    assert all(b <= a for a, b in zip(traffic, traffic[1:])), traffic
    assert traffic[-1] < traffic[0]


def test_more_dram_bandwidth_never_slows_a_dram_bound_network():
    """Doubling DRAM channels does not make a DRAM-bound run slower (tolerance 1%)."""
    # layer by layer: depth-first fusion (inferx_x1's default) takes this run off the DRAM roof
    base = simulate("inferx_x1", "yolov3", input=(416, 416), fuse="none")
    wide = simulate("inferx_x1", "yolov3", input=(416, 416), overrides={"memory.dram.channels": 2}, fuse="none")
    assert base.dram_bandwidth_utilization > 0.5        # it is DRAM-bound
    assert wide.cycles <= base.cycles * 1.01
    assert wide.cycles < base.cycles


def test_layer_setup_cost_is_charged_per_layer_and_unit():
    """A per-layer setup cost appears as 'setup' stall: layers x units that ran them x cost."""
    base = simulate("teaching", "conv_micro")
    cost = 1000
    slow = simulate("teaching", "conv_micro", overrides={"overheads.layer_setup_cycles": cost})
    arrays_setup = slow.stall_cycles["setup"]
    mac_layers = sum(1 for l in slow.layers if l.unit_kind == "array")
    assert arrays_setup == mac_layers * cost            # one array on the teaching chip
    assert slow.cycles > base.cycles
    _conservation(slow)
