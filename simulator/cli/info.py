"""`npusim info NETWORK` and `npusim show ARCH`: a network's layers, a chip's resolved spec (report/info.py)."""
from __future__ import annotations

import click

from simulator.cli.common import (check_batch, emit_json as _emit_json, load_for_run, shared_options,
                                  user_errors as _user_errors, user_errors_and_warnings)
from simulator.outputs import check_outputs


@click.command()
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



@click.command()
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
