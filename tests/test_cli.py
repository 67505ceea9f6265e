"""The npusim command: listings, show, info, schema, run; user errors exit 2 with one paragraph."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from simulator.cli import cli

ROOT = Path(__file__).resolve().parents[1]
ARCH_FILE = ROOT / "archs" / "teaching.yaml"

INFO_KEYS = {"network", "input", "batch", "layers", "total_macs", "total_weight_bytes",
             "peak_activation_bytes", "num_conv_layers"}
RUN_KEYS = {"arch", "network", "input", "batch", "cycles", "latency_ms", "fps", "mac_utilization",
            "peak_tops", "effective_tops", "busy_cycles", "stall_cycles", "dram_read_bytes",
            "dram_write_bytes", "dram_bandwidth_utilization", "layers", "spec_hash", "version"}
STALL_KEYS = {"weights", "inputs", "outputs", "dependency", "idle"}


def _run(*args: str):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _ok(*args: str) -> str:
    result = _run(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def _json(*args: str) -> dict:
    return json.loads(_ok(*args))


def _fails(*args: str, needles=()) -> str:
    """Run, expect exit code 2 and one paragraph on stderr without a traceback; return it."""
    result = _run(*args)
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert err and "Traceback" not in result.output
    assert "\n\n" not in err  # one paragraph
    for needle in needles:
        assert needle in err, f"{needle!r} not in {err!r}"
    return err


def _bad_arch(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load(ARCH_FILE.read_text())
    edit(raw)
    path = tmp_path / "bad_chip.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# --- listings and show ------------------------------------------------------------------------

def test_archs_one_line_each():
    """`npusim archs` prints one line per bundled chip with its peak TOPS."""
    lines = {line.split()[0]: line for line in _ok("archs").strip().splitlines()}
    assert {"inferx_x1", "teaching"} <= set(lines)
    assert "8.74 TOPS" in lines["inferx_x1"] and "0.26 TOPS" in lines["teaching"]


def test_networks_one_line_each():
    """`npusim networks` prints one line per bundled network."""
    lines = {line.split()[0]: line for line in _ok("networks").strip().splitlines()}
    assert {"conv_micro", "mobilenet_v2", "resnet50", "yolov3"} <= set(lines)
    assert "608x608" in lines["yolov3"] and "70.35 GMAC" in lines["yolov3"]


def test_show_prints_resolved_spec():
    """`npusim show teaching` exits 0 and prints the chip with its derived figures."""
    out = _ok("show", "teaching")
    for needle in ("teaching", "500 MHz", "256", "LPDDR4-3200", "6.40 GB/s", "16 data pins"):
        assert needle in out


def test_show_json_has_derived_figures():
    """`npusim show inferx_x1 --json -` is JSON with derived figures and the full DRAM timing."""
    data = _json("show", "inferx_x1", "--json", "-")
    derived = data["derived"]
    assert derived["total_macs"] == 4096 and derived["dram_pins"] == 32
    assert derived["peak_tops"] == pytest.approx(8.740864)
    assert derived["dram_peak_bytes_per_s"] == pytest.approx(17.064e9)
    assert data["clock"] == 1_067_000_000
    assert data["memory"]["dram"]["timing"]["speed_grade"] == "LPDDR4X-4266"


def test_show_json_to_file(tmp_path):
    """--json FILE writes the resolved spec to FILE."""
    out = tmp_path / "spec.json"
    _ok("show", "teaching", "--json", out)
    assert json.loads(out.read_text())["derived"]["total_macs"] == 256


def test_show_arch_by_path(tmp_path):
    """A path to a copy of a bundled arch file works like the bundled name."""
    copy = tmp_path / "copy_of_inferx.yaml"
    copy.write_text((ROOT / "archs" / "inferx_x1.yaml").read_text())
    assert _json("show", copy, "--json", "-") == _json("show", "inferx_x1", "--json", "-")


def test_show_set_override():
    """--set memory.sram.size=2MiB changes the resolved size."""
    data = _json("show", "teaching", "--set", "memory.sram.size=2MiB", "--json", "-")
    assert data["memory"]["sram"]["size"] == 2 * 2**20
    data = _json("show", "teaching", "--set", "compute.arrays=4", "--json", "-")
    assert data["derived"]["total_macs"] == 1024


# --- info ---------------------------------------------------------------------------------------

def test_info_yolov3_608_json():
    """`info yolov3 --input 608x608 --json -` has the documented keys and YOLOv3's MAC count."""
    data = _json("info", "yolov3", "--input", "608x608", "--json", "-")
    assert INFO_KEYS <= set(data)
    assert data["network"] == "yolov3" and data["batch"] == 1
    assert data["total_macs"] == 70_345_950_208
    assert data["num_conv_layers"] == 75
    assert isinstance(data["layers"], list) and len(data["layers"]) >= 75


