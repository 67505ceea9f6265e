"""What a sweep's rows say: the best point per metric, Pareto fronts, the summary table, the plot.

Works on plain rows (dicts, as execute.py writes them), so it needs neither pandas nor numba;
matplotlib is imported inside `plot_sweep` only.
"""
from __future__ import annotations

from simulator.outputs import image_format
from simulator.sweep.execute import OK, SweepOutcome
from simulator.sweep.plan import SweepPlan, value_text

# metric -> (title, higher is better)
BEST_METRICS = {"fps": ("fps", True), "fps_per_tops": ("fps per peak TOPS", True),
                "mac_utilization": ("MAC utilization", True), "fps_per_watt": ("fps per watt", True),
                "energy_j": ("energy per inference", False)}
# (cost column, title): fps against what it costs
PARETO_FRONTS = (("sram_bytes", "SRAM size"), ("dram_pins", "DRAM pins"), ("energy_j", "energy per inference"))


# ---------------------------------------------------------------------------------------------
# Reading the rows: best points, Pareto fronts
# ---------------------------------------------------------------------------------------------

def metric(row: dict, name: str) -> float | None:
    """A row's value of a metric column, or of a derived one (fps_per_tops); None when failed."""
    if row.get("status") != OK:
        return None
    if name == "fps_per_tops":
        return row["fps"] / row["peak_tops"] if row.get("peak_tops") else None
    value = row.get(name)
    return None if value is None else float(value)


def best_points(rows: list[dict]) -> dict[str, dict]:
    """metric -> the row that is best at it (the lowest point index wins a tie)."""
    out = {}
    for name, (_, higher) in BEST_METRICS.items():
        scored = [(metric(r, name), r) for r in rows if metric(r, name) is not None]
        if scored:
            sign = -1 if higher else 1
            out[name] = min(scored, key=lambda s: (sign * s[0], s[1]["point"]))[1]
    return out


def pareto_front(rows: list[dict], cost: str, value: str = "fps") -> list[dict]:
    """Rows not dominated in (lower `cost`, higher `value`), by increasing cost.

    At equal cost only the best value stays (the lowest point index among equals).
    """
    ok = [r for r in rows if metric(r, value) is not None and r.get(cost) is not None]
    ok.sort(key=lambda r: (r[cost], -metric(r, value), r["point"]))
    front, best = [], float("-inf")
    for r in ok:
        if metric(r, value) > best:
            front.append(r)
            best = metric(r, value)
    return front


def _fmt(column: str, value) -> str:
    from simulator import units

    if value is None:
        return "-"
    if column in ("sram_bytes", "sram_peak_bytes"):
        return units.format_bytes(value)
    if column == "mac_utilization":
        return f"{100 * value:.1f}%"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return value_text(value)


def print_summary(outcome: SweepOutcome, console=None, max_failures: int = 5) -> None:
    """The end-of-sweep report: counts, failures, best point per metric, Pareto fronts (rich tables)."""
    from rich.table import Table

    if console is None:
        from simulator.report.summary import output_console
        console = output_console()
    plan, rows = outcome.plan, outcome.rows
    keys = plan.keys
    failed = outcome.failed
    if outcome.ran:
        how = (f"{outcome.ran} run on {outcome.backend} in {outcome.wall_s:.1f} s, "
               f"{outcome.points_per_minute:.0f} points/min")
        how += f"; {outcome.resumed} from the file" if outcome.resumed else ""
    else:
        how = f"nothing left to run; {outcome.resumed} from the file"
    console.print(f"{len(rows)} of {len(plan)} points: {len(rows) - len(failed)} ok, {len(failed)} failed ({how})"
                  + (f" -> {outcome.out}" if outcome.out else ""), highlight=False)
    for row in failed[:max_failures]:
        where = ", ".join(f"{k}={value_text(row[k])}" for k in keys)
        console.print(f"  point {row['point']} ({where}): {row['error']}", markup=False, highlight=False)
    if len(failed) > max_failures:
        console.print(f"  ... and {len(failed) - max_failures} more failed points (status 'error' in the file)")

    best = best_points(rows)
    if best:
        table = Table(title="Best point per metric")
        for col in ("metric", "value", "point", *keys, "fps", "peak TOPS"):
            table.add_column(col, justify="left" if col == "metric" else "right", overflow="fold",
                             no_wrap=col == "metric")
        for name, row in best.items():
            table.add_row(BEST_METRICS[name][0], _fmt(name, metric(row, name)), str(row["point"]),
                          *(value_text(row[k]) for k in keys), _fmt("fps", row["fps"]), _fmt("peak", row["peak_tops"]))
        console.print(table)
    for cost, title in PARETO_FRONTS:
        distinct = {r.get(cost) for r in rows if r["status"] == OK} - {None}
        if len(distinct) < 2:
            continue
        front = pareto_front(rows, cost)
        table = Table(title=f"Pareto front: fps against {title} ({len(front)} of {len(distinct)} {title} values)")
        for col in (title, "fps", "point", *keys, "MAC util."):
            table.add_column(col, justify="right", overflow="fold")
        for row in front:
            table.add_row(_fmt(cost, row[cost]), _fmt("fps", row["fps"]), str(row["point"]),
                          *(value_text(row[k]) for k in keys), _fmt("mac_utilization", row["mac_utilization"]))
        console.print(table)


