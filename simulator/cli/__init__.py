"""The `npusim` command: the click group, one module per subcommand registered on it, and `main`.

Subcommands import heavy modules lazily so that --help is instant. A user error (SpecError) prints
one paragraph on stderr and exits with code 2; never a traceback (common.py). This package imports
its subcommand modules; they import common.py only, never this module.
"""
from __future__ import annotations

import click

from simulator.cli.common import run_click
from simulator.cli.catalog import archs as _archs, networks as _networks, schema as _schema
from simulator.cli.compare import compare as _compare  # imports only click
from simulator.cli.dram import dram as _dram  # imports only click
from simulator.cli.export_onnx import export_onnx as _export_onnx
from simulator.cli.info import info as _info, show as _show
from simulator.cli.run import run as _run
from simulator.cli.study import study as _study
from simulator.cli.sweep import sweep as _sweep  # imports only click and errors
from simulator.cli.timeline import timeline as _timeline


class _Group(click.Group):
    """Click's own usage errors (a bad option value) get the same one-paragraph form and exit 2."""

    def main(self, *args, **kwargs):
        return run_click(super().main, *args, **kwargs)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="npusim")
def cli():
    """npusim: simulate a neural network on a described accelerator and see where the MAC cycles go."""


for _command in (_info, _archs, _networks, _export_onnx, _show, _run, _timeline, _study, _schema, _sweep,
                 _compare, _dram):
    cli.add_command(_command)


def _show_spec_warnings() -> None:
    """A SpecWarning (a key the run will not use, say) prints as one line: npusim: warning: ..."""
    import warnings

    from simulator.errors import SpecWarning

    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, SpecWarning):
            click.echo(f"npusim: warning: {message}", err=True)
        else:
            show(message, category, filename, lineno, file, line)
    warnings.showwarning = showwarning
    warnings.simplefilter("default", SpecWarning)


def main() -> None:
    _show_spec_warnings()
    cli(prog_name="npusim")
