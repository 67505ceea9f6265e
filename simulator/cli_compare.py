"""`npusim compare NETWORK ARCH...`: one network on several chips, side by side.

Registered on the main group by cli.py (`cli.add_command(compare)`). Heavy modules are imported
inside the command, so `npusim --help` stays instant; user errors exit 2 in one paragraph, as
every other subcommand.
"""
from __future__ import annotations

import click


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
def compare(network, archs, input_size, batch, overrides, csv_out, plot_out, json_out):
    """Simulate NETWORK on each ARCH: peak TOPS, DRAM pins and bandwidth, SRAM, fps, fps per TOPS,
    fps per DRAM pin, MAC utilization and the dominant stall cause."""
    from simulator.cli_common import user_errors

    user_errors(_compare)(network, archs, input_size, batch, overrides, csv_out, plot_out, json_out)


def _compare(network, archs, input_size, batch, overrides, csv_out, plot_out, json_out):
    from simulator.cli_common import check_batch, emit_json, parse_input_size
    from simulator.report import compare as report

    check_batch(batch)
    results = report.run_compare(network, archs, input=parse_input_size(input_size), batch=batch,
                                 overrides=overrides)
    if json_out:
        emit_json(report.compare_data(results), json_out)
    if csv_out:
        report.write_csv(results, csv_out)
    if plot_out:
        report.plot_compare(results, plot_out)
    if json_out != "-":
        report.print_compare(results)
