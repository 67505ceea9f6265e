"""The `npusim` command. Subcommands import heavy modules lazily so that --help is instant.

A user error (SpecError) prints one paragraph on stderr and exits with code 2; never a traceback.
"""
from __future__ import annotations

import json

import click

from simulator.cli_common import (check_batch, emit_json, limit_options, load_for_run, make_limits, parse_input_size,
                                  run_click, shared_options, user_errors, user_errors_and_warnings)
from simulator.errors import SpecError
from simulator.outputs import announce, atomic_path, check_outputs

MIN_TRACE_SLICES = 2                # report/trace.py merges slices down to this many per track
_user_errors = user_errors          # short local names, used by every command below
_emit_json = emit_json


COMPILE_NOTICE = ("npusim: compiling the simulation engine for this DRAM model (once per machine, "
                  "about 5-20 s; later runs use the cached code)")


class _stage_progress:
    """A rich progress line on stderr while a run goes through its stages; silent unless stderr is a terminal."""

    STAGES = ("load", "map", "simulate", "wrap")

    def __enter__(self):
        from rich.console import Console
        console = Console(stderr=True)
        self._progress = None
        if console.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
            self._progress = Progress(TextColumn("{task.description:<10}"), BarColumn(), TimeElapsedColumn(),
                                      console=console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("load", total=len(self.STAGES))
        return self

    def __call__(self, stage: str) -> None:
        if stage == "compile":      # always said, terminal or not: a silent minute looks like a hang
            click.echo(COMPILE_NOTICE, err=True)
            return
        if self._progress is not None:
            self._progress.update(self._task, description=stage, completed=self.STAGES.index(stage))

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()
        return False


class _Group(click.Group):
    """Click's own usage errors (a bad option value) get the same one-paragraph form and exit 2."""

    def main(self, *args, **kwargs):
        return run_click(super().main, *args, **kwargs)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="npusim")
def cli():
    """npusim: simulate a neural network on a described accelerator and see where the MAC cycles go."""


@cli.command()
@click.argument("network")
@shared_options("input", "batch", "json", "skip_unsupported", "until", "layers", what="the table")
@click.option("--precision", default=None,
              type=click.Choice(["int8", "int16", "fp16", "bf16", "fp32"]),
              help="bytes per element for byte columns (default: an ONNX model's own, else int8)")
@user_errors_and_warnings
def info(network, input_size, batch, json_out, skip_unsupported, until, layer_range, precision):
    """Layers of NETWORK (bundled name, YAML or ONNX file) with shapes, MACs and bytes."""
    from simulator.report.info import network_info, print_network_info
    from simulator.workload import load_network

    check_batch(batch)
    check_outputs(json=json_out)
    net, size = load_for_run(network, input_size, batch, skip_unsupported, until, layer_range)
    if not hasattr(net, "layers"):
        net = load_network(net, input_size=size, batch=batch)
    data = network_info(net, precision or net.precision or "int8")
    if json_out:
        _emit_json(data, json_out)
    if json_out != "-":
        print_network_info(data)


@cli.command()
@_user_errors
def archs():
    """Bundled chips, one line each."""
    from simulator.spec import load_arch
    from simulator.spec.registry import bundled_archs

    for name in bundled_archs():
        spec = load_arch(name)
        click.echo(f"{name:<18} {spec.peak_tops:7.2f} TOPS  {spec.description}")


@cli.command()
@_user_errors
def networks():
    """Bundled networks, one line each."""
    from simulator.workload import bundled_networks, load_network

    for name in bundled_networks():
        net = load_network(name)
        h, w = net.input_size
        click.echo(f"{name:<18} {h}x{w}  {net.total_macs / 1e9:8.2f} GMAC  {net.description}")


@cli.command("export-onnx")
@click.argument("network")
@shared_options("input", "batch")
@click.option("-o", "--output", "out", required=True, metavar="FILE.onnx", help="the ONNX file to write")
@_user_errors
def export_onnx(network, input_size, batch, out):
    """Write NETWORK (bundled name or YAML file) as an ONNX model with shapes only (no weights)."""
    from simulator.workload import load_network
    from simulator.workload.to_onnx import export_onnx as write

    check_batch(batch)
    check_outputs(output=out)
    net = load_network(network, input_size=parse_input_size(input_size), batch=batch)
    path = write(net, out)
    announce(path)
    announce(path.with_suffix(".weights"))      # its external data: sparse, all zeros
    click.echo(f"{path}: {len(net.layers)} layers, {net.total_macs:,} MACs at "
               f"{net.input_size[0]}x{net.input_size[1]}, batch {net.batch} (weights: shapes only)")


