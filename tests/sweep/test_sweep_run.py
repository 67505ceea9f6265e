"""Running a sweep in this process: rows equal simulate(), failing points are rows, the results file."""
from __future__ import annotations

import csv
import sys

import pytest

import simulator
from simulator.sweep import execute as sweep_run
from simulator.errors import SpecError
from simulator.sweep import best_points, pareto_front, sweep
from simulator.sweep.plan import make_plan
from simulator.sweep.execute import columns, run_sweep

GRID = {"memory.sram.size": "16KiB..64KiB*2", "memory.interconnect.width": "8B,32B"}


def _plan(net, grid=GRID, **kw):
    return make_plan("teaching", net, grid, **kw)


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rows]


def test_rows_equal_simulate(tiny_net):
    """Each row carries the point's keys and exactly the figures of simulate() for its overrides."""
    outcome = run_sweep(_plan(tiny_net), workers=1)
    assert outcome.complete and len(outcome.rows) == 6 and not outcome.failed
    row = outcome.rows[3]
    assert (row["point"], row["memory.sram.size"], row["memory.interconnect.width"]) == (3, "32KiB", "32B")
    r = simulator.simulate("teaching", tiny_net, overrides={"memory.sram.size": "32KiB",
                                                           "memory.interconnect.width": "32B"})
    assert row["status"] == "ok" and row["error"] == ""
    for key in ("fps", "latency_ms", "cycles", "mac_utilization", "effective_tops", "dram_read_bytes",
                "dram_write_bytes", "dram_bandwidth_utilization", "sram_peak_bytes", "busy_cycles",
                "peak_tops", "spec_hash"):
        assert row[key] == getattr(r, key), key
    for cause, cycles in r.stall_cycles.items():
        assert row[f"stall_{cause}"] == cycles
    assert row["sram_bytes"] == 32 * 1024 and row["dram_pins"] == 16
    assert list(row) == list(columns(["memory.sram.size", "memory.interconnect.width"]))


def test_failing_points_do_not_stop_the_sweep(tiny_net, monkeypatch):
    """An unmappable point (MappingError) and an invalid value (SpecError, never dispatched) are error rows."""
    dispatched = []
    real = sweep_run.run_point

    def spy(spec, network, ideal_memory):
        dispatched.append(spec.compute.array.buffers.weights.size_bytes)
        return real(spec, network, ideal_memory)

    monkeypatch.setattr(sweep_run, "run_point", spy)
    plan = _plan(tiny_net, {"compute.array.buffers.weights.size": "1B,-4KiB,16KiB", "compute.arrays": "1,2"})
    rows = run_sweep(plan, workers=1).rows
    assert [r["status"] for r in rows] == ["error", "error", "error", "error", "ok", "ok"]
    assert all(r["error"].startswith("MappingError: at 'c1'") for r in rows[:2])
    assert all(r["error"].startswith("SpecError: at 'compute.array.buffers.weights.size'") for r in rows[2:4])
    assert "greater than 0" in rows[2]["error"]
    assert sorted(set(dispatched)) == [1, 16 * 1024]          # the invalid value never reached a worker
    assert rows[0]["peak_tops"] == simulator.load_arch("teaching").peak_tops and rows[0]["fps"] is None
    assert rows[2]["spec_hash"] is None and rows[2]["peak_tops"] is None


def test_csv_file_and_dataframe(tiny_net, tmp_path):
    """The CSV holds one row per point sorted by point; sweep() returns the same rows as a DataFrame."""
    pytest.importorskip("pandas")
    out = tmp_path / "res.csv"
    df = sweep("teaching", tiny_net, GRID, workers=1, out=out)
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["point"]) for r in rows] == list(range(6))
    assert list(rows[0]) == list(df.columns)
    assert df["point"].tolist() == list(range(6)) and (df["status"] == "ok").all()
    assert float(rows[5]["fps"]) == df["fps"][5] and int(rows[5]["cycles"]) == df["cycles"][5]
    assert df["memory.sram.size"].tolist() == ["16KiB", "16KiB", "32KiB", "32KiB", "64KiB", "64KiB"]


