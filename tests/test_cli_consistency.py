"""One command line: shared options, the same positional order, announced and checked outputs, parts of a network."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from simulator.cli import cli

ROOT = Path(__file__).resolve().parents[1]


def _run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _fails(*args, needles=()):
    result = _run(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr, f"{needle!r} not in {result.stderr!r}"
    return result.stderr


def _option_help(command: str, option: str) -> str:
    """The help line(s) of `option` in `npusim COMMAND --help`, whitespace collapsed."""
    text = " ".join(_run(command, "--help").stdout.split())
    match = re.search(re.escape(option) + r" (.*?)(?= --[a-z]| -h,)", text)
    assert match, f"{option} not in `npusim {command} --help`"
    return match.group(1)


# --- shared options and positional order --------------------------------------------------------

@pytest.mark.parametrize("option", ["--input", "--batch", "--skip-unsupported", "--ideal-memory", "--until",
                                    "--layers"])
def test_shared_options_have_one_help_text(option):
    """--input, --batch, --ideal-memory, ... read the same in run, compare and sweep (one declaration)."""
    helps = {c: _option_help(c, option) for c in ("run", "compare", "sweep")}
    assert len(set(helps.values())) == 1, helps


def test_info_takes_the_same_input_and_batch():
    """info declares --input and --batch through the same shared options."""
    assert _option_help("info", "--input") == _option_help("run", "--input")
    assert _option_help("info", "--batch") == _option_help("run", "--batch")


def test_compare_takes_the_network_last_or_by_option():
    """`compare ARCH... NETWORK` and `compare ARCH... --network NETWORK` give the same rows."""
    last = _run("compare", "teaching", "conv_micro", "--json", "-")
    named = _run("compare", "teaching", "--network", "conv_micro", "--json", "-")
    assert last.exit_code == 0 and named.exit_code == 0, last.output + named.output
    a, b = json.loads(last.stdout), json.loads(named.stdout)
    assert a["chips"][0]["arch"] == b["chips"][0]["arch"] == "teaching"
    assert a["chips"][0]["fps"] == b["chips"][0]["fps"]


def test_compare_old_order_is_refused_with_the_new_command():
    """The former order NETWORK ARCH... exits 2 and spells the command in the new order."""
    _fails("compare", "conv_micro", "teaching", "tpu_v1",
           needles=("network now comes last", "npusim compare teaching tpu_v1 conv_micro"))


def test_compare_needs_a_network():
    """A lone chip is refused with the usage spelled out."""
    _fails("compare", "teaching", needles=("ARCH... NETWORK",))


def test_compare_takes_ideal_memory():
    """compare --ideal-memory runs every chip with free memory, as run --ideal-memory does."""
    out = _run("compare", "teaching", "conv_micro", "--ideal-memory", "--json", "-")
    run = _run("run", "teaching", "conv_micro", "--ideal-memory", "--json", "-")
    assert json.loads(out.stdout)["chips"][0]["fps"] == pytest.approx(json.loads(run.stdout)["fps"])


# --- outputs: announced, format by extension, one file each -------------------------------------

def test_every_written_file_is_announced(tmp_path):
    """run names each file it wrote on stderr with its size; stdout keeps the report."""
    outs = {"--json": "r.json", "--csv": "r.csv", "--plot": "t.png", "--trace": "t.json", "--report": "r.html"}
    args = [a for opt, name in outs.items() for a in (opt, tmp_path / name)]
    result = _run("run", "teaching", "conv_micro", "--no-layer-table", *args)
    assert result.exit_code == 0, result.output
    for name in outs.values():
        path = tmp_path / name
        assert re.search(rf"npusim: wrote {re.escape(str(path))} \(\d", result.stderr), result.stderr
    assert "npusim: wrote" not in result.stdout


@pytest.mark.parametrize("command", [("run", "teaching", "conv_micro"), ("compare", "teaching", "conv_micro")])
def test_plot_extension_decides_the_format_or_is_refused(command, tmp_path):
    """--plot x.jpg is refused before simulating; --plot x.svg writes SVG, not PNG bytes."""
    _fails(*command, "--plot", tmp_path / "x.jpg", needles=("--plot", ".jpg", ".png"))
    assert not (tmp_path / "x.jpg").exists()
    assert _run(*command, "--plot", tmp_path / "x.svg").exit_code == 0
    assert b"<svg" in (tmp_path / "x.svg").read_bytes()[:2000]


def test_two_outputs_to_one_file_are_refused(tmp_path):
    """--json f --csv f would overwrite each other: refused naming both options."""
    _fails("run", "teaching", "conv_micro", "--json", tmp_path / "f.json", "--trace", tmp_path / "f.json",
           needles=("--trace", "--json", "overwrite"))


@pytest.mark.parametrize("option,name", [("--json", "r.txt"), ("--csv", "r.json"), ("--report", "r.png")])
def test_json_csv_report_need_their_extension(option, name, tmp_path):
    """Each output option names the extension it writes."""
    _fails("run", "teaching", "conv_micro", option, tmp_path / name, needles=(option, "format follows"))


# --- part of a network ------------------------------------------------------------------------

def test_until_runs_the_layers_up_to_one():
    """--until conv5 runs alexnet's layers through conv5 and no further."""
    data = json.loads(_run("run", "teaching", "alexnet", "--until", "conv5", "--input", "67", "--json", "-").stdout)
    assert [layer["name"] for layer in data["layers"]][-1] == "conv5"
    assert "fc6" not in {layer["name"] for layer in data["layers"]}


