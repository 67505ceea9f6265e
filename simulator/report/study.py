"""The megapixel study: peak TOPS against simulated throughput as activations outgrow the SRAM.

    python -m simulator.study [--set KEY=VALUE ...] [--jobs N]

runs every (network, input) of CONFIGS on every chip of CHIPS, `npusim compare` of YOLOv3-608 on
the four products, the one-change-at-a-time SENSITIVITY cases, and Eyeriss v1 on AlexNet's
convolutions against its published figures; then rewrites the generated blocks of
docs/tops-vs-throughput.md (the text between `<!-- study:NAME -->` and `<!-- /study:NAME -->`;
the prose around them is kept), the PNGs in docs/figures/ and the raw numbers in
docs/figures/study.json (`--replot` renders from that file without simulating). The `stamp` block records the npusim version, the git commit and any
uncommitted files of the package, archs and kernels, and the overrides, so every number can be
traced to the engine that produced it. Nothing else (no date, no wall time) goes into the doc,
so running it twice on the same tree gives the same file.

SRAM spill is the bytes of activation tensors the placement puts in DRAM, the network input and
outputs excluded (they always live in DRAM): what does not fit on chip.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from simulator.result import MAC_UTILIZATION_DEFINITION

CHIPS = ("inferx_x1", "xavier_nx", "tesla_t4", "blaize_el_cano", "tpu_v1", "eyeriss_v1")
PRODUCTS = ("inferx_x1", "xavier_nx", "tesla_t4", "blaize_el_cano")
CONFIGS = (("yolov3", 416), ("yolov3", 608), ("yolov3", 1024), ("yolov3", 1440),
           ("resnet50", 224), ("resnet50", 1024))
COMPARE = ("yolov3", 608, PRODUCTS)
# One change at a time against the chip as written: (chip, network, size, --set overrides, what it tests).
SENSITIVITY = (
    ("tesla_t4", "yolov3", 608, {"overheads.sustained_clock_fraction": 1.0},
     "T4 without throttling (the full 1590 MHz boost clock, sustained)"),
    ("tesla_t4", "yolov3", 608, {"compute.gpu.kernel_launch": 0}, "T4 without the gap between kernels"),
    ("xavier_nx", "yolov3", 608, {"memory.sram.size": "6 MiB"}, "Xavier NX with a 6 MiB L2 (InferX X1's SRAM)"),
    ("inferx_x1", "yolov3", 608, {"memory.dram.channels": 2}, "InferX X1 with a second x32 LPDDR4X channel"),
    ("blaize_el_cano", "yolov3", 608, {"memory.sram.size": "2 MiB", "compute.array.buffers.weights.size": "64 KiB",
                                       "compute.array.buffers.inputs.size": "32 KiB",
                                       "compute.array.buffers.outputs.size": "32 KiB"},
     "El Cano if \"4 Mbits\" meant 4 MB (every on-chip memory x8)"),
    ("tpu_v1", "yolov3", 608, {"compute.arrays": 4, "compute.array.rows": 128, "compute.array.cols": 128},
     "TPU v1's 65,536 MACs as four 128x128 arrays (same peak TOPS)"),
    ("inferx_x1", "yolov3", 608, {"compute.winograd": None}, "InferX X1 without its Winograd hardware"),
    ("inferx_x1", "yolov3", 608, {"compute.winograd": None, "compute.array.kind": "systolic",
                                  "compute.array.rows": 32, "compute.array.cols": 32,
                                  "compute.array.pipeline_latency": 0},
     "InferX X1 as before issue #13: 32x32 systolic tiles, no Winograd"),
) + (
    ("inferx_x1", "yolov3", 608, {"compute.fusion": "none"},
     "InferX X1 layer by layer (no depth-first fusion, as before issue #14)"),
) + tuple(
    (chip, "yolov3", 608, {"memory.dram.model": "bandwidth"},
     f"{label} with the bandwidth server instead of every DRAM burst timed (banks, rows, refresh)")
    for chip, label in (("inferx_x1", "InferX X1"), ("xavier_nx", "Xavier NX"), ("tesla_t4", "T4"),
                        ("blaize_el_cano", "El Cano"))
) + (
    ("inferx_x1", "yolov3", 608, {"memory.dram.refresh": "per_bank"},
     "InferX X1 with per-bank refresh"),
)


@dataclass(frozen=True)
class EyerissCase:
    """A row-stationary chip on a network cut after `last_layer`, against published figures."""
    arch: str = "eyeriss_v1"
    network: str = "alexnet"
    size: int = 227
    batch: int = 4
    last_layer: str = "conv5"
    published: dict = field(default_factory=lambda: {
        "fps": 34.7, "gmacs": 23.1, "pes_active": 0.88, "dram_mb_per_batch": 15.4})


EYERISS = EyerissCase()
ROOT = Path(__file__).resolve().parents[2]       # the repository: simulator/report/study.py -> ../..
DOC = ROOT / "docs" / "tops-vs-throughput.md"
FIGURES = ROOT / "docs" / "figures"


# --- provenance -----------------------------------------------------------------------------------

def stamp(overrides: dict) -> dict:
    """npusim version, git commit and uncommitted files under simulator/, archs/, kernels/ (read-only git)."""
    from simulator import __version__

    def git(*args) -> str:
        try:
            out = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            return ""
        return out.stdout.rstrip("\n") if out.returncode == 0 else ""

    status = git("status", "--porcelain", "--", "simulator", "archs", "kernels")
    dirty = sorted(line[3:] for line in status.splitlines() if line[3:] and "__pycache__" not in line)
    return {"version": __version__, "commit": git("rev-parse", "HEAD").strip() or "unknown",
            "dirty": dirty, "overrides": dict(overrides)}


# --- one simulation --------------------------------------------------------------------------------

def spill_bytes(spec, net) -> int:
    """Bytes of activations placed in DRAM, the network input and outputs excluded."""
    from simulator.mapping.placement import DRAM, place_tensors

    p = place_tensors(net, spec.memory.sram.size_bytes, spec.compute.array.operand_bytes,
                      spec.memory.sram.pin_weights, spec.name)
    outputs = {p.tensor_of[l.name] for l in net.layers if l.op == "detect" or not net.consumers(l.name)}
    return int(sum(int(p.size_bytes[t]) for t in range(1, len(p.names))
                   if p.memory[t] == DRAM and t not in outputs))


def run_point(arch: str, network: str, size: int, batch: int = 1, overrides: dict | None = None) -> dict:
    """Simulate one (chip, network, input); the compare row plus spill, SRAM peak and clocks."""
    from simulator.pipeline import simulate
    from simulator.report.compare import compare_row
    from simulator.spec import load_arch
    from simulator.workload import load_network

    overrides = dict(overrides or {})
    spec = load_arch(arch, overrides)
    net = load_network(network, input_size=(size, size), batch=batch)
    r = simulate(arch, net, batch=batch, overrides=overrides)
    return {**compare_row(r), "network": network, "size": size, "batch": batch,
            "spill_mb": spill_bytes(spec, net) / batch / 1e6, "sram_peak_mib": r.sram_peak_bytes / 2**20,
            "clock_hz": spec.clock_hz, "run_clock_hz": r.clock_hz,
            "sustained_clock_fraction": spec.overheads.sustained_clock_fraction,
            "layer_setup_cycles": _setup_cycles(spec)}


def _setup_cycles(spec) -> int:
    """The fixed cost per layer: a GPU's gap between kernels, else the arch's layer setup."""
    return spec.compute.gpu.kernel_launch_cycles if spec.compute.kind == "gpu" else spec.overheads.layer_setup_cycles


def run_eyeriss(case: EyerissCase, overrides: dict | None = None) -> dict:
    """Simulate the case; frames/s, GMAC/s, mapped PEs active, DRAM bytes per batch, per layer."""
    from simulator.mapping.program import build_program
    from simulator.mapping.systolic import RS, rs_active_pes
    from simulator.pipeline import select_layers, simulate
    from simulator.spec import load_arch
    from simulator.workload import load_network

    overrides = dict(overrides or {})
    spec = load_arch(case.arch, overrides)
    a = spec.compute.array
    # the same cut as `npusim run ARCH NETWORK --until LAST_LAYER`
    net = select_layers(load_network(case.network, input_size=(case.size, case.size), batch=case.batch),
                        None, case.last_layer)
    r = simulate(case.arch, net, batch=case.batch, overrides=overrides)
    tilings = build_program(spec, net).tilings
    pes = a.rows * a.cols
    layers, weighted = [], 0.0
    by_name = {lr.name: lr for lr in r.layers}
    for layer in net.layers:
        if not layer.is_mac_op:
            continue
        t = tilings[layer.name]
        active = (rs_active_pes(a.rows, a.cols, layer.r, t.ph, t.gb * t.kc * t.cr) / pes
                  if a.dataflow == RS else float("nan"))
        weighted += active * layer.macs
        lr = by_name[layer.name]
        layers.append({"layer": layer.name, "macs": layer.macs, "tile": f"{t.kc}k x {t.cr}c x {t.ph}x{t.qw} px",
                       "pes_active": active, "mac_utilization": lr.mac_utilization, "ms": lr.latency_ms,
                       "dram_mb": (lr.dram_read_bytes + lr.dram_write_bytes) / 1e6})
    conv_macs = sum(l["macs"] for l in layers)
    return {"arch": case.arch, "network": case.network, "size": case.size, "batch": case.batch,
            "last_layer": case.last_layer, "published": dict(case.published),
            "fps": r.fps, "gmacs": conv_macs / r.latency_s / 1e9, "pes_active": weighted / conv_macs,
            "dram_mb_per_batch": (r.dram_read_bytes + r.dram_write_bytes) / 1e6,
            "mac_utilization": r.mac_utilization, "peak_gmacs": spec.total_macs * spec.clock_hz / 1e9,
            "stall_cycles": dict(r.stall_cycles), "busy_cycles": r.busy_cycles, "cycles": r.cycles,
            "layers": layers}


# --- the whole study --------------------------------------------------------------------------------

def _call(job):
    fn, args = job
    try:
        return fn(*args)
    except Exception as exc:        # re-raised as a plain error: SpecError does not cross processes
        raise RuntimeError(f"{_label(job)}: {type(exc).__name__}: {exc}") from None


def run_study(chips=CHIPS, configs=CONFIGS, compare=COMPARE, eyeriss: EyerissCase | None = EYERISS,
              sensitivity=SENSITIVITY, overrides: dict | None = None, jobs: int = 1, log=None) -> dict:
    """Every simulation of the study, as plain data (what `write_outputs` renders)."""
    overrides = dict(overrides or {})
    points = [(arch, net, size) for net, size in configs for arch in chips]
    cnet, csize, carchs = compare
    extra = [(arch, cnet, csize) for arch in carchs if (arch, cnet, csize) not in points]
    extra += [(a, n, sz) for a, n, sz, _, _ in sensitivity if (a, n, sz) not in points + extra]
    todo = [(run_point, (arch, net, size, 1, overrides)) for arch, net, size in points + extra]
    todo += [(run_point, (a, n, sz, 1, {**overrides, **ov})) for a, n, sz, ov, _ in sensitivity]
    if eyeriss is not None:
        todo.append((run_eyeriss, (eyeriss, overrides)))
    results = []
    if jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for i, res in enumerate(pool.map(_call, todo)):
                results.append(res)
                if log:
                    log(f"[{i + 1}/{len(todo)}] {_label(todo[i])}")
    else:
        for i, job in enumerate(todo):
            if log:
                log(f"[{i + 1}/{len(todo)}] {_label(job)}")
            results.append(_call(job))
    n_base = len(points) + len(extra)
    index = {(r["arch"], r["network"], r["size"]): r for r in results[:n_base]}
    changed = results[n_base:n_base + len(sensitivity)]
    return {"stamp": stamp(overrides), "chips": list(chips), "configs": [list(c) for c in configs],
            "rows": [index[p] for p in points],
            "compare": {"network": cnet, "size": csize, "rows": [index[(a, cnet, csize)] for a in carchs]},
            "sensitivity": [{"what": what, "base": index[(a, n, sz)],
                             "set": {k: "null" if v is None else str(v) for k, v in ov.items()},
                             "changed": ch} for (a, n, sz, ov, what), ch in zip(sensitivity, changed)],
            "eyeriss": results[-1] if eyeriss is not None else None}


def _stem(network: str) -> str:
    """A network's short name: the bundled name, or a file's stem."""
    return Path(network).stem if network.endswith((".yaml", ".yml")) else network


def _label(job) -> str:
    fn, args = job
    if fn is run_point:
        return f"{args[0]} {args[1]} {args[2]}x{args[2]}"
    return f"{args[0].arch} {args[0].network} {args[0].size}x{args[0].size} batch {args[0].batch}"


# --- rendering ---------------------------------------------------------------------------------------

def _md_table(headers: list[str], rows: list[list[str]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(headers) - 1)
    sep = ["---" if a == "l" else "--:" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(sep) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _g(v: float, digits: int = 3) -> str:
    if v != v:          # nan
        return "-"
    if abs(v) >= 10 ** digits:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def render_blocks(data: dict, figures_rel: str = "figures") -> dict[str, str]:
    """Markdown of every generated block, by block name."""
    from simulator.spec import load_arch

    st = data["stamp"]
    dirty = (f", with uncommitted changes in {', '.join(f'`{d}`' for d in st['dirty'])}" if st["dirty"] else "")
    ov = (", with `--set " + " --set ".join(f"{k}={v}" for k, v in st["overrides"].items()) + "` on every chip"
          if st["overrides"] else ", each chip as its arch file describes it")
    rows = data["rows"] + data["compare"]["rows"]
    throttled = sorted({r["arch"] for r in rows if r["sustained_clock_fraction"] < 1})
    clock_note = (f" `overheads.sustained_clock_fraction` is applied ({', '.join(throttled)} run throttled)."
                  if throttled else "")
    blocks = {"stamp": (f"Generated by npusim {st['version']} at commit `{st['commit'][:12]}`{dirty}{ov}. "
                        f"The numbers come from the engine at that version; a later engine gives other numbers, "
                        f"and the command above regenerates them.{clock_note}")}

    # the chips
    chip_rows = []
    for name in data["chips"]:
        s = load_arch(name, st["overrides"])
        d = s.memory.dram
        chip_rows.append([f"`{name}`", _g(s.peak_tops), f"{s.total_macs:,}",
                          f"{s.compute.arrays} x {s.compute.array.rows}x{s.compute.array.cols}"
                          + (f"x{s.compute.array.macs_per_pe}" if s.compute.array.macs_per_pe > 1 else "")
                          + "".join(f" + {g.count} {g.name}" for g in s.compute.unit_groups),
                          ("GPU SMs, kernels in waves" if s.compute.kind == "gpu"
                           else "dot product" if s.compute.array.kind == "dot_product"
                           else s.compute.array.dataflow.replace("_stationary", ""))
                          + (f" + Winograd F({s.compute.winograd.output_tile})" if s.compute.winograd else ""),
                          f"{s.clock_hz / 1e6:g} MHz",
                          f"{d.resolved_timing.speed_grade}", f"{s.dram_pins}", _g(s.dram_peak_bytes_per_s / 1e9),
                          _g(s.memory.sram.size_bytes / 2**20), f"{s.overheads.sustained_clock_fraction:g}",
                          f"{_setup_cycles(s):,}"])
    blocks["chips"] = _md_table(["chip", "peak TOPS", "MACs", "arrays", "dataflow", "clock", "DRAM preset",
                                 "DRAM pins", "DRAM GB/s", "SRAM MiB", "sustained clock",
                                 "layer setup / kernel gap cycles"],
                                chip_rows)

    # compare
    c = data["compare"]
    blocks["compare"] = _compare_table(c["rows"]) + (
        f"\n\n![fps per peak TOPS and per DRAM pin, {_stem(c['network'])} {c['size']}x{c['size']}]"
        f"({figures_rel}/compare_{_stem(c['network'])}_{c['size']}.png)")

    # the sweep: one pivot table per figure of merit
    configs = [tuple(x) for x in data["configs"]]
    by = {(r["arch"], r["network"], r["size"]): r for r in data["rows"]}
    chips = data["chips"]

    def pivot(fmt) -> str:
        body = [[f"{_stem(n)} {s}x{s}"] + [fmt(by[(a, n, s)]) for a in chips] for n, s in configs]
        return _md_table(["network, input"] + [f"`{a}`" for a in chips], body)

    blocks["sweep"] = "\n\n".join([
        "**Frames per second** (batch 1)", pivot(lambda r: _g(r["fps"])),
        "**fps per peak TOPS**", pivot(lambda r: _g(r["fps_per_tops"])),
        f"**MAC utilization** ({MAC_UTILIZATION_DEFINITION})", pivot(lambda r: _pct(r["mac_utilization"])),
        "**MAC arrays busy** (computing, fill and drain included; the rest is stalls and idle)",
        pivot(lambda r: _pct(r["array_busy"])),
        "**Dominant stall** (the cause with the most MAC-array cycles, and its share)",
        pivot(lambda r: f"{r['dominant_stall']} {_pct(r['dominant_stall_share'])}"),
        "**DRAM traffic per frame** (MB read + written)", pivot(lambda r: _g(r["dram_mb_per_frame"])),
        "**SRAM spill** (MB of activations placed in DRAM, network input and outputs excluded)",
        pivot(lambda r: _g(r["spill_mb"])),
        "**SRAM peak occupancy** (MiB) against the SRAM size in the chip table", pivot(lambda r: _g(r["sram_peak_mib"])),
    ])
    figs = [f"![{_stem(n)}: pixel throughput per TOPS, utilization, DRAM traffic and spill against input size]"
            f"({figures_rel}/megapixel_{_stem(n)}.png)" for n in dict.fromkeys(n for n, _ in configs)]
    blocks["sweep_figures"] = "\n\n".join(figs)

    if data.get("sensitivity"):
        body = [[c["what"], f"`{c['base']['arch']}`", f"{_stem(c['base']['network'])} {c['base']['size']}",
                 "<br>".join(f"`{k}={v}`" for k, v in c["set"].items()),
                 _g(c["base"]["fps"]), _g(c["changed"]["fps"]), f"{c['changed']['fps'] / c['base']['fps']:.2f}",
                 f"{_pct(c['base']['mac_utilization'])} -> {_pct(c['changed']['mac_utilization'])}",
                 f"{_g(c['base']['dram_mb_per_frame'])} -> {_g(c['changed']['dram_mb_per_frame'])}"]
                for c in data["sensitivity"]]
        blocks["sensitivity"] = _md_table(["what", "chip", "network", "--set", "fps as written", "fps changed",
                                           "ratio", "MAC util", "DRAM MB/frame"], body, "lllllrrrr")
    if data.get("eyeriss"):
        blocks["eyeriss"] = _eyeriss_block(data["eyeriss"])
    return blocks


def _compare_table(rows: list[dict]) -> str:
    body = [[f"`{r['arch']}`", _g(r["peak_tops"]), f"{r['dram_pins']}", _g(r["dram_gb_per_s"]), _g(r["sram_mib"]),
             _g(r["fps"]), _g(r["fps_per_tops"]), _g(r["fps_per_dram_pin"]), _pct(r["mac_utilization"]),
             _pct(r["array_busy"]), f"{r['dominant_stall']} {_pct(r['dominant_stall_share'])}",
             _g(r["dram_mb_per_frame"])] for r in rows]
    return _md_table(["chip", "peak TOPS", "DRAM pins", "DRAM GB/s", "SRAM MiB", "fps", "fps/TOPS", "fps/pin",
                      "MAC util", "arrays busy", "dominant stall", "DRAM MB/frame"], body)


def _eyeriss_block(e: dict) -> str:
    p = e["published"]
    ratio = lambda sim, pub: f"{sim / pub:.2f}"
    head = _md_table(
        ["figure", "published (Chen et al.)", "npusim", "npusim / published"],
        [["frames/s", _g(p["fps"]), _g(e["fps"]), ratio(e["fps"], p["fps"])],
         ["GMAC/s (conv MACs / time)", _g(p["gmacs"]), _g(e["gmacs"]), ratio(e["gmacs"], p["gmacs"])],
         ["PEs active (mapping, MAC-weighted)", _pct(p["pes_active"]), _pct(e["pes_active"]),
          ratio(e["pes_active"], p["pes_active"])],
         [f"DRAM MB per batch of {e['batch']}", _g(p["dram_mb_per_batch"]), _g(e["dram_mb_per_batch"]),
          ratio(e["dram_mb_per_batch"], p["dram_mb_per_batch"])]])
    per_layer = _md_table(["layer", "MACs", "tile (filters x channels x out rows x cols)", "PEs active",
                           "MAC util", "ms", "DRAM MB"],
                          [[l["layer"], f"{l['macs']:,}", l["tile"], _pct(l["pes_active"]), _pct(l["mac_utilization"]),
                            _g(l["ms"]), _g(l["dram_mb"])] for l in e["layers"]])
    total = e["cycles"]
    from simulator.result import STALL_CAUSES
    stalls = ", ".join(f"{k} {_pct(e['stall_cycles'][k] / total)}" for k in STALL_CAUSES if e["stall_cycles"].get(k))
    return (f"`{e['arch']}` on `{e['network']}` {e['size']}x{e['size']}, batch {e['batch']}, layers up to "
            f"`{e['last_layer']}` (the pools between the convolutions included; peak {e['peak_gmacs']:.1f} GMAC/s).\n\n"
            + head + "\n\nPer layer:\n\n" + per_layer
            + f"\n\nWhole run: MAC utilization {_pct(e['mac_utilization'])}, array busy "
              f"{_pct(e['busy_cycles'] / total)}; stalls (share of array cycles): {stalls or 'none'}.")


BLOCK = re.compile(r"<!-- study:(?P<name>[a-z_]+) -->(?P<body>.*?)<!-- /study:(?P=name) -->", re.S)


def update_doc(text: str, blocks: dict[str, str]) -> str:
    """Replace the body of every `<!-- study:NAME -->` block that `blocks` has; keep all else.

    A block the text lacks is appended at the end."""
    missing = [n for n in blocks if n not in {m.group("name") for m in BLOCK.finditer(text)}]
    if missing:
        text = text.rstrip("\n") + "\n" + "".join(f"\n<!-- study:{n} -->\n<!-- /study:{n} -->\n" for n in missing)

    def fill(m):
        name = m.group("name")
        if name not in blocks:
            return m.group(0)
        return f"<!-- study:{name} -->\n{blocks[name]}\n<!-- /study:{name} -->"
    return BLOCK.sub(fill, text)


# --- figures -----------------------------------------------------------------------------------------

def _figure(w: float, h: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_sweep(rows: list[dict], network: str, path) -> None:
    """PNG: fps per TOPS, MAC utilization, DRAM MB per frame and spill MB against input size, per chip."""
    rows = [r for r in rows if r["network"] == network]
    sizes = sorted({r["size"] for r in rows})
    chips = list(dict.fromkeys(r["arch"] for r in rows))
    by = {(r["arch"], r["size"]): r for r in rows}
    fig = _figure(12, 8.5)
    axes = fig.subplots(2, 2, sharex=True)
    value = {"mpix": lambda r: r["fps"] * r["size"] ** 2 / 1e6 / r["peak_tops"],
             "mac_utilization": lambda r: 100 * r["mac_utilization"],
             "dram_mb_per_frame": lambda r: r["dram_mb_per_frame"], "spill_mb": lambda r: r["spill_mb"]}
    panels = [("mpix", "pixel throughput per peak TOPS\n(megapixels/s per TOPS = fps x MP / TOPS)", True),
              ("mac_utilization", "MAC utilization (%)", False),
              ("dram_mb_per_frame", "DRAM traffic per frame (MB)", True),
              ("spill_mb", "SRAM spill: activations placed in DRAM (MB)", True)]
    markers = "osD^vP*X"
    for ax, (key, label, log) in zip(axes.flat, panels):
        for i, chip in enumerate(chips):
            ys = [value[key](by[(chip, s)]) for s in sizes]
            ax.plot(sizes, ys, marker=markers[i % len(markers)], label=chip, linewidth=1.6)
        if log:
            from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

            ax.set_yscale("symlog" if key == "spill_mb" else "log", **({"linthresh": 1} if key == "spill_mb" else {}))
            if key != "spill_mb":
                ax.yaxis.set_major_locator(LogLocator(subs=(1, 2, 5)))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_ylabel(label)
        ax.grid(linewidth=0.4, alpha=0.5, which="both")
        ax.set_xticks(sizes, [f"{s}\n{s * s / 1e6:.2g} MP" for s in sizes])
    for ax in axes[1]:
        ax.set_xlabel("input size (square side, pixels; megapixels)")
    axes[0, 1].set_ylim(0, 100)
    axes[0, 0].legend(fontsize=9, ncols=2)
    fig.suptitle(f"{_stem(network)}, batch 1: what happens to each chip as the input grows", fontsize=12)
    fig.savefig(path, format="png", dpi=100)


def plot_compare_rows(rows: list[dict], network: str, size: int, path) -> None:
    from simulator.report.compare import plot_rows
    plot_rows(rows, f"{network} {size}x{size} batch 1", path)


def write_outputs(data: dict, doc: Path = DOC, figures: Path = FIGURES) -> list[Path]:
    """Write the figures and update the doc's generated blocks; returns the files written."""
    doc, figures = Path(doc), Path(figures)
    figures.mkdir(parents=True, exist_ok=True)
    data_path = figures / "study.json"
    data_path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    written = [data_path]
    c = data["compare"]
    path = figures / f"compare_{_stem(c['network'])}_{c['size']}.png"
    plot_compare_rows(c["rows"], _stem(c["network"]), c["size"], path)
    written.append(path)
    for network in dict.fromkeys(n for n, _ in data["configs"]):
        path = figures / f"megapixel_{_stem(network)}.png"
        plot_sweep(data["rows"], network, path)
        written.append(path)
    rel = os.path.relpath(figures, doc.parent)
    text = doc.read_text() if doc.exists() else _TEMPLATE
    doc.write_text(update_doc(text, render_blocks(data, rel)))
    written.append(doc)
    return written


