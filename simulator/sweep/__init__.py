"""Design-space sweeps: simulate one network on many variants of a chip, in parallel.

    sweep("inferx_x1", "yolov3", grid={"memory.sram.size": "1MiB..16MiB*2",
                                       "memory.interconnect.width": [32, 64, 128]},
          input=(608, 608), out="sweep.csv")  -> pandas.DataFrame, one row per point

A sweep is a map of simulate() over spec variants, in three layers, each importing only the ones
below it: `plan` plans the points (ranges, zip, the YAML sweep file), `execute` runs them (process
pool or Dask cluster) and journals one row per finished point (what --resume reads back), and
`summary` reads the rows: the best point per metric, Pareto fronts, the plot. This package is the
public function `sweep()` on top of them. Only `sweep()` needs pandas; the rest works on plain
rows (dicts), so the `npusim sweep` command does not. docs/sweeps.md is the user's guide.
"""
from __future__ import annotations

from typing import Mapping

from simulator.sweep.execute import SweepAborted, SweepOutcome, columns, key_kind, run_sweep
from simulator.sweep.plan import SweepPlan, load_sweep_file, make_plan, parse_range, parse_values, value_text
from simulator.sweep.summary import (BEST_METRICS, PARETO_FRONTS, best_points, check_plot, pareto_front, plot_sweep,
                                     print_summary)

__all__ = ["BEST_METRICS", "PARETO_FRONTS", "SweepAborted", "SweepOutcome", "SweepPlan", "best_points",
           "check_plot", "columns", "load_sweep_file", "make_plan", "pareto_front", "parse_range", "parse_values",
           "plot_sweep", "print_summary", "run_sweep", "sweep", "to_dataframe"]


def sweep(arch, network, grid: Mapping[str, object], zip: Mapping[str, object] | None = None, input=None,
          batch: int = 1, workers: int | None = None, scheduler=None, out=None, resume: bool = False, *,
          overrides: Mapping[str, object] | None = None, ideal_memory: bool = False, overwrite: bool = False,
          progress: bool | None = None):
    """Simulate `network` on every variant of `arch` in `grid` (x `zip`); a DataFrame, one row per point.

    grid: {dotted key: values}, a cartesian product; values are a list, 'a,b,c', or a range
    ('1MiB..16MiB*2', '32..128+32'). zip: keys whose equal-length value lists advance together.
    overrides: keys fixed for every point. workers: local processes (default one per core; 1 runs
    here). scheduler: a Dask scheduler address or a distributed.Client. out: a .csv (or .parquet)
    file written one row per finished point; resume=True skips the points it already holds,
    overwrite=True starts it again. A point that fails has status 'error' and its message.
    """
    try:
        import pandas  # noqa: F401  (checked before a long sweep, not after it)
    except ImportError:
        raise ImportError("simulator.sweep.sweep() returns a pandas DataFrame: pip install pandas "
                          "(or use run_sweep(), which returns plain rows)") from None
    plan = make_plan(arch, network, grid, zip, input=input, batch=batch, ideal_memory=ideal_memory,
                     overrides=overrides, source="<python>")
    outcome = run_sweep(plan, out=out, resume=resume, overwrite=overwrite, workers=workers, scheduler=scheduler,
                        progress=progress)
    return to_dataframe(outcome.rows, plan)


def to_dataframe(rows: list[dict], plan: SweepPlan):
    """Rows -> DataFrame: integer columns as nullable Int64 (empty for failed points), keys typed."""
    import pandas as pd

    from simulator.sweep.execute import FLOAT_COLUMNS, INT_COLUMNS

    data = {}
    for c in columns(plan.keys):
        values = [row.get(c) for row in rows]
        if c == "point":
            data[c] = pd.array(values, dtype="int64")
        elif c in plan.keys:
            kind = key_kind(values)
            data[c] = pd.array([value_text(v) for v in values] if kind == "str" else values,
                               dtype={"int": "int64", "float": "float64", "bool": "bool", "str": "object"}[kind])
        elif c in INT_COLUMNS:
            data[c] = pd.array(values, dtype="Int64")
        elif c in FLOAT_COLUMNS:
            data[c] = pd.array([float("nan") if v is None else v for v in values], dtype="float64")
        else:
            data[c] = pd.array(["" if v is None else v for v in values], dtype="object")
    return pd.DataFrame(data)
