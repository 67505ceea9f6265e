"""Shared helpers for the benchmark scripts: a staged npusim run, machine facts, statistics.

`staged_run` does what `simulator.pipeline.simulate` does, step by step, with a clock around each
step: load (arch + network), map (`build_program`), engine (`run_program`), wrap (`_wrap`, the
Result, plus the per-tile timeline). It must give the same Result as `simulate`; run_all.py checks
the cycle count and also times simulate() itself, so that a drift between the two shows.
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
    """One simulate() with per-stage wall times. Returns (Result, {stage: seconds})."""
    import dataclasses

    from simulator import __version__, pipeline
    from simulator.engine.core import run_program
    from simulator.mapping.program import build_program
    from simulator.pipeline import _wrap
    from simulator.resources.memory import resource_tables
    from simulator.spec import load_arch
    from simulator.workload import load_network

    t0 = time.perf_counter()
    spec = load_arch(arch, overrides)
    net = load_network(network, input_size=input, batch=batch)
    t1 = time.perf_counter()
    mapped = build_program(spec, net, ideal_memory=ideal_memory, source=spec.name)
    t2 = time.perf_counter()
    num, den, lat = resource_tables(spec)
    if ideal_memory:
        num[:], den[:], lat[:] = 1, 0, 0
    p = mapped.program
    times, acc, xfer_done, res_busy, makespan, events = run_program(
        p.tile_unit, p.tile_compute, p.tile_setup, p.tile_region, p.dep_start, p.dep_lo, p.dep_hi,
        p.xfer_start, p.xfer_kind, p.xfer_dir, p.xfer_mem, p.xfer_bytes, p.region_tiles, p.unit_start,
        p.unit_tiles, num, den, lat, spec.compute.array.prefetch_depth)
    t3 = time.perf_counter()
    resolved = spec.resolved_dict()
    result = _wrap(spec, net, mapped, times, acc, res_busy, int(makespan), int(events), ideal_memory,
                   resolved, __version__)
    if hasattr(pipeline, "_timeline"):      # simulate() also attaches the per-tile timeline
        result = dataclasses.replace(result, timeline=pipeline._timeline(mapped, times, acc, xfer_done))
    t4 = time.perf_counter()
    return result, {"load": t1 - t0, "map": t2 - t1, "engine": t3 - t2, "wrap": t4 - t3}


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
    except OSError:
        pass
    return info


def machine_markdown(m: dict) -> str:
    la = ", ".join(f"{x:.2f}" for x in m["loadavg"])
    return (f"- date: {m['date']}; commit {m.get('git', '?')} (plus uncommitted work in progress)\n"
            f"- CPU: {m['cpu']}, nproc = {m['nproc']}, {m['mem_gib']} GiB RAM\n"
            f"- Python {m['python']}, numba {m.get('numba', '?')}, numpy {m.get('numpy', '?')}\n"
            f"- load average when the run started: {la} (other engineers' test runs share the 2 cores)")


def python() -> str:
    return sys.executable
