"""Output paths are checked before simulating; files are written atomically; JSON is strict."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from simulator.errors import SpecError
from simulator.outputs import atomic_path, check_output, json_text, write_text

from robust_helpers import fails, invoke

RUN_OUTPUTS = ("--json", "--trace", "--plot", "--plot-layers", "--csv", "--report")


@pytest.mark.parametrize("option", RUN_OUTPUTS)
def test_run_output_into_missing_folder_fails_before_simulating(option, tmp_path, tiny_net, no_simulation):
    """`run OPTION missing/x` exits 2 naming the option and the folder, and never simulates."""
    fails("run", "teaching", tiny_net, option, tmp_path / "missing" / "x.out", needles=(option, "does not exist"))


@pytest.mark.parametrize("option", RUN_OUTPUTS)
def test_run_output_that_is_a_folder_fails_before_simulating(option, tmp_path, tiny_net, no_simulation):
    """An output path that is a folder is refused before simulating."""
    fails("run", "teaching", tiny_net, option, tmp_path, needles=(option, "is a folder"))


@pytest.mark.parametrize("args", [
    ("show", "teaching", "--json"), ("info", "conv_micro", "--json"),
    ("compare", "teaching", "conv_micro", "--json"), ("compare", "teaching", "conv_micro", "--csv"),
    ("compare", "teaching", "conv_micro", "--plot"), ("export-onnx", "conv_micro", "-o"),
])
def test_other_commands_check_outputs_first(args, tmp_path, no_simulation):
    """show, info, compare and export-onnx refuse an output in a missing folder with exit 2."""
    fails(*args, tmp_path / "missing" / "out", needles=("does not exist",))


def test_sweep_out_into_missing_folder_is_refused(tmp_path, tiny_net):
    """`sweep --out` no longer creates missing folders: it is refused like every other output."""
    fails("sweep", "teaching", tiny_net, "--grid", "compute.arrays=1,2", "--workers", "1",
          "--out", tmp_path / "missing" / "s.csv", needles=("--out", "does not exist"))
    assert not (tmp_path / "missing").exists()


def test_sweep_plot_into_missing_folder_is_refused_before_the_sweep(tmp_path, tiny_net):
    """`sweep --plot missing/x.png` fails before any point runs (no --out file is started)."""
    out = tmp_path / "s.csv"
    fails("sweep", "teaching", tiny_net, "--grid", "compute.arrays=1,2", "--workers", "1", "--out", out,
          "--plot", tmp_path / "missing" / "p.png", needles=("--plot",))
    assert not out.exists()


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs /proc")
def test_output_under_proc_is_refused():
    """A folder where no file can be created (/proc) is refused by the check, not by a traceback."""
    with pytest.raises(SpecError, match="cannot write in the folder"):
        check_output("/proc/npusim-test.json", "--json")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_full_device_is_a_clean_error(tiny_net):
    """Writing to a full device (/dev/full) ends with exit 2 and 'the device is full'."""
    fails("show", "teaching", "--json", "/dev/full", needles=("--json", "device is full"))


def test_atomic_write_leaves_no_partial_file(tmp_path):
    """A writer that fails half-way leaves neither the target nor a temporary file."""
    target = tmp_path / "r.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target, "--json") as tmp:
            Path(tmp).write_text("{half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_old_file_only_when_done(tmp_path):
    """The old file stays intact until the new one is complete, then it is replaced whole."""
    target = tmp_path / "r.json"
    target.write_text("old")
    with atomic_path(target, "--json") as tmp:
        Path(tmp).write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_atomic_file_gets_normal_permissions(tmp_path):
    """A written file is readable by others as a plain open() would make it (not mkstemp's 0600)."""
    write_text(tmp_path / "a.txt", "x", "--json")
    assert os.stat(tmp_path / "a.txt").st_mode & 0o044 == 0o044 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_json_has_no_infinity_or_nan():
    """Non-finite floats are written as null, so strict JSON parsers accept the file."""
    text = json_text({"fps": float("inf"), "x": [float("nan"), 1.5], "ok": 2})
    assert json.loads(text) == {"fps": None, "x": [None, 1.5], "ok": 2}
    assert "Infinity" not in text and "NaN" not in text


def test_run_json_is_strict(tmp_path, tiny_net):
    """`run --json` output parses with a parser that rejects NaN and Infinity."""
    out = tmp_path / "r.json"
    assert invoke("run", "teaching", tiny_net, "--no-layers", "--json", out).exit_code == 0

    def refuse(token):
        raise ValueError(token)
    data = json.loads(out.read_text(), parse_constant=refuse)
    assert data["cycles"] > 0 and data["fps"] > 0
