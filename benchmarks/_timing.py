"""Shared helpers for the benchmark scripts: a staged npusim run, machine facts, statistics.

`staged_run` calls `simulator.simulate` and times its stages through the progress callback: load
(arch + network), map (`build_program`), engine (the memory tables and `run_program`), wrap (the
Result, its memory report and the per-tile timeline).
"""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("load", "map", "engine", "wrap")


def staged_run(arch, network, input=None, batch=1, ideal_memory=False, overrides=()):
    """One simulate() with per-stage wall times (from its progress callback).

    Returns (Result, {stage: seconds}); stages are STAGES ("engine" is simulate()'s "simulate").
    """
    from simulator import simulate

    marks = []
    t0 = time.perf_counter()
    # 'compile' (a cold Numba cache) is announced before 'simulate': its time counts as the engine's
    result = simulate(arch, network, input=input, batch=batch, ideal_memory=ideal_memory, overrides=overrides,
                      progress=lambda stage: None if stage == "compile" else marks.append(time.perf_counter()))
    marks.append(time.perf_counter())
    if len(marks) != len(STAGES) + 1 or abs(marks[0] - t0) > 0.01:
        raise RuntimeError("simulate() no longer reports the stages _timing.STAGES expects")
    return result, {name: marks[k + 1] - marks[k] for k, name in enumerate(STAGES)}


def median(xs):
    return statistics.median(xs)


def best_median(xs, fmt="{:.2f}"):
    """'best / median' of a list of numbers."""
    return f"{fmt.format(min(xs))} / {fmt.format(median(xs))}"


def machine() -> dict:
    """nproc, CPU model, memory, Python and library versions, load average, date."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = int(line.split()[1]) / 2**20
    except OSError:
        pass
    info = {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem_gb, 1) if mem_gb else None,
            "python": platform.python_version(), "platform": platform.platform(),
            "loadavg": os.getloadavg(), "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        import numba
        import numpy
        info["numba"], info["numpy"] = numba.__version__, numpy.__version__
    except ImportError:
        pass
    try:
        info["git"] = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                     capture_output=True, text=True).stdout.strip()
        info["git_dirty"] = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                                                capture_output=True, text=True).stdout.strip())
    except OSError:
        pass
    return info


def machine_markdown(m: dict) -> str:
    la = ", ".join(f"{x:.2f}" for x in m["loadavg"])
    dirty = " (plus uncommitted changes)" if m.get("git_dirty", True) else ""
    return (f"- date: {m['date']}; commit {m.get('git', '?')}{dirty}\n"
            f"- CPU: {m['cpu']}, nproc = {m['nproc']}, {m['mem_gib']} GiB RAM\n"
            f"- Python {m['python']}, numba {m.get('numba', '?')}, numpy {m.get('numpy', '?')}\n"
            f"- load average when the run started: {la}")


def python() -> str:
    return sys.executable