def test_sweep_without_pandas(tiny_net, monkeypatch):
    """sweep() needs pandas for its DataFrame and says so before running anything."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        sweep("teaching", tiny_net, GRID, workers=1)


def test_existing_file_needs_resume_or_overwrite(tiny_net, tmp_path):
    """An existing results file is never silently replaced; --resume runs nothing when all is done."""
    out = tmp_path / "res.csv"
    first = run_sweep(_plan(tiny_net), out=out, workers=1)
    with pytest.raises(SpecError, match="--resume"):
        run_sweep(_plan(tiny_net), out=out, workers=1)
    again = run_sweep(_plan(tiny_net), out=out, workers=1, resume=True)
    assert again.ran == 0 and again.resumed == 6 and _strip(again.rows) == _strip(first.rows)
    fresh = run_sweep(_plan(tiny_net), out=out, workers=1, overwrite=True)
    assert fresh.ran == 6


def test_resume_tolerates_a_cut_last_line(tiny_net, tmp_path):
    """A line cut by a kill is dropped and its point run again; lost rows are run, none twice."""
    out = tmp_path / "res.csv"
    full = run_sweep(_plan(tiny_net), out=out, workers=1)
    lines = out.read_text().splitlines(keepends=True)
    # keep the header, points 0, 2 and 3 (completion order is arbitrary), and half of point 4's line
    out.write_text(lines[0] + lines[1] + lines[3] + lines[4] + lines[5][:20])
    resumed = run_sweep(_plan(tiny_net), out=out, workers=1, resume=True)
    assert (resumed.resumed, resumed.ran) == (3, 3)
    assert _strip(resumed.rows) == _strip(full.rows)
    with open(out, newline="") as fh:
        assert [int(r["point"]) for r in csv.DictReader(fh)] == list(range(6))


def test_resume_refuses_another_sweep(tiny_net, tmp_path):
    """Resuming into a file written by a sweep with other keys or other values is refused."""
    out = tmp_path / "res.csv"
    run_sweep(_plan(tiny_net), out=out, workers=1)
    with pytest.raises(SpecError, match="other keys"):
        run_sweep(_plan(tiny_net, {"compute.arrays": "1,2"}), out=out, workers=1, resume=True)
    with pytest.raises(SpecError, match="different sweep"):
        run_sweep(_plan(tiny_net, GRID, input=(8, 8)), out=out, workers=1, resume=True)


def test_parquet(tiny_net, tmp_path):
    """A .parquet target is journaled as CSV, then written typed when the sweep completes."""
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "res.parquet"
    plan = _plan(tiny_net, {"compute.arrays": "1,2", "compute.array.buffers.weights.size": "1B,16KiB"})
    outcome = run_sweep(plan, out=out, workers=1)
    assert not (tmp_path / "res.parquet.journal.csv").exists()
    table = pq.read_table(out).to_pylist()
    assert _strip(table) == _strip(outcome.rows)
    assert table[0]["compute.arrays"] == 1 and table[0]["status"] == "error" and table[1]["cycles"] > 0
    again = run_sweep(plan, out=out, workers=1, resume=True)
    assert again.ran == 0 and _strip(again.rows) == _strip(outcome.rows)


def test_best_points_and_pareto_front():
    """Best per metric; the Pareto front keeps the points that no cheaper point beats on fps."""
    def row(i, sram, fps, tops=1.0, util=0.5, ok=True):
        return {"point": i, "status": "ok" if ok else "error", "sram_bytes": sram, "fps": fps if ok else None,
                "peak_tops": tops, "mac_utilization": util if ok else None, "dram_pins": 16}

    rows = [row(0, 4, 10), row(1, 2, 10), row(2, 8, 30, tops=4.0), row(3, 16, 25, util=0.9),
            row(4, 1, 5), row(5, 8, 20), row(6, 1, 99, ok=False)]
    assert [r["point"] for r in pareto_front(rows, "sram_bytes")] == [4, 1, 2]
    best = best_points(rows)
    assert best["fps"]["point"] == 2 and best["mac_utilization"]["point"] == 3
    assert best["fps_per_tops"]["point"] == 3                   # 25 fps on 1 TOPS beats 30 on 4