def test_info_table_and_batch():
    """`info` prints a table; --batch scales the MAC count."""
    out = _ok("info", "conv_micro")
    assert "conv_micro" in out
    one = _json("info", "conv_micro", "--json", "-")["total_macs"]
    two = _json("info", "conv_micro", "--batch", "2", "--json", "-")
    assert two["batch"] == 2 and two["total_macs"] == 2 * one


def test_info_network_by_path(tmp_path):
    """A path to a copy of a bundled network works like the bundled name."""
    copy = tmp_path / "my_net.yaml"
    copy.write_text((ROOT / "kernels" / "conv_micro.yaml").read_text())
    by_path = _json("info", copy, "--json", "-")
    by_name = _json("info", "conv_micro", "--json", "-")
    assert by_path["total_macs"] == by_name["total_macs"] and by_path["layers"] == by_name["layers"]


# --- schema --------------------------------------------------------------------------------------

def test_schema_arch_is_json_schema():
    """`npusim schema arch` prints valid JSON with properties for clock, compute, memory."""
    data = _json("schema", "arch")
    assert {"clock", "compute", "memory"} <= set(data["properties"])
    assert data["type"] == "object" and "$defs" in data


def test_schema_doc_matches_cli():
    """docs/schema/arch.schema.json is exactly what `npusim schema arch` prints."""
    doc = json.loads((ROOT / "docs" / "schema" / "arch.schema.json").read_text())
    assert doc == _json("schema", "arch"), "regenerate: npusim schema arch > docs/schema/arch.schema.json"


# --- run (smoke) ---------------------------------------------------------------------------------

def test_run_teaching_conv_micro_json():
    """`run teaching conv_micro --json -` exits 0 with the documented result keys."""
    data = _json("run", "teaching", "conv_micro", "--json", "-")
    assert RUN_KEYS <= set(data)
    assert STALL_KEYS <= set(data["stall_cycles"])
    assert data["arch"] == "teaching" and data["network"] == "conv_micro"
    assert data["cycles"] > 0 and 0 < data["mac_utilization"] <= 1
    assert data["peak_tops"] == pytest.approx(0.256)


def test_run_bad_arguments_exit_2(tmp_path):
    """`run` refuses a bad arch, network, --set or --batch with exit code 2."""
    _fails("run", "nochip", "conv_micro", needles=["teaching"])
    _fails("run", "teaching", "nonet", needles=["conv_micro"])
    _fails("run", "teaching", "conv_micro", "--set", "memory.sram.sise=1MiB", needles=["Did you mean 'size'"])
    _fails("run", "teaching", "conv_micro", "--batch", "0", needles=["--batch"])


# --- user errors: exit 2, one paragraph, names file, key and what is allowed ----------------------

BAD_ARCHS = {
    "typo": (lambda r: r["memory"]["sram"].update(bnaks=r["memory"]["sram"].pop("banks")),
             ["memory.sram.bnaks", "Did you mean 'banks'"]),
    "missing": (lambda r: r["memory"]["sram"].pop("banks"), ["memory.sram.banks", "required key"]),
    "zero": (lambda r: r["memory"]["sram"].update(size="0 KiB"), ["memory.sram.size", "greater than 0"]),
    "negative": (lambda r: r["memory"]["sram"].update(size="-1 MiB"), ["memory.sram.size", "greater than 0"]),
    "dataflow": (lambda r: r["compute"]["array"].update(dataflow="diagonal_stationary"),
                 ["compute.array.dataflow", "weight_stationary, output_stationary, input_stationary"]),
    "standard": (lambda r: r["memory"]["dram"].update(standard="DDR7"),
                 ["memory.dram.standard", "LPDDR4, LPDDR4X, DDR4, GDDR6, HBM2"]),
    "grade": (lambda r: r["memory"]["dram"].update(data_rate="1600 MT/s"),
              ["memory.dram.data_rate", "LPDDR4-2400", "LPDDR4-3200"]),
    "timing": (lambda r: r["memory"]["dram"].update(timing={"trcd": 20}),
               ["memory.dram.timing.trcd", "trcd_rd"]),
    "unit": (lambda r: r.update(clock="500 MHzz"), ["'clock'", "MHz, GHz"]),
}


