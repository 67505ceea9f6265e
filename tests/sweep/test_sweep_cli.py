"""`npusim sweep`: options and sweep files, the summary tables, plots, user errors with exit code 2."""
from __future__ import annotations

import csv
import sys

import pytest
from click.testing import CliRunner

from simulator.cli import cli
from simulator.cli.sweep import sweep

PNG = b"\x89PNG\r\n\x1a\n"


def _run(*args):
    return CliRunner().invoke(sweep, [str(a) for a in args], catch_exceptions=False)


def test_grid_zip_summary_and_heatmap(tiny_net, tmp_path):
    """--grid x --zip runs every point; the summary has best points and Pareto fronts; two keys: a heatmap."""
    out, png = tmp_path / "res.csv", tmp_path / "heat.png"
    r = _run("teaching", tiny_net, "--grid", "memory.sram.size=16KiB..64KiB*2", "--grid",
             "memory.dram.channels=1,2", "--zip", "compute.array.rows=8,16", "--zip", "compute.array.cols=8,16",
             "--workers", "1", "--out", out, "--plot", png)
    assert r.exit_code == 0, r.output
    assert "12 of 12 points: 12 ok, 0 failed" in r.stdout
    for needle in ("Best point per metric", "fps per peak TOPS", "MAC utilization",
                   "Pareto front: fps against SRAM size", "Pareto front: fps against DRAM pins"):
        assert needle in r.stdout
    assert png.read_bytes().startswith(PNG) and png.stat().st_size > 10_000
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and rows[1]["compute.array.rows"] == "16" and rows[1]["compute.array.cols"] == "16"


def test_sweep_file_with_failures_and_line_plot(tiny_net, tmp_path):
    """A YAML sweep file; failed points are listed with their error; one swept key: a line plot."""
    f = tmp_path / "sweep.yaml"
    f.write_text(f"arch: teaching\nnetwork: {tiny_net}\nset: {{memory.sram.size: 32KiB}}\n"
                 "grid:\n  compute.array.buffers.weights.size: [1B, 1KiB, 4KiB, 16KiB]\nout: res.csv\nworkers: 1\n")
    png = tmp_path / "line.png"
    r = _run(f, "--plot", png, "--plot-metric", "mac_utilization")
    assert r.exit_code == 0, r.output
    assert "4 of 4 points: 3 ok, 1 failed" in r.stdout and "point 0 (compute.array.buffers.weights.size=1B)" in r.stdout
    assert "MappingError" in r.stdout
    assert (tmp_path / "res.csv").exists() and png.read_bytes().startswith(PNG)
    again = _run(f, "--resume")
    assert again.exit_code == 0 and "0 run" not in again.stdout and "nothing left to run" in again.stdout


@pytest.mark.parametrize("args, needle", [
    (["--zip", "compute.array.rows=8,16", "--zip", "compute.array.cols=8"], "equal lengths"),
    (["--grid", "memory.sram.size=4MiB..1MiB*2"], "empty"),
    (["--grid", "memory.sram.sise=1MiB"], "Did you mean 'memory.sram.size'"),
    (["--grid", "compute.arrays=1,2", "--batch", "0"], "batch"),
    (["--grid", "compute.arrays=1,2", "--workers", "0"], "workers"),
    (["--grid", "compute.arrays=1,2", "--plot", "x.png", "--plot-metric", "speed"], "plotted metric"),
    (["--grid", "compute.arrays=1,2", "--plot", "x.png", "--plot-keys", "compute.clock"], "not a swept key"),
])
def test_user_errors_exit_2(tiny_net, tmp_path, monkeypatch, args, needle):
    """A bad option is one 'npusim: error:' paragraph and exit code 2, no traceback."""
    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(sweep, ["teaching", tiny_net, "--workers", "1", *args])
    assert r.exit_code == 2, r.output
    assert r.stderr.startswith("npusim: error:") and needle in r.stderr and "Traceback" not in r.stderr


def test_not_a_sweep_file(tiny_net):
    """One argument must be a sweep file: a chip name or an arch file alone is explained."""
    from simulator.spec.registry import bundled_archs

    for arg in ("teaching", str(bundled_archs()["teaching"])):
        r = CliRunner().invoke(sweep, [arg, "--grid", "compute.arrays=1,2"])
        assert r.exit_code == 2 and "ARCH NETWORK" in r.stderr, r.output


def test_scheduler_without_distributed(tiny_net, monkeypatch):
    """--scheduler without dask.distributed installed names the extra to install; exit code 2."""
    monkeypatch.setitem(sys.modules, "distributed", None)
    r = CliRunner().invoke(sweep, ["teaching", tiny_net, "--grid", "compute.arrays=1,2",
                                   "--scheduler", "tcp://127.0.0.1:8786"])
    assert r.exit_code == 2 and "npusim[cluster]" in r.stderr


def test_registered_as_npusim_sweep(tiny_net):
    """`npusim sweep` is this command."""
    r = CliRunner().invoke(cli, ["sweep", "teaching", tiny_net, "--grid", "compute.arrays=1,2", "--workers", "1"])
    assert r.exit_code == 0 and "2 of 2 points" in r.stdout
