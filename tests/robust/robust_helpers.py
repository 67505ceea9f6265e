"""Helpers of the robustness tests: the CLI in-process and its one-paragraph error check, a tiny network."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import strategies as st

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


@st.composite
def small_chips(draw, memory_knobs: bool = False):
    """A random valid small chip of teaching's layout: arrays, array shape, dataflow, vector units,
    SRAM and DRAM channels; with `memory_knobs`, also interconnect width, DRAM model and an
    LPDDR4-2400 grade (a faster one, 3200, exists), for the monotonicity tests."""
    raw = copy.deepcopy(yaml.safe_load(TEACHING.read_text()))
    c = raw["compute"]
    c["arrays"] = draw(st.integers(1, 2))
    c["array"].update(rows=draw(st.sampled_from([4, 8, 16])), cols=draw(st.sampled_from([4, 8, 16])),
                      dataflow=draw(st.sampled_from(["weight_stationary", "output_stationary", "input_stationary"])))
    c["vector"]["units"] = draw(st.integers(1, 2))
    m = raw["memory"]
    m["sram"]["size"] = f"{draw(st.sampled_from([64, 128, 256, 1024]))} KiB"
    m["dram"]["channels"] = draw(st.integers(1, 2))
    if memory_knobs:
        m["interconnect"]["width"] = f"{draw(st.sampled_from([16, 32, 64]))} B"
        m["dram"].update(model=draw(st.sampled_from(["bandwidth", "cycle"])), data_rate="2400 MT/s")
    return raw


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


