"""The cycle-level DRAM against DRAMSim3 on its reference streams, and `npusim dram replay`.

DRAMSim3's figures are in tests/fixtures/dramsim3/dramsim3_runs.csv (copied from
../shared/refs/dramsim3_runs.md, DRAMSim3 commit 2981759). The default controller is not
DRAMSim3's: one FR-FCFS queue per channel instead of a read queue, a write buffer drained in
batches and 8-entry command queues per bank; where that structure decides the figure, the gap is
listed below with its cause. The `dramsim3` controller preset reproduces that structure
(engine/dram_cmdq.py) and is checked within 5% on every stream (docs/validation.md has the table).
"""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.resources.dram import preset_spec
from simulator.resources.dram_replay import DRAMSIM3_MAPPING, read_trace, replay, synthetic_stream
from simulator.errors import SpecError

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "dramsim3" / "dramsim3_runs.csv"
REFS = list(csv.DictReader(ln for ln in FIXTURE.read_text().splitlines() if not ln.startswith("#")))
# Unloaded read latency, DRAM cycles, acceptance to data end: row miss, hit, conflict, hit
# (../shared/refs/dramsim3_runs.md, last paragraph)
UNLOADED = {"DDR4-3200": [49, 27, 71, 27], "LPDDR4-2400": [41, 26, 56, 26]}
# Saturated streams whose finish the queue structure decides (more than 5% off):
# DDR4's sequential streams need requests of several bank groups in the window to beat tCCD_L,
# and a 4:1 read/write mix loses bus turnarounds that DRAMSim3's batched write drain avoids.
STRUCTURE_BOUND_FINISH = {("DDR4-3200", "a_seq_rd"), ("DDR4-3200", "b_seq_wr"), ("DDR4-3200", "c_rw_4to1")}


def _run(ref):
    spec = preset_spec(ref["grade"], address_mapping=DRAMSIM3_MAPPING)
    return replay(spec, *synthetic_stream(spec, ref["stream"], ref["injection"]))


def _within(got, want, tol=0.05):
    return abs(got - want) <= tol * want


@pytest.mark.parametrize("grade", sorted(UNLOADED))
def test_unloaded_latencies_equal_dramsim3(grade, tmp_path):
    """One request at a time: a row miss, hit, conflict and hit take DRAMSim3's cycles exactly."""
    spec = preset_spec(grade, address_mapping=DRAMSIM3_MAPPING)
    row = synthetic_stream(spec, "e_row_miss", "fix")[0][1]      # address of bank 0, row 1
    trace = tmp_path / "t.trace"
    trace.write_text(f"0x0 READ 0\n0x40 READ 1000\n{row:#x} READ 2000\n{row + 64:#x} READ 3000\n")
    got = replay(spec, *read_trace(trace))
    assert got["row_misses"] == 1 and got["row_hits"] == 2 and got["row_conflicts"] == 1
    assert got["max_read_latency_cycles"] == max(UNLOADED[grade])
    assert got["mean_read_latency_cycles"] == sum(UNLOADED[grade]) / 4


@pytest.mark.parametrize("ref", [r for r in REFS if r["injection"] == "fix"], ids=lambda r: f"{r['grade']}-{r['stream']}")
def test_fixed_rate_streams_within_5_percent_of_dramsim3(ref):
    """Requests offered at a fixed rate: finish, bandwidth, activates and refreshes within 5%; mean
    read latency too, but for DDR4's read/write mix (DRAMSim3 holds writes in a buffer: +12%) and
    ping-pong: arrivals one tRC apart keep any delay until a refresh shifts the phase, and a
    refresh that waits for a fresh row's first column command (DRAMSim3's does not) leaves no
    one-request backlog behind it: 22-24% lower (docs/dram_model.md, "All-bank refresh")."""
    got = _run(ref)
    assert _within(got["finish_cycles"], int(ref["finish_cycles"]))
    assert _within(got["bandwidth_gbs"], float(ref["bandwidth_gbs"]))
    assert _within(got["activates"], int(ref["activates"]))
    assert _within(got["refreshes"], int(ref["refreshes"]))
    if ref["mean_read_latency_cycles"] != "-" and (ref["grade"], ref["stream"]) != ("DDR4-3200", "c_rw_4to1") \
            and ref["stream"] != "f_pingpong":
        assert _within(got["mean_read_latency_cycles"], float(ref["mean_read_latency_cycles"]))


