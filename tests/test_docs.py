"""The user docs stay current: every bundled chip and network is named in the format docs, and examples use today's command line."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from simulator.spec.registry import bundled_archs
from simulator.workload import bundled_networks

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(bundled_archs()))
def test_every_bundled_chip_is_in_the_arch_format_doc(name):
    """docs/formats/arch.md names each chip of archs/."""
    assert f"`{name}`" in (ROOT / "docs" / "formats" / "arch.md").read_text()


@pytest.mark.parametrize("name", sorted(bundled_networks()))
def test_every_bundled_network_is_in_the_network_format_doc(name):
    """docs/formats/network.md names each network of kernels/."""
    assert f"`{name}`" in (ROOT / "docs" / "formats" / "network.md").read_text()


@pytest.mark.parametrize("doc", ["README.md", "docs/reports.md", "docs/sweeps.md", "docs/formats/arch.md",
                                 "docs/formats/network.md"])
def test_compare_examples_put_the_network_last(doc):
    """Every `npusim compare` example in these docs lists the chips first and the network last."""
    networks = set(bundled_networks())
    for line in (ROOT / doc).read_text().splitlines():
        match = re.search(r"npusim compare ((?:[\w./-]+ ?)+)", line)
        if match:
            words = [w for w in match.group(1).split() if not w.startswith("-")]
            assert words and words[0] not in networks, line
