"""A DRAM key the chosen model does not read is reported with a warning naming it."""
import warnings

import pytest

import simulator
from simulator.errors import SpecWarning


def _warnings(overrides):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        simulator.load_arch("inferx_x1", overrides)
    return [str(w.message) for w in caught if issubclass(w.category, SpecWarning)]


@pytest.mark.parametrize("key, value", [("address_mapping", "ro_co_ba_bg_ch"), ("page_policy", "close"),
                                        ("queue_depth", "8"), ("controller.row_hit_cap", "2")])
def test_cycle_model_keys_warn_under_the_bandwidth_model(key, value):
    """Set under model: bandwidth, each cycle-model key is named in one warning."""
    got = _warnings(["memory.dram.model=bandwidth", f"memory.dram.{key}={value}"])
    assert len(got) == 1 and f"memory.dram.{key} has no effect" in got[0]


def test_no_warning_when_the_model_reads_the_key_or_it_is_not_set():
    """Under model: cycle the same keys are read, and defaults left alone warn about nothing."""
    assert _warnings(["memory.dram.model=cycle", "memory.dram.queue_depth=8", "memory.dram.page_policy=close"]) == []
    assert _warnings([]) == []


def test_the_cli_prints_the_warning_as_one_line():
    """`npusim run` prints a no-effect key as one 'npusim: warning:' line on stderr and still runs."""
    import subprocess
    import sys
    from pathlib import Path
    p = subprocess.run([sys.executable, "-m", "simulator", "run", "teaching", "conv_micro",
                        "--set", "memory.dram.model=bandwidth", "--set", "memory.dram.queue_depth=4"], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert p.returncode == 0
    lines = [ln for ln in p.stderr.splitlines() if "queue_depth" in ln]
    assert len(lines) == 1 and lines[0].startswith("npusim: warning: ")
