"""PNG figures of a run: utilization, stall causes and DRAM bandwidth over time; cycles per layer.

Both figures draw from one JSON-friendly dict, `timeline_summary(result)`: binned series plus the
per-layer rows, so a saved result JSON can be re-plotted with `plot_from_dict` without
re-simulating. matplotlib is imported inside the plotting functions only (Agg canvas, no pyplot
state), so importing this module and building the summary need numpy only.
"""
from __future__ import annotations

import numpy as np

from simulator.report.trace import OPERAND_CAUSES, spread, unit_segments
from simulator.outputs import image_format
from simulator.result import Result

SUMMARY_FORMAT = 1
CAUSES = ("busy", "dependency", "weights", "inputs", "outputs", "setup", "idle")
COLORS = {"busy": "#2ca02c", "dependency": "#8c8c8c", "weights": "#ff7f0e", "inputs": "#1f77b4",
          "outputs": "#9467bd", "setup": "#8c564b", "idle": "#e5e5e5"}
LABELLED_LAYERS = 8
OWN = ("busy", "weights", "inputs", "outputs", "setup")     # a layer's own time; 'dependency' is its waiting


def own_cycles(layer: dict) -> int:
    """A layer's own unit-cycles from its summary dict: busy + weights + inputs + outputs + setup."""
    stalls = layer.get("stall_cycles", {})
    return layer["busy_cycles"] + sum(stalls.get(c, 0) for c in OWN[1:])


def _r(values, digits=5) -> list:
    """Floats rounded to `digits` significant digits, as a list (compact JSON)."""
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, np.float64)]


def timeline_summary(result: Result, bins: int = 400) -> dict:
    """Binned series of `result` (MAC utilization, array-time by cause, DRAM/SRAM GB/s) and its
    per-layer rows, as plain JSON types; what `plot_from_dict` draws."""
    tl = result.timeline
    if tl is None:
        raise ValueError("this Result has no timeline (a Result loaded from JSON carries only its summary)")
    nb = max(1, min(int(bins), result.cycles))
    edges = np.linspace(0.0, float(result.cycles), nb + 1)
    width = edges[1] - edges[0] if result.cycles else 1.0
    seg = unit_segments(result)
    arrays = [u for u, n in enumerate(tl.unit_names) if n.startswith("array")]
    A = len(arrays)
    on_array = np.isin(seg.unit, arrays)

    def frac(lo, hi):
        lo, hi = np.asarray(lo)[on_array], np.asarray(hi)[on_array]
        return spread(lo, hi, hi - lo, edges) / (max(A, 1) * width)

    time_by_cause = {"busy": frac(seg.start, seg.end), "dependency": frac(seg.gap_start, seg.dep_end)}
    for c, cause in enumerate(OPERAND_CAUSES):
        pick = seg.operand_cause == c
        time_by_cause[cause] = frac(np.where(pick, seg.dep_end, 0), np.where(pick, seg.setup_start, 0))
    time_by_cause["setup"] = frac(seg.setup_start, seg.start)
    idle_lo = seg.last_end[arrays].astype(np.float64)
    time_by_cause["idle"] = spread(idle_lo, np.full(A, float(result.cycles)), result.cycles - idle_lo,
                                   edges) / (max(A, 1) * width)
    macs = spread(seg.start[on_array], seg.end[on_array], tl.tile_macs[seg.tile[on_array]], edges)
    seconds = width / result.clock_hz

    def gbps(mem, direction):
        m = (tl.xfer_mem == mem) & (tl.xfer_dir == direction)
        return spread(tl.xfer_issue[m], tl.xfer_done[m], tl.xfer_bytes[m], edges) / seconds / 1e9

    h, w = result.input
    return {
        "format": SUMMARY_FORMAT, "arch": result.arch, "network": result.network, "input": f"{h}x{w}",
        "batch": result.batch, "ideal_memory": result.ideal_memory, "clock_hz": result.clock_hz,
        "cycles": result.cycles, "latency_ms": result.latency_ms, "chip_macs": result.chip_macs,
        "arrays": A, "mac_utilization_total": result.mac_utilization,
        "bins": nb, "bin_cycles": width,
        "mac_utilization": _r(macs / (result.chip_macs * width)),
        "array_time": {c: _r(time_by_cause[c]) for c in CAUSES},
        "dram_read_gbps": _r(gbps(0, 0)), "dram_write_gbps": _r(gbps(0, 1)),
        "sram_read_gbps": _r(gbps(1, 0)), "sram_write_gbps": _r(gbps(1, 1)),
        "dram_peak_gbps": result.dram_peak_bytes_per_s / 1e9,
        "layers": [{"name": lr.name, "op": lr.op, "unit_kind": lr.unit_kind, "start_cycle": lr.start_cycle,
                    "end_cycle": lr.end_cycle, "cycles": lr.cycles, "busy_cycles": lr.busy_cycles,
                    "stall_cycles": dict(lr.stall_cycles)} for lr in result.layers],
    }


