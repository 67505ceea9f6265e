"""`npusim dram replay TRACE`: a DRAM request trace through one channel of the cycle-level model.

Registered on the main group by simulator/cli/__init__.py. DRAM architects use it to compare
controllers on their own traces (DRAMSim3's trace format); it is also npusim's cross-check against DRAMSim3
(docs/validation.md, benchmarks/vs_dramsim3.py).
"""
from __future__ import annotations

import click


@click.group()
def dram():
    """The DRAM model on its own."""


@dram.command()
@click.argument("trace", type=click.Path(dir_okay=False))
@click.option("--standard", required=True, metavar="NAME",
              help="a speed grade (DDR4-3200, LPDDR4-2400, ...) or a standard (its fastest grade)")
@click.option("--set", "overrides", multiple=True, metavar="memory.dram.KEY=VALUE",
              help="override a DRAM key, e.g. memory.dram.address_mapping=ro_ch_ba_bg_co")
@click.option("--json", "json_out", metavar="FILE|-", help="the figures as JSON")
def replay(trace, standard, overrides, json_out):
    """Replay TRACE (`0xADDR READ|WRITE CYCLE` a line, cycles in DRAM clocks) through one channel:
    finish cycle, bandwidth, read latency (mean, p99, max), row hits / misses / conflicts,
    activates, refreshes. A request is offered at its cycle or, while refused, every cycle after."""
    from simulator.cli.common import user_errors

    user_errors(_replay)(trace, standard, overrides, json_out)


def dram_spec_for(standard: str, overrides=()):
    """A one-channel DramSpec of `standard` at its default width, with memory.dram.* overrides."""
    from simulator.errors import SpecError
    from simulator.spec.arch import DramSpec
    from simulator.spec.dram_standards import DRAM_PRESETS, STANDARDS, find_preset
    from simulator.spec.load import apply_overrides, parse_overrides, validate

    if standard in DRAM_PRESETS:
        t = DRAM_PRESETS[standard]
    elif standard.upper() in STANDARDS:
        t = find_preset(standard.upper())
    else:
        raise SpecError("--standard", "standard", f"'{standard}' is neither a speed grade ({', '.join(DRAM_PRESETS)}) "
                                                  f"nor a standard ({', '.join(STANDARDS)})")
    raw = {"memory": {"dram": {"standard": t.standard, "data_rate": t.data_rate_mtps, "channels": 1,
                               "channel_width": t.default_channel_width_bits}}}
    parsed = parse_overrides(overrides)
    bad = [k for k in parsed if not k.startswith("memory.dram.")]
    if bad:
        raise SpecError("--set", bad[0], "dram replay takes DRAM keys only: memory.dram.KEY=VALUE")
    source = f"<{t.speed_grade}>" + (f" (with --set {', '.join(parsed)})" if parsed else "")
    raw = apply_overrides(raw, parsed, source)
    try:
        return validate(DramSpec, raw["memory"]["dram"], source)
    except SpecError as exc:
        raise SpecError(exc.source, f"memory.dram.{exc.key}" if exc.key else "memory.dram", exc.message) from None


def _replay(trace, standard, overrides, json_out):
    from simulator.cli.common import emit_json
    from simulator.resources.dram_replay import read_trace, replay as run_replay

    spec = dram_spec_for(standard, overrides)
    figures = run_replay(spec, *read_trace(trace))
    if json_out:
        emit_json(figures, json_out)
    if json_out == "-":
        return
    lat = figures["mean_read_latency_cycles"]
    lines = [f"{figures['grade']}, one channel, {figures['requests']:,} requests "
             f"({figures['reads']:,} reads, {figures['writes']:,} writes) from {trace}",
             f"finish            {figures['finish_cycles']:,} DRAM cycles",
             f"bandwidth         {figures['bandwidth_gbs']:.2f} GB/s",
             "read latency      " + ("no reads" if lat is None else
                                     f"mean {lat:.1f}, p99 {figures['p99_read_latency_cycles']:.0f}, "
                                     f"max {figures['max_read_latency_cycles']} DRAM cycles"),
             f"row hits          {figures['row_hits']:,}, misses {figures['row_misses']:,}, "
             f"conflicts {figures['row_conflicts']:,}",
             f"activates         {figures['activates']:,}",
             f"refreshes         {figures['refreshes']:,}"]
    click.echo("\n".join(lines))
