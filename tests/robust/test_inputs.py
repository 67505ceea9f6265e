"""Input files and values: bytes, nesting, alias bombs, overflow, strict types, units, dict specs."""
from __future__ import annotations

import copy

import pytest
import yaml

import simulator
from simulator.errors import SpecError
from simulator.limits import SPEC_INT_MAX
from simulator.spec import load_arch
from simulator.spec.load import YAML_MAX_DEPTH
from simulator.workload import load_network

from robust_helpers import TEACHING, TINY_NET, fails

BOMB = "a: &a [1,2,3,4,5,6,7,8,9]\n" + "".join(
    f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n" for p, n in zip("abcdef", "bcdefg")) + "name: *g\n"


def _write(tmp_path, name, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


@pytest.mark.parametrize("content, needle", [
    (b"\xff\xfe\x00\x01binary", "not UTF-8"),
    ("name: t\xe9st\n".encode("latin-1"), "not UTF-8"),
    ("[" * 5000 + "]" * 5000, "nested"),
    ("a: " + "[" * (YAML_MAX_DEPTH + 5) + "]" * (YAML_MAX_DEPTH + 5), "nested"),
    (BOMB, "aliases"),
])
@pytest.mark.parametrize("kind", ["arch", "network"])
def test_hostile_yaml_is_a_clean_error(tmp_path, content, needle, kind):
    """Binary, Latin-1, deeply nested and alias-bomb files end in exit 2 naming the file."""
    path = _write(tmp_path, "bad.yaml", content)
    args = ("info", path) if kind == "network" else ("show", path)
    fails(*args, needles=(str(path), needle))


def test_yaml_merge_keys_work(tmp_path, teaching_raw):
    """`<<: *anchor` merges a mapping, and the mapping's own keys override the merged ones."""
    text = TEACHING.read_text().replace("      weights: {size: 16 KiB, bytes_per_cycle: 16}",
                                        "      weights: &buf {size: 16 KiB, bytes_per_cycle: 16}").replace(
        "      inputs:  {size: 16 KiB, bytes_per_cycle: 16}", "      inputs: {<<: *buf, size: 32 KiB}")
    spec = load_arch(_write(tmp_path, "merge.yaml", text))
    assert spec.compute.array.buffers.inputs.size_bytes == 32 * 1024
    assert spec.compute.array.buffers.inputs.bytes_per_cycle == 16
    net = TINY_NET.replace("  - {name: c2, op: conv2d, out_channels: 16, kernel: 1}",
                           "  - &c {name: c2, op: conv2d, out_channels: 16, kernel: 1}\n  - {<<: *c, name: c3}")
    assert [layer.name for layer in load_network(_write(tmp_path, "n.yaml", net)).layers][-1] == "c3"


def test_duplicate_key_is_still_refused(tmp_path):
    """A key written twice in one mapping is an error, merge keys notwithstanding."""
    path = _write(tmp_path, "dup.yaml", TEACHING.read_text().replace("clock: 500 MHz", "clock: 500 MHz\nclock: 1 GHz"))
    with pytest.raises(SpecError, match="twice"):
        load_arch(path)


@pytest.mark.parametrize("where, value, needle", [
    (("compute", "array", "rows"), True, "whole number"),
    (("compute", "array", "rows"), "16", "whole number"),
    (("compute", "arrays"), 2.0, "whole number"),
    (("memory", "sram", "pin_weights"), "yes", "true or false"),
    (("memory", "sram", "pin_weights"), 1, "true or false"),
    (("name",), b"\x00\x01", "text"),
    (("clock",), "500", "no unit"),
    (("clock",), 500_000_000, "no unit"),
    (("clock",), "1e30 Hz", "largest value"),
    (("overheads", "layer_setup_cycles"), 2**63, "largest value"),
    (("memory", "dram", "channel_width"), 3, "multiple of 8"),
    (("memory", "dram", "channel_width"), "1 bit", "multiple of 8"),
])
def test_wrong_kind_of_value_is_refused(teaching_raw, where, value, needle):
    """Strings for numbers, booleans for ints, unitless clocks, bytes for text, huge ints: refused."""
    raw = copy.deepcopy(teaching_raw)
    node = raw
    for key in where[:-1]:
        node = node.setdefault(key, {})
    node[where[-1]] = value
    with pytest.raises(SpecError, match=needle) as info:
        load_arch(raw)
    assert info.value.key == ".".join(where)


def test_binary_tag_name_in_a_file_is_refused(tmp_path):
    """`name: !!binary ...` in a YAML file is refused, not taken as a name."""
    path = _write(tmp_path, "b.yaml", TEACHING.read_text().replace("name: teaching", "name: !!binary aGVsbG8="))
    with pytest.raises(SpecError, match="text"):
        load_arch(path)


def test_network_file_refuses_bools_and_strings_like_the_arch_file(tmp_path):
    """`out_channels: true` and `out_channels: '16'` are refused in a network file, as in an arch file."""
    for bad in ("true", "'16'"):
        path = _write(tmp_path, "n.yaml", TINY_NET.replace("out_channels: 16, kernel: 1", f"out_channels: {bad}, kernel: 1"))
        with pytest.raises(SpecError, match="out_channels"):
            load_network(path)


@pytest.mark.parametrize("timing, refresh", [({"trefi": 100}, "all_bank"), ({"trefi_pb": 18}, "per_bank")])
def test_refresh_interval_shorter_than_refresh_is_refused_for_the_cycle_model(teaching_raw, timing, refresh):
    """Refresh intervals the refreshes alone cannot keep up with would make the cycle model refresh
    forever (a hang): refused by the spec. All-bank: trefi <= trfc; per-bank (LPDDR4-3200, 8 banks,
    tRFCpb 144): banks x trefi_pb <= trfc_pb, 8 x 18 = 144."""
    raw = copy.deepcopy(teaching_raw)
    raw["memory"]["dram"].update(model="cycle", timing=timing, refresh=refresh)
    with pytest.raises(SpecError, match="refresh"):
        load_arch(raw)


def test_spec_int_bound_is_inclusive(teaching_raw):
    """SPEC_INT_MAX itself is accepted; one more is refused."""
    raw = copy.deepcopy(teaching_raw)
    raw["overheads"] = {"layer_setup_cycles": SPEC_INT_MAX}
    assert load_arch(raw).overheads.layer_setup_cycles == SPEC_INT_MAX
    raw["overheads"] = {"layer_setup_cycles": SPEC_INT_MAX + 1}
    with pytest.raises(SpecError, match="SPEC_INT_MAX"):
        load_arch(raw)


def test_dict_spec_is_accepted_by_load_arch_and_simulate(teaching_raw, tiny_net):
    """The dict a YAML file gives works in load_arch() and simulate(), with the same result as the file."""
    assert load_arch(teaching_raw) == load_arch("teaching")
    by_dict = simulator.simulate(teaching_raw, str(tiny_net))
    by_name = simulator.simulate("teaching", str(tiny_net))
    assert by_dict.cycles == by_name.cycles > 0


def test_arch_spec_with_overrides_round_trips_its_clock():
    """An ArchSpec with overrides is re-validated; its clock (an int in Hz) keeps its value."""
    spec = load_arch(load_arch("teaching"), {"memory.sram.size": "512 KiB"})
    assert spec.clock_hz == 500_000_000 and spec.memory.sram.size_bytes == 512 * 1024


@pytest.mark.parametrize("args, needle", [
    (("--batch", "9223372036854775808"), "BATCH_MAX"),
    (("--batch", "0"), "positive"),
    (("--input", "99999999x99999999"), "INPUT_SIDE_MAX"),
])
def test_huge_batch_and_input_are_refused(tiny_net, args, needle, no_simulation):
    """An int64-overflowing batch or input side is a clean error, before any work."""
    fails("run", "teaching", tiny_net, *args, needles=(needle,))


def test_yaml_size_guard_reads_nothing_large(tmp_path, monkeypatch):
    """A file over YAML_MAX_BYTES is refused from its size, before it is read."""
    import simulator.spec.load as load
    path = _write(tmp_path, "big.yaml", "name: x\n" * 10)
    monkeypatch.setattr(load, "YAML_MAX_BYTES", 20)
    with pytest.raises(SpecError, match="at most 20 bytes"):
        load_arch(path)


def test_safe_dump_of_generated_chip_still_loads(tmp_path, teaching_raw):
    """A chip written by yaml.safe_dump (as scripts do) loads: the strict types fit YAML's own."""
    path = tmp_path / "gen.yaml"
    path.write_text(yaml.safe_dump(teaching_raw))
    assert load_arch(path).total_macs == 256