def plot_timeline(result: Result, path, bins: int = 400) -> None:
    """PNG at `path` (a path or binary file): MAC utilization, array-time by cause and DRAM GB/s over time."""
    plot_from_dict(timeline_summary(result, bins), path, kind="timeline")


def plot_layers(result: Result, path) -> None:
    """PNG at `path`: one horizontal bar per layer, its unit-time split into busy and stall causes."""
    plot_from_dict(timeline_summary(result, bins=1), path, kind="layers")


def plot_from_dict(data: dict, path, kind: str = "timeline") -> None:
    """Draw a `timeline_summary` dict (e.g. the 'timeline' key of a result JSON): kind 'timeline' or 'layers'."""
    if kind == "timeline":
        fig = _timeline_figure(data)
    elif kind == "layers":
        fig = _layers_figure(data)
    else:
        raise ValueError(f"kind must be 'timeline' or 'layers', not {kind!r}")
    fig.savefig(path, format=image_format(path), dpi=100)


def _title(data: dict, what: str) -> str:
    ideal = " (ideal memory)" if data.get("ideal_memory") else ""
    return (f"{data['network']} {data['input']} batch {data['batch']} on {data['arch']}{ideal}: {what} "
            f"(latency {data['latency_ms']:.3f} ms)")


def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _labelled_layers(layers: list, total_cycles: int, n: int = LABELLED_LAYERS) -> list:
    """The layers of most own time (busy and own stalls, never the wait for producers), at most n,
    skipping any whose middle is within 6% of the axis of a chosen one."""
    chosen = []
    for lr in sorted((l for l in layers if l["cycles"] > 0), key=lambda l: -own_cycles(l)):
        mid = (lr["start_cycle"] + lr["end_cycle"]) / 2
        if all(abs(mid - c) > 0.06 * total_cycles for c, _ in chosen):
            chosen.append((mid, lr))
        if len(chosen) == n:
            break
    return [lr for _, lr in sorted(chosen, key=lambda t: t[0])]


