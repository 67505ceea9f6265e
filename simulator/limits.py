"""Limits: what npusim refuses before it starts, because the work or the memory is out of proportion.

Each limit is a named constant with the option that raises it; an error names the estimate, the
limit and that option (docs/reliability.md). The estimates are cheap (shapes and spec figures
only) and deliberately rough: their job is to refuse a run that would take many minutes or exhaust the
machine, never to refuse one that fits.
"""
from __future__ import annotations

from dataclasses import dataclass

from simulator.errors import SpecError
from simulator.units import format_bytes

# Any integer in a spec (cycles, bytes, Hz, counts) stays below this, so that sums and products
# of a few of them stay inside the engine's int64 (2**63): 2**48 is 281 T (281 THz, 256 TiB).
SPEC_INT_MAX = 2**48
# Images per inference and input pixels per side: beyond these the shapes alone overflow int64
# products long before any limit on work; the work limit below refuses far smaller runs.
BATCH_MAX = 2**20
INPUT_SIDE_MAX = 2**20

# Bytes an inference moves through the memory path (activations in and out, weights), estimated
# from the shapes before mapping. YOLOv3 at 608x608, batch 1 moves about 0.31 GiB and takes
# about 1 s; the default (13 times that) refuses what would take minutes and gigabytes of tile tables.
# The estimate is a lower bound (a tiling re-reads operands), so a network just under it can still
# map slowly: two 1x1 convs of 100,000 channels (9.4 GiB) took 26 s and 9 GB to map.
MAX_TRAFFIC_BYTES = 4 * 2**30
# Memory the memory model's state would take (the cycle DRAM model's per-channel state, SRAM bank
# rows), estimated from the spec before allocating.
MAX_MEMORY_BYTES = 4 * 2**30
# Engine events of one run, estimated from the mapped program (tiles and 2 KiB chunks) before
# the engine starts. YOLOv3-608 on inferx_x1: 2.7 M events in about 0.8 s (EVENTS_PER_S).
MAX_EVENTS = 300_000_000
EVENTS_PER_S = 3_000_000
# Points of one sweep.
MAX_SWEEP_POINTS = 10_000


@dataclass(frozen=True)
class Limits:
    """The limits of one run or sweep; the CLI fills them from --max-traffic, --max-memory,
    --max-events and --max-points."""
    max_traffic_bytes: int = MAX_TRAFFIC_BYTES
    max_memory_bytes: int = MAX_MEMORY_BYTES
    max_events: int = MAX_EVENTS
    max_sweep_points: int = MAX_SWEEP_POINTS


DEFAULT_LIMITS = Limits()


def check_spec_ints(data: object, source: str, path: str = "") -> None:
    """Refuse any int in a validated spec dump beyond SPEC_INT_MAX, naming its dotted key."""
    if isinstance(data, dict):
        for key, value in data.items():
            check_spec_ints(value, source, f"{path}.{key}" if path else str(key))
    elif isinstance(data, int) and not isinstance(data, bool) and abs(data) > SPEC_INT_MAX:
        raise SpecError(source, path, f"{data:,} is beyond the largest value npusim accepts "
                                      f"({SPEC_INT_MAX:,} = 2**48, SPEC_INT_MAX); check the unit")


def check_batch(batch: object, source: str = "--batch") -> int:
    """A positive int batch of at most BATCH_MAX."""
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise SpecError(source, "batch", f"{batch!r} is not a batch size; give a positive integer")
    if batch > BATCH_MAX:
        raise SpecError(source, "batch", f"{batch:,} images per inference is beyond the largest batch npusim "
                                         f"accepts ({BATCH_MAX:,}, BATCH_MAX)")
    return batch


def network_traffic_bytes(net, operand_bytes: int) -> int:
    """Bytes one inference reads and writes at least once: every layer's inputs, output and weights."""
    total = 0
    for layer in net.layers:
        reads = sum(_elems(shape) for shape in layer.in_shapes)
        total += reads * net.batch + layer.output_elems + layer.weight_elems   # output_elems has the batch
    return total * operand_bytes


def _elems(shape) -> int:
    n = 1
    for d in shape:
        n *= int(d)
    return n


def check_events(events: int, limits: Limits, source: str) -> None:
    """Refuse, after mapping and before the engine, a program whose event count is beyond the limit."""
    if events > limits.max_events:
        raise SpecError(source, "work", f"the mapped program needs an estimated {events:,} engine events "
                                        f"(about {events / EVENTS_PER_S / 60:.0f} min); the limit is "
                                        f"{limits.max_events:,}. Raise it with --max-events {events} if you mean it")


def check_traffic(net, operand_bytes: int, limits: Limits, source: str) -> None:
    """Refuse, before mapping, a network whose memory traffic alone is beyond the limit."""
    need = network_traffic_bytes(net, operand_bytes)
    if need > limits.max_traffic_bytes:
        raise SpecError(source, "work", f"this inference moves an estimated {format_bytes(need)} through the "
                                        f"memory path (activations and weights at {operand_bytes} B per element); "
                                        f"the limit is {format_bytes(limits.max_traffic_bytes)}: mapping and simulating it "
                                        "would take minutes and gigabytes of memory. Raise it with --max-traffic SIZE (e.g. "
                                        f"--max-traffic {_round_up_gib(need)}GiB) if you mean it")


def check_memory(need: int, what: str, limits: Limits, source: str, key: str) -> None:
    """Refuse an allocation estimated beyond the memory limit, before it is made."""
    if need > limits.max_memory_bytes:
        raise SpecError(source, key, f"{what} would take an estimated {format_bytes(need)} of memory; the limit is "
                                     f"{format_bytes(limits.max_memory_bytes)}. Raise it with --max-memory SIZE "
                                     f"(e.g. --max-memory {_round_up_gib(need)}GiB) if the machine has it")


def check_sweep_points(points: int, limits: Limits, source: str) -> None:
    """Refuse a sweep grid with more points than the limit."""
    if points > limits.max_sweep_points:
        raise SpecError(source, "grid", f"the sweep has {points:,} points; the limit is "
                                        f"{limits.max_sweep_points:,}. Narrow the grid, or raise the limit with "
                                        f"--max-points {points}")


def _round_up_gib(n: int) -> int:
    return max(1, -(-n // 2**30))
