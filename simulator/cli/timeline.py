"""`npusim timeline RESULT.json`: the plots of a saved `npusim run --json` result, without re-simulating."""
from __future__ import annotations

import json

import click

from simulator.cli.common import user_errors as _user_errors
from simulator.errors import SpecError
from simulator.outputs import atomic_path, check_outputs


@click.command()
@click.argument("result_json", type=click.Path(exists=True, dir_okay=False))
@click.option("--plot", "plot_out", metavar="FILE.png|svg|pdf", help="the timeline figure")
@click.option("--plot-layers", "plot_layers_out", metavar="FILE.png|svg|pdf", help="the per-layer figure")
@_user_errors
def timeline(result_json, plot_out, plot_layers_out):
    """Re-draw the plots of a saved `npusim run --json` result without re-simulating."""
    from simulator.report.plots import CAUSES, plot_from_dict
    from simulator.report.timeline_check import check_timeline

    if not (plot_out or plot_layers_out):
        raise SpecError("timeline", "--plot", "give --plot FILE and/or --plot-layers FILE")
    check_outputs(plot=plot_out, plot_layers=plot_layers_out)
    try:
        with open(result_json, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError, RecursionError) as exc:   # UnicodeDecodeError is a ValueError
        raise SpecError(result_json, "", f"not a readable result JSON ({type(exc).__name__}: {exc})"[:400]) from None
    if not isinstance(data, dict) or "timeline" not in data:
        raise SpecError(result_json, "timeline", "this JSON has no 'timeline' section; write it with `npusim run ... --json FILE`")
    summary = check_timeline(data["timeline"], result_json, CAUSES)
    if plot_out:
        with atomic_path(plot_out, "--plot") as tmp:
            plot_from_dict(summary, tmp, kind="timeline")
    if plot_layers_out:
        with atomic_path(plot_layers_out, "--plot-layers") as tmp:
            plot_from_dict(summary, tmp, kind="layers")
