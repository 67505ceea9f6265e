"""`npusim run ARCH NETWORK`: one inference, its summary and per-layer table, and the optional
JSON, trace, plots, CSV and HTML report."""
from __future__ import annotations

import click

from simulator.cli.common import (COMPILE_NOTICE, check_batch, emit_json as _emit_json, limit_options, load_for_run,
                                  make_limits, shared_options, user_errors_and_warnings)
from simulator.errors import SpecError
from simulator.outputs import atomic_path, check_outputs

FUSE_OPTION = click.option("--fuse", type=click.Choice(["none", "auto"]), default=None,
                           help="depth-first layer fusion (same as --set compute.fusion=...)  "
                                "[default: each arch's compute.fusion]")


def with_fuse(overrides: tuple, fuse: str | None) -> tuple:
    """--fuse MODE is --set compute.fusion=MODE, given last (so the resolved spec records it)."""
    return (*overrides, f"compute.fusion={fuse}") if fuse else overrides


MIN_TRACE_SLICES = 2                # report/trace.py merges slices down to this many per track


class _stage_progress:
    """A rich progress line on stderr while a run goes through its stages, with the time left in the
    engine (estimated before it starts: it is one compiled call and cannot report mid-run); silent
    unless stderr is a terminal, so piped output never has it."""

    STAGES = ("load", "map", "simulate", "wrap")

    def __enter__(self):
        from rich.console import Console
        console = Console(stderr=True)
        self._progress = None
        if console.is_terminal:
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
            self._progress = Progress(TextColumn("{task.description:<10}"), BarColumn(), TimeElapsedColumn(),
                                      _TimeLeftColumn(), console=console, transient=True)
            self._progress.start()
            self._task = self._progress.add_task("load", total=len(self.STAGES), engine_until=None)
        return self

    def __call__(self, stage: str) -> None:
        if stage == "compile":      # always said, terminal or not: a silent minute looks like a hang
            click.echo(COMPILE_NOTICE, err=True)
            return
        if self._progress is not None:
            self._progress.update(self._task, description=stage, completed=self.STAGES.index(stage),
                                  engine_until=None)

    def engine_seconds(self, seconds: float) -> None:
        """The engine's estimated seconds (simulator.pipeline.simulate calls this before the engine)."""
        if self._progress is not None:
            import time
            self._progress.update(self._task, engine_until=time.monotonic() + seconds)
            self._progress.refresh()        # shown now: the engine may hold the interpreter until it ends

    def __exit__(self, *exc):
        if self._progress is not None:
            self._progress.stop()
        return False


def _TimeLeftColumn():
    """'~N s left' in the engine stage, from the estimate; empty in the other stages."""
    import time

    from rich.progress import ProgressColumn
    from rich.text import Text

    class TimeLeft(ProgressColumn):
        def render(self, task):
            until = task.fields.get("engine_until")
            if until is None:
                return Text("")
            left = max(0.0, until - time.monotonic())
            shown = f"~{left:.1f} s left" if left < 60 else f"~{left / 60:.0f} min left"
            return Text(shown, style="progress.remaining")
    return TimeLeft()


@click.command()
@click.argument("arch")
@click.argument("network")
@shared_options("input", "batch", "set", "ideal_memory", "skip_unsupported", "until", "layers", "json")
@FUSE_OPTION
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
@click.option("--explain", "explain", metavar="LAYER",
              help="after the summary, the mapping chosen for LAYER (tile sizes, batch fold, loop order, array and "
                   "buffer split, Winograd, fused group), its estimate, and the runner-up's")
@limit_options
@user_errors_and_warnings
def run(arch, network, input_size, batch, overrides, ideal_memory, skip_unsupported, until, layer_range, json_out,
        fuse, layer_table, no_layers, trace_out, trace_max_slices, plot_out, plot_layers_out, csv_out, report_out,
        explain, max_traffic, max_memory, max_events):
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
    overrides = with_fuse(overrides, fuse)
    with _stage_progress() as progress:
        # loaded here when a flag changes the network: simulate() would reload it as written
        network, size = load_for_run(network, input_size, batch, skip_unsupported, until, layer_range)
        if explain is not None:         # an unknown layer is refused before the simulation
            from simulator.report.explain import check_layer_name
            from simulator.workload import load_network
            net = network if hasattr(network, "layers") else load_network(network, input_size=size, batch=batch)
            check_layer_name([layer.name for layer in net.layers], explain, net.name)
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
        if explain is not None:
            from simulator.report.explain import explain_text
            click.echo(explain_text(result, explain))
