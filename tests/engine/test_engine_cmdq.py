"""The engine driving DRAMSim3's two-level controller (controller.cmd_queue_size > 0, the `dramsim3`
preset) through its front end: against the naive engine (tests/naive/engine.py, rule D7), cycle
for cycle, on small programs with reads and writes over several channels."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.constants import (DRAM_CYCLE, KIND_INPUTS, KIND_OUTPUTS, KIND_WEIGHTS, LOAD, RES_DRAM, RES_NOC,
                                        STORE)
from simulator.engine.dram import (ST_BYTES, ST_CONFLICTS, ST_HITS, ST_MISSES, ST_READS, ST_REFRESHES,
                                   ST_WRITES)
from simulator.resources.dram import dram_state_new, dram_tables, preset_spec

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.engine.test_engine_vs_naive import (ARG_NAMES, GHZ, RETURN_NAMES, assert_same, make_program,  # noqa: E402
                                               random_program, run)
from tests.naive.engine import naive_results, naive_simulation  # noqa: E402

DRAMSIM3 = {"preset": "dramsim3"}


def cmdq_dram(rng, **controller):
    """A small DRAM with command queues: few rows, a short refresh interval, small queues (so
    transactions are refused and the write buffer drains), an odd clock ratio."""
    grade = str(rng.choice(["LPDDR4-3200", "DDR4-3200"]))
    ctrl = dict(DRAMSIM3, cmd_queue_size=int(rng.choice([1, 2, 8])), row_hit_cap=int(rng.choice([0, 1, 4])),
                write_buffer=int(rng.choice([0, 1, 4, 12, 32])), write_idle_drain_above=int(rng.choice([0, 2, 8])),
                write_high_watermark=float(rng.choice([1.0, 0.5])), write_low_watermark=0.25,
                refresh_precharge=str(rng.choice(["all", "per_bank"])))
    ctrl.update(controller)
    spec = preset_spec(grade, channels=int(rng.integers(1, 4)), queue_depth=int(rng.integers(2, 17)),
                       address_mapping=str(rng.choice(["ro_ba_bg_co_ch", "ro_co_ba_bg_ch", "ro_ba_bg_ch_co"])),
                       timing={"rows": 8, "trfc": 100, "trefi": 400 + int(rng.integers(0, 300))}, controller=ctrl)
    clock = int(rng.choice([GHZ, 933_000_000, 1_250_000_000, 700_000_000, 400_000_000]))
    return spec, clock


def cmdq_program(seed):
    """random_program's program (a cycle-level-DRAM seed) on a DRAM with command queues."""
    args = random_program(4 * seed + 1)
    rng = np.random.default_rng(10_000 + seed)
    spec, clock = cmdq_dram(rng)
    assert args["dram_mode"] == DRAM_CYCLE
    return dict(args, dram_tb=dram_tables(spec, clock), dram_spec=spec)


def check(args):
    """Engine == naive engine, and the per-channel DRAM statistics agree; returns the engine's result."""
    st = dram_state_new(args["dram_tb"])
    got = run(args, st)
    sim = naive_simulation(*(args[k] for k in ARG_NAMES), dram_spec=args["dram_spec"])
    assert_same(got, naive_results(sim))
    for c, ch in enumerate(sim.dram.ch):
        assert [int(st.stats[c, s]) for s in (ST_HITS, ST_MISSES, ST_CONFLICTS, ST_REFRESHES)] == \
               [*ch.kinds.values(), ch.refreshes], f"DRAM channel {c} statistics"
        assert not ch.queue and not ch.reads_q and not ch.writes_q and not any(ch.cmd_q)
    return got, st


@pytest.mark.parametrize("block", range(2))
def test_engine_equals_naive_with_command_queues_on_random_programs(block):
    """40 seeded random programs (loads and stores, 1-3 channels) through DRAMSim3's controller
    with random queue sizes: the engine and the naive engine agree exactly (times, stalls, events)."""
    for seed in range(block * 20, (block + 1) * 20):
        args = cmdq_program(seed)
        try:
            check(args)
        except AssertionError as e:
            raise AssertionError(f"seed {seed}: {e}") from None


