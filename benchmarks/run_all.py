"""npusim speed benchmarks: prints markdown tables (docs/performance.md quotes them).

    .venv/bin/python benchmarks/run_all.py [--reps 3] [--cold-reps 3] [--cases ...] [--json FILE]
    make bench

For every case (arch, network, input), each in fresh subprocesses:
- warm: the Numba cache of the source tree is warm (one untimed warm-up process first). A process
  imports npusim, runs one simulation staged as load / map / engine / wrap (the same steps as
  simulate(), see _timing.staged_run), records ru_maxrss (peak memory of one warm run) and exits.
  One more process runs the same simulation 2 x reps more times after the first (steady state: no
  one-time Numba cache load) and checks that the staged run equals simulate().
  "whole run" = import + load + map + engine + wrap in the fresh process, timed inside it;
  "process" = the subprocess's wall time seen from outside (interpreter start-up included).
- cold: the same first run with NUMBA_CACHE_DIR set to a fresh empty temporary folder, so every
  njit function is compiled.
- CLI: `npusim run ARCH NETWORK --input HxW` as a subprocess (warm cache), output discarded.
- cold CLI: the same command with an empty NUMBA_CACHE_DIR: what a new user's first run costs,
  wall and CPU seconds (user + system, from the child's rusage). Target: under 20 CPU-s.
Each measurement is repeated --reps times (cold: --cold-reps); tables give best / median.
The SCALE-Sim comparison is benchmarks/vs_scalesim.py.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from _timing import ROOT, STAGES, best_median, machine, machine_markdown, median, staged_run  # noqa: E402

# name -> (arch, network, input, DRAM model: a memory.dram.model, or "dramsim3": cycle with that controller preset)
CASES = {
    "yolov3_608": ("inferx_x1", "yolov3", (608, 608), "bandwidth"),
    "yolov3_608_cycle": ("inferx_x1", "yolov3", (608, 608), "cycle"),
    "yolov3_608_dramsim3": ("inferx_x1", "yolov3", (608, 608), "dramsim3"),
    "resnet50_224": ("inferx_x1", "resnet50", (224, 224), "bandwidth"),
    "yolov3_1024": ("inferx_x1", "yolov3", (1024, 1024), "bandwidth"),
    "yolov3_1440": ("inferx_x1", "yolov3", (1440, 1440), "bandwidth"),
}
def overrides(model: str) -> dict:
    """The spec overrides of a case's DRAM model."""
    if model == "dramsim3":
        return {"memory.dram.model": "cycle", "memory.dram.controller.preset": "dramsim3"}
    return {"memory.dram.model": model}


TARGET_S = 1.0      # YOLOv3-608 on inferx_x1, warm, whole run (issue #12)
COLD_TARGET_CPU_S = 20.0   # a first `npusim run` on a new machine (empty Numba cache), CPU seconds


def child(arch: str, network: str, h: int, w: int, again: int, model: str) -> None:
    """One fresh process: import, one staged run, ru_maxrss, `again` more runs. Prints JSON."""
    t0 = time.perf_counter()
    import simulator.pipeline  # noqa: F401  (numba, numpy, the engine module)
    t_import = time.perf_counter() - t0
    ov = overrides(model)
    result, stages = staged_run(arch, network, input=(h, w), overrides=ov)
    whole = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    steady = []
    for _ in range(again):
        _, st = staged_run(arch, network, input=(h, w), overrides=ov)
        steady.append(st)
    sim = []
    if again:
        from simulator.pipeline import simulate
        for _ in range(again):
            s0 = time.perf_counter()
            check = simulate(arch, network, input=(h, w), overrides=ov)
            sim.append(time.perf_counter() - s0)
        assert check.cycles == result.cycles and check.events == result.events, "staged run differs from simulate()"
    print(json.dumps({"import": t_import, "first": stages, "whole": whole, "maxrss_kib": rss, "steady": steady,
                      "simulate": sim,
                      "cycles": result.cycles, "events": result.events}))


def spawn(case: str, again: int, env=None) -> dict:
    arch, net, (h, w), model = CASES[case]
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, __file__, "--child", arch, net, str(h), str(w), str(again), model],
                       capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t0
    if p.returncode:
        raise RuntimeError(f"{case}: child failed\n{p.stderr[-3000:]}")
    d = json.loads(p.stdout.strip().splitlines()[-1])
    d["process"] = wall
    return d


def cold(case: str) -> dict:
    d = tempfile.mkdtemp(prefix="npusim-numba-cold-")
    try:
        return spawn(case, 0, env={**os.environ, "NUMBA_CACHE_DIR": d})
    finally:
        shutil.rmtree(d, ignore_errors=True)