# ---------------------------------------------------------------------------------------------
# The plot
# ---------------------------------------------------------------------------------------------

METRIC_LABELS = {"fps": "frames per second", "latency_ms": "latency (ms)", "mac_utilization": "MAC utilization (%)",
                 "effective_tops": "effective TOPS", "dram_bandwidth_utilization": "DRAM bandwidth utilization (%)",
                 "fps_per_tops": "fps per peak TOPS", "cycles": "cycles", "dram_read_bytes": "DRAM read (MiB)",
                 "energy_j": "energy per inference (mJ)", "power_w": "average power (W)", "fps_per_watt": "fps per watt"}
_PERCENT = ("mac_utilization", "dram_bandwidth_utilization")
LOWER_IS_BETTER = ("latency_ms", "cycles", "dram_read_bytes", "dram_write_bytes", "energy_j", "power_w")


def _axes_for(plan: SweepPlan, keys: list[str] | None) -> list[int]:
    from simulator.errors import SpecError

    if not keys:
        return list(range(min(2, len(plan.axes))))
    chosen = []
    for key in keys:
        found = [i for i, axis in enumerate(plan.axes) if key in axis.keys]
        if not found:
            raise SpecError("--plot-keys", key, f"not a swept key; swept: {', '.join(plan.keys)}")
        if found[0] not in chosen:
            chosen.append(found[0])
    if len(chosen) > 2:
        raise SpecError("--plot-keys", ",".join(keys), "a plot shows one swept key (a line) or two (a heatmap)")
    return chosen


def _grid_values(outcome: SweepOutcome, axes: list[int], name: str):
    """An array over the chosen axes of the best `name` among the other axes' points (NaN: failed)."""
    import numpy as np

    plan = outcome.plan
    shape = tuple(len(plan.axes[a].values) for a in axes)
    grid = np.full(shape, np.nan)
    higher = name not in LOWER_IS_BETTER
    for row in outcome.rows:
        v = metric(row, name)
        if v is None:
            continue
        v *= 100 if name in _PERCENT else 1
        v /= 2**20 if name == "dram_read_bytes" else 1
        v *= 1e3 if name == "energy_j" else 1
        pos = plan.positions(row["point"])
        at = tuple(pos[a] for a in axes)
        old = grid[at]
        if np.isnan(old) or (v > old if higher else v < old):
            grid[at] = v
    return grid


def check_plot(plan: SweepPlan, metric_name: str = "fps", keys: list[str] | None = None) -> list[int]:
    """The plan's axes a plot of `metric_name` over `keys` would show; a SpecError for a bad choice."""
    from simulator.errors import SpecError

    if metric_name not in METRIC_LABELS:
        raise SpecError("--plot-metric", metric_name, f"not a plotted metric; one of {', '.join(METRIC_LABELS)}")
    return _axes_for(plan, keys)