def _streams(channels, n_tiles, store_every, nbytes, dram_clock=GHZ):
    """Tiles on two units, each loading weights and inputs from DRAM and (some) storing to it."""
    tiles = []
    for i in range(n_tiles):
        xfers = [(KIND_WEIGHTS, LOAD, RES_DRAM, nbytes, (i * 7919 * 64) % (1 << 20)),
                 (KIND_INPUTS, LOAD, RES_DRAM, nbytes // 2 + 64 * i, (i * 104729 * 64) % (1 << 20))]
        if i % store_every == 0:
            xfers.append((KIND_OUTPUTS, STORE, RES_DRAM, nbytes, (1 << 19) + i * 4096))
        tiles.append(dict(unit=i % 2, compute=50 + 30 * (i % 3), xfers=xfers))
    spec = preset_spec("DDR4-3200", channels=channels, queue_depth=8, timing={"rows": 16, "trefi": 900},
                       controller=DRAMSIM3)
    return make_program(tiles, 2, {RES_NOC: (64, 1, 2)}, 2, dram=(spec, dram_clock))


@pytest.mark.parametrize("channels,clock", [(1, GHZ), (2, 1_250_000_000), (4, 700_000_000)])
def test_dramsim3_preset_reads_and_writes_over_channels(channels, clock):
    """The dramsim3 preset itself (32-entry write buffer, command queues of 8): engine == naive, and
    every byte the tiles moved went through the DRAM as bursts (reads and writes counted)."""
    args = _streams(channels, 10, 2, 5000, clock)
    got, st = check(args)
    tb = args["dram_tb"]
    bursts = {LOAD: 0, STORE: 0}
    for d, b in zip(args["xfer_dir"], args["xfer_bytes"]):
        full, rest = divmod(int(b), 2048)
        bursts[int(d)] += sum(-(-c // tb.burst_bytes) for c in [2048] * full + ([rest] if rest else []))
    assert int(st.stats[:, ST_READS].sum()) == bursts[LOAD]
    assert int(st.stats[:, ST_WRITES].sum()) == bursts[STORE]
    assert int(st.stats[:, ST_BYTES].sum()) == (bursts[LOAD] + bursts[STORE]) * tb.burst_bytes
    if channels > 1:
        assert (st.stats[:, ST_BYTES] > 0).all()


def test_a_lone_store_drains_from_the_write_buffer():
    """One 64 B store into an otherwise idle DRAM with a 32-entry write buffer: it is not left in the
    buffer (which drains only when full, or above 8 writes): the empty FIFO lets it drain."""
    spec = preset_spec("DDR4-3200", controller=DRAMSIM3)
    args = make_program([dict(unit=0, compute=10, xfers=[(KIND_OUTPUTS, STORE, RES_DRAM, 64, 0)])], 1,
                        {RES_NOC: (64, 1, 0)}, 1, dram=(spec, GHZ))
    got, st = check(args)
    assert int(st.stats[:, ST_WRITES].sum()) == 1
    assert got[7] > 10 + 1


def test_command_queues_are_deterministic_and_differ_from_one_level():
    """Two runs give the same numbers; the one-level controller on the same program gives its own."""
    args = _streams(2, 8, 3, 4096)
    a = run(args)
    b = run(args)
    assert_same(a, b)
    spec = preset_spec("DDR4-3200", channels=2, queue_depth=8, timing={"rows": 16, "trefi": 900})
    args1 = dict(args, dram_tb=dram_tables(spec, GHZ), dram_spec=spec)
    c = run(args1)
    assert a[7] != c[7] or a[8] != c[8]


# ---- whole simulations with the preset ---------------------------------------------------------

CAUSES = ("dependency", "weights", "inputs", "outputs", "setup", "idle")
PRESET = {"memory.dram.controller.preset": "dramsim3"}


@pytest.fixture(scope="module")
def yolo96():
    from simulator.pipeline import simulate
    return simulate("inferx_x1", "yolov3", input=(96, 96), overrides=PRESET)


def test_a_simulation_runs_with_the_dramsim3_preset():
    """The preset is no longer refused by a simulation (it was a SpecError naming cmd_queue_size);
    the run is deterministic and reports the cycle model's per-channel statistics."""
    from simulator.pipeline import simulate
    a = simulate("teaching", "conv_micro", overrides=["memory.dram.controller.preset=dramsim3"])
    b = simulate("teaching", "conv_micro", overrides=PRESET)
    assert a.to_dict() == b.to_dict()
    assert a.cycles > 0 and a.memory["dram"]["model"] == "cycle"
    assert a.memory["dram"]["channels"][0]["requests"] > 0


def test_yolov3_96_with_the_preset_keeps_the_invariants(yolo96):
    """YOLOv3 at 96x96 on inferx_x1 with DRAMSim3's controller: every array's busy + stalls equal the
    makespan; the DRAM moved exactly the tiles' chunks in whole bursts, its reads exactly what the
    tiles asked; the run is no faster than the DRAM and compute rooflines."""
    import simulator
    from simulator.engine.constants import CHUNK_BYTES
    from simulator.mapping.placement import DRAM
    from simulator.mapping.program import LOAD, build_program
    r = yolo96
    for unit in r.per_array:
        assert unit["busy"] + sum(unit[c] for c in CAUSES) == r.cycles, unit["unit"]
    arch = simulator.load_arch("inferx_x1", overrides=PRESET)
    p = build_program(arch, simulator.load_network("yolov3", (96, 96))).program
    on_dram = p.xfer_mem == DRAM
    assert p.xfer_bytes[on_dram & (p.xfer_dir == LOAD)].sum() == r.dram_read_bytes
    assert p.xfer_bytes[on_dram & (p.xfer_dir != LOAD)].sum() == r.dram_write_bytes
    burst = arch.memory.dram.channel_width_bits // 8 * arch.memory.dram.resolved_timing.burst_length
    moved = 0
    for nbytes in p.xfer_bytes[on_dram]:
        full, rest = divmod(int(nbytes), CHUNK_BYTES)
        moved += full * CHUNK_BYTES + -(-rest // burst) * burst
    channels = r.memory["dram"]["channels"]
    assert sum(ch["bytes"] for ch in channels) == moved >= r.dram_read_bytes + r.dram_write_bytes
    assert r.cycles >= (r.dram_read_bytes + r.dram_write_bytes) / (r.dram_peak_bytes_per_s / r.clock_hz)
    assert r.cycles >= r.total_macs / r.chip_macs
    assert 0 < r.dram_bandwidth_utilization <= 1


_PURE_PYTHON = """
import importlib.util, sys
import numpy as np
spec = importlib.util.spec_from_file_location("t", sys.argv[1])
t = importlib.util.module_from_spec(spec)
spec.loader.exec_module(t)
out = t.run(t.cmdq_program(int(sys.argv[2])))
np.savez(sys.argv[3], **dict(zip(t.RETURN_NAMES, out)))
"""


def test_engine_with_command_queues_without_jit_equals_jitted(tmp_path):
    """The command-queue path under NUMBA_DISABLE_JIT=1 (plain Python: fe's views are numpy views)
    gives the jitted result."""
    import os
    import subprocess
    seed = 3
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", _PURE_PYTHON, __file__, str(seed), str(tmp_path / "out.npz")],
                   check=True, env=env, cwd=ROOT, timeout=300)
    out = np.load(tmp_path / "out.npz")
    assert_same(tuple(out[n] for n in RETURN_NAMES), run(cmdq_program(seed)))


_COMPILED = """
import json, sys
from collections import Counter
from numba.core import event
import simulator
seen = Counter()
class Listener(event.Listener):
    def on_start(self, e):
        f = e.data["dispatcher"].py_func
        seen[f.__module__ + "." + f.__qualname__] += 1
    def on_end(self, e):
        pass
event.register("numba:compile", Listener())
simulator.simulate("teaching", "conv_micro", overrides={"memory.dram.model": "cycle"})
one = sorted(seen)
seen.clear()
simulator.simulate("teaching", "conv_micro", overrides={"memory.dram.controller.preset": "dramsim3"})
json.dump({"one": one, "cmdq": sorted(seen)}, open(sys.argv[1], "w"))
"""


def test_a_run_without_command_queues_compiles_none_of_their_code(tmp_path):
    """Cold cache: a cycle-model run with one queue compiles nothing of engine/dram_cmdq.py nor the
    front end's cq_* functions (the CmdqDram record has its own compile); a run with the preset
    then compiles them (and run_program again, for its record type)."""
    import json
    import os
    import subprocess
    out = tmp_path / "compiled.json"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-c", _COMPILED, str(out)], check=True, env=env, cwd=ROOT, timeout=600)
    got = json.loads(out.read_text())
    cmdq = [f for f in got["one"] if "dram_cmdq." in f or ".cq_" in f or "._cq_" in f]
    assert not cmdq, cmdq
    assert "simulator.engine.dram_frontend.tx_step" in got["one"]
    assert "simulator.engine.dram_frontend.cq_tx_step" in got["cmdq"]
    assert "simulator.engine.dram_cmdq._cq_command" in got["cmdq"]
    assert "simulator.engine.core.run_program" in got["cmdq"]
