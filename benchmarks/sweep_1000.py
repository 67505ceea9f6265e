"""A 1,000-point design-space sweep of YOLOv3-608 on `inferx_x1`: points per minute (target: < 10 min).

    .venv/bin/python benchmarks/sweep_1000.py [--workers N] [--scheduler tcp://HOST:PORT]
                                              [--values 10] [--dram-model cycle] [--out FILE] [--json FILE]

Grid: 10 SRAM sizes (1..10 MiB) x 10 interconnect widths (32..320 B) x 10 DRAM channel counts
(1..10), i.e. `npusim sweep inferx_x1 yolov3 --input 608x608 --grid memory.sram.size=1MiB..10MiB+1MiB
--grid memory.interconnect.width=32B..320B+32B --grid memory.dram.channels=1..10`. --values K
keeps the first K values of each axis (K**3 points; 3 for a smoke run). The Numba cache is warmed
first (one untimed simulate() in this process), so the figure is the steady sweep rate, not
compilation. Prints a markdown table (docs/sweeps.md quotes it): wall time, points per minute,
the mean simulation time per point on a worker, the workers' CPU time per point (and from it the
wall time on otherwise idle cores), and the parallel efficiency (summed worker time / (wall time
x workers)).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

GRID = {"memory.sram.size": "1MiB..10MiB+1MiB", "memory.interconnect.width": "32B..320B+32B",
        "memory.dram.channels": "1..10"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    ap.add_argument("--scheduler", help="a Dask scheduler address instead of the local pool")
    ap.add_argument("--values", type=int, default=10, help="values per axis (K x K x K points; 3 for a smoke run)")
    ap.add_argument("--dram-model", default="bandwidth", choices=("bandwidth", "cycle"),
                    help="memory.dram.model of every point (default: bandwidth, the spec default)")
    ap.add_argument("--out", help="results CSV (default: a temporary file)")
    ap.add_argument("--json", dest="json_out", help="write the figures as JSON")
    args = ap.parse_args()

    import _timing

    import simulator
    from simulator.sweep.plan import make_plan, parse_values
    from simulator.sweep.execute import default_workers, run_sweep

    grid = {key: parse_values(values)[:args.values] for key, values in GRID.items()}
    fixed = {"memory.dram.model": args.dram_model}
    plan = make_plan("inferx_x1", "yolov3", grid, input=(608, 608), overrides=fixed)
    t0 = time.perf_counter()
    simulator.simulate("inferx_x1", "yolov3", input=(608, 608), overrides=fixed)   # warm the Numba cache
    warm_s = time.perf_counter() - t0
    workers = args.workers or default_workers()
    m = _timing.machine()
    cpu0 = _children_cpu_s()
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or os.path.join(tmp, "sweep_1000.csv")
        outcome = run_sweep(plan, out=out, overwrite=True, workers=None if args.scheduler else workers,
                            scheduler=args.scheduler)
    time.sleep(2)                    # the pool's workers exit and are reaped: their CPU time counts
    cpu_s = _children_cpu_s() - cpu0
    rows = outcome.rows
    ok = [r for r in rows if r["status"] == "ok"]
    busy = sum(r["wall_s"] or 0.0 for r in rows)
    n_workers = 1 if outcome.backend == "this process" else workers
    figures = {
        "points": len(rows), "ok": len(ok), "failed": len(rows) - len(ok), "backend": outcome.backend,
        "wall_s": round(outcome.wall_s, 1), "points_per_min": round(outcome.points_per_minute, 1),
        "mean_point_s": round(busy / max(1, len(rows)), 3),
        "parallel_efficiency": round(busy / (outcome.wall_s * n_workers), 3) if not args.scheduler else None,
        "worker_cpu_s_per_point": round(cpu_s / max(1, len(rows)), 3) if cpu_s > 0 else None,
        "idle_machine_estimate_s": round(cpu_s / n_workers, 1) if cpu_s > 0 else None,
        "warm_up_s": round(warm_s, 2), "fps_range": [round(min(r["fps"] for r in ok), 2),
                                                      round(max(r["fps"] for r in ok), 2)] if ok else None,
        "machine": m,
    }
    print(_timing.machine_markdown(m))
    print()
    print("| points | ok / failed | backend | wall time | points per minute | mean wall time per point "
          "(on a worker) | worker CPU per point | parallel efficiency | fps range |")
    print("|---|---|---|---|---|---|---|---|---|")
    cpu = f"{figures['worker_cpu_s_per_point']:.2f} s" if figures["worker_cpu_s_per_point"] else "-"
    eff = f"{100 * figures['parallel_efficiency']:.0f} %" if figures["parallel_efficiency"] else "-"
    fps = f"{figures['fps_range'][0]} - {figures['fps_range'][1]}" if ok else "-"
    print(f"| {figures['points']} | {figures['ok']} / {figures['failed']} | {outcome.backend} | "
          f"{outcome.wall_s:.0f} s ({outcome.wall_s / 60:.1f} min) | {figures['points_per_min']:.0f} | "
          f"{figures['mean_point_s']:.2f} s | {cpu} | {eff} | {fps} |")
    if figures["idle_machine_estimate_s"]:
        print(f"\nWorker CPU time {cpu_s:.0f} s in all: on {n_workers} otherwise idle cores the sweep would take "
              f"about {figures['idle_machine_estimate_s']:.0f} s ({figures['idle_machine_estimate_s'] / 60:.1f} min).")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(figures, indent=2) + "\n")


def _children_cpu_s() -> float:
    """User + system CPU seconds of this process's finished children (the pool's workers)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
