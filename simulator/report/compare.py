"""`npusim compare`: one network on several chips, side by side; a table over Results.

Each chip gets one row: its data-sheet figures (peak TOPS, DRAM data pins, DRAM GB/s, SRAM MiB),
what the simulation gives (fps, MAC utilization, the stall cause that took most array time) and
the two ratios that show whether peak TOPS predict throughput: fps per peak TOPS and fps per
DRAM data pin. Rows are built from `Result`s only (chip figures from `Result.resolved_spec`), so
a saved result JSON gives the same row. matplotlib is imported inside `plot_compare` only.
"""
from __future__ import annotations

import csv

from simulator.outputs import image_format
from simulator.result import STALL_CAUSES, Result

# Column -> (header in the terminal table, what it is). The JSON and CSV use the column names.
COLUMNS = {
    "arch": ("chip", "arch name"),
    "peak_tops": ("peak TOPS", "2 x MACs x clock / 1e12 (the data-sheet peak)"),
    "dram_pins": ("DRAM pins", "DRAM data pins (DQ): channels x channel width"),
    "dram_gb_per_s": ("DRAM GB/s", "peak DRAM bandwidth, GB/s"),
    "sram_mib": ("SRAM MiB", "on-chip SRAM holding activations between layers, MiB"),
    "fps": ("fps", "frames per second: batch / latency"),
    "fps_per_tops": ("fps/TOPS", "fps per peak TOPS"),
    "fps_per_dram_pin": ("fps/pin", "fps per DRAM data pin"),
    "mac_utilization": ("MAC util", "useful MACs / (chip MACs x cycles)"),
    "array_busy": ("arrays busy", "MAC-array cycles computing (fill, drain and unused PEs included) / all array cycles"),
    "dominant_stall": ("top stall", "the stall cause with the most MAC-array cycles"),
    "dominant_stall_share": ("its share", "that cause's share of all MAC-array cycles"),
    "latency_ms": ("latency ms", "one inference (batch images), ms"),
    "dram_mb_per_frame": ("DRAM MB/frame", "DRAM bytes read + written per image, MB"),
    "energy_mj_per_frame": ("mJ/frame", "simulated energy per image (chip + DRAM), mJ (docs/energy.md)"),
    "power_w": ("power W", "simulated average power over the inference, W"),
    "fps_per_watt": ("fps/W", "fps per simulated watt"),
    "tops_per_w": ("TOPS/W", "achieved TOPS (useful MACs) per simulated watt"),
    "datasheet_tops_per_w": ("sheet TOPS/W", "peak TOPS / the published power limit (empty if none)"),
}


def _array_cycles(r: Result) -> int:
    return sum(1 for u in r.per_array if u["unit"].startswith("array")) * r.cycles


def dominant_stall(r: Result) -> tuple[str, float]:
    """(cause, share of MAC-array cycles) of the largest stall cause; ('none', 0.0) if none."""
    total = _array_cycles(r)
    cause = max(STALL_CAUSES, key=lambda c: r.stall_cycles.get(c, 0))
    value = r.stall_cycles.get(cause, 0)
    if not value or not total:
        return "none", 0.0
    return cause, value / total


def compare_row(r: Result) -> dict:
    """One chip's row (see COLUMNS)."""
    spec = r.resolved_spec
    pins = int(spec["derived"]["dram_pins"])
    cause, share = dominant_stall(r)
    return {
        "arch": r.arch, "peak_tops": r.peak_tops, "dram_pins": pins,
        "dram_gb_per_s": r.dram_peak_bytes_per_s / 1e9, "sram_mib": spec["memory"]["sram"]["size"] / 2**20,
        "fps": r.fps, "fps_per_tops": r.fps / r.peak_tops, "fps_per_dram_pin": r.fps / pins,
        "mac_utilization": r.mac_utilization,
        "array_busy": r.busy_cycles / _array_cycles(r) if r.cycles else 0.0, "dominant_stall": cause, "dominant_stall_share": share,
        "latency_ms": r.latency_ms, "dram_mb_per_frame": (r.dram_read_bytes + r.dram_write_bytes) / r.batch / 1e6,
        "energy_mj_per_frame": 1e3 * r.energy_j / r.batch, "power_w": r.power_w, "fps_per_watt": r.fps_per_watt,
        "tops_per_w": (r.energy or {}).get("achieved_tops_per_w", 0.0),
        "datasheet_tops_per_w": (r.energy or {}).get("datasheet_tops_per_w"),
    }


def run_compare(network, archs, input=None, batch: int = 1, overrides=(), limits=None, progress=None,
                ideal_memory: bool = False) -> list[Result]:
    """simulate() `network` on each chip of `archs`, in order (the same overrides for every chip)."""
    from simulator.limits import DEFAULT_LIMITS
    from simulator.pipeline import _no_progress, simulate
    return [simulate(arch, network, input=input, batch=batch, ideal_memory=ideal_memory, overrides=overrides,
                     limits=limits or DEFAULT_LIMITS, progress=progress or _no_progress) for arch in archs]


