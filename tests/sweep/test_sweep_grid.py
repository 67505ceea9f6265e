"""Planning a sweep: value lists and ranges, --zip, keys, point order and hashes, the YAML sweep file."""
from __future__ import annotations

import pytest

from simulator.errors import SpecError
from simulator.sweep.plan import load_sweep_file, make_plan, parse_key_values, parse_range, parse_values


@pytest.mark.parametrize("text, values", [
    ("1MiB..16MiB*2", ["1MiB", "2MiB", "4MiB", "8MiB", "16MiB"]),
    ("32..128+32", [32, 64, 96, 128]),
    ("32..130+32", [32, 64, 96, 128]),                      # STOP is a bound, not necessarily a value
    ("1..4", [1, 2, 3, 4]),                                 # plain integers step by 1
    ("32B..128B+32B", ["32B", "64B", "96B", "128B"]),
    ("32B..128B+32", ["32B", "64B", "96B", "128B"]),        # a unitless step takes the range's unit
    ("512KiB..2MiB*2", ["512KiB", "1024KiB", "2048KiB"]),   # units convert; values take START's unit
    ("1 MiB..4 MiB*2", ["1 MiB", "2 MiB", "4 MiB"]),        # START's spelling is kept
    ("0.5..2*2", [0.5, 1, 2]),
    ("0.1..0.3+0.1", [0.1, 0.2, 0.3]),                      # exact arithmetic: 0.3 is reached
    ("500MHz..1GHz+250MHz", ["500MHz", "750MHz", "1000MHz"]),
    ("1e3..4e3*2", [1000, 2000, 4000]),
    ("7..7+1", [7]),
])
def test_range_values(text, values):
    """Geometric (*F) and arithmetic (+S) ranges include START and every step up to STOP."""
    assert parse_range(text) == values


@pytest.mark.parametrize("text, needle", [
    ("16..1*2", "empty"),
    ("1..16*1", "FACTOR > 1"),
    ("0..16*2", "START > 0"),
    ("1..16+0", "STEP > 0"),
    ("1MiB..4MiB", "no step"),
    ("1MiB..4MHz*2", "mixes units"),
    ("1..16*2MiB", "plain number"),
    ("abc..16*2", "not a number"),
    ("1..2..3", "not a range"),
    ("1..1000000+1", "more than"),
])
def test_bad_ranges(text, needle):
    """A range that is empty, unbounded, mixed in units or malformed is one clear SpecError."""
    with pytest.raises(SpecError) as err:
        parse_range(text, "--grid", "memory.sram.size")
    assert needle in err.value.message and err.value.key == "memory.sram.size"


def test_value_lists():
    """Comma lists take YAML scalars; items may be ranges; YAML lists keep their types."""
    assert parse_values("1MiB,2MiB") == ["1MiB", "2MiB"]
    assert parse_values("1, 2,4") == [1, 2, 4]
    assert parse_values("1..2,8,true") == [1, 2, 8, True]
    assert parse_values(["16KiB..64KiB*2", 100]) == ["16KiB", "32KiB", "64KiB", 100]
    assert parse_values(4) == [4]
    with pytest.raises(SpecError, match="empty value"):
        parse_values("1,,2")
    with pytest.raises(SpecError, match="empty"):
        parse_values([])


def test_cartesian_product_order_and_hashes():
    """--grid keys form a product, first key slowest; each point has a stable hash of what defines it."""
    plan = make_plan("teaching", "conv_micro", {"memory.sram.size": "1MiB,2MiB", "compute.arrays": "1..3"})
    assert len(plan) == 6 and plan.shape == (2, 3)
    values = [p.values for p in plan.points()]
    assert values[0] == {"memory.sram.size": "1MiB", "compute.arrays": 1}
    assert values[4] == {"memory.sram.size": "2MiB", "compute.arrays": 2}
    assert plan.positions(4) == (1, 1)
    hashes = [p.hash for p in plan.points()]
    assert len(set(hashes)) == 6
    again = make_plan("teaching", "conv_micro", {"memory.sram.size": "1MiB,2MiB", "compute.arrays": [1, 2, 3]})
    assert [p.hash for p in again.points()] == hashes
    other = make_plan("teaching", "conv_micro", {"memory.sram.size": "1MiB,2MiB", "compute.arrays": "1..3"},
                      input=(32, 32))
    assert not set(p.hash for p in other.points()) & set(hashes)


