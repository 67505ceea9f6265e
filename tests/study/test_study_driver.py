"""The megapixel study driver: runs on a tiny configuration, fills the doc's blocks, keeps its prose."""
from __future__ import annotations

import pytest

from simulator.spec.arch import DramSpec
from simulator.report.study import EyerissCase, run_study, spill_bytes, update_doc, write_outputs

FAST = {"memory.dram.model": "bandwidth"} if "model" in DramSpec.model_fields else {}
NET = """name: tiny_chain
input: {channels: 8, size: [32, 32]}
layers:
  - {name: c1, op: conv2d, out_channels: 32, kernel: 3, padding: 1}
  - {name: c2, op: conv2d, out_channels: 32, kernel: 3, padding: 1}
  - {name: c3, op: conv2d, out_channels: 16, kernel: 1}
"""
PROSE = "# Study\n\nHand-written analysis that must survive.\n\n<!-- study:stamp -->\nold\n<!-- /study:stamp -->\n\nMore prose.\n"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("study")
    net = d / "tiny_chain.yaml"
    net.write_text(NET)
    data = run_study(chips=("teaching", "inferx_x1"), configs=((str(net), 16), (str(net), 96)),
                     compare=(str(net), 16, ("inferx_x1", "teaching")),
                     eyeriss=EyerissCase(size=67, batch=1, last_layer="conv2"),
                     sensitivity=(("teaching", str(net), 96, {"memory.sram.size": "1 MiB"}, "more SRAM"),),
                     overrides=FAST)
    return d, data


def test_every_point_has_a_row(tiny):
    """One row per (chip, input) in chip order; the compare keeps its own chip order."""
    _, data = tiny
    assert [(r["arch"], r["size"]) for r in data["rows"]] == [
        ("teaching", 16), ("inferx_x1", 16), ("teaching", 96), ("inferx_x1", 96)]
    assert [r["arch"] for r in data["compare"]["rows"]] == ["inferx_x1", "teaching"]
    for r in data["rows"]:
        assert r["fps"] > 0 and 0 < r["mac_utilization"] <= 1 and r["spill_mb"] >= 0


def test_spill_grows_when_activations_outgrow_the_sram(tiny):
    """On the 256 KiB teaching chip the 96x96 activations spill and the 16x16 ones do not; 6 MiB holds both."""
    _, data = tiny
    by = {(r["arch"], r["size"]): r for r in data["rows"]}
    assert by[("teaching", 16)]["spill_mb"] == 0 < by[("teaching", 96)]["spill_mb"]
    assert by[("inferx_x1", 96)]["spill_mb"] == 0


def test_sensitivity_changes_one_thing(tiny):
    """A sensitivity case is the base point with its overrides: more SRAM removes the spill."""
    _, data = tiny
    (case,) = data["sensitivity"]
    assert case["base"]["arch"] == case["changed"]["arch"] == "teaching" and case["set"] == {"memory.sram.size": "1 MiB"}
    assert case["base"]["spill_mb"] > 0 == case["changed"]["spill_mb"]


def test_spill_counts_dram_tensors_but_not_input_or_outputs():
    """With a 1-byte SRAM every intermediate activation spills; the input and the output do not count."""
    from simulator.spec import load_arch
    from simulator.workload import load_network

    net = load_network("conv_micro")
    spec = load_arch("teaching", {"memory.sram.size": 1})
    inner = [l for l in net.layers if net.consumers(l.name)]
    assert spill_bytes(spec, net) == sum(l.output_elems for l in inner)


def test_outputs_fill_the_blocks_and_keep_the_prose(tiny):
    """write_outputs writes the PNGs, fills every block, keeps the prose; a second run is identical."""
    d, data = tiny
    doc = d / "doc.md"
    doc.write_text(PROSE)
    written = write_outputs(data, doc, d / "figures")
    text = doc.read_text()
    assert "Hand-written analysis that must survive." in text and "More prose." in text and "\nold\n" not in text
    for block in ("stamp", "chips", "compare", "sweep", "sweep_figures", "sensitivity", "eyeriss"):
        assert f"<!-- study:{block} -->" in text and f"<!-- /study:{block} -->" in text
    assert f"npusim {data['stamp']['version']}" in text and "frames/s" in text and "34.7" in text
    assert "figures/megapixel_" in text and "figures/compare_" in text
    pngs = [p for p in written if p.suffix == ".png"]
    assert len(pngs) == 2 and all(p.stat().st_size > 10_000 for p in pngs)
    write_outputs(data, doc, d / "figures")
    assert doc.read_text() == text


def test_update_doc_replaces_only_known_blocks():
    """A block's body is replaced; a block the doc lacks is appended; other blocks are untouched."""
    text = "a\n<!-- study:x -->\n1\n<!-- /study:x -->\nb\n<!-- study:y -->\n2\n<!-- /study:y -->\n"
    out = update_doc(text, {"x": "new", "z": "added"})
    assert "<!-- study:x -->\nnew\n<!-- /study:x -->" in out and "\n2\n" in out
    assert out.startswith("a\n") and "<!-- study:z -->\nadded\n<!-- /study:z -->" in out