def compare_data(results: list[Result]) -> dict:
    """JSON-ready: the run (network, input, batch, version), the column meanings and one row per chip."""
    first = results[0]
    h, w = first.input
    return {"network": first.network, "input": f"{h}x{w}", "batch": first.batch, "version": first.version,
            "columns": {k: v[1] for k, v in COLUMNS.items()},
            "chips": [{**compare_row(r), "spec_hash": r.spec_hash, "cycles": r.cycles,
                       "stall_cycles": dict(r.stall_cycles), "dram_read_bytes": r.dram_read_bytes,
                       "dram_write_bytes": r.dram_write_bytes, "sram_peak_bytes": r.sram_peak_bytes,
                       "energy_by_component_j": r.energy_by_component_j}
                      for r in results]}


def write_csv(results: list[Result], path) -> None:
    """One row per chip, the COLUMNS in order (floats written with repr, so they read back exactly)."""
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        writer.writeheader()
        for r in results:
            writer.writerow({k: repr(v) if isinstance(v, float) else ("" if v is None else v)
                             for k, v in compare_row(r).items()})


def _fmt(key: str, v) -> str:
    if v is None:
        return "-"
    if key in ("mac_utilization", "array_busy", "dominant_stall_share"):
        return f"{100 * v:.1f}%"
    if isinstance(v, float):
        return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


TABLE = ("arch", "peak_tops", "dram_pins", "dram_gb_per_s", "sram_mib", "fps", "fps_per_tops", "fps_per_dram_pin",
         "mac_utilization", "array_busy", "dominant_stall", "dram_mb_per_frame", "power_w", "fps_per_watt")


def print_compare(results: list[Result], console=None) -> None:
    """A rich table, one row per chip (the dominant stall shown with its share)."""
    from rich.table import Table

    if console is None:
        from simulator.report.summary import output_console
        console = output_console()
    first = results[0]
    h, w = first.input
    table = Table(title=f"{first.network} {h}x{w} batch {first.batch}: peak figures vs simulated throughput",
                  caption="fps/TOPS, fps/pin: throughput per peak TOPS and per DRAM data pin. top stall: the cause "
                          "with the most MAC-array cycles, and its share (idle = no work left)")
    for key in TABLE:
        left = key in ("arch", "dominant_stall")
        table.add_column(COLUMNS[key][0], justify="left" if left else "right", no_wrap=left)
    for r in results:
        row = compare_row(r)
        cells = [_fmt(k, row[k]) for k in TABLE]
        cells[TABLE.index("dominant_stall")] += f" {_fmt('dominant_stall_share', row['dominant_stall_share'])}"
        table.add_row(*cells)
    console.print(table)


def plot_compare(results: list[Result], path) -> None:
    """PNG: fps per peak TOPS, per DRAM pin and per watt, each relative to the first chip (= 1)."""
    h, w = results[0].input
    plot_rows([compare_row(r) for r in results], f"{results[0].network} {h}x{w} batch {results[0].batch}", path)


def plot_rows(rows: list[dict], title: str, path) -> None:
    """The compare PNG from rows (`compare_row` dicts): three panels of horizontal bars (fps per watt
    only when every row has it: rows from an older saved JSON have none)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [row["arch"] for row in rows]
    ref = names[0]
    panels = [("fps_per_tops", "throughput per peak TOPS", "fps/TOPS", "#1f77b4"),
              ("fps_per_dram_pin", "throughput per DRAM data pin", "fps/pin", "#d62728")]
    if all(row.get("fps_per_watt") for row in rows):
        panels.append(("fps_per_watt", "throughput per simulated watt", "fps/W", "#2ca02c"))
    fig = Figure(figsize=(12, 1.6 + 0.55 * len(rows)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), sharey=True)
    y = list(range(len(rows)))
    for ax, (key, panel, unit, color) in zip(axes, panels):
        base = rows[0][key] or 1.0
        rel = [row[key] / base for row in rows]
        ax.barh(y, rel, color=color, alpha=0.85, height=0.6)
        ax.axvline(1.0, color="black", linewidth=0.8, linestyle=":")
        for yi, (v, row) in enumerate(zip(rel, rows)):
            ax.annotate(f"{v:.2f}x  ({row[key]:.3g} {unit})", xy=(v, yi), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=9)
        ax.set_xlim(0, max(rel + [1.0]) * 1.55)
        ax.set_title(panel, fontsize=11)
        ax.set_xlabel(f"relative to {ref} (= 1)")
        ax.grid(axis="x", linewidth=0.4, alpha=0.5)
    axes[0].set_yticks(y, [f"{row['arch']}\n{row['peak_tops']:.3g} TOPS, {row['dram_pins']} pins, "
                           f"{row['fps']:.3g} fps" for row in rows], fontsize=9)
    axes[0].invert_yaxis()
    fig.suptitle(f"{title}: simulated fps normalised by peak TOPS, by DRAM connections and by power", fontsize=12)
    fig.savefig(path, format=image_format(path), dpi=100)
