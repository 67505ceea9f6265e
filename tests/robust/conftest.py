"""Fixtures of the robustness tests: a tiny network file, the teaching chip as a dict, no simulation."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from robust_helpers import TEACHING, TINY_NET


@pytest.fixture
def tiny_net(tmp_path) -> Path:
    path = tmp_path / "robust_tiny.yaml"
    path.write_text(TINY_NET)
    return path


@pytest.fixture
def teaching_raw() -> dict:
    """The teaching chip as the dict its YAML file gives."""
    return yaml.safe_load(TEACHING.read_text())


@pytest.fixture
def no_simulation(monkeypatch):
    """Make any simulation an error: a check that must happen before simulating is proven to."""
    import simulator.pipeline as pipeline

    def refuse(*args, **kwargs):
        raise AssertionError("simulate() was called; the check should have come first")
    monkeypatch.setattr(pipeline, "simulate", refuse)
    monkeypatch.setattr(pipeline, "run_program", refuse)
