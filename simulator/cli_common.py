"""What every `npusim` subcommand shares: the user-error convention and option parsing.

A user error (SpecError) prints one paragraph on stderr and exits with code 2; never a traceback.
Kept apart from cli.py so that subcommand modules (cli_sweep, cli_compare) can import it without
importing the command group that registers them.
"""
from __future__ import annotations

import functools
import json
import sys
import warnings

import click

from simulator.errors import SpecError

EXIT_USAGE = 2


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
    return dims  # type: ignore[return-value]


def check_batch(batch: int) -> int:
    if batch <= 0:
        raise SpecError("--batch", "batch", f"{batch} is not a batch size; give a positive integer")
    return batch


def emit_json(data: dict, target: str) -> None:
    """Write JSON to a file, or to stdout for '-'."""
    text = json.dumps(data, indent=2)
    if target == "-":
        click.echo(text)
    else:
        with open(target, "w") as fh:
            fh.write(text + "\n")


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
    except click.Abort:
        click.echo("Aborted!", err=True)
        sys.exit(1)
