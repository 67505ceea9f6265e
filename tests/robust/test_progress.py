"""Progress on a terminal: the sweep bar (points done/total, time left) and the single run's
time-left estimate; neither appears when stderr is not a terminal (piped output)."""
from __future__ import annotations

import pytest

import simulator
from simulator.mapping.program import build_program
from simulator.resources.memory import ENGINE_EVENTS_PER_S, estimated_engine_seconds, estimated_events
from simulator.spec import load_arch
from simulator.workload import load_network

from robust_helpers import invoke

BAR = "\u2501"      # the bar's line character


@pytest.fixture
def no_terminal(monkeypatch):
    """stderr is what CliRunner gives (not a TTY), and no variable forces rich to think otherwise."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def terminal(monkeypatch):
    """rich treats stderr as a terminal (https://force-color.org/)."""
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")


def test_run_shows_no_bar_when_stderr_is_not_a_terminal(no_terminal):
    result = invoke("run", "teaching", "conv_micro", "--no-layer-table")
    assert result.exit_code == 0, result.output
    assert BAR not in result.stderr and "left" not in result.stderr and "\x1b[" not in result.stderr
    assert BAR not in result.stdout and "left" not in result.stdout


def test_run_on_a_terminal_shows_the_engine_time_left(terminal):
    simulator.simulate("teaching", "conv_micro")      # the engine compiled: no compile notice instead
    result = invoke("run", "teaching", "conv_micro", "--no-layer-table")
    assert result.exit_code == 0, result.output
    assert BAR in result.stderr and "simulate" in result.stderr and " s left" in result.stderr
    assert "left" not in result.stdout


def test_sweep_bar_shows_points_and_time_left_on_a_terminal(terminal):
    result = invoke("sweep", "teaching", "conv_micro", "--grid", "memory.dram.channels=1,2", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert "2/2" in result.stderr and "ETA" in result.stderr and BAR in result.stderr


def test_sweep_shows_no_bar_when_stderr_is_not_a_terminal(no_terminal):
    result = invoke("sweep", "teaching", "conv_micro", "--grid", "memory.dram.channels=1,2", "--workers", "1")
    assert result.exit_code == 0, result.output
    assert BAR not in result.stderr and "ETA" not in result.stderr and "\x1b[" not in result.stderr


def _program(size, arch="teaching"):
    spec = load_arch(arch)
    return build_program(spec, load_network("conv_micro", input_size=size), source=arch).program


def test_engine_estimate_is_positive_and_grows_with_the_program():
    small, large = _program(10), _program(20)
    assert estimated_events(large) > estimated_events(small)
    for model in ("bandwidth", "cycle"):
        a, b = estimated_engine_seconds(small, model), estimated_engine_seconds(large, model)
        assert 0 < a < b
        assert b == pytest.approx(estimated_events(large) / ENGINE_EVENTS_PER_S[model])
    # the cycle model is the slower engine per event
    assert estimated_engine_seconds(large, "cycle") > estimated_engine_seconds(large, "bandwidth")
