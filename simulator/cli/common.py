"""What every `npusim` subcommand shares: the user-error convention and option parsing.

A user error (SpecError) prints one paragraph on stderr and exits with code 2; never a traceback.
Kept apart from the package's __init__ so that the subcommand modules (run, sweep, compare, ...)
can import it without importing the command group that registers them.
"""
from __future__ import annotations

import functools
import sys
import warnings

import click

from simulator import limits, units
from simulator.errors import SpecError
from simulator.limits import INPUT_SIDE_MAX
from simulator.outputs import json_text, write_text

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130       # the shell's code for a run ended by Ctrl-C (128 + SIGINT)

COMPILE_NOTICE = ("npusim: compiling the simulation engine for this DRAM model (once per machine, "
                  "about 5-20 s; later runs use the cached code)")


def user_errors(fn):
    """Turn SpecError into a one-paragraph message and exit code 2."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SpecError as exc:
            click.echo(f"npusim: error: {exc}", err=True)
            sys.exit(EXIT_USAGE)
    return wrapper


def user_errors_and_warnings(fn):
    """`user_errors`, and each warning the simulator raises as one 'npusim: warning:' paragraph."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                return user_errors(fn)(*args, **kwargs)
            finally:
                for w in caught:
                    click.echo(f"npusim: warning: {w.message}", err=True)
    return wrapper


SKIP_UNSUPPORTED_HELP = ("ONNX: run ops npusim does not model as passthroughs that cost nothing "
                         "(a warning lists them) instead of stopping with an error")


IDEAL_MEMORY_HELP = ("SCALE-Sim-compatible: memory costs nothing (no DRAM, SRAM or interconnect time), "
                     "so a layer's folds run back to back")

# name -> (click parameter declarations, keyword arguments): each option declared once, for every subcommand
_SHARED = {
    "input": (("--input", "input_size"), dict(metavar="HxW", help="input size (default: the network's own)")),
    "batch": (("--batch",), dict(default=1, show_default=True, type=int, help="images per inference")),
    "set": (("--set", "overrides"), dict(multiple=True, metavar="KEY=VALUE",
                                         help="override an arch spec key{where}, e.g. memory.sram.size=2MiB")),
    "json": (("--json", "json_out"), dict(metavar="FILE.json|-", help="write {what} as JSON to FILE, or to stdout with -")),
    "ideal_memory": (("--ideal-memory",), dict(is_flag=True, help=IDEAL_MEMORY_HELP)),
    "skip_unsupported": (("--skip-unsupported",), dict(is_flag=True, help=SKIP_UNSUPPORTED_HELP)),
    "until": (("--until", "until"), dict(metavar="LAYER", help="run the network up to and including LAYER only")),
    "layers": (("--layers", "layer_range"), dict(metavar="A..B", help="run only the layers A to B (network "
                                                 "order); what A..B reads from before A comes from DRAM")),
}


def shared_options(*names: str, what: str = "the result", where: str = ""):
    """Decorate a subcommand with the shared options `names` (keys of _SHARED), each declared once.

    `what` fills the --json help ("write the result as JSON"), `where` the --set help (" on every
    chip"). The options appear in the order given.
    """
    unknown = set(names) - set(_SHARED)
    assert not unknown, f"no shared option {unknown}"

    def decorate(fn):
        for name in reversed(names):
            decls, kwargs = _SHARED[name]
            kwargs = dict(kwargs)
            if "help" in kwargs:
                kwargs["help"] = kwargs["help"].format(what=what, where=where)
            fn = click.option(*decls, **kwargs)(fn)
        return fn
    return decorate


