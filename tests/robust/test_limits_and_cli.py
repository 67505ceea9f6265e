"""Limits refuse out-of-proportion runs before they start; damaged result JSON, Ctrl-C, first-run notice."""
from __future__ import annotations

import copy
import json

import pytest

import simulator
import simulator.pipeline as pipeline
from simulator.cli.common import EXIT_INTERRUPTED
from simulator.errors import SpecError
from simulator.limits import Limits

from robust_helpers import fails, invoke


def test_traffic_limit_names_estimate_and_flag(tiny_net, monkeypatch):
    """A network beyond --max-traffic is refused before mapping, naming the estimate and the flag."""
    monkeypatch.setattr(pipeline, "build_program", _never)
    err = fails("run", "teaching", tiny_net, "--max-traffic", "1KiB", needles=("--max-traffic", "KiB"))
    assert "estimated" in err


def test_raising_the_traffic_limit_lets_the_run_go(tiny_net):
    """The same run passes once --max-traffic is raised above the estimate."""
    assert invoke("run", "teaching", tiny_net, "--no-layers", "--max-traffic", "1GiB").exit_code == 0


def test_events_limit_refuses_before_the_engine(tiny_net, monkeypatch):
    """A mapped program beyond --max-events is refused before run_program is called."""
    monkeypatch.setattr(pipeline, "run_program", _never)
    fails("run", "teaching", tiny_net, "--max-events", "10", needles=("--max-events", "engine events"))


def test_dram_state_memory_is_checked_before_allocating(teaching_raw, tiny_net, monkeypatch):
    """1,000,000 cycle-model DRAM channels (66 GiB of state) are refused before any state is built."""
    import simulator.resources.memory as memory
    monkeypatch.setattr(memory, "dram_state_new", _never)
    raw = copy.deepcopy(teaching_raw)
    raw["memory"]["dram"].update(model="cycle", channels=1_000_000)
    with pytest.raises(SpecError, match="--max-memory") as info:
        simulator.simulate(raw, str(tiny_net))
    assert "GiB" in str(info.value)


def test_limits_apply_to_the_python_api(tiny_net):
    """simulate(limits=...) applies the same refusal as the CLI flags."""
    with pytest.raises(SpecError, match="--max-traffic"):
        simulator.simulate("teaching", str(tiny_net), limits=Limits(max_traffic_bytes=1024))


@pytest.mark.parametrize("value", ["0", "-1GiB", "lots"])
def test_bad_limit_values_are_clean_errors(tiny_net, value, no_simulation):
    """A limit that is not a positive size is refused in one paragraph."""
    fails("run", "teaching", tiny_net, "--max-traffic", value, needles=("--max-traffic",))


def test_sweep_points_limit(tiny_net):
    """A grid with more points than --max-points is refused before any point runs."""
    fails("sweep", "teaching", tiny_net, "--grid", "compute.arrays=1..100", "--grid", "compute.vector.lanes=1..200",
          "--max-points", "1000", needles=("20,000 points", "--max-points"))


def test_trace_max_slices_zero_is_refused_before_simulating(tiny_net, tmp_path, no_simulation):
    """--trace-max-slices 0 fails at once, not after the simulation."""
    fails("run", "teaching", tiny_net, "--trace", tmp_path / "t.json", "--trace-max-slices", "0",
          needles=("--trace-max-slices",))


@pytest.fixture
def saved_result(tmp_path, tiny_net):
    out = tmp_path / "r.json"
    assert invoke("run", "teaching", tiny_net, "--no-layers", "--json", out).exit_code == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("damage", [
    lambda d: d["timeline"].pop("cycles"),
    lambda d: d["timeline"].update(bins="many"),
    lambda d: d["timeline"].update(mac_utilization=[1, 2]),
    lambda d: d["timeline"]["array_time"].pop("busy"),
    lambda d: d["timeline"].update(layers=[{"name": 3}]),
    lambda d: d["timeline"]["layers"][0].update(stall_cycles=None),
    lambda d: d.update(timeline=[]),
    lambda d: d["timeline"].update(clock_hz=0),
])
def test_damaged_result_json_is_a_clean_error(saved_result, tmp_path, damage):
    """`npusim timeline` on a damaged result names the bad key instead of a KeyError or TypeError."""
    damage(saved_result)
    path = tmp_path / "damaged.json"
    path.write_text(json.dumps(saved_result))
    fails("timeline", path, "--plot", tmp_path / "p.png", needles=("timeline", "damaged"))
    assert not (tmp_path / "p.png").exists()


@pytest.mark.parametrize("content", [b"\xff\xfe", b"[1, 2]", b"{\"timeline\": " + b"[" * 100000])
def test_unreadable_result_json_is_a_clean_error(tmp_path, content):
    """Binary bytes, a JSON that is not a mapping, and absurd nesting end in exit 2."""
    path = tmp_path / "r.json"
    path.write_bytes(content)
    fails("timeline", path, "--plot", tmp_path / "p.png")


def test_ctrl_c_during_run_exits_130(tiny_net, monkeypatch, capsys):
    """Ctrl-C during `run` prints 'npusim: interrupted' and exits with code 130, no traceback."""
    from simulator.cli import cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(pipeline, "simulate", interrupted)
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "teaching", str(tiny_net)], prog_name="npusim")
    assert info.value.code == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "npusim: interrupted" in err and "Traceback" not in err


def test_first_run_prints_one_compile_line(tiny_net, monkeypatch):
    """When the engine has no cached code for the run, one stderr line says it compiles, once."""
    monkeypatch.setattr(pipeline, "needs_compile", lambda args: True)
    result = invoke("run", "teaching", tiny_net, "--no-layers")
    assert result.exit_code == 0
    lines = [ln for ln in result.stderr.splitlines() if "compiling" in ln]
    assert len(lines) == 1 and "once" in lines[0]


def test_cached_run_prints_no_compile_line(tiny_net):
    """A run whose engine code is cached (compiled by an earlier test) says nothing about compiling."""
    assert invoke("run", "teaching", tiny_net, "--no-layers").exit_code == 0
    result = invoke("run", "teaching", tiny_net, "--no-layers")
    assert "compiling" not in result.stderr


def test_needs_compile_knows_a_compiled_signature(tiny_net):
    """needs_compile is False for argument types run_program has already compiled in this process."""
    from simulator.mapping.program import build_program
    from simulator.resources.memory import dram_record, memory_tables
    spec = simulator.load_arch("teaching")
    mapped = build_program(spec, simulator.load_network(str(tiny_net)), ideal_memory=False, source="t")
    args = (mapped.program, memory_tables(spec), dram_record(spec, mapped.program))
    pipeline.run_program(*args)
    assert pipeline.needs_compile(args) is False


def test_network_without_work_gives_null_fps(tmp_path):
    """A network with no work has 0 cycles; its JSON says fps null, not Infinity."""
    net = tmp_path / "empty.yaml"
    net.write_text("name: empty\ninput: {channels: 3, size: [8, 8]}\nlayers:\n  - {name: f, op: flatten}\n")
    result = invoke("run", "teaching", net, "--json", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["fps"] is None


def _never(*args, **kwargs):
    raise AssertionError("called after a limit should have refused the run")