@pytest.mark.parametrize("case", sorted(BAD_ARCHS))
def test_bad_arch_file_exit_2(tmp_path, case):
    """Each class of bad arch file: exit 2, one paragraph naming the file, the key and the allowed."""
    edit, needles = BAD_ARCHS[case]
    path = _bad_arch(tmp_path, edit)
    err = _fails("show", path, needles=[str(path), *needles])
    assert err.startswith("npusim: error:")


def test_yaml_syntax_error_exit_2(tmp_path):
    """A YAML syntax error: exit 2 with the file and the line."""
    path = tmp_path / "broken.yaml"
    path.write_text(ARCH_FILE.read_text().replace("    banks: 4", "    banks: [4"))
    _fails("show", path, needles=[str(path), "line 2", "not valid YAML"])


def test_non_mapping_arch_exit_2(tmp_path):
    """A file whose top level is a list: exit 2, says a mapping is expected."""
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    _fails("show", path, needles=[str(path), "mapping of keys at the top level"])


@pytest.mark.parametrize("override, needles", [
    ("memory.sram.sise=2MiB", ["memory.sram.sise", "Did you mean 'size'", "--set"]),
    ("memory.sram.size=2MiBB", ["memory.sram.size", "unknown unit 'MiBB'", "KiB, MiB"]),
    ("compute.array.dataflow=bogus", ["compute.array.dataflow", "'bogus'", "weight_stationary"]),
    ("memory.sram.banks=0", ["memory.sram.banks", "greater than 0"]),
    ("memory.sram.size", ["dotted.key=value"]),
    ("name.x=1", ["'name' is a value"]),
])
def test_bad_set_exit_2(override, needles):
    """--set on a nonexistent key or with a bad value: exit 2 naming the key."""
    _fails("show", "teaching", "--set", override, needles=needles)


@pytest.mark.parametrize("value", ["abc", "0x608", "608x", "-5", "608x608x3"])
def test_bad_input_exit_2(value):
    """A bad --input: exit 2, says HxW is expected."""
    _fails("info", "yolov3", "--input", value, needles=["--input", "HxW"])


@pytest.mark.parametrize("value", ["0", "-1"])
def test_bad_batch_exit_2(value):
    """A zero or negative --batch: exit 2 with what is allowed."""
    _fails("info", "conv_micro", "--batch", value, needles=["--batch", "positive integer"])


def test_non_integer_batch_exit_2():
    """A non-integer --batch is click's usage error: exit 2, the option named, no traceback."""
    result = _run("info", "conv_micro", "--batch", "two")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--batch" in result.stderr and "'two' is not a valid integer" in result.stderr


def test_unknown_network_lists_bundled():
    """An unknown network name: exit 2, lists the bundled networks and the closest."""
    _fails("info", "yolo", needles=["yolo", "conv_micro", "mobilenet_v2", "resnet50", "yolov3"])


def test_unknown_arch_lists_bundled():
    """An unknown arch name: exit 2, lists the bundled chips and the closest."""
    _fails("show", "teachin", needles=["teachin", "inferx_x1", "teaching", "Did you mean teaching"])


def test_real_process_exit_code_and_no_traceback(tmp_path):
    """The installed entry point exits 2 on a bad file and prints no traceback."""
    path = _bad_arch(tmp_path, lambda r: r["compute"]["array"].update(dataflow="bogus"))
    proc = subprocess.run([sys.executable, "-m", "simulator", "show", str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "compute.array.dataflow" in proc.stderr