def cli(case: str, env=None) -> tuple[float, float]:
    """(wall s, CPU s) of one `npusim run` of the case."""
    arch, net, (h, w), model = CASES[case]
    exe = Path(sys.executable).with_name("npusim")
    args = ["run", arch, net, "--input", f"{h}x{w}"] + [a for k, v in overrides(model).items() for a in ("--set", f"{k}={v}")]
    cmd = [str(exe), *args] if exe.exists() else [sys.executable, "-m", "simulator", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cold_cli(case: str) -> tuple[float, float]:
    d = tempfile.mkdtemp(prefix="npusim-numba-cold-")
    try:
        return cli(case, env={**os.environ, "NUMBA_CACHE_DIR": d})
    finally:
        shutil.rmtree(d, ignore_errors=True)


def rate(xs) -> str:
    """best (highest) / median of rates."""
    return f"{max(xs):.2f} / {median(xs):.2f}"


def ms(xs) -> str:
    return best_median([1e3 * x for x in xs], "{:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {', '.join(CASES)}")
    ap.add_argument("--reps", type=int, default=3, help="fresh warm processes (and CLI runs) per case")
    ap.add_argument("--cold-reps", type=int, default=3, help="cold-cache processes per case")
    ap.add_argument("--json", help="also write raw results here")
    a = ap.parse_args()
    cases = a.cases.split(",")
    m = machine()
    spawn(cases[0], 0)     # warm-up: fills the Numba cache if the engine source changed
    raw = {"machine": m, "cases": {}}
    for case in cases:
        print(f"[{case}] warm x{a.reps}, cold x{a.cold_reps}, cli x{a.reps}", file=sys.stderr, flush=True)
        warm = [spawn(case, 0) for _ in range(a.reps)]
        steady = spawn(case, 2 * a.reps)
        colds = [cold(case) for _ in range(a.cold_reps)]
        clis = [cli(case)[0] for _ in range(a.reps)]
        cold_clis = [cold_cli(case) for _ in range(a.cold_reps)]
        raw["cases"][case] = {"warm": warm, "steady": steady["steady"], "simulate": steady["simulate"],
                              "cold": colds, "cli": clis, "cold_cli": cold_clis}
    m["loadavg_end"] = os.getloadavg()

    out = ["## npusim speed", "", machine_markdown(m),
           f"- load average when it ended: {', '.join(f'{x:.2f}' for x in m['loadavg_end'])}", "",
           f"All times in ms, best / median of {a.reps} fresh processes (cold: {a.cold_reps}).", "",
           "### Whole run, fresh process", "",
           "| case | cycles | events | warm: whole run (import+load+map+engine+wrap) | warm: process wall "
           "| `npusim run` CLI wall | cold (empty Numba cache): whole run | cold: process wall "
           "| cold `npusim run`: wall | cold `npusim run`: CPU s | peak RSS, one warm run |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for case, d in raw["cases"].items():
        arch, net, (h, w), model = CASES[case]
        wm = d["warm"]
        rss = [x["maxrss_kib"] / 1024 for x in wm]
        out.append(f"| {net} {h}x{w} on {arch}, {model} DRAM | {wm[0]['cycles']:,} | {wm[0]['events']:,} "
                   f"| {ms([x['whole'] for x in wm])} | {ms([x['process'] for x in wm])} | {ms(d['cli'])} "
                   f"| {ms([x['whole'] for x in d['cold']]) if d['cold'] else 'not run'} "
                   f"| {ms([x['process'] for x in d['cold']]) if d['cold'] else 'not run'} "
                   f"| {ms([w for w, _ in d['cold_cli']]) if d['cold_cli'] else 'not run'} "
                   f"| {best_median([c for _, c in d['cold_cli']], '{:.1f}') if d['cold_cli'] else 'not run'} "
                   f"| {best_median(rss, '{:.0f}')} MiB |")
    out += ["", "### Warm split, first run in a fresh process (includes loading the cached Numba code)", "",
            "| case | import | load | map (build_program) | engine (run_program) | wrap | events/s (engine) |",
            "|---|---|---|---|---|---|---|"]
    for case, d in raw["cases"].items():
        arch, net, (h, w), model = CASES[case]
        wm = d["warm"]
        eps = [x["events"] / x["first"]["engine"] / 1e6 for x in wm]
        out.append(f"| {net} {h}x{w}, {model} | {ms([x['import'] for x in wm])} | "
                   + " | ".join(ms([x["first"][s] for x in wm]) for s in STAGES)
                   + f" | {rate(eps)} M |")
    out += ["", f"### Warm split, steady state ({2 * a.reps} more runs in one process after the first)", "",
            "| case | load | map (build_program) | engine (run_program) | wrap | total | simulate() itself | events/s (engine) |",
            "|---|---|---|---|---|---|---|---|"]
    for case, d in raw["cases"].items():
        arch, net, (h, w), model = CASES[case]
        st = d["steady"]
        ev = d["warm"][0]["events"]
        eps = [ev / s["engine"] / 1e6 for s in st]
        out.append(f"| {net} {h}x{w}, {model} | " + " | ".join(ms([s[k] for s in st]) for k in STAGES)
                   + f" | {ms([sum(s.values()) for s in st])} | {ms(d['simulate'])} | {rate(eps)} M |")
    for case in ("yolov3_608", "yolov3_608_cycle"):
        if case in raw["cases"]:
            best = min(x["whole"] for x in raw["cases"][case]["warm"])
            med = median([x["whole"] for x in raw["cases"][case]["warm"]])
            out += ["", f"Target: YOLOv3-608 on inferx_x1 ({CASES[case][3]} DRAM), warm whole run <= "
                    f"{TARGET_S:.1f} s: best {best:.2f} s, median {med:.2f} s: {'met' if med <= TARGET_S else 'NOT met'}."]
            cpu = [c for _, c in raw["cases"][case]["cold_cli"]]
            if cpu:
                out += ["", f"Target: its first `npusim run` with an empty Numba cache under {COLD_TARGET_CPU_S:.0f} "
                        f"CPU-s: best {min(cpu):.1f}, median {median(cpu):.1f} CPU-s: "
                        f"{'met' if median(cpu) < COLD_TARGET_CPU_S else 'NOT met'}."]
    print("\n".join(out))
    if a.json:
        Path(a.json).write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
    else:
        main()
