"""Fuzz: random mutations of the bundled YAML, random text, random --set values, random small chips.

Every input ends as a valid spec or one SpecError (the CLI: exit 0 or 2), never another
exception; random valid chips keep the run invariants. Example counts are small so that CI stays
short (the whole file runs in seconds); docs/reliability.md records the larger offline runs.
"""
from __future__ import annotations

import copy
import os

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulator
from simulator.errors import SpecError
from simulator.spec import load_arch
from simulator.spec.load import read_yaml
from simulator.workload import load_network

from robust_helpers import TEACHING, TINY_NET, invoke, small_chips

# NPUSIM_FUZZ_EXAMPLES=2000 for a long offline run (docs/reliability.md); CI keeps the default
EXAMPLES = int(os.environ.get("NPUSIM_FUZZ_EXAMPLES", "40"))
FAST = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ARCH = yaml.safe_load(TEACHING.read_text())
NET = yaml.safe_load(TINY_NET)

# values a careless edit or a hostile file may put anywhere
VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["16", "1e30 Hz", "500", "-1 KiB", "0 B", "3 bit", "yes", "MHz", "1.5", "inf"]),
    st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def _paths(node, prefix=()):
    """Every key path of a nested dict/list."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield prefix + (key,)
        yield from _paths(value, prefix + (key,))


@st.composite
def mutated(draw, base):
    """`base` with one to three leaves replaced, deleted, or an unknown key added."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(data))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(VALUES)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(VALUES)
    return data


def _write(tmp_path, name, data) -> str:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return str(path)


@FAST
@given(data=mutated(ARCH))
def test_mutated_arch_files_load_or_fail_cleanly(tmp_path, data):
    """A mutated arch file gives an ArchSpec or a SpecError, nothing else."""
    try:
        load_arch(_write(tmp_path, "a.yaml", data))
    except SpecError as exc:
        assert exc.message


@FAST
@given(data=mutated(NET), size=st.one_of(st.none(), st.integers(1, 64)), batch=st.integers(1, 4))
def test_mutated_network_files_load_or_fail_cleanly(tmp_path, data, size, batch):
    """A mutated network file gives a Network or a SpecError, nothing else."""
    try:
        load_network(_write(tmp_path, "n.yaml", data), input_size=size, batch=batch)
    except SpecError as exc:
        assert exc.message


@FAST
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_random_text_is_yaml_or_a_clean_error(tmp_path, text):
    """Arbitrary text (and Latin-1 bytes) parses or is a SpecError."""
    path = tmp_path / "r.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") if text.isascii() else text.encode("latin-1", "replace"))
    try:
        read_yaml(path)
    except SpecError:
        pass


SET_KEYS = ["clock", "compute.arrays", "compute.array.rows", "compute.array.dataflow", "memory.sram.size",
            "memory.sram.banks", "memory.sram.pin_weights", "memory.dram.channels", "memory.dram.channel_width",
            "memory.dram.model", "memory.dram.timing.trefi", "overheads.layer_setup_cycles", "name", "nosuch.key"]
SET_VALUES = st.one_of(st.sampled_from(["16", "true", "'16'", "1e30 Hz", "500", "-1", "0", "2**63", "[1]",
                                        "{a: 1}", "!!binary aGk=", "9223372036854775808", "cycle", "3 bit", ""]),
                       st.text(alphabet="0123456789abcHzMKiB .-", max_size=10))


@settings(max_examples=EXAMPLES, deadline=None)
@given(key=st.sampled_from(SET_KEYS), value=SET_VALUES)
def test_cli_show_with_random_set_exits_0_or_2(key, value):
    """`npusim show teaching --set KEY=VALUE` exits 0 or 2 (one paragraph), never with a traceback."""
    result = invoke("show", "teaching", "--set", f"{key}={value}", "--json", "-")
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("npusim: error:") and "\n\n" not in result.stderr.strip()




@settings(max_examples=max(6, EXAMPLES // 20), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chip=small_chips())
def test_random_chips_keep_the_run_invariants(tiny_net, chip):
    """Utilization in [0, 1], busy + stalls = makespan on every unit, the same result twice, and more
    SRAM never more DRAM traffic (placement is monotone)."""
    first = simulator.simulate(chip, str(tiny_net))
    assert 0.0 <= first.mac_utilization <= 1.0
    for row in first.per_array:
        assert sum(v for k, v in row.items() if k != "unit") == first.cycles
    again = simulator.simulate(chip, str(tiny_net))
    assert again.to_dict() == first.to_dict()
    bigger = copy.deepcopy(chip)
    bigger["memory"]["sram"]["size"] = "4 MiB"
    more = simulator.simulate(bigger, str(tiny_net))
    assert more.dram_read_bytes + more.dram_write_bytes <= first.dram_read_bytes + first.dram_write_bytes
