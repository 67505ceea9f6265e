"""`npusim compare ARCH... NETWORK`: one network on several chips, side by side.

The positional order is the one of every other subcommand, chips first and the network last
(`npusim run ARCH NETWORK`); `--network NETWORK` names it instead, and then every positional is
a chip. The order of npusim 0.x (`compare NETWORK ARCH...`) is recognised and refused with the
command as it is written now. Registered on the main group by simulator/cli/__init__.py; heavy
modules are imported inside the command, so `npusim --help` stays instant.
"""
from __future__ import annotations

from pathlib import Path

import click

from simulator.cli.common import limit_options, shared_options
from simulator.cli.run import FUSE_OPTION, with_fuse


@click.command()
@click.argument("names", nargs=-1, required=True, metavar="ARCH... NETWORK")
@click.option("--network", "network_opt", metavar="NETWORK",
              help="the network (bundled name, YAML or ONNX file); then every positional is a chip")
@shared_options("input", "batch", "set", "ideal_memory", "skip_unsupported", "until", "layers", "json",
                what="the table (and stall cycles per chip)", where=" on every chip")
@click.option("--csv", "csv_out", metavar="FILE.csv", help="one row per chip as CSV")
@click.option("--plot", "plot_out", metavar="FILE.png|svg|pdf",
              help="fps per peak TOPS and per DRAM pin, relative to the first chip")
@FUSE_OPTION
@limit_options
def compare(names, network_opt, input_size, batch, overrides, ideal_memory, skip_unsupported, until, layer_range,
            json_out, csv_out, plot_out, fuse, max_traffic, max_memory, max_events):
    """Simulate NETWORK on each ARCH: peak TOPS, DRAM pins and bandwidth, SRAM, fps, fps per TOPS,
    fps per DRAM pin, MAC utilization and the dominant stall cause."""
    from simulator.cli.common import user_errors_and_warnings

    user_errors_and_warnings(_compare)(names, network_opt, input_size, batch, with_fuse(overrides, fuse), ideal_memory,
                                       skip_unsupported, until, layer_range, json_out, csv_out, plot_out,
                                       max_traffic, max_memory, max_events)


def _kind(text: str) -> str:
    """'arch', 'network' or '' (unknown) for a positional: a bundled name, or a file by its content."""
    from simulator.spec.registry import bundled_archs
    from simulator.workload.from_yaml import bundled_networks

    if text in bundled_archs():
        return "arch"
    if text in bundled_networks() or text.lower().endswith(".onnx"):
        return "network"
    path = Path(text)
    if path.suffix.lower() in (".yaml", ".yml") and path.is_file():
        try:
            import yaml
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            return ""
        if isinstance(data, dict):
            return "network" if "layers" in data else "arch" if "compute" in data or "memory" in data else ""
    return ""


def split_positionals(names: tuple[str, ...], network_opt: str | None) -> tuple[str, tuple[str, ...]]:
    """(network, archs) from the positionals and --network; the old order NETWORK ARCH... is refused."""
    from simulator.errors import SpecError

    if network_opt is not None:
        return network_opt, tuple(names)
    if len(names) < 2:
        raise SpecError("compare", "NETWORK", "give the chips, then the network: npusim compare ARCH... NETWORK "
                                              "(or ARCH... --network NETWORK)")
    *archs, network = names
    if _kind(network) == "arch" and _kind(names[0]) == "network":
        rest = " ".join(names[1:])
        raise SpecError("compare", names[0], f"the network now comes last, as in `npusim run ARCH NETWORK`: write "
                                             f"`npusim compare {rest} {names[0]}` (or `npusim compare {rest} "
                                             f"--network {names[0]}`)")
    return network, tuple(archs)


def _compare(names, network_opt, input_size, batch, overrides, ideal_memory, skip_unsupported, until, layer_range,
             json_out, csv_out, plot_out, max_traffic, max_memory, max_events):
    from simulator.cli.common import COMPILE_NOTICE, check_batch, emit_json, load_for_run, make_limits
    from simulator.outputs import atomic_path, check_outputs
    from simulator.report import compare as report

    network, archs = split_positionals(names, network_opt)
    check_batch(batch)
    check_outputs(json=json_out, csv=csv_out, plot=plot_out)     # before the runs, so none is lost
    limits = make_limits(max_traffic, max_memory, max_events)

    def progress(stage: str) -> None:
        if stage == "compile":
            click.echo(COMPILE_NOTICE, err=True)
    # loaded once when a flag changes the network: simulate() takes the Network as it is
    network, size = load_for_run(network, input_size, batch, skip_unsupported, until, layer_range)
    results = report.run_compare(network, archs, input=size, batch=batch, ideal_memory=ideal_memory,
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