def _timeline_figure(data: dict):
    fig = _figure(12, 9)
    axes = fig.subplots(3, 1, sharex=True)
    nb, width = data["bins"], data["bin_cycles"]
    ms = 1e3 / data["clock_hz"]
    edges = np.arange(nb + 1) * width * ms
    t_end = data["cycles"] * ms

    ax = axes[0]
    util = 100 * np.asarray(data["mac_utilization"])
    ax.stairs(util, edges, fill=True, color=COLORS["busy"], alpha=0.8,
              label=f"MAC utilization per {width * ms * 1e3:.3g} us bin: useful MACs / (chip MACs x bin cycles); "
                    f"whole run {100 * data['mac_utilization_total']:.1f}%")
    ax.set_ylim(0, 122)
    ax.set_yticks([0, 20, 40, 60, 80, 100])
    ax.set_ylabel("MAC utilization (%)")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)

    ax = axes[1]
    stack = [100 * np.asarray(data["array_time"][c]) for c in CAUSES]
    ax.stackplot(np.repeat(edges, 2)[1:-1], [np.repeat(s, 2) for s in stack],
                 labels=list(CAUSES), colors=[COLORS[c] for c in CAUSES], linewidth=0)
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"time of the {data['arrays']} MAC array(s) (%)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False,
              title="array cycles", title_fontsize=8)

    ax = axes[2]
    rd, wr = np.asarray(data["dram_read_gbps"]), np.asarray(data["dram_write_gbps"])
    ax.stackplot(np.repeat(edges, 2)[1:-1], np.repeat(rd, 2), np.repeat(wr, 2), labels=["DRAM read", "DRAM write"],
                 colors=["#1f77b4", "#d62728"], alpha=0.8, linewidth=0)
    peak = data["dram_peak_gbps"]
    ax.axhline(peak, color="black", linestyle="--", linewidth=1, label=f"peak {peak:.1f} GB/s")
    ax.set_ylim(0, max(peak, float((rd + wr).max()) if nb else 0.0) * 1.35)
    ax.set_ylabel("DRAM bandwidth (GB/s)")
    ax.set_xlabel("simulated time (ms)")
    ax.legend(loc="upper left", fontsize=8, ncols=3, framealpha=0.9,
              title="each transfer's bytes spread evenly over its issue..done", title_fontsize=8)
    ax.set_xlim(0, t_end if t_end > 0 else 1)

    for lr in _labelled_layers(data["layers"], data["cycles"]):
        x0, x1 = lr["start_cycle"] * ms, lr["end_cycle"] * ms
        for a in axes:
            a.axvspan(x0, x1, color="#000000", alpha=0.05, linewidth=0)
            a.axvline(x0, color="#555555", linewidth=0.6, linestyle=":")
        axes[0].annotate(lr["name"], xy=((x0 + x1) / 2, 1.0), xycoords=("data", "axes fraction"),
                         xytext=(0, 3), textcoords="offset points", rotation=30, fontsize=7,
                         ha="left", va="bottom")
    fig.suptitle(_title(data, "timeline") + f"\nshaded and labelled: the layers of most own time (busy and own stalls; at most "
                 f"{LABELLED_LAYERS}, spaced apart)",
                 fontsize=11)
    return fig


def _layers_figure(data: dict):
    """Two panels sharing the layer axis: each layer's own time (busy, weights, inputs, outputs, setup)
    and, apart, its wait for producer rows, which is what it waits for, not what it costs."""
    layers = [l for l in data["layers"] if l["unit_kind"] != "none"]
    n = max(len(layers), 1)
    fig = _figure(13, max(4.0, 0.17 * n + 2.2))
    ax_own, ax_wait = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 1]})
    ms = 1e3 / data["clock_hz"]
    y = np.arange(len(layers))
    left = np.zeros(len(layers))
    for cause in OWN:
        vals = np.array([(l["busy_cycles"] if cause == "busy" else l["stall_cycles"].get(cause, 0)) * ms
                         for l in layers])
        ax_own.barh(y, vals, left=left, color=COLORS[cause], label=cause, height=0.8)
        left += vals
    wait = np.array([l["stall_cycles"].get("dependency", 0) * ms for l in layers])
    ax_wait.barh(y, wait, color=COLORS["dependency"], height=0.8, label="waiting for producer rows")
    ax_own.set_yticks(y, [f"{l['name']} ({l['op']}, {l['unit_kind']})" for l in layers], fontsize=7 if n > 30 else 9)
    ax_own.invert_yaxis()
    ax_own.set_ylim(len(layers) - 0.5, -0.5)
    ax_own.set_xlabel("own time (ms of unit time, summed over the units that ran the layer)")
    ax_wait.set_xlabel("waiting for producers (ms of unit time)")
    for ax in (ax_own, ax_wait):
        ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    ax_own.legend(loc="lower right", fontsize=8, framealpha=0.9)
    ax_wait.set_title("what the layer waited for,\nnot what it cost", fontsize=9)
    fig.suptitle(_title(data, "time per layer: own time (busy and own stalls) and waiting"), fontsize=11)
    return fig
