"""Shared fixtures of the sweep tests: a tiny network (points simulate in milliseconds)."""
from __future__ import annotations

import pytest

TINY_NET = """\
name: sweep_tiny
description: two small convs; a sweep point simulates in milliseconds
input: {channels: 8, size: [16, 16]}
layers:
  - {name: c1, op: conv2d, out_channels: 16, kernel: 3, padding: 1}
  - {name: c2, op: conv2d, out_channels: 16, kernel: 1}
"""


@pytest.fixture(scope="session")
def tiny_net(tmp_path_factory) -> str:
    """Path of a two-conv network YAML file."""
    path = tmp_path_factory.mktemp("net") / "sweep_tiny.yaml"
    path.write_text(TINY_NET)
    return str(path)

