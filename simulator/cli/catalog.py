"""`npusim archs`, `npusim networks`, `npusim schema arch`: what is bundled, and the spec format's JSON Schema."""
from __future__ import annotations

import json

import click

from simulator.cli.common import user_errors as _user_errors


@click.command()
@_user_errors
def archs():
    """Bundled chips, one line each."""
    from simulator.spec import load_arch
    from simulator.spec.registry import bundled_archs

    for name in bundled_archs():
        spec = load_arch(name)
        click.echo(f"{name:<18} {spec.peak_tops:7.2f} TOPS  {spec.description}")


@click.command()
@_user_errors
def networks():
    """Bundled networks, one line each."""
    from simulator.workload import bundled_networks, load_network

    for name in bundled_networks():
        net = load_network(name)
        h, w = net.input_size
        click.echo(f"{name:<18} {h}x{w}  {net.total_macs / 1e9:8.2f} GMAC  {net.description}")



@click.command()
@click.argument("kind", type=click.Choice(["arch"]))
def schema(kind):
    """Print the JSON Schema of a spec format (for editor autocompletion)."""
    from simulator.spec.arch import ArchSpec

    click.echo(json.dumps(ArchSpec.model_json_schema(by_alias=True), indent=2))
