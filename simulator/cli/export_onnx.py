"""`npusim export-onnx NETWORK -o FILE.onnx`: a network as an ONNX model with shapes only."""
from __future__ import annotations

import click

from simulator.cli.common import check_batch, parse_input_size, shared_options, user_errors as _user_errors
from simulator.outputs import announce, check_outputs


@click.command("export-onnx")
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
