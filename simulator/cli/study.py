"""`npusim study`: the TOPS-vs-throughput study (simulator/report/study.py), rendered into its doc and figures."""
from __future__ import annotations

import json

import click

from simulator.cli.common import shared_options, user_errors as _user_errors
from simulator.errors import SpecError
from simulator.outputs import announce


@click.command()
@shared_options("set", where=" on every chip (recorded in the doc's stamp)")
@click.option("--jobs", type=int, default=1, show_default=True, help="simulations run in parallel (processes)")
@click.option("--doc", type=click.Path(dir_okay=False), default=None, metavar="FILE.md",
              help="the markdown file whose study blocks are rewritten  [default: docs/tops-vs-throughput.md]")
@click.option("--figures", type=click.Path(file_okay=False), default=None, metavar="FOLDER",
              help="folder for the PNGs and study.json  [default: docs/figures]")
@click.option("--replot", is_flag=True, help="re-render the doc and figures from FOLDER/study.json, without simulating")
@_user_errors
def study(overrides, jobs, doc, figures, replot):
    """The TOPS-vs-throughput study: every chip on every network and size, rendered into a doc with figures."""
    from pathlib import Path

    from simulator.report import study as s
    from simulator.spec.load import parse_overrides

    if jobs <= 0:
        raise SpecError("--jobs", "--jobs", f"{jobs} must be a positive count")
    doc, figures = Path(doc) if doc else s.DOC, Path(figures) if figures else s.FIGURES
    if replot:
        data_path = figures / "study.json"
        try:
            data = json.loads(data_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SpecError(str(data_path), "", f"not a readable study JSON ({type(exc).__name__}: {exc})"[:400]) \
                from None
    else:
        data = s.run_study(overrides=parse_overrides(overrides), jobs=jobs,
                           log=lambda m: click.echo(m, err=True))
    for path in s.write_outputs(data, doc, figures):
        announce(path)
