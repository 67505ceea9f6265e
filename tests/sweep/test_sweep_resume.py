"""A sweep killed with SIGKILL and resumed ends with every point exactly once, equal to an uninterrupted run."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time

from simulator.sweep.plan import make_plan
from simulator.sweep.execute import run_sweep

# `npusim sweep` alone (simulator.cli.sweep.main), with each point slowed down so that the kill lands mid-sweep.
DRIVER = """\
import time
from simulator.sweep import execute as sweep_run
real = sweep_run.run_point
def slow(*args):
    time.sleep(0.15)
    return real(*args)
sweep_run.run_point = slow
from simulator.cli.sweep import main
main()
"""
GRID = ["--grid", "memory.sram.size=16KiB..512KiB*2", "--grid", "memory.interconnect.width=8B,16B,32B",
        "--grid", "compute.array.buffers.weights.size=1B,16KiB"]


def _rows(path):
    with open(path, newline="") as fh:
        return [{k: v for k, v in row.items() if k != "wall_s"} for row in csv.DictReader(fh)]


def _data_lines(path) -> int:
    return max(0, path.read_text().count("\n") - 1) if path.exists() else 0


def test_kill_and_resume(tiny_net, tmp_path):
    """SIGKILL after some rows, a torn last line, then --resume on a process pool: the uninterrupted result."""
    plan = make_plan("teaching", tiny_net, {"memory.sram.size": "16KiB..512KiB*2",
                                            "memory.interconnect.width": "8B,16B,32B",
                                            "compute.array.buffers.weights.size": "1B,16KiB"})
    reference = tmp_path / "reference.csv"
    run_sweep(plan, out=reference, workers=1)
    assert len(_rows(reference)) == 36

    out = tmp_path / "killed.csv"
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    args = ["teaching", tiny_net, *GRID, "--out", str(out)]
    proc = subprocess.Popen([sys.executable, str(driver), *args, "--workers", "1"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _data_lines(out) < 6 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    written = _data_lines(out)
    assert 6 <= written < 36
    with open(out, "a") as fh:                  # a row torn in the middle, as a kill during a write leaves it
        fh.write("35,512KiB,32B,16KiB,ok,,123.4")

    done = subprocess.run([sys.executable, "-c", "from simulator.cli.sweep import main; main()", *args, "--resume",
                           "--workers", "2"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"{written} from the file" in done.stdout
    rows = _rows(out)
    assert [int(r["point"]) for r in rows] == list(range(36))
    assert rows == _rows(reference)
    assert sum(r["status"] == "error" for r in rows) == 18       # the 1B weight buffers: recorded, not fatal
