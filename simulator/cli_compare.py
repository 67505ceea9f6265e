"""`npusim compare NETWORK ARCH...`: one network on several chips, side by side.

Registered on the main group by cli.py (`cli.add_command(compare)`). Heavy modules are imported
inside the command, so `npusim --help` stays instant; user errors exit 2 in one paragraph, as
every other subcommand.
"""
from __future__ import annotations

import click

from simulator.cli_common import SKIP_UNSUPPORTED_HELP, limit_options


@click.command()
@click.argument("network")
@click.argument("archs", nargs=-1, required=True, metavar="ARCH...")
@click.option("--input", "input_size", metavar="HxW", help="input size (default: the network's own)")
@click.option("--batch", default=1, show_default=True, type=int, help="images per inference")
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE",
              help="override an arch spec key on every chip, e.g. memory.dram.model=bandwidth")
@click.option("--csv", "csv_out", metavar="FILE", help="one row per chip as CSV")
@click.option("--plot", "plot_out", metavar="FILE", help="PNG: fps per peak TOPS and per DRAM pin, relative to the first chip")
@click.option("--json", "json_out", metavar="FILE|-", help="the table (and stall cycles per chip) as JSON")
@click.option("--skip-unsupported", is_flag=True, help=SKIP_UNSUPPORTED_HELP)
@limit_options
def compare(network, archs, input_size, batch, overrides, csv_out, plot_out, json_out, skip_unsupported, max_traffic,
            max_memory, max_events):
    """Simulate NETWORK on each ARCH: peak TOPS, DRAM pins and bandwidth, SRAM, fps, fps per TOPS,
    fps per DRAM pin, MAC utilization and the dominant stall cause."""
    from simulator.cli_common import user_errors_and_warnings

    user_errors_and_warnings(_compare)(network, archs, input_size, batch, overrides, csv_out, plot_out, json_out,
                                       skip_unsupported, max_traffic, max_memory, max_events)


def _compare(network, archs, input_size, batch, overrides, csv_out, plot_out, json_out, skip_unsupported,
             max_traffic, max_memory, max_events):
    from simulator.cli import COMPILE_NOTICE
    from simulator.cli_common import check_batch, emit_json, make_limits, parse_input_size
    from simulator.outputs import atomic_path, check_outputs
    from simulator.report import compare as report

    check_batch(batch)
    check_outputs(json=json_out, csv=csv_out, plot=plot_out)     # before the runs, so none is lost
    limits = make_limits(max_traffic, max_memory, max_events)

    def progress(stage: str) -> None:
        if stage == "compile":
            click.echo(COMPILE_NOTICE, err=True)
    size = parse_input_size(input_size)
    if skip_unsupported:         # loaded once with the flag: simulate() takes the Network as it is
        from simulator.workload import load_network
        network, size = load_network(network, input_size=size, batch=batch, skip_unsupported=True), None
    results = report.run_compare(network, archs, input=size, batch=batch,
                                 overrides=overrides, limits=limits, progress=progress)
    if json_out:
        emit_json(report.compare_data(results), json_out)
    if csv_out:
        with atomic_path(csv_out, "--csv") as tmp:
            report.write_csv(results, tmp)
    if plot_out:
        with atomic_path(plot_out, "--plot") as tmp:
            report.plot_compare(results, tmp)
    if json_out != "-":
        report.print_compare(results)
