"""Whole warm run of YOLOv3-608 on inferx_x1 in fresh processes: wall and CPU time, by stage.

    .venv/bin/python benchmarks/whole_run_cpu.py [--reps 7] [--model cycle] [--tree DIR ...]

A busy machine stretches wall time (other processes take the core); the process's own CPU time
(time.process_time: user + system of its threads) is stretched far less, so two trees measured in
alternation on a shared machine compare better by it. Each process: import simulator, one
simulate() staged through its progress callback (as benchmarks/_timing.staged_run), then prints
its times. `--tree` runs another checkout's code (its own Numba cache: NUMBA_CACHE_DIR is set to
/tmp/numba-whole-run-<name>, warmed by one untimed process first). Prints best / median, ms.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("import", "load", "map", "engine", "wrap", "whole")

CHILD = r"""
import json, sys, time
W, C = time.perf_counter, time.process_time
w0, c0 = W(), C()
import simulator.pipeline
marks = [(W(), C())]
from simulator import simulate
r = simulate("inferx_x1", "yolov3", input=(608, 608), overrides={"memory.dram.model": sys.argv[1]},
             progress=lambda stage: None if stage in ("compile", "load") else marks.append((W(), C())))
marks.append((W(), C()))
names = ["import", "load", "map", "engine", "wrap"]
pts = [(w0, c0)] + marks
out = {n: [pts[i + 1][0] - pts[i][0], pts[i + 1][1] - pts[i][1]] for i, n in enumerate(names)}
out["whole"] = [pts[-1][0] - w0, pts[-1][1] - c0]
print(json.dumps({"t": out, "cycles": r.cycles, "events": r.events}))
"""


def run(tree: Path, model: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree), NUMBA_CACHE_DIR=f"/tmp/numba-whole-run-{tree.name}")
    p = subprocess.run([sys.executable, "-c", CHILD, model], env=env, cwd=tree, capture_output=True, text=True,
                       check=True)
    return json.loads(p.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--model", default="cycle", choices=("cycle", "bandwidth"))
    ap.add_argument("--tree", action="append", type=Path, help="checkout to run (repeatable; default: this one)")
    a = ap.parse_args()
    trees = [t.resolve() for t in (a.tree or [ROOT])]
    for t in trees:
        run(t, a.model)                                  # warm the tree's Numba cache
    got = {t: [] for t in trees}
    for _ in range(a.reps):
        for t in trees:                                  # alternate, so the trees share the load
            got[t].append(run(t, a.model))
    print(f"load average {os.getloadavg()[0]:.2f}; {a.reps} fresh processes per tree; "
          f"YOLOv3-608 on inferx_x1, {a.model} DRAM; ms, best / median")
    print("| tree | cycles | events | " + " | ".join(f"{s}: wall" + (f" | {s}: CPU" if s in ("import", "engine", "whole") else "")
                                                 for s in STAGES) + " |")
    print("|---" * (3 + len(STAGES) + 3) + "|")
    for t, runs in got.items():
        cells = []
        for s in STAGES:
            for k in ((0, 1) if s in ("import", "engine", "whole") else (0,)):
                xs = [1e3 * r["t"][s][k] for r in runs]
                cells.append(f"{min(xs):.0f} / {statistics.median(xs):.0f}")
        print(f"| {t.name} | {runs[0]['cycles']:,} | {runs[0]['events']:,} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