def plot_sweep(outcome: SweepOutcome, path, metric_name: str = "fps", keys: list[str] | None = None) -> None:
    """PNG: `metric_name` against one swept key (a line) or two (a heatmap), best over other keys."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    plan = outcome.plan
    axes = check_plot(plan, metric_name, keys)
    grid = _grid_values(outcome, axes, metric_name)
    others = [plan.axes[i].label for i in range(len(plan.axes)) if i not in axes]
    label = METRIC_LABELS[metric_name]
    best_word = "lowest" if metric_name in LOWER_IS_BETTER else "best"
    note = f"\n{best_word} over {', '.join(others)} at each cell" if others else ""
    title = f"{_short_name(plan.network)} on {_short_name(plan.arch)}"
    if plan.input:
        title += f" {plan.input[0]}x{plan.input[1]}"
    ticks = [[plan.axes[a].text(i) for i in range(len(plan.axes[a].values))] for a in axes]

    if len(axes) == 1:
        n = len(ticks[0])
        fig = Figure(figsize=(max(6.0, min(14.0, 0.55 * n + 3)), 4.5), dpi=120)
        ax = fig.add_subplot()
        x = np.arange(n)
        ax.plot(x, grid, marker="o", color="#1f77b4", lw=2)
        bad = np.isnan(grid)
        if bad.any():
            floor = np.nanmin(grid) if (~bad).any() else 0.0
            ax.scatter(x[bad], np.full(bad.sum(), floor), marker="x", color="#d62728", s=60, zorder=3,
                       label="failed point")
            ax.legend(loc="best", frameon=False)
        ax.set_xticks(x, ticks[0], rotation=45 if n > 8 else 0, ha="right" if n > 8 else "center")
        ax.set_xlabel(plan.axes[axes[0]].label)
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        top = np.nanmax(grid) if (~bad).any() else 1.0
        ax.set_ylim(0, 1.12 * top if top > 0 else 1.0)
        if n <= 16:
            for xi, v in zip(x, grid, strict=True):
                if not np.isnan(v):
                    ax.annotate(f"{v:.4g}", (xi, v), textcoords="offset points", xytext=(0, 7), ha="center",
                                fontsize=8)
    else:
        ny, nx = grid.shape
        fig = Figure(figsize=(max(6.5, min(16.0, 0.8 * nx + 3.5)), max(4.5, min(12.0, 0.5 * ny + 2.5))), dpi=120)
        ax = fig.add_subplot()
        masked = np.ma.masked_invalid(grid)
        cmap = _cmap(metric_name)
        im = ax.imshow(masked, cmap=cmap, aspect="auto", origin="lower", interpolation="nearest")
        fig.colorbar(im, ax=ax, label=label)
        if ny * nx <= 400:
            finite = grid[np.isfinite(grid)]
            mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
            for (i, j), v in np.ndenumerate(grid):
                if np.isnan(v):
                    ax.text(j, i, "fail", ha="center", va="center", fontsize=7, color="#d62728")
                else:
                    dark = (v < mid) == (metric_name not in LOWER_IS_BETTER)
                    ax.text(j, i, f"{v:.4g}", ha="center", va="center", fontsize=7 if nx > 10 else 8,
                            color="white" if dark else "black")
        ax.set_xticks(np.arange(nx), ticks[1], rotation=45 if nx > 6 else 0, ha="right" if nx > 6 else "center")
        ax.set_yticks(np.arange(ny), ticks[0])
        ax.set_xlabel(plan.axes[axes[1]].label)
        ax.set_ylabel(plan.axes[axes[0]].label)
    ax.set_title(f"{title}: {label}{note}", fontsize=10)
    fig.tight_layout()
    FigureCanvasAgg(fig)
    fig.savefig(str(path), format=image_format(path))


def _cmap(metric_name: str):
    import matplotlib

    return matplotlib.colormaps["viridis" if metric_name not in LOWER_IS_BETTER else "viridis_r"].with_extremes(
        bad="#eeeeee")


def _short_name(obj) -> str:
    """'yolov3', or the stem of a YAML path, or an object's name."""
    from pathlib import Path

    return Path(obj).stem if isinstance(obj, (str, Path)) else getattr(obj, "name", "?")
