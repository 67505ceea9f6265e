"""Monotonicity in resources (docs/reliability.md, "Invariants and monotonicity"), as hypothesis
properties over random small valid chips (the teaching chip's layout) and small networks, in both
DRAM models: more SRAM, more DRAM channels, wider DRAM channels, a faster DRAM grade, a wider
interconnect or one more vector unit never makes a run slower by more than LATENCY_TOLERANCE, and
more SRAM never moves more DRAM bytes (SRAM_TRAFFIC_TOLERANCE is zero). The latency tolerance is
not: docs/reliability.md records the counterexamples measured and their cause (Graham's scheduling
anomalies of a static greedy schedule); the DRAM-traffic one (a tiling chosen by a marginal
estimate) is gone since the mapper's choice is capped by the DRAM bytes of fewer operands on chip.

Example counts keep CI short (the file runs in a few seconds); NPUSIM_MONOTONE_EXAMPLES=2000 for a
long offline run.
"""
from __future__ import annotations

import copy
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulator

from robust_helpers import TEACHING, TINY_NET, small_chips

EXAMPLES = int(os.environ.get("NPUSIM_MONOTONE_EXAMPLES", "15"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ARCH = yaml.safe_load(TEACHING.read_text())

# More of a resource may make a run this much slower (a fraction of its cycles), no more. The worst
# measured (docs/reliability.md) was +5.3%: a faster DRAM grade on a 2,000-cycle run of the tiny
# chain, where one transfer winning the interconnect earlier delays the critical one (a scheduling
# anomaly; its relative size is large because the run is short). The tolerance still catches a real
# inversion: halving the DRAM channels of a memory-bound run costs 20%
# (test_the_tolerance_is_far_below_a_real_loss).
LATENCY_TOLERANCE = 0.08
# More SRAM may move this much more DRAM traffic (a fraction of the bytes): none. Placement is
# monotone (a larger SRAM keeps a superset of tensors and stages a superset of layers), and each
# layer's tiling moves no more DRAM bytes than its choice with fewer operands on chip
# (mapping/tiling.py, "The choice rule"). Before that rule the worst measured was +17.4% (conv_s2
# of conv_micro at 16x16 on one 16x16 input-stationary array, SRAM 128 -> 512 KiB); after it, no
# increase in 7,100 hypothesis examples of this strategy (1,600 simulated in both DRAM models, 5,500
# tile programs with SRAM sizes 16 KiB-1 MiB x 2-8) nor in 1,900 random chips (docs/reliability.md).
SRAM_TRAFFIC_TOLERANCE = 0.0
# More SRAM may make a run this much slower: measured after the cap, worst +0.16% in 1,600 simulated
# hypothesis examples (a scheduling anomaly: a tensor moved on chip reorders transfers); before it,
# +3.1% (the tiling case above).
SRAM_LATENCY_TOLERANCE = 0.01

RESIDUAL_NET = """\
name: robust_residual
input: {channels: 8, size: [16, 16]}
layers:
  - {name: c1, op: conv2d, out_channels: 16, kernel: 3, padding: 1, activation: relu}
  - {name: c2, op: conv2d, out_channels: 16, kernel: 3, padding: 1}
  - {name: add, op: add, inputs: [c1, c2]}
  - {name: p, op: maxpool, kernel: 2, stride: 2}
  - {name: c3, op: conv2d, out_channels: 32, kernel: 1}
"""


@pytest.fixture(scope="module")
def networks(tmp_path_factory) -> list[tuple[str, tuple | None]]:
    """(network, input) pairs: conv_micro at two sizes, a conv chain, a residual block with pooling."""
    folder = tmp_path_factory.mktemp("monotone")
    (folder / "tiny.yaml").write_text(TINY_NET)
    (folder / "residual.yaml").write_text(RESIDUAL_NET)
    return [("conv_micro", None), ("conv_micro", (16, 16)), (str(folder / "tiny.yaml"), None),
            (str(folder / "residual.yaml"), None)]


def chips():
    return small_chips(memory_knobs=True)


def _more(raw: dict, resource: str) -> dict:
    """`raw` with more of one resource."""
    more = copy.deepcopy(raw)
    m, c = more["memory"], more["compute"]
    if resource == "dram_channels":
        m["dram"]["channels"] *= 2
    elif resource == "dram_channel_width":
        m["dram"]["channel_width"] = "32 bit"
    elif resource == "dram_data_rate":
        m["dram"]["data_rate"] = "3200 MT/s"
    elif resource == "interconnect_width":
        m["interconnect"]["width"] = f"{int(m['interconnect']['width'].split()[0]) * 2} B"
    elif resource == "vector_units":
        c["vector"]["units"] += 1
    elif resource == "sram":
        m["sram"]["size"] = f"{int(m['sram']['size'].split()[0]) * 4} KiB"
    else:
        raise ValueError(resource)
    return more


def _dram_bytes(result) -> int:
    return result.dram_read_bytes + result.dram_write_bytes


@PROPERTY
@given(chip=chips(), which=st.integers(0, 3))
def test_more_sram_moves_no_more_dram_bytes_beyond_the_tolerance(networks, chip, which):
    net, size = networks[which]
    base = simulator.simulate(chip, net, input=size)
    more = simulator.simulate(_more(chip, "sram"), net, input=size)
    assert more.spec_hash != base.spec_hash
    assert _dram_bytes(more) <= _dram_bytes(base) * (1 + SRAM_TRAFFIC_TOLERANCE)
    assert more.cycles <= base.cycles * (1 + SRAM_LATENCY_TOLERANCE)


@pytest.mark.parametrize("resource", ["dram_channels", "dram_channel_width", "dram_data_rate", "interconnect_width",
                                      "vector_units"])
def test_more_of_a_resource_is_never_slower_beyond_the_tolerance(networks, resource):
    @PROPERTY
    @given(chip=chips(), which=st.integers(0, 3))
    def check(chip, which):
        net, size = networks[which]
        base = simulator.simulate(chip, net, input=size)
        more = simulator.simulate(_more(chip, resource), net, input=size)
        assert more.spec_hash != base.spec_hash          # the change took effect
        assert more.cycles <= base.cycles * (1 + LATENCY_TOLERANCE), \
            f"{resource}: {base.cycles} -> {more.cycles} cycles ({more.cycles / base.cycles - 1:+.4%})"
    check()


def test_the_tolerance_is_far_below_a_real_loss():
    """The property can fail: the same comparison the other way round (less DRAM bandwidth on a
    memory-bound run) is far outside the tolerance."""
    chip = copy.deepcopy(ARCH)       # two 16x16 arrays on a 64 B interconnect: memory-bound
    chip["compute"]["arrays"] = 2
    chip["compute"]["array"]["dataflow"] = "output_stationary"
    chip["memory"]["sram"]["size"] = "64 KiB"
    chip["memory"]["interconnect"]["width"] = "64 B"
    chip["memory"]["dram"].update(channels=2, data_rate="2400 MT/s")
    fewer = copy.deepcopy(chip)
    fewer["memory"]["dram"]["channels"] = 1
    base = simulator.simulate(chip, "conv_micro")
    worse = simulator.simulate(fewer, "conv_micro")
    assert worse.cycles > base.cycles * (1 + 2 * LATENCY_TOLERANCE)
    # and the traffic tolerance: the same chip with 4 MiB of SRAM moves a fraction of the bytes
    big = copy.deepcopy(chip)
    big["memory"]["sram"]["size"] = "4 MiB"
    assert _dram_bytes(base) > _dram_bytes(simulator.simulate(big, "conv_micro")) * (1 + 2 * SRAM_TRAFFIC_TOLERANCE)


def _chip(arrays, rows, cols, dataflow, units, sram_kib, channels, width, model, rate="2400 MT/s"):
    raw = copy.deepcopy(ARCH)
    raw["compute"]["arrays"] = arrays
    raw["compute"]["array"].update(rows=rows, cols=cols, dataflow=dataflow)
    raw["compute"]["vector"]["units"] = units
    raw["memory"]["sram"]["size"] = f"{sram_kib} KiB"
    raw["memory"]["interconnect"]["width"] = f"{width} B"
    raw["memory"]["dram"].update(channels=channels, model=model, data_rate=rate)
    return raw


def test_the_recorded_counterexamples_still_hold(networks):
    """The worst cases docs/reliability.md records are real and within the tolerances. If one stops
    being a counterexample (a scheduler or tiling change), update the docs and the tolerances."""
    tiny, _ = networks[2]
    slow = _chip(2, 16, 16, "weight_stationary", 2, 128, 2, 16, "cycle")
    base = simulator.simulate(slow, tiny)
    faster_dram = simulator.simulate(_more(slow, "dram_data_rate"), tiny)
    assert base.cycles < faster_dram.cycles <= base.cycles * (1 + LATENCY_TOLERANCE)     # +5.3%

    # the former +17.4% DRAM-bytes case (a tiling chosen by a marginal estimate): now fewer bytes and cycles
    chip = _chip(1, 16, 16, "input_stationary", 2, 128, 1, 16, "bandwidth")
    base = simulator.simulate(chip, "conv_micro", input=(16, 16))
    more = simulator.simulate(_more(chip, "sram"), "conv_micro", input=(16, 16))
    assert _dram_bytes(more) < _dram_bytes(base)                  # 25,524,394 -> 24,909,738 B
    assert more.cycles < base.cycles                              # 5,079,400 -> 5,064,931