@pytest.mark.parametrize("ref", [r for r in REFS if r["injection"] == "sat"], ids=lambda r: f"{r['grade']}-{r['stream']}")
def test_saturated_streams_finish_against_dramsim3(ref):
    """Requests offered as fast as accepted: finish within 5% of DRAMSim3's, but where the queue
    structure decides it (STRUCTURE_BOUND_FINISH: slower, by 8-24%). The row-hit cap keeps the
    ping-pong stream from starving one row (without it: 20% faster than DRAMSim3, 3 times fewer ACTs)."""
    got = _run(ref)
    want = int(ref["finish_cycles"])
    if (ref["grade"], ref["stream"]) in STRUCTURE_BOUND_FINISH:
        assert 1.05 * want < got["finish_cycles"] < 1.25 * want
    else:
        assert _within(got["finish_cycles"], want)


def test_replay_command_prints_and_writes_json(tmp_path):
    """`npusim dram replay` prints the figures and writes the JSON keys the docs name."""
    trace = tmp_path / "t.trace"
    trace.write_text("# miss, hit, write\n0x0 READ 0\n0x40 READ 100\n0x80 WRITE 200\n")
    out = tmp_path / "r.json"
    p = subprocess.run([sys.executable, "-m", "simulator", "dram", "replay", str(trace), "--standard", "DDR4-3200",
                        "--json", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "finish" in p.stdout and "activates" in p.stdout
    data = json.loads(out.read_text())
    for key in ("finish_cycles", "bandwidth_gbs", "mean_read_latency_cycles", "p99_read_latency_cycles",
                "activates", "refreshes", "reads", "writes"):
        assert key in data
    assert (data["reads"], data["writes"], data["activates"]) == (2, 1, 1)


@pytest.mark.parametrize("text, key", [("0x0 READ 5\n0x40 RAED 9\n", "line 2"), ("0x0 READ 9\n0x40 READ 5\n", "line 2"),
                                       ("# nothing\n", "trace"), ("zz READ 1\n", "line 1")])
def test_bad_traces_are_refused_naming_the_line(tmp_path, text, key):
    """A malformed, unsorted or empty trace is a SpecError naming the line; the CLI exits 2."""
    trace = tmp_path / "bad.trace"
    trace.write_text(text)
    with pytest.raises(SpecError) as exc:
        read_trace(trace)
    assert exc.value.key == key
    p = subprocess.run([sys.executable, "-m", "simulator", "dram", "replay", str(trace), "--standard", "DDR4"],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p.returncode == 2 and "Traceback" not in p.stderr and key in p.stderr


def test_a_write_buffer_drains_writes_in_batches():
    """DDR4's 4:1 read/write mix, saturated: a 32-entry write buffer (drain at 85%, stop at 50%)
    turns the bus around less often and finishes within 8% of DRAMSim3 (which batches its writes),
    where one shared queue is 23% late."""
    ref = next(r for r in REFS if (r["grade"], r["stream"], r["injection"]) == ("DDR4-3200", "c_rw_4to1", "sat"))
    shared = _run(ref)
    spec = preset_spec("DDR4-3200", address_mapping=DRAMSIM3_MAPPING, controller={"write_buffer": 32})
    buffered = replay(spec, *synthetic_stream(spec, "c_rw_4to1", "sat"))
    want = int(ref["finish_cycles"])
    assert buffered["finish_cycles"] < 0.9 * shared["finish_cycles"]
    assert abs(buffered["finish_cycles"] - want) < 0.08 * want
    assert (buffered["reads"], buffered["writes"]) == (shared["reads"], shared["writes"])


@pytest.mark.parametrize("ref", REFS, ids=lambda r: f"{r['grade']}-{r['stream']}-{r['injection']}")
def test_dramsim3_controller_preset_within_5_percent_on_every_stream(ref):
    """With `controller: {preset: dramsim3}` (transaction queue, write buffer, 8-entry command
    queues per bank, round robin, row-hit limit 4, batched drains, a PRE per bank before a
    refresh) every stream's finish, bandwidth and mean read latency are within 5% of DRAMSim3's
    (measured: within 2.2%; saturated DDR4 sequential reads and the 4:1 mix exactly)."""
    spec = preset_spec(ref["grade"], address_mapping=DRAMSIM3_MAPPING, controller={"preset": "dramsim3"})
    got = replay(spec, *synthetic_stream(spec, ref["stream"], ref["injection"]))
    assert _within(got["finish_cycles"], int(ref["finish_cycles"]))
    assert _within(got["bandwidth_gbs"], float(ref["bandwidth_gbs"]))
    assert _within(got["activates"], int(ref["activates"]))
    assert _within(got["refreshes"], int(ref["refreshes"]))
    if ref["mean_read_latency_cycles"] != "-":
        assert _within(got["mean_read_latency_cycles"], float(ref["mean_read_latency_cycles"]))
