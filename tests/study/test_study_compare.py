"""`npusim compare`: JSON and CSV carry every column, and each chip's row equals its own simulate() run."""
from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from simulator.cli.compare import compare
from simulator.pipeline import simulate
from simulator.report.compare import COLUMNS, compare_row, dominant_stall
from simulator.spec.arch import DramSpec

FAST = {"memory.dram.model": "bandwidth"} if "model" in DramSpec.model_fields else {}
SET = [a for k, v in FAST.items() for a in ("--set", f"{k}={v}")]
CHIPS = ("teaching", "inferx_x1", "eyeriss_v1")
NET = """name: two_convs
input: {channels: 8, size: [24, 24]}
layers:
  - {name: c1, op: conv2d, out_channels: 16, kernel: 3, padding: 1, activation: relu}
  - {name: p1, op: maxpool, kernel: 2}
  - {name: c2, op: conv2d, out_channels: 32, kernel: 3, padding: 1}
"""


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    path = tmp_path_factory.mktemp("net") / "two_convs.yaml"
    path.write_text(NET)
    return str(path)


@pytest.fixture(scope="module")
def single(net):
    return {a: simulate(a, net, batch=2, overrides=FAST) for a in CHIPS}


@pytest.fixture(scope="module")
def outputs(net, tmp_path_factory):
    d = tmp_path_factory.mktemp("out")
    res = CliRunner().invoke(compare, [*CHIPS, net, "--batch", "2", *SET, "--json", str(d / "c.json"),
                                       "--csv", str(d / "c.csv"), "--plot", str(d / "c.png")])
    assert res.exit_code == 0, res.output
    return d, res.output


def test_json_has_every_column_and_matches_simulate(outputs, single):
    """Each JSON row has every column, in chip order, with the values of a separate simulate() run."""
    d, _ = outputs
    data = json.loads((d / "c.json").read_text())
    assert data["batch"] == 2 and set(data["columns"]) == set(COLUMNS)
    assert [row["arch"] for row in data["chips"]] == list(CHIPS)
    for row in data["chips"]:
        r = single[row["arch"]]
        assert set(COLUMNS) <= set(row)
        assert row["fps"] == pytest.approx(r.fps) and row["cycles"] == r.cycles
        assert row["mac_utilization"] == pytest.approx(r.mac_utilization)
        assert row["peak_tops"] == pytest.approx(r.peak_tops)
        assert row["fps_per_tops"] == pytest.approx(r.fps / r.peak_tops)
        assert row["dram_pins"] == r.resolved_spec["derived"]["dram_pins"]
        assert row["fps_per_dram_pin"] == pytest.approx(r.fps / row["dram_pins"])
        assert row["dominant_stall"] == dominant_stall(r)[0]
        assert row["dram_mb_per_frame"] == pytest.approx((r.dram_read_bytes + r.dram_write_bytes) / 2e6)


def test_csv_has_the_columns_and_reads_back_exactly(outputs, single):
    """The CSV header is COLUMNS in order; floats read back to the simulate() values exactly."""
    d, _ = outputs
    with open(d / "c.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS) and len(rows) == len(CHIPS)
    for row in rows:
        r = single[row["arch"]]
        assert float(row["fps"]) == r.fps and float(row["sram_mib"]) == r.resolved_spec["memory"]["sram"]["size"] / 2**20
        assert int(row["dram_pins"]) == r.resolved_spec["derived"]["dram_pins"]


def test_table_names_every_chip(outputs):
    """The terminal table lists every chip and the fps/TOPS column."""
    _, text = outputs
    for chip in CHIPS:
        assert chip in text
    assert "fps/TOPS" in text and "top stall" in text


def test_plot_is_a_readable_png(outputs):
    """--plot writes a 1200 px wide PNG with content in the middle."""
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    img = imread(outputs[0] / "c.png")
    assert img.shape[1] == 1200 and img[:, 200:1000, :3].var() > 0


def test_json_to_stdout_prints_only_json(net):
    """--json - prints parseable JSON and no table."""
    res = CliRunner().invoke(compare, ["teaching", net, *SET, "--json", "-"])
    assert res.exit_code == 0 and json.loads(res.output)["chips"][0]["arch"] == "teaching"


def test_bad_chip_is_one_paragraph_exit_2(net):
    """An unknown chip name exits 2 with one 'npusim: error:' paragraph naming the bundled chips."""
    res = CliRunner().invoke(compare, ["teaching", "no_such_chip", "--network", net])
    assert res.exit_code == 2 and res.output.startswith("npusim: error:") and "tesla_t4" in res.output


def test_row_from_result_only(single):
    """compare_row needs only a Result: the chip's SRAM and pins come from its resolved spec."""
    row = compare_row(single["inferx_x1"])
    assert row["sram_mib"] == 6 and row["dram_pins"] == 32 and row["dram_gb_per_s"] == pytest.approx(17.064)
