"""npusim (ideal-memory mode) side by side with SCALE-Sim 3.0.0 on the same layers and array.

    .venv/bin/python benchmarks/vs_scalesim.py [--cases tiny,conv56,resnet50_128] [--scalesim-python PY]

SCALE-Sim runs in its own venv (default /tmp/scalesim-venv, or benchmarks/.scalesim-venv), made with
    python3 -m venv /tmp/scalesim-venv
    /tmp/scalesim-venv/bin/pip install scalesim==3.0.0 numpy==1.26.4 "pandas<2.3"
one job at a time, under `nice`, via benchmarks/scalesim/run_scalesim.py. npusim runs the same
layers with arch `teaching` resized to the same R x R array, `ideal_memory=True`, from network
YAMLs whose shapes equal SCALE-Sim's topology rows (padding 0, SCALE-Sim's input size).

Both sides are fresh processes. Reported: wall seconds (the simulation call, and the whole process
including imports), CPU seconds and peak RSS of SCALE-Sim, cycles on both sides (SCALE-Sim 'Total
Cycles' must equal npusim busy_cycles - 1 for every layer), and the speed ratio.
ResNet-50 on 32x32 is not run (442 CPU-s, 12 GB); its reference figure is quoted in
docs/performance.md.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SC = HERE / "scalesim"
sys.path.insert(0, str(HERE))
from _timing import machine, machine_markdown, median  # noqa: E402

LAYOUT = SC / "layout_unused_header_only.csv"
# name -> (config, topology CSV, array side, network YAMLs: committed file or None = generated)
CASES = {
    "tiny": ("sa8x8_ws_calc.cfg", "tiny_conv_10x10x8_3x3x8x8.csv", 8, SC / "tiny_conv.yaml"),
    "conv56": ("sa8x8_ws_calc.cfg", "single_conv_56x56x64_3x3x64.csv", 8, SC / "conv56.yaml"),
    "resnet50_128": ("sa128x128_ws_calc.cfg", "resnet50_scalesim_repo.csv", 128, None),
    # not run in SCALE-Sim (too slow / too much memory): npusim only, beside the quoted reference
    "resnet50_32": (None, "resnet50_scalesim_repo.csv", 32, None),
    "yolov3_608_64": (None, "yolov3_608.csv", 64, None),
}
# shared/refs/scalesim.md: (sum of Total Cycles, cost, peak memory), SCALE-Sim 3.0.0 on this kind of machine
QUOTED = {"resnet50_32": (5_753_486, "442 CPU-s", "12.1 GB"),
          "yolov3_608_64": (20_476_833, "~1 h (extrapolated from 4 layers: 275 CPU-s)", "~100 GB")}
QUOTED_S = {"resnet50_32": 442.0, "yolov3_608_64": 3600.0}
LABEL = {"tiny": "tiny 10x10x8, 3x3x8x12 (8x8 ws)",
         "conv56": "56x56 layer: 58x58x64, 3x3x64x64 (8x8 ws)",
         "resnet50_128": "ResNet-50, SCALE-Sim's CSV, 54 layers (128x128 ws)",
         "resnet50_32": "ResNet-50, SCALE-Sim's CSV, 54 layers (32x32 ws): SCALE-Sim NOT run, figures quoted",
         "yolov3_608_64": "YOLOv3-608, 75 convs (64x64 ws): SCALE-Sim NOT run, figures quoted"}


def read_topology(path: Path) -> list[tuple]:
    """Rows (name, H, W, Fh, Fw, C, M, S) of a SCALE-Sim topology CSV (header skipped)."""
    rows = []
    with open(path) as fh:
        rd = csv.reader(fh)
        next(rd)
        for row in rd:
            cells = [c.strip() for c in row if c.strip()]
            if len(cells) >= 8:
                rows.append((cells[0], *(int(c) for c in cells[1:8])))
    return rows


def row_to_yaml(row: tuple) -> str:
    """One topology row as a one-layer npusim network (padding 0).

    SCALE-Sim's output size is ceil((H - Fh + S) / S); npusim's (and PyTorch's) is
    floor((H - Fh) / S) + 1. They differ when S does not divide H - Fh: then the input is enlarged
    by the remainder so that both give the same output size and hence the same GEMM.
    """
    name, h, w, fh, fw, c, m, s = row
    h2 = h + (-(h - fh)) % s
    w2 = w + (-(w - fw)) % s
    return (f"name: {name}\ndescription: SCALE-Sim topology row {name}\n"
            f"input: {{channels: {c}, size: [{h2}, {w2}]}}\nlayers:\n"
            f"  - {{name: {name}, op: conv2d, out_channels: {m}, kernel: [{fh}, {fw}], stride: {s}, "
            f"padding: 0, bias: false}}\n")


# ---------------------------------------------------------------- npusim child (fresh process)
def npusim_child(yamls: list[str], side: int) -> None:
    t0 = time.perf_counter()
    from simulator.pipeline import simulate
    t1 = time.perf_counter()
    ov = {"compute.array.rows": side, "compute.array.cols": side}
    busy = []
    for y in yamls:
        r = simulate("teaching", y, ideal_memory=True, overrides=ov)
        busy.extend(l.busy_cycles for l in r.layers if l.op == "conv2d")
    t2 = time.perf_counter()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for y in yamls:            # the same again in the same process: no one-time Numba cache load
        simulate("teaching", y, ideal_memory=True, overrides=ov)
    t3 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "simulate_s": t2 - t1, "simulate_again_s": t3 - t2,
                      "process_s": t2 - t0, "maxrss_kib": rss, "busy": busy}))


def run_npusim(yamls: list[Path], side: int, reps: int) -> list[dict]:
    out = []
    for _ in range(reps):
        w0 = time.perf_counter()
        p = subprocess.run([sys.executable, __file__, "--npusim-child", str(side), *map(str, yamls)],
                           capture_output=True, text=True, check=True)
        d = json.loads(p.stdout.strip().splitlines()[-1])
        d["subprocess_wall_s"] = time.perf_counter() - w0
        out.append(d)
    return out


def run_scalesim(py: str, cfg: str, topo: str) -> dict:
    w0 = time.perf_counter()
    p = subprocess.run(["nice", "-n", "10", py, str(SC / "run_scalesim.py"), str(SC / cfg), str(SC / topo),
                        str(LAYOUT)], capture_output=True, text=True, cwd=tempfile.gettempdir())
    if p.returncode:
        raise RuntimeError(f"SCALE-Sim failed ({p.returncode}):\n{p.stderr[-3000:]}")
    d = json.loads(p.stdout.strip().splitlines()[-1])
    d["subprocess_wall_s"] = time.perf_counter() - w0
    return d


def ratio(a: float, b: float) -> str:
    r = a / b
    return f"{r:,.0f}x" if r >= 10 else f"{r:.2f}x"


def fold_overlap_table(out: list[str]) -> None:
    """npusim normal mode (preload overlapped) vs SCALE-Sim's serial folds, compute cycles only."""
    from simulator.mapping.systolic import WS, gemm_cycles
    from simulator.pipeline import simulate

    def compare(label, yaml_or_net, side, input=None):
        ov = {"compute.array.rows": side, "compute.array.cols": side}
        r = simulate("teaching", yaml_or_net, input=input, ideal_memory=True, overrides=ov)
        from simulator.workload import load_network
        net = load_network(yaml_or_net, input_size=input)
        serial = overlap = 0
        ratios = []
        by_name = {l.name: l for l in r.layers}
        for layer in net.layers:
            if not layer.is_mac_op:
                continue
            g = layer.groups
            pixels = layer.n * (layer.p * layer.q if layer.op == "conv2d" else 1)
            t = gemm_cycles(WS, side, side, layer.c * layer.r * layer.s, layer.k // g, pixels, 1,
                            overlap_preload=True)
            serial += by_name[layer.name].busy_cycles
            overlap += t.cycles * g
            ratios.append((by_name[layer.name].busy_cycles / (t.cycles * g), layer.name))
        n = sum(1 for l in net.layers if l.is_mac_op)
        out.append(f"| {label} | {side}x{side} | {n} | {serial:,} | {overlap:,} | {serial - overlap:,} "
                   f"| {serial / overlap:.4f}x ({100 * (serial - overlap) / serial:.2f} % fewer) |")
        if len(ratios) > 1:
            ratios.sort()
            notes.append(f"{label}: per-layer speed-up from {ratios[0][0]:.4f}x ({ratios[0][1]}) to "
                         f"{ratios[-1][0]:.4f}x ({ratios[-1][1]}), median {ratios[len(ratios) // 2][0]:.4f}x.")

    notes: list[str] = []
    out.append("| layers | array | MAC layers | ideal-memory busy cycles (serial folds, = SCALE-Sim + 1 per layer) "
               "| gemm_cycles(overlap_preload=True) | saved | speed-up |")
    out.append("|---|---|---|---|---|---|---|")
    compare("tiny 10x10x8, 3x3x8x12", str(SC / "tiny_conv.yaml"), 8)
    compare("56x56 layer (58x58x64, 3x3x64x64)", str(SC / "conv56.yaml"), 8)
    compare("YOLOv3-608 (75 convs)", "yolov3", 64, input=(608, 608))
    out += [""] + notes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="tiny,conv56,resnet50_128")
    ap.add_argument("--scalesim-python", default=None,
                    help="python of SCALE-Sim's venv (default: /tmp/scalesim-venv or benchmarks/.scalesim-venv)")
    ap.add_argument("--npusim-reps", type=int, default=3)
    ap.add_argument("--scalesim-reps", type=int, default=1, help="SCALE-Sim runs per case (tiny: always 3)")
    ap.add_argument("--json", help="also write raw results here")
    ap.add_argument("--fold-table-only", action="store_true", help="only the preload-overlap table (no timing)")
    a = ap.parse_args()
    if a.fold_table_only:
        out = ["## Preload overlap (npusim normal mode) vs serial folds", ""]
        fold_overlap_table(out)
        print("\n".join(out))
        return
    py = a.scalesim_python
    if py is None:
        for cand in ("/tmp/scalesim-venv/bin/python", str(HERE / ".scalesim-venv/bin/python")):
            if os.path.exists(cand):
                py = cand
                break
    if py is None:
        sys.exit("no SCALE-Sim venv found; see the docstring")

    m = machine()
    raw = {"machine": m, "cases": {}}
    rows = []
    gen = Path(tempfile.mkdtemp(prefix="npusim-topo-"))
    for case in a.cases.split(","):
        cfg, topo, side, yaml = CASES[case]
        topo_rows = read_topology(SC / topo)
        if yaml is None:
            yamls = []
            for i, row in enumerate(topo_rows):
                p = gen / f"{i:02d}_{row[0]}.yaml"
                p.write_text(row_to_yaml(row))
                yamls.append(p)
        else:
            yamls = [yaml]
        print(f"[{case}] npusim x{a.npusim_reps} ...", file=sys.stderr, flush=True)
        nres = run_npusim(yamls, side, a.npusim_reps)
        if cfg is None:
            from simulator.mapping.systolic import WS, scalesim_total_cycles
            ref, cost, mem = QUOTED[case]
            n_cyc = [b - 1 for b in nres[0]["busy"]]
            formula = [scalesim_total_cycles(WS, side, side, *r[1:]) for r in topo_rows]
            equal = n_cyc == formula and sum(n_cyc) == ref
            raw["cases"][case] = {"npusim": nres, "quoted": QUOTED[case], "equal": equal}
            n_sim = median([n["simulate_s"] for n in nres])
            n_again = median([n["simulate_again_s"] for n in nres])
            n_proc = median([n["subprocess_wall_s"] for n in nres])
            q = QUOTED_S[case]
            rows.append(
                f"| {LABEL[case]} | {ref:,} (quoted) | {sum(n_cyc):,} | {'yes' if equal else 'NO'} "
                f"({len(n_cyc)} layers, vs the formula; sum vs the quoted figure) | {cost} (quoted) | {mem} (quoted) "
                f"| {n_again * 1e3:.1f} ms / {n_sim * 1e3:.1f} ms / {n_proc:.2f} s "
                f"| {max(n['maxrss_kib'] for n in nres) / 2**10:.0f} MiB "
                f"| ~{ratio(q, n_again)} / ~{ratio(q, n_sim)} / ~{ratio(q, n_proc)} (vs quoted CPU-s) |")
            continue
        reps = 3 if case == "tiny" else a.scalesim_reps
        sres = []
        for _ in range(reps):
            print(f"[{case}] SCALE-Sim ...", file=sys.stderr, flush=True)
            sres.append(run_scalesim(py, cfg, topo))
            print(f"[{case}]   {sres[-1]['run_scale_wall_s']:.1f} s", file=sys.stderr, flush=True)
        s_cyc = sres[0]["total_cycles"]
        n_cyc = [b - 1 for b in nres[0]["busy"]]
        equal = s_cyc == n_cyc
        raw["cases"][case] = {"npusim": nres, "scalesim": sres, "equal": equal}
        s_wall = median([s["run_scale_wall_s"] for s in sres])
        n_sim = median([n["simulate_s"] for n in nres])
        n_again = median([n["simulate_again_s"] for n in nres])
        n_proc = median([n["subprocess_wall_s"] for n in nres])
        s_proc = median([s["subprocess_wall_s"] for s in sres])
        rows.append(
            f"| {LABEL[case]} | {sum(s_cyc):,} | {sum(n_cyc):,} | {'yes' if equal else 'NO'} ({len(s_cyc)} layers) "
            f"| {s_wall:.2f} s ({median([s['run_scale_cpu_s'] for s in sres]):.1f} CPU-s) / {s_proc:.2f} s "
            f"| {max(s['maxrss_kib'] for s in sres) / 2**20:.2f} GiB "
            f"| {n_again * 1e3:.1f} ms / {n_sim * 1e3:.1f} ms / {n_proc:.2f} s "
            f"| {max(n['maxrss_kib'] for n in nres) / 2**10:.0f} MiB "
            f"| {ratio(s_wall, n_again)} / {ratio(s_wall, n_sim)} / {ratio(s_proc, n_proc)} |")
    out = ["## npusim vs SCALE-Sim 3.0.0", "", machine_markdown(m), "",
           f"SCALE-Sim reps: tiny 3, others {a.scalesim_reps}; npusim reps: {a.npusim_reps} (fresh processes); "
           "times are medians.", "",
           "| layers (array, dataflow) | SCALE-Sim Total Cycles (sum) | npusim busy_cycles - 1 (sum) | equal per layer "
           "| SCALE-Sim wall: run_scale / whole process | SCALE-Sim peak RSS | npusim wall: simulate repeated in-process / first simulate in a fresh process / whole process "
           "| npusim peak RSS | speed ratio (SCALE-Sim run_scale / npusim): repeat / first / whole process |",
           "|---|---|---|---|---|---|---|---|---|", *rows, "", "## Preload overlap (npusim normal mode) vs serial folds", ""]
    fold_overlap_table(out)
    print("\n".join(out))
    if a.json:
        Path(a.json).write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--npusim-child":
        npusim_child(sys.argv[3:], int(sys.argv[2]))
    else:
        main()