@cli.command()
@click.argument("arch")
@shared_options("set", "json", what="the resolved spec")
@_user_errors
def show(arch, overrides, json_out):
    """The validated, fully resolved spec of ARCH with derived figures."""
    from simulator.report.info import print_arch
    from simulator.spec import load_arch

    check_outputs(json=json_out)
    spec = load_arch(arch, overrides)
    if json_out:
        _emit_json(spec.resolved_dict(), json_out)
    if json_out != "-":
        print_arch(spec)


@cli.command()
@click.argument("arch")
@click.argument("network")
@shared_options("input", "batch", "set", "ideal_memory", "skip_unsupported", "until", "layers", "json")
@click.option("--layer-table/--no-layer-table", "layer_table", default=True, show_default=True,
              help="print the per-layer table")
@click.option("--no-layers", "no_layers", is_flag=True, hidden=True, help="--no-layer-table (its former name)")
@click.option("--trace", "trace_out", metavar="FILE.json", help="Chrome/Perfetto trace of the MAC-array timeline")
@click.option("--trace-max-slices", default=20000, show_default=True, type=int,
              help="per-track slice count above which adjacent same-layer slices merge")
@click.option("--plot", "plot_out", metavar="FILE.png|svg|pdf",
              help="utilization, stall causes and DRAM bandwidth over time")
@click.option("--plot-layers", "plot_layers_out", metavar="FILE.png|svg|pdf",
              help="per layer: its own time (busy and stalls) beside its wait for producers")
@click.option("--csv", "csv_out", metavar="FILE.csv", help="the per-layer table as CSV")
@click.option("--report", "report_out", metavar="FILE.html", help="one self-contained HTML page: summary, table, figures")
@limit_options
@user_errors_and_warnings
def run(arch, network, input_size, batch, overrides, ideal_memory, skip_unsupported, until, layer_range, json_out,
        layer_table, no_layers, trace_out, trace_max_slices, plot_out, plot_layers_out, csv_out, report_out, max_traffic,
        max_memory, max_events):
    """Simulate one inference of NETWORK (bundled name, YAML or ONNX file) on ARCH and show where the MAC cycles go."""
    from simulator.pipeline import simulate
    from simulator.report.summary import print_result

    check_batch(batch)
    # everything that can be refused is refused before the simulation, so no work is lost
    if trace_max_slices < MIN_TRACE_SLICES:
        raise SpecError("--trace-max-slices", "--trace-max-slices",
                        f"{trace_max_slices} is too few; give at least {MIN_TRACE_SLICES}")
    check_outputs(json=json_out, trace=trace_out, plot=plot_out, plot_layers=plot_layers_out, csv=csv_out,
                  report=report_out)
    limits = make_limits(max_traffic, max_memory, max_events)
    with _stage_progress() as progress:
        # loaded here when a flag changes the network: simulate() would reload it as written
        network, size = load_for_run(network, input_size, batch, skip_unsupported, until, layer_range)
        result = simulate(arch, network, input=size, batch=batch, ideal_memory=ideal_memory,
                          overrides=overrides, progress=progress, limits=limits)
    if json_out:
        from simulator.report.plots import timeline_summary
        _emit_json({**result.to_dict(), "timeline": timeline_summary(result)}, json_out)
    if trace_out:
        from simulator.report.trace import write_trace
        with atomic_path(trace_out, "--trace") as tmp:
            write_trace(result, tmp, max_slices_per_track=trace_max_slices)
    if plot_out or plot_layers_out:
        from simulator.report.plots import plot_layers, plot_timeline
        if plot_out:
            with atomic_path(plot_out, "--plot") as tmp:
                plot_timeline(result, tmp)
        if plot_layers_out:
            with atomic_path(plot_layers_out, "--plot-layers") as tmp:
                plot_layers(result, tmp)
    if csv_out:
        from simulator.report.table_csv import write_csv
        with atomic_path(csv_out, "--csv") as tmp:
            write_csv(result, tmp)
    if report_out:
        from simulator.report.html import write_html
        with atomic_path(report_out, "--report") as tmp:
            write_html(result, tmp)
    if json_out != "-":
        print_result(result, layers=layer_table and not no_layers)


@cli.command()
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


@cli.command()
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

    from simulator import study as s
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


@cli.command()
@click.argument("kind", type=click.Choice(["arch"]))
def schema(kind):
    """Print the JSON Schema of a spec format (for editor autocompletion)."""
    from simulator.spec.arch import ArchSpec

    click.echo(json.dumps(ArchSpec.model_json_schema(by_alias=True), indent=2))


from simulator.cli_sweep import sweep as _sweep_command  # noqa: E402  (imports only click and errors)

from simulator.cli_compare import compare as _compare_command  # noqa: E402  (imports only click)

from simulator.cli_dram import dram as _dram_group  # noqa: E402  (imports only click)

cli.add_command(_sweep_command)
cli.add_command(_compare_command)
cli.add_command(_dram_group)


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
