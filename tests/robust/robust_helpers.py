"""Helpers of the robustness tests: the CLI in-process and its one-paragraph error check, a tiny network."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from simulator.cli import cli

ROOT = Path(__file__).resolve().parents[2]
TEACHING = ROOT / "archs" / "teaching.yaml"
TINY_NET = """\
name: robust_tiny
input: {channels: 8, size: [16, 16]}
layers:
  - {name: c1, op: conv2d, out_channels: 16, kernel: 3, padding: 1}
  - {name: c2, op: conv2d, out_channels: 16, kernel: 1}
"""


def invoke(*args):
    """Run `npusim ARGS` in this process; exceptions other than SystemExit propagate."""
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def fails(*args, needles=()) -> str:
    """Expect exit code 2 with one paragraph on stderr (no traceback) containing every needle."""
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err.startswith("npusim: error:") and "Traceback" not in result.output, err
    assert "\n\n" not in err
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    return err


