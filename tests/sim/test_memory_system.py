"""The memory path inside whole runs: cycle-level DRAM, banked SRAM, arbitrated interconnect."""
import pytest

from simulator.engine.constants import CHUNK_BYTES
from simulator.mapping.placement import DRAM
from simulator.pipeline import simulate

CAUSES = ("dependency", "weights", "inputs", "outputs", "setup", "idle")
CYCLE = {"memory.dram.model": "cycle"}


@pytest.fixture(scope="module")
def cycle_run():
    return simulate("teaching", "conv_micro", overrides=CYCLE)


def test_cycle_dram_run_conserves_unit_cycles(cycle_run):
    """With the cycle-level DRAM every unit's busy + stalls + idle still equals the makespan."""
    for unit in cycle_run.per_array:
        assert unit["busy"] + sum(unit[c] for c in CAUSES) == cycle_run.cycles


def test_cycle_dram_moves_every_requested_byte_in_whole_bursts(cycle_run):
    """DRAM channel bytes = every DRAM chunk rounded up to whole bursts (>= what tiles asked)."""
    t = cycle_run.timeline
    burst = 32                                   # x16 LPDDR4 channel, BL16
    moved = 0
    for nbytes, mem in zip(t.xfer_bytes, t.xfer_mem):
        if mem == DRAM:
            full, rest = divmod(int(nbytes), CHUNK_BYTES)
            moved += full * CHUNK_BYTES + -(-rest // burst) * burst
    channels = cycle_run.memory["dram"]["channels"]
    assert sum(ch["bytes"] for ch in channels) == moved
    assert moved >= cycle_run.dram_read_bytes + cycle_run.dram_write_bytes


def test_cycle_dram_refreshes_every_trefi(cycle_run):
    """Refreshes issued ~= elapsed time / tREFI (LPDDR4-3200: 6247 nCK of 625 ps)."""
    elapsed_ns = cycle_run.latency_ms * 1e6
    expected = elapsed_ns / (6247 * 0.625)
    refreshes = cycle_run.memory["dram"]["channels"][0]["refreshes"]
    assert abs(refreshes - expected) <= 2


def test_cycle_dram_is_not_faster_than_its_peak(cycle_run):
    """Cycles stay above the DRAM roofline with every burst timed."""
    per_cycle = cycle_run.dram_peak_bytes_per_s / cycle_run.clock_hz
    assert cycle_run.cycles >= (cycle_run.dram_read_bytes + cycle_run.dram_write_bytes) / per_cycle
    assert 0 < cycle_run.memory["dram"]["channels"][0]["row_hit_rate"] <= 1


def test_narrow_interconnect_slows_and_is_blamed():
    """An 8 B/cycle interconnect makes the run slower and takes the blame for operand stalls."""
    wide = simulate("teaching", "conv_micro", overrides={"memory.interconnect.width": "64 B"})
    narrow = simulate("teaching", "conv_micro", overrides={"memory.interconnect.width": "4 B"})
    assert narrow.cycles > wide.cycles
    held = narrow.memory["stall_by_resource"]
    assert held["interconnect"] == max(held.values()) > 0


def test_arbitration_policies_conserve_and_differ_in_who_waits():
    """Round-robin and fixed priority both account every cycle; fixed priority favours unit 0."""
    runs = {p: simulate("inferx_x1", "yolov3", input=(128, 128),
                        overrides={"memory.interconnect.arbitration": p, "memory.interconnect.width": "16 B"})
            for p in ("round_robin", "fixed_priority")}
    for r in runs.values():
        for unit in r.per_array:
            assert unit["busy"] + sum(unit[c] for c in CAUSES) == r.cycles
    waits = {p: r.memory["interconnect"]["wait_cycles_by_unit"] for p, r in runs.items()}
    fixed, rr = waits["fixed_priority"], waits["round_robin"]
    assert fixed["array0"] < rr["array0"]


def test_sram_bank_time_splits_over_banks():
    """16 banks of 32 B/cycle spend ~16x the bank-cycles of one 512 B/cycle bank on the same bytes."""
    one = simulate("inferx_x1", "yolov3", input=(128, 128),
                   overrides={"memory.sram.banks": 1, "memory.sram.bank_width": "512 B"})
    many = simulate("inferx_x1", "yolov3", input=(128, 128),
                    overrides={"memory.sram.banks": 16, "memory.sram.bank_width": "32 B"})
    ratio = many.memory["sram"]["bank_busy_cycles"] / one.memory["sram"]["bank_busy_cycles"]
    assert 15 <= ratio <= 16          # ceil() per bank share rounds a little
    assert one.memory["sram"]["bank_utilization"] == pytest.approx(many.memory["sram"]["bank_utilization"], rel=0.1)


def test_p99_latency_from_the_histogram_matches_the_request_latencies():
    """The channel's p99 (from its per-nCK histogram) equals the 99th percentile of a stream's latencies."""
    import numpy as np

    import simulator
    from simulator.resources.dram import (channel_stats, dram_state_new, dram_tables, histogram_percentile,
                                          simulate_requests)
    tb = dram_tables(simulator.load_arch("teaching"))
    rng = np.random.default_rng(7)
    n = 3000
    arrival = np.sort(rng.integers(0, n * 20 * tb.tck_ps, n))
    addr = rng.integers(0, 1 << 24, n) // tb.burst_bytes * tb.burst_bytes
    st = dram_state_new(tb)
    done = simulate_requests(tb, arrival, addr, np.zeros(n, np.int64), state=st)
    latency_cycles = (done - arrival) // tb.tck_ps
    hist = np.bincount(latency_cycles)
    assert st.lat_hist[0].sum() == n
    want = histogram_percentile(hist, 0.99)
    assert histogram_percentile(st.lat_hist[0], 0.99) == want
    assert channel_stats(tb, st)[0]["latency_p99_ps"] == want * tb.tck_ps
    assert sorted(latency_cycles)[int(np.ceil(0.99 * n)) - 1] == want


def test_run_reports_p99_latency(cycle_run):
    """A cycle-level run reports average <= p99 <= max request latency per channel."""
    ch = cycle_run.memory["dram"]["channels"][0]
    assert 0 < ch["avg_latency_ns"] <= ch["p99_latency_ns"] <= ch["max_latency_ns"]