def test_layers_range_starts_from_its_input():
    """--layers conv3..conv5 runs three layers; their input is pool2's output, read as the network input."""
    data = json.loads(_run("info", "alexnet", "--layers", "conv3..conv5", "--json", "-").stdout)
    assert [layer["name"] for layer in data["layers"]] == ["conv3", "conv4", "conv5"]
    full = json.loads(_run("info", "alexnet", "--json", "-").stdout)
    assert data["total_macs"] == sum(l["macs"] for l in full["layers"] if l["name"] in ("conv3", "conv4", "conv5"))


@pytest.mark.parametrize("args,needles", [
    (("--until", "conv9"), ("no layer 'conv9'", "did you mean")),
    (("--layers", "conv5..conv3"), ("comes after",)),
    (("--layers", "conv3"), ("A..B",)),
    (("--until", "conv3", "--layers", "conv1..conv2"), ("not both",)),
])
def test_bad_layer_choice_exits_2(args, needles):
    """A layer that is not there, a reversed range or both options exit 2 in one paragraph."""
    _fails("run", "teaching", "alexnet", *args, needles=needles)


def test_range_with_two_inputs_is_refused():
    """A range that reads two tensors from before its start (a skip connection) names them."""
    _fails("info", "yolov3", "--layers", "conv3..conv9", needles=("2 tensors",))


# --- what the reports say -----------------------------------------------------------------------

def test_layer_own_time_and_waiting_add_up():
    """Each layer's own time plus its waiting is its busy time plus every stall; JSON carries both."""
    data = json.loads(_run("run", "teaching", "resnet50", "--input", "64", "--json", "-").stdout)
    for layer in data["layers"]:
        total = layer["busy_cycles"] + sum(layer["stall_cycles"].values())
        assert layer["own_cycles"] + layer["wait_cycles"] == total
        assert layer["wait_cycles"] == layer["stall_cycles"]["dependency"]


def test_mac_utilization_is_one_definition_on_a_throttled_chip():
    """On a throttled chip the percentage equals achieved TOPS / peak TOPS at the run clock, as printed."""
    from simulator.pipeline import simulate
    from simulator.report.compare import compare_row

    r = simulate("tesla_t4", "conv_micro")
    assert r.clock_hz < r.resolved_spec["clock"]              # the T4 runs below its boost clock
    assert r.mac_utilization == pytest.approx(r.effective_tops / r.peak_tops_at_clock)
    assert compare_row(r)["mac_utilization"] == r.mac_utilization
    assert r.to_dict()["peak_tops_at_clock"] == r.peak_tops_at_clock
    out = _run("run", "tesla_t4", "conv_micro", "--no-layer-table").stdout
    line = " ".join(next(l for l in out.splitlines() if "MAC utilization" in l).split())
    assert f"{100 * r.mac_utilization:.1f}%" in line
    assert f"{r.effective_tops:.2f} of {r.peak_tops_at_clock:.2f} TOPS at the run clock" in line


def test_piped_info_never_cuts_a_number():
    """`npusim info` into a file prints whole numbers, never '118,013,9...'."""
    out = _run("info", "yolov3").stdout
    assert "…" not in out and "..." not in out


def test_every_subcommand_has_help():
    """npusim --help and every subcommand's --help exit 0."""
    assert _run("--help").exit_code == 0
    for name, command in cli.commands.items():
        assert _run(name, "--help").exit_code == 0, name
        for sub in getattr(command, "commands", {}):
            assert _run(name, sub, "--help").exit_code == 0, (name, sub)


def test_study_is_a_subcommand(tmp_path):
    """`npusim study --replot` re-renders the study doc and figures from study.json, each file announced."""
    import shutil
    figures = tmp_path / "figures"
    figures.mkdir()
    shutil.copy(ROOT / "docs" / "figures" / "study.json", figures / "study.json")
    doc = tmp_path / "study.md"
    shutil.copy(ROOT / "docs" / "tops-vs-throughput.md", doc)
    result = _run("study", "--replot", "--doc", doc, "--figures", figures)
    assert result.exit_code == 0, result.output
    assert f"npusim: wrote {doc}" in result.stderr and list(figures.glob("*.png"))