_TEMPLATE = """# Peak TOPS vs throughput

Regenerate the tables and figures with `python -m simulator.study`.

<!-- study:stamp -->
<!-- /study:stamp -->

<!-- study:chips -->
<!-- /study:chips -->

<!-- study:compare -->
<!-- /study:compare -->

<!-- study:sweep -->
<!-- /study:sweep -->

<!-- study:sweep_figures -->
<!-- /study:sweep_figures -->

<!-- study:sensitivity -->
<!-- /study:sensitivity -->

<!-- study:eyeriss -->
<!-- /study:eyeriss -->
"""


def main(argv=None) -> int:
    from simulator.spec.load import parse_overrides

    ap = argparse.ArgumentParser(prog="python -m simulator.study", description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override an arch key on every chip (recorded in the doc's stamp)")
    ap.add_argument("--jobs", type=int, default=1, help="simulations run in parallel (processes)")
    ap.add_argument("--doc", type=Path, default=DOC, help="the markdown file whose study blocks are rewritten")
    ap.add_argument("--figures", type=Path, default=FIGURES, help="folder for the PNGs and study.json")
    ap.add_argument("--replot", action="store_true",
                    help="re-render the doc blocks and PNGs from the figures folder's study.json, without simulating")
    args = ap.parse_args(argv)
    if args.replot:
        data = json.loads((args.figures / "study.json").read_text())
    else:
        data = run_study(overrides=parse_overrides(args.overrides), jobs=args.jobs,
                         log=lambda m: print(m, file=sys.stderr, flush=True))
    for path in write_outputs(data, args.doc, args.figures):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