def option_given(name: str) -> bool:
    """True when the current command's parameter `name` was given on the command line (not its default)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return True
    source = ctx.get_parameter_source(name)
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def parse_layer_range(until: str | None, layer_range: str | None) -> tuple[str | None, str | None] | None:
    """--until LAYER / --layers A..B -> (first, last) layer names (None: from the start / to the end);
    neither given -> None. Both given, or a range without '..', is a SpecError."""
    if until is None and layer_range is None:
        return None
    if until is not None and layer_range is not None:
        raise SpecError("--until", "--until", "give --until LAYER or --layers A..B, not both")
    if until is not None:
        if not until.strip():
            raise SpecError("--until", "--until", "give a layer name, e.g. --until conv5")
        return None, until.strip()
    first, sep, last = layer_range.partition("..")
    if not sep or not (first.strip() or last.strip()):
        raise SpecError("--layers", "--layers", f"'{layer_range}' is not a range; write A..B with layer names, "
                                                "e.g. --layers conv2..conv5 (A.. or ..B leave an end open)")
    return first.strip() or None, last.strip() or None


def load_for_run(network, input_size: str | None, batch: int, skip_unsupported: bool = False,
                 until: str | None = None, layer_range: str | None = None):
    """(network, input) for simulate(): the name and parsed size as given, or, when the network must be
    loaded first (--skip-unsupported, --until, --layers), the loaded and cut Network and None."""
    size = parse_input_size(input_size)
    part = parse_layer_range(until, layer_range)
    if not skip_unsupported and part is None:
        return network, size
    from simulator.pipeline import select_layers
    from simulator.workload import load_network
    net = load_network(network, input_size=size, batch=batch, skip_unsupported=skip_unsupported)
    if part is not None:
        net = select_layers(net, *part)
    return net, None


def parse_input_size(text: str | None) -> tuple[int, int] | None:
    """'608x608' or '608' -> (608, 608); None stays None."""
    if text is None:
        return None
    parts = text.lower().replace(",", "x").split("x")
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = ()
    if len(dims) == 1:
        dims = dims * 2
    if len(dims) != 2 or min(dims) <= 0:
        raise SpecError("--input", "input", f"'{text}' is not an input size; write HxW with positive integers, e.g. 608x608")
    if max(dims) > INPUT_SIDE_MAX:
        raise SpecError("--input", "input", f"'{text}': a side of more than {INPUT_SIDE_MAX:,} pixels is beyond "
                                            "what npusim accepts (INPUT_SIDE_MAX)")
    return dims  # type: ignore[return-value]


def check_batch(batch: int) -> int:
    """A positive batch of at most limits.BATCH_MAX, else a SpecError naming --batch."""
    return limits.check_batch(batch)


def limit_options(fn):
    """--max-traffic, --max-memory and --max-events: the limits a run is checked against before it starts."""
    fn = click.option("--max-events", type=int, default=limits.MAX_EVENTS, show_default=True, metavar="N",
                      help="refuse a run whose mapped program needs more engine events")(fn)
    fn = click.option("--max-memory", default="4GiB", show_default=True, metavar="SIZE",
                      help="refuse a run whose large tables (DRAM state, SRAM banks) would need more memory")(fn)
    fn = click.option("--max-traffic", default="4GiB", show_default=True, metavar="SIZE",
                      help="refuse a network that moves more bytes per inference (estimated from its shapes)")(fn)
    return fn


def make_limits(max_traffic: str, max_memory: str, max_events: int, max_points: int | None = None) -> limits.Limits:
    """The options of `limit_options` (and sweep's --max-points) -> Limits; a bad size is a SpecError."""
    def size(text: str, option: str) -> int:
        try:
            value = units.parse_size_bytes(text)
        except units.UnitError as exc:
            raise SpecError(option, option, str(exc)) from None
        if value <= 0:
            raise SpecError(option, option, f"'{text}' must be a positive size, e.g. 32GiB")
        return value
    if max_events <= 0:
        raise SpecError("--max-events", "--max-events", f"{max_events} must be a positive count")
    if max_points is not None and max_points <= 0:
        raise SpecError("--max-points", "--max-points", f"{max_points} must be a positive count")
    return limits.Limits(max_traffic_bytes=size(max_traffic, "--max-traffic"),
                         max_memory_bytes=size(max_memory, "--max-memory"), max_events=max_events,
                         max_sweep_points=max_points or limits.MAX_SWEEP_POINTS)


def emit_json(data: dict, target: str, option: str = "--json") -> None:
    """Write strict JSON (NaN and Infinity as null) atomically to a file, or to stdout for '-'."""
    text = json_text(data)
    if target == "-":
        click.echo(text)
    else:
        write_text(target, text + "\n", option)


def run_click(main, *args, **kwargs):
    """Call a click `main` so that its usage errors get the one-paragraph form and exit 2."""
    kwargs.pop("standalone_mode", None)
    try:
        return main(*args, standalone_mode=False, **kwargs)
    except click.UsageError as exc:
        click.echo(f"npusim: error: {exc.format_message()}", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort as exc:
        if isinstance(exc.__cause__, KeyboardInterrupt):     # Ctrl-C: click turned it into Abort
            click.echo("npusim: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        click.echo("Aborted!", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("npusim: interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
