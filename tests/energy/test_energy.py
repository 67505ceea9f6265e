"""The energy model: additivity, leakage-only idling, DRAM proportionality, and a hand-computed
ACT-RD-PRE from datasheet currents."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import simulator
from simulator.energy.dram_power import (DramCommands, command_energy, commands_from_bytes, dram_energy_j)
from simulator.energy.model import COMPONENTS, energy_table, estimate_energy
from simulator.errors import SpecError
from simulator.spec import load_arch

# Micron 8Gb x8 DDR4-3200 as DRAMSim3 configs/DDR4_8Gb_x8_3200.ini [power] gives it (copied here
# so the test needs nothing outside the repository): VDD 1.2 V; IDD0 57, IDD2N 37, IDD3N 52,
# IDD4R 168 mA; tCK 0.625 ns, tRAS 52 nCK, tRC 74 nCK, BL8 (4 nCK) on an x8 device.
VDD, IDD0, IDD2N, IDD3N, IDD4R = 1.2, 57.0, 37.0, 52.0, 168.0
TCK_NS, TRAS, TRC, BURST_NCK = 0.625, 52, 74, 4


@pytest.fixture(scope="module")
def run():
    """One small run on the teaching chip (bandwidth DRAM model)."""
    return simulator.simulate("teaching", "conv_micro")


def test_energy_adds_up_over_components_and_layers(run):
    """The total equals the sum of the components, and each component equals the sum over layers."""
    e = run.energy
    assert e["energy_j"] == pytest.approx(sum(e["energy_by_component_j"].values()), rel=1e-12)
    for k in COMPONENTS:
        per_layer = sum(row["energy_by_component_j"][k] for row in e["by_layer"])
        assert per_layer == pytest.approx(e["energy_by_component_j"][k], rel=1e-9, abs=1e-18)
    assert sum(row["energy_j"] for row in e["by_layer"]) == pytest.approx(e["energy_j"], rel=1e-9)
    assert e["energy_j"] > 0 and e["power_w"] == pytest.approx(e["energy_j"] / run.latency_s)
    assert e["fps_per_watt"] == pytest.approx(run.fps / e["power_w"])


def test_result_json_carries_the_energy_keys(run):
    """to_dict() has energy_j, power_w, fps_per_watt and energy_by_component_j."""
    d = run.to_dict()
    assert d["energy_j"] == run.energy_j and d["power_w"] == run.power_w
    assert d["fps_per_watt"] == run.fps_per_watt and set(d["energy_by_component_j"]) == set(COMPONENTS)


def test_zero_activity_costs_only_leakage_times_time(run):
    """A program with no tiles: every dynamic component is zero; static = leakage power x time."""
    spec = load_arch("teaching")
    net = simulator.load_network("conv_micro")
    from simulator.mapping.program import build_program
    mapped = build_program(spec, net)
    p = mapped.program
    empty = p._replace(tile_macs=np.zeros_like(p.tile_macs), xfer_bytes=np.zeros_like(p.xfer_bytes),
                       tile_compute=np.zeros_like(p.tile_compute))
    mapped0 = dataclasses.replace(mapped, program=empty)
    latency_s = 1e-3
    e = estimate_energy(spec, mapped0, None, 0, None, latency_s, 0.0, 0.0)
    table = energy_table(spec)
    c = e["energy_by_component_j"]
    dram_bg = command_energy(spec.memory.dram).background_w * spec.memory.dram.channels * latency_s
    t = spec.memory.dram.resolved_timing
    refreshes = spec.memory.dram.channels * int(latency_s * 1e12 // (t.trefi * t.tck_ps))
    assert c["static"] == pytest.approx(table.static_w * latency_s)
    assert c["dram_background"] == pytest.approx(dram_bg)
    assert c["dram_refresh"] == pytest.approx(refreshes * command_energy(spec.memory.dram).refresh_pj * 1e-12)
    for k in ("mac", "vector", "local_buffers", "sram", "interconnect", "dram_act_pre", "dram_read", "dram_write"):
        assert c[k] == 0.0, k


def test_doubling_dram_traffic_doubles_dram_command_energy():
    """With time fixed, twice the DRAM bytes give twice the RD, WR and ACT/PRE energy."""
    d = load_arch("tpu_v1").memory.dram
    ce = command_energy(d)
    one = dram_energy_j(d, ce, commands_from_bytes(d, ce, 64 * 2**20, 16 * 2**20, 1e-3, None), 1e-3)
    two = dram_energy_j(d, ce, commands_from_bytes(d, ce, 128 * 2**20, 32 * 2**20, 1e-3, None), 1e-3)
    for k in ("dram_read", "dram_write", "dram_act_pre"):
        assert two[k] == pytest.approx(2 * one[k], rel=1e-6), k
    assert two["dram_background"] == one["dram_background"] and two["dram_refresh"] == one["dram_refresh"]


def test_doubling_dram_traffic_in_a_run_doubles_dram_read_energy():
    """Batch 2 streams the weights twice as often under the bandwidth model: DRAM read energy scales with bytes."""
    a = simulator.simulate("teaching", "conv_micro")
    b = simulator.simulate("teaching", "conv_micro", batch=2)
    ratio_bytes = b.dram_read_bytes / a.dram_read_bytes
    ratio_e = b.energy_by_component_j["dram_read"] / a.energy_by_component_j["dram_read"]
    assert ratio_e == pytest.approx(ratio_bytes, rel=0.01)


def test_act_rd_pre_reproduces_a_hand_computation_from_datasheet_currents():
    """DDR4-3200 x64 (8 x8 devices): one ACT-RD-PRE costs the TN-40-07 sum computed by hand."""
    spec = load_arch("tpu_v1")
    d = spec.memory.dram
    ce = command_energy(d)
    devices = 64 // 8
    tras, trc = TRAS * TCK_NS, TRC * TCK_NS
    act_pre = VDD * (IDD0 * trc - (IDD3N * tras + IDD2N * (trc - tras))) * devices          # pJ
    rd = VDD * (IDD4R - IDD3N) * BURST_NCK * TCK_NS * devices                             # pJ per 64 B burst
    assert act_pre == pytest.approx(4200.0, rel=1e-9)     # 1.2 x (57 x 46.25 - 52 x 32.5 - 37 x 13.75) x 8
    cmds = DramCommands(acts=1, reads=1, writes=0, refreshes=0, read_bytes=64, write_bytes=0, counted_by="hand")
    got = dram_energy_j(d, ce, cmds, 0.0)
    assert got["dram_act_pre"] == pytest.approx(act_pre * 1e-12, rel=1e-9)
    assert got["dram_read"] == pytest.approx(rd * 1e-12, rel=1e-9)
    # 1.2 V x (168 - 52) mA x 2.5 ns x 8 devices = 2784 pJ for the RD burst
    assert got["dram_act_pre"] + got["dram_read"] == pytest.approx((4200.0 + 2784.0) * 1e-12, rel=1e-9)


def test_cycle_model_counts_drive_dram_energy():
    """Under the cycle-level DRAM, ACT/PRE energy is the controller's ACT count x the pair energy."""
    r = simulator.simulate("teaching", "conv_micro", overrides=("memory.dram.model=cycle",))
    e = r.energy
    assert e["dram_commands"]["counted_by"] == "cycle model"
    acts = sum(ch["row_misses"] + ch["row_conflicts"] for ch in r.memory["dram"]["channels"])
    assert e["dram_commands"]["acts"] >= 1 and acts >= 1
    assert e["energy_by_component_j"]["dram_act_pre"] == pytest.approx(
        e["dram_commands"]["acts"] * e["table"]["dram_act_pre_pj"] * 1e-12)


def test_bad_energy_key_is_a_spec_error():
    """A negative power limit is refused naming energy.power_limit_w."""
    with pytest.raises(SpecError) as exc:
        load_arch("teaching", overrides=("energy.power_limit_w=-3",))
    assert "energy.power_limit_w" in str(exc.value)


def test_node_scaling_is_the_stated_rule():
    """At 45 nm / 0.9 V the MAC costs Horowitz's int8 mult + int32 add (0.2 + 0.1 pJ); at 16 nm, 0.8 V x16/45 x (0.8/0.9)^2."""
    base = energy_table(load_arch("teaching", overrides=("energy.process_nm=45", "energy.core_voltage_v=0.9")))
    small = energy_table(load_arch("teaching", overrides=("energy.process_nm=16", "energy.core_voltage_v=0.8")))
    assert base.mac_pj == pytest.approx(0.3)
    assert small.mac_pj == pytest.approx(0.3 * 16 / 45 * (0.8 / 0.9) ** 2)
