"""`npusim sweep`: simulate a network on many variants of a chip, in parallel; a row per point.

    npusim sweep ARCH NETWORK --grid KEY=VALUES [--grid ...] [--zip KEY=VALUES ...] --out results.csv
    npusim sweep sweep.yaml [same options, which take precedence over the file]

Registered on the main group by simulator/cli/__init__.py; `main()` runs it on its own (as
tests/sweep/test_sweep_resume.py does). docs/sweeps.md is the user's guide.
"""
from __future__ import annotations

import os
import sys

import click

from simulator.cli.common import EXIT_INTERRUPTED, run_click, shared_options, user_errors
from simulator.cli.run import FUSE_OPTION, with_fuse
from simulator.errors import SpecError
from simulator.limits import MAX_SWEEP_POINTS, Limits, check_sweep_points
from simulator.outputs import announce, atomic_path, check_outputs
_user_errors = user_errors


@click.command("sweep", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("arch_or_file", metavar="ARCH|SWEEP.yaml")
@click.argument("network", required=False, metavar="[NETWORK]")
@click.option("--grid", multiple=True, metavar="KEY=VALUES",
              help="a swept arch key and its values: a,b,c or a range (1MiB..16MiB*2, 32..128+32); "
                   "repeat for a cartesian product")
@click.option("--zip", "zips", multiple=True, metavar="KEY=VALUES",
              help="keys whose value lists (equal lengths) advance together, as one axis")
@shared_options("input", "batch", "set", "ideal_memory", "skip_unsupported", "until", "layers",
                where=" for every point")
@click.option("--out", metavar="FILE.csv|parquet", help="results, one row per point as it finishes: .csv, or .parquet (pyarrow)")
@click.option("--workers", type=int, help="local worker processes  [default: one per core; 1 runs in this process]")
@click.option("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask distributed cluster instead")
@click.option("--resume", is_flag=True, help="continue the sweep in --out: run only the points it lacks")
@click.option("--overwrite", is_flag=True, help="start --out again when it exists")
@click.option("--plot", "plot_out", metavar="FILE.png|svg|pdf",
              help="the metric against one swept key (line) or two (heatmap)")
@click.option("--plot-metric", default="fps", show_default=True, metavar="NAME",
              help="fps, latency_ms, mac_utilization, effective_tops, dram_bandwidth_utilization, fps_per_tops, ...")
@click.option("--plot-keys", metavar="KEY[,KEY]", help="the swept key(s) on the plot's axes (default: the first two)")
@click.option("--progress/--no-progress", default=None, help="progress bar on stderr  [default: when a terminal]")
@click.option("--max-points", type=int, default=MAX_SWEEP_POINTS, show_default=True, metavar="N",
              help="refuse a sweep with more points")
@FUSE_OPTION
@_user_errors
def sweep(arch_or_file, network, grid, zips, input_size, batch, overrides, ideal_memory, skip_unsupported, until,
          layer_range, out, workers, scheduler, resume, overwrite, plot_out, plot_metric, plot_keys, progress,
          max_points, fuse):
    """Simulate NETWORK on every variant of ARCH given by --grid/--zip (or by a SWEEP.yaml file).

    Points run in parallel (a local process pool, or a Dask cluster with --scheduler); each
    finished point is appended to --out at once, so a killed sweep continues with --resume. A
    point that cannot be mapped is a row with status 'error'. At the end: the best point per
    metric and the Pareto fronts of fps against SRAM size and DRAM pins.
    """
    from simulator.cli.common import option_given, parse_input_size, parse_layer_range
    from simulator.spec.load import parse_overrides
    from simulator.sweep.execute import SweepAborted, check_workers, run_sweep
    from simulator.sweep.plan import load_sweep_file, make_plan, parse_key_values
    from simulator.sweep.summary import check_plot, plot_sweep, print_summary

    if network is None:
        if not os.path.isfile(arch_or_file):
            raise SpecError(arch_or_file, "", "no such sweep file; give ARCH NETWORK --grid KEY=VALUES ..., "
                                              "or a sweep YAML file (docs/sweeps.md)")
        opts = load_sweep_file(arch_or_file)
        source = arch_or_file
    else:
        opts = {"arch": arch_or_file, "network": network}
        source = "--grid"
    opts["grid"] = {**(opts.get("grid") or {}), **parse_key_values(grid, "--grid")}
    opts["zip"] = {**(opts.get("zip") or {}), **parse_key_values(zips, "--zip")}
    opts["overrides"] = {**(opts.get("overrides") or {}), **parse_overrides(with_fuse(overrides, fuse))}
    # an option given on the command line takes precedence over the file; its default does not
    given = {"input": parse_input_size(input_size), "batch": batch if option_given("batch") else None,
             "ideal_memory": ideal_memory if option_given("ideal_memory") else None, "out": out,
             "workers": workers, "scheduler": scheduler}
    opts.update({k: v for k, v in given.items() if v is not None})
    part = parse_layer_range(until, layer_range)
    if skip_unsupported or part is not None:    # loaded once; the points take the Network as it is
        from simulator.pipeline import select_layers
        from simulator.workload import load_network
        opts["network"] = load_network(opts["network"], input_size=opts.pop("input", None),
                                       batch=opts.pop("batch", 1), skip_unsupported=skip_unsupported)
        if part is not None:
            opts["network"] = select_layers(opts["network"], *part)
        opts["batch"] = opts["network"].batch
    plan = make_plan(opts["arch"], opts["network"], opts["grid"], opts["zip"], input=opts.get("input"),
                     batch=opts.get("batch", 1), ideal_memory=opts.get("ideal_memory", False),
                     overrides=opts["overrides"], source=source)
    if max_points <= 0:
        raise SpecError("--max-points", "--max-points", f"{max_points} must be a positive count")
    check_sweep_points(len(plan), Limits(max_sweep_points=max_points), source)
    check_outputs(out=opts.get("out"), plot=plot_out)     # a missing folder fails now, not after the sweep
    plot_keys = [k.strip() for k in plot_keys.split(",") if k.strip()] if plot_keys else None
    if plot_out:
        check_plot(plan, plot_metric, plot_keys)     # a typo here fails now, not after the sweep
    check_workers(opts.get("workers"))
    if not opts.get("out"):
        click.echo("npusim: note: no --out; the rows are not saved (only the summary is printed)", err=True)
    try:
        outcome = run_sweep(plan, out=opts.get("out"), resume=resume, overwrite=overwrite,
                            workers=opts.get("workers"), scheduler=opts.get("scheduler"), progress=progress)
    except KeyboardInterrupt:
        where = f"; the finished points are in {opts['out']}: continue with --resume" if opts.get("out") else ""
        click.echo(f"npusim: interrupted{where}", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except SweepAborted as exc:
        where = f"; the finished points are in {opts['out']}: continue with --resume" if opts.get("out") else ""
        click.echo(f"npusim: error: {exc}{where}", err=True)
        sys.exit(1)
    if opts.get("out"):
        announce(opts["out"])
    print_summary(outcome)
    if plot_out:
        with atomic_path(plot_out, "--plot") as tmp:
            plot_sweep(outcome, tmp, metric_name=plot_metric, keys=plot_keys)


def main() -> None:
    """The command alone, with npusim's error conventions."""
    run_click(sweep.main, prog_name="npusim sweep")


__all__ = ["main", "sweep"]

if __name__ == "__main__":
    main()
