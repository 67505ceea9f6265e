"""`npusim run --explain LAYER` and the JSON's `mappings`: the chosen mapping, the runner-up, their estimates."""
from __future__ import annotations

import json

from click.testing import CliRunner

from simulator.cli import cli
from simulator.pipeline import simulate


def _run(*args):
    return CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)


def test_explain_prints_the_choice_the_runner_up_and_the_simulated_layer():
    """Tile sizes, batch fold, order, split, Winograd, buffer slots, fused group, homes, estimate; then
    the runner-up's; then what the simulation measured."""
    out = _run("teaching", "conv_micro", "--no-layer-table", "--explain", "conv_s2")
    assert out.exit_code == 0, out.output
    text = out.output[out.output.index("layer conv_s2"):]
    for needle in ("chosen mapping:", "tile            gb 1 x kc", "nb 1 image per tile", "loop order",
                   "array split by", "Winograd        no", "buffer slots    weights 8 KiB", "fused group     none",
                   "operands        inputs in", "estimate", "bound by", "runner-up:", "simulated"):
        assert needle in text, needle


def test_an_unknown_layer_is_refused_with_close_matches_before_the_run(monkeypatch):
    """Exit 2, one line naming the option, the layer and the near names; nothing simulated."""
    import simulator.pipeline as pipeline
    monkeypatch.setattr(pipeline, "run_program", lambda *a: (_ for _ in ()).throw(AssertionError("simulated")))
    out = _run("teaching", "conv_micro", "--explain", "conv_s3")
    assert out.exit_code == 2
    assert "--explain" in out.stderr and "no layer 'conv_s3'" in out.stderr and "conv_s2" in out.stderr


def test_a_vector_layer_is_explained_as_such():
    """A layer without a tiling says why instead of a mapping."""
    out = _run("teaching", "conv_micro", "--no-layer-table", "--explain", "pool")
    assert out.exit_code == 0 and "not a MAC layer" in out.output


def test_the_json_maps_every_mac_layer_with_its_runner_up():
    """`mappings` holds each MAC layer's chosen mapping and runner-up, each with its estimate; the runner-up
    is another mapping and its estimate is no better than the choice's."""
    out = _run("teaching", "conv_micro", "--json", "-")
    data = json.loads(out.output)
    assert set(data["mappings"]) == {"tiny", "conv1x1", "conv3x3_56", "dw3x3", "conv_s2", "fc"}
    for name, m in data["mappings"].items():
        c, r = m["chosen"], m["runner_up"]
        assert {"gb", "kc", "cr", "ph", "qw", "nb", "order", "split", "winograd", "buffer_slot_bytes", "fused_group",
                "operand_homes", "estimate"} <= set(c)
        assert c["estimate"]["cycles"] == max(c["estimate"][k] for k in ("compute_cycles", "dram_cycles",
                                                                         "sram_cycles", "interconnect_cycles"))
        if r is not None:
            assert round(r["estimate"]["cycles"]) >= round(c["estimate"]["cycles"])
            assert [r[k] for k in ("gb", "kc", "cr", "ph", "qw", "nb", "order")] != \
                   [c[k] for k in ("gb", "kc", "cr", "ph", "qw", "nb", "order")]


def test_ideal_memory_has_no_mappings():
    """--ideal-memory runs whole folds: no tilings, so `mappings` is empty and --explain says why."""
    r = simulate("teaching", "conv_micro", ideal_memory=True)
    assert r.to_dict()["mappings"] == {}
    out = _run("teaching", "conv_micro", "--ideal-memory", "--no-layer-table", "--explain", "tiny")
    assert "--ideal-memory" in out.output


def test_a_gpu_layer_explains_its_thread_blocks_waves_and_runner_up():
    """On a GPU chip the mapping is a kernel: block shape, blocks per SM, waves, raster order; the
    runner-up is the next kernel by estimate, and the JSON carries both."""
    out = _run("tesla_t4", "conv_micro", "--no-layer-table", "--explain", "conv_s2")
    assert out.exit_code == 0, out.output
    text = out.output[out.output.index("layer conv_s2"):]
    for needle in ("thread block", "per SM", "fastest in launch order", "runner-up:", "simulated"):
        assert needle in text, needle
    r = simulate("tesla_t4", "conv_micro")
    m = next(layer.mapping for layer in r.layers if layer.name == "conv_s2")
    assert m["chosen"]["kernel"] == "tensor_cores" and m["chosen"]["waves"] >= 1
    assert m["runner_up"]["estimate"]["cycles"] >= m["chosen"]["estimate"]["cycles"]


def test_a_fused_layer_names_its_group_in_explain_and_json():
    """A layer of a depth-first group: the group, its span and its bands, in the text and the JSON."""
    r = simulate("inferx_x1", "yolov3", input=(608, 608))      # at 256 every tensor fits whole: no group
    m = next(layer.mapping for layer in r.layers if layer.name == "conv2")
    assert r.fused_groups, "inferx_x1 fuses YOLOv3's first layers"
    first = r.fused_groups[0]["layers"]
    assert "conv2" in first
    assert m["chosen"]["fused_group"].startswith("group 1 of ") and f"{first[0]} .. {first[-1]}" in m["chosen"]["fused_group"]
    out = _run("inferx_x1", "yolov3", "--input", "608x608", "--no-layer-table", "--explain", "conv2")
    assert "fused group     group 1 of" in out.output