def test_zip_advances_together():
    """--zip keys form one axis: their i-th values go together, times the --grid product."""
    plan = make_plan("teaching", "conv_micro", {"memory.sram.size": "1MiB,2MiB"},
                     zip={"compute.array.rows": "8,16,32", "compute.array.cols": [8, 16, 32]})
    assert len(plan) == 6 and len(plan.axes) == 2
    assert [(p.values["compute.array.rows"], p.values["compute.array.cols"]) for p in plan.points()][:3] == \
        [(8, 8), (16, 16), (32, 32)]
    assert plan.axes[1].label == "compute.array.rows / compute.array.cols"


def test_zip_length_mismatch():
    """--zip lists of different lengths are refused, naming each key and its length."""
    with pytest.raises(SpecError) as err:
        make_plan("teaching", "conv_micro", {}, zip={"compute.array.rows": "8,16,32", "compute.array.cols": "8,16"})
    msg = err.value.message
    assert "equal lengths" in msg and "compute.array.rows has 3" in msg and "compute.array.cols has 2" in msg


@pytest.mark.parametrize("grid, zip_, fixed, needle", [
    ({"memory.sram.sise": "1MiB"}, {}, {}, "Did you mean 'memory.sram.size'"),
    ({"memory.sram.size.x": "1"}, {}, {}, "is a value, not a section"),
    ({"memory..size": "1"}, {}, {}, "dotted path"),
    ({}, {}, {}, "nothing to sweep"),
    ({"compute.arrays": "1,2"}, {"compute.arrays": "1,2"}, {}, "not both"),
    ({"compute.arrays": "1,2"}, {}, {"compute.arrays": 4}, "not both"),
])
def test_bad_keys(grid, zip_, fixed, needle):
    """A key the arch format lacks fails the whole sweep at once, before any point runs."""
    with pytest.raises(SpecError, match=needle):
        make_plan("teaching", "conv_micro", grid, zip=zip_, overrides=fixed)


def test_dram_timing_keys_are_sweepable():
    """Keys under a mapping field (memory.dram.timing.*) are the user's own names."""
    plan = make_plan("teaching", "conv_micro", {"memory.dram.timing.trcd": "10,20"})
    assert len(plan) == 2


def test_key_values_options():
    """--grid KEY=VALUES strings -> {key: values text}; a missing '=' or a repeated key is refused."""
    assert parse_key_values(["a.b=1,2", "c=x"], "--grid") == {"a.b": "1,2", "c": "x"}
    with pytest.raises(SpecError, match="KEY=VALUES"):
        parse_key_values(["a.b"], "--grid")
    with pytest.raises(SpecError, match="twice"):
        parse_key_values(["a=1", "a=2"], "--zip")


def test_sweep_file(tmp_path, tiny_net):
    """A YAML sweep file gives every option; paths are relative to the file, bundled names stay names."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "net.yaml").write_text(open(tiny_net).read())
    f = tmp_path / "sweep.yaml"
    f.write_text("arch: teaching\nnetwork: sub/net.yaml\ninput: 16x16\nbatch: 2\nset: {compute.arrays: 2}\n"
                 "grid:\n  memory.sram.size: 16KiB..64KiB*2\n  memory.interconnect.width: [16B, 32B]\n"
                 "zip:\n  compute.array.rows: [8, 16]\n  compute.array.cols: '8,16'\nout: res.csv\nworkers: 2\n")
    opts = load_sweep_file(f)
    assert opts["arch"] == "teaching" and opts["network"] == str(tmp_path / "sub" / "net.yaml")
    assert opts["out"] == str(tmp_path / "res.csv") and opts["overrides"] == {"compute.arrays": 2}
    plan = make_plan(opts["arch"], opts["network"], opts["grid"], opts["zip"], input=opts["input"],
                     batch=opts["batch"], overrides=opts["overrides"], source=str(f))
    assert plan.shape == (3, 2, 2) and plan.input == (16, 16) and plan.batch == 2


@pytest.mark.parametrize("text, needle", [
    ("arch: teaching\nnetwork: conv_micro\ngrdi: {compute.arrays: 1}\n", "Did you mean 'grid'"),
    ("network: conv_micro\ngrid: {compute.arrays: 1}\n", "required"),
    ("arch: teaching\nnetwork: conv_micro\ngrid: [1, 2]\n", "mapping"),
    ("arch: teaching\nnetwork: conv_micro\nworkers: 0\n", "positive"),
    ("- 1\n", "expected a mapping"),
])
def test_bad_sweep_files(tmp_path, text, needle):
    """A sweep file with an unknown, missing or mistyped key is one SpecError naming the file."""
    f = tmp_path / "bad.yaml"
    f.write_text(text)
    with pytest.raises(SpecError, match=needle) as err:
        load_sweep_file(f)
    assert err.value.source == str(f)
