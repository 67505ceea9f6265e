"""The njit event loop against its slow reference (tests/naive/engine.py), hand-computed cases, invariants."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.constants import (ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS,
                                        CHUNK_BYTES, KIND_INPUTS, KIND_OUTPUTS, KIND_WEIGHTS, LOAD,
                                        NUM_RESOURCES, RES_DRAM, RES_NOC, RES_SRAM, STORE)
from simulator.engine.core import run_program

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.naive.engine import chunk_sizes, cycles_for, naive_run_program  # noqa: E402

DRAM, SRAM = RES_DRAM, RES_SRAM
ARG_NAMES = ("tile_unit", "tile_compute", "tile_setup", "tile_region", "dep_start", "dep_lo", "dep_hi",
             "xfer_start", "xfer_kind", "xfer_dir", "xfer_mem", "xfer_bytes", "region_tiles", "unit_start",
             "unit_tiles", "res_num", "res_den", "res_latency", "depth")
ISSUE, DEP_READY, START, END, DONE, OUT_READY = range(6)


# ---- building programs ---------------------------------------------------------------------------

def make_program(tiles, units, rates, depth, regions=None):
    """Engine arguments (a dict in run_program's order) from readable per-tile descriptions.

    tiles: list of dicts with unit, compute, setup=0, region=own index, deps=[(lo, hi)],
    xfers=[(kind, direction, memory, bytes)]. Queues hold each unit's tiles in list order.
    rates: {resource: (num, den, latency)}. Dtypes follow mapping.program.TileProgram.
    """
    T = len(tiles)
    region = [t.get("region", i) for i, t in enumerate(tiles)]
    G = regions if regions is not None else (max(region) + 1 if T else 0)
    deps = [t.get("deps", []) for t in tiles]
    xfers = [t.get("xfers", []) for t in tiles]
    unit = np.array([t["unit"] for t in tiles], np.int32)
    order = np.argsort(unit, kind="stable").astype(np.int32)
    unit_start = np.zeros(units + 1, np.int64)
    np.cumsum(np.bincount(unit, minlength=units), out=unit_start[1:])
    flat_x = [x for xs in xfers for x in xs]
    num = np.ones(NUM_RESOURCES, np.int64)
    den = np.ones(NUM_RESOURCES, np.int64)
    lat = np.zeros(NUM_RESOURCES, np.int64)
    for r, (n, d, l) in rates.items():
        num[r], den[r], lat[r] = n, d, l
    return dict(
        tile_unit=unit,
        tile_compute=np.array([t["compute"] for t in tiles], np.int64),
        tile_setup=np.array([t.get("setup", 0) for t in tiles], np.int64),
        tile_region=np.array(region, np.int32),
        dep_start=np.concatenate([[0], np.cumsum([len(d) for d in deps])]).astype(np.int64),
        dep_lo=np.array([lo for d in deps for lo, _ in d], np.int32),
        dep_hi=np.array([hi for d in deps for _, hi in d], np.int32),
        xfer_start=np.concatenate([[0], np.cumsum([len(x) for x in xfers])]).astype(np.int64),
        xfer_kind=np.array([x[0] for x in flat_x], np.int8),
        xfer_dir=np.array([x[1] for x in flat_x], np.int8),
        xfer_mem=np.array([x[2] for x in flat_x], np.int8),
        xfer_bytes=np.array([x[3] for x in flat_x], np.int64),
        region_tiles=np.bincount(np.array(region, np.int64), minlength=G).astype(np.int32),
        unit_start=unit_start,
        unit_tiles=order,
        res_num=num, res_den=den, res_latency=lat,
        depth=int(depth),
    )


def random_program(seed):
    """A small random valid program: layers in order, deps only to earlier layers' regions (no deadlock)."""
    rng = np.random.default_rng(seed)
    units = int(rng.integers(1, 5))
    T = int(rng.integers(1, 41))
    tie_heavy = rng.random() < 0.3          # equal sizes, zero latencies: many simultaneous events
    zero_time = rng.random() < 0.2          # free resources (den 0, as ideal memory) and 0-cycle tiles
    layer = np.sort(rng.integers(0, int(rng.integers(1, 6)), T))
    setup_cycles = int(rng.choice([0, int(rng.integers(1, 60))]))
    # regions: each layer's tiles grouped into consecutive region ids, every region non-empty
    region = np.zeros(T, np.int64)
    first_region = {}
    n_regions = 0
    for L in np.unique(layer):
        idx = np.nonzero(layer == L)[0]
        k = int(rng.integers(1, len(idx) + 1))
        _, local = np.unique(rng.integers(0, k, len(idx)), return_inverse=True)
        first_region[int(L)] = n_regions
        region[idx] = n_regions + local
        n_regions += int(local.max()) + 1
    tiles = []
    seen = set()
    unit = rng.integers(0, units, T)
    for i in range(T):
        deps = []
        before = first_region[int(layer[i])]       # regions of earlier layers are 0 .. before-1
        if before:
            for _ in range(int(rng.integers(0, 3))):
                lo = int(rng.integers(0, before))
                deps.append((lo, int(rng.integers(lo, before))))
        xfers = []
        for _ in range(int(rng.integers(0, 4))):
            kind = int(rng.choice([KIND_WEIGHTS, KIND_INPUTS]))
            xfers.append((kind, LOAD, int(rng.integers(0, 2)), _random_bytes(rng, tie_heavy)))
        if rng.random() < 0.6:
            xfers.insert(int(rng.integers(0, len(xfers) + 1)),
                         (KIND_OUTPUTS, STORE, int(rng.integers(0, 2)), _random_bytes(rng, tie_heavy)))
        key = (int(unit[i]), int(layer[i]))
        setup = setup_cycles if key not in seen else 0     # first tile of a layer on a unit
        seen.add(key)
        compute = int(rng.choice([1, 2, 4])) if tie_heavy else int(rng.integers(1, 501))
        if zero_time and rng.random() < 0.5:
            compute, setup = 0, 0
        tiles.append(dict(unit=int(unit[i]), compute=compute, setup=setup, region=int(region[i]),
                          deps=deps, xfers=xfers))
    if tie_heavy:
        rates = {r: (int(rng.choice([16, 32, 64])), 1, 0) for r in (DRAM, SRAM, RES_NOC)}
    else:
        rates = {r: (int(rng.integers(1, 65)), int(rng.integers(1, 9)), int(rng.integers(0, 101)))
                 for r in (DRAM, SRAM, RES_NOC)}
    if zero_time:
        for r in rng.choice([DRAM, SRAM, RES_NOC], int(rng.integers(1, 4)), replace=False):
            rates[int(r)] = (1, 0, 0)
    return make_program(tiles, units, rates, int(rng.integers(1, 4)), regions=n_regions)


def _random_bytes(rng, tie_heavy):
    if tie_heavy or rng.random() < 0.2:
        return int(rng.choice([1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES]))
    return int(rng.integers(1, 10001))


def run(args):
    """The njit engine without its events count: (times, acc, xfer_done, res_busy, makespan)."""
    times, acc, xfer_done, res_busy, makespan, _ = run_program(*(args[k] for k in ARG_NAMES))
    return times, acc, xfer_done, res_busy, int(makespan)


def naive(args):
    return naive_run_program(*(args[k] for k in ARG_NAMES))


def assert_same(got, want):
    names = ("times", "acc", "xfer_done", "res_busy")
    for name, a, b in zip(names, got[:4], want[:4]):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert got[4] == want[4], "makespan"


# ---- engine == reference -----------------------------------------------------------------------

@pytest.mark.parametrize("block", range(4))
def test_engine_equals_naive_on_random_programs(block):
    """On 240 seeded random programs the njit engine and the naive reference agree exactly."""
    for seed in range(block * 60, (block + 1) * 60):
        args = random_program(seed)
        try:
            assert_same(run(args), naive(args))
        except AssertionError as e:
            raise AssertionError(f"seed {seed}: {e}") from None


def test_engine_equals_naive_on_a_program_without_tiles_on_some_units():
    """Units with empty queues, zero-transfer tiles and a program with no transfers at all agree."""
    args = make_program([dict(unit=2, compute=7), dict(unit=2, compute=3, setup=5)], units=4,
                        rates={}, depth=1)
    got = run(args)
    assert_same(got, naive(args))
    assert got[4] == 7 + 5 + 3


# ---- hand-computed cases -------------------------------------------------------------------

RATES_A = {DRAM: (16, 1, 30), RES_NOC: (32, 1, 5), SRAM: (64, 1, 2)}


def test_single_tile_load_compute_store_exact_makespan():
    """One 4096 B DRAM load at 16 B/cycle, 100 compute cycles, one 1024 B SRAM store: makespan 510."""
    # load, chunk 0 (2048 B): DRAM 0..128, +30 latency -> NOC 158..222
    #       chunk 1 (2048 B): DRAM 128..256, +30        -> NOC 286..350, +5 latency -> landed 355
    # compute 355..455
    # store (1024 B): NOC 455..487, +5 -> SRAM 492..508, +2 -> landed 510 = makespan
    args = make_program([dict(unit=0, compute=100, xfers=[(KIND_WEIGHTS, LOAD, DRAM, 4096),
                                                          (KIND_OUTPUTS, STORE, SRAM, 1024)])],
                        units=1, rates=RATES_A, depth=1)
    times, acc, xfer_done, res_busy, makespan = got = run(args)
    assert makespan == 510
    assert times[0].tolist() == [0, 0, 355, 455, 510, 0]
    assert xfer_done.tolist() == [355, 510]
    assert res_busy[DRAM] == 256 and res_busy[RES_NOC] == 64 + 64 + 32 and res_busy[SRAM] == 16
    assert acc[0, ACC_WEIGHTS] == 355 and acc[0].sum() == 355       # 100 busy + 355 weights + 55 idle
    assert_same(got, naive(args))


@pytest.mark.parametrize("nbytes, landed", [(CHUNK_BYTES, 128 + 64 + 35), (CHUNK_BYTES + 1, 128 + 30 + 64 + 5 + 1)])
def test_one_byte_past_a_chunk_costs_one_more_chunk(nbytes, landed):
    """2048 B is one chunk (lands at 227); 2049 B adds a 1 B chunk that lands one NOC cycle after the first."""
    # 2048: DRAM 0..128, NOC 158..222, +5 -> 227
    # 2049: chunk 1 (1 B) DRAM 128..129, NOC from 159 but the NOC is busy until 222 -> 222..223, +5 -> 228
    args = make_program([dict(unit=0, compute=1, xfers=[(KIND_INPUTS, LOAD, DRAM, nbytes)])],
                        units=1, rates=RATES_A, depth=1)
    assert run(args)[2].tolist() == [landed]
    assert_same(run(args), naive(args))


RATES_B = {DRAM: (16, 1, 0), RES_NOC: (1024, 1, 0), SRAM: (64, 1, 0)}


@pytest.mark.parametrize("units, makespan", [(1, 268), (2, 524)])
def test_two_units_contend_for_one_memory(units, makespan):
    """Two units loading 4096 B each from DRAM at once finish at 524, one alone at 268."""
    # alone: DRAM 0..128, 128..256; NOC 128..130, 256..258 -> landed 258; compute 10 -> 268
    # two (unit 0's chunk enters first, then chunks interleave as each leaves the DRAM):
    #   DRAM  u0c0 0..128, u1c0 128..256, u0c1 256..384, u1c1 384..512
    #   unit 0 lands 386, done 396; unit 1 lands 514, done 524
    tiles = [dict(unit=u, compute=10, xfers=[(KIND_INPUTS, LOAD, DRAM, 4096)]) for u in range(units)]
    args = make_program(tiles, units=units, rates=RATES_B, depth=1)
    times, acc, xfer_done, res_busy, got = run(args)
    assert got == makespan
    assert res_busy[DRAM] == 256 * units
    if units == 2:
        assert xfer_done.tolist() == [386, 514]
        assert acc[:, ACC_INPUTS].tolist() == [386, 514]
    assert_same(run(args), naive(args))


RATES_C = {DRAM: (16, 1, 0), RES_NOC: (2048, 1, 0), SRAM: (64, 1, 0)}


@pytest.mark.parametrize("depth, makespan, stalled", [(1, 4 * 329, 4 * 129), (2, 129 + 4 * 200, 129), (3, 129 + 4 * 200, 129)])
def test_double_buffering_hides_load_time(depth, makespan, stalled):
    """Four tiles (2048 B load = 129 cycles, 200 compute): depth 1 takes 1316, depth 2 hides all but the first load."""
    # depth 1: each tile loads only after the previous one computed: 4 x (129 + 200)
    # depth 2: tile 1 loads (DRAM 128..256, lands 257) while tile 0 computes 129..329; tile i+2
    #          loads while tile i+1 computes (129 < 200), so compute runs back to back from 129.
    tiles = [dict(unit=0, compute=200, xfers=[(KIND_INPUTS, LOAD, DRAM, 2048)]) for _ in range(4)]
    args = make_program(tiles, units=1, rates=RATES_C, depth=depth)
    times, acc, _, _, got = run(args)
    assert got == makespan
    assert acc[:, ACC_INPUTS].sum() == stalled == acc.sum()
    assert_same(run(args), naive(args))


@pytest.mark.parametrize("depth, makespan, out_stall", [(1, 278, 129), (2, 267, 0)])
def test_pending_write_back_blocks_the_next_compute(depth, makespan, out_stall):
    """Depth 1: the second tile waits for the first one's 2048 B DRAM store (129 cycles, charged to outputs)."""
    # depth 1: tile 0 computes 0..10; its store NOC 10..11, DRAM 11..139 -> slot free at 139;
    #          tile 1 computes 139..149, store NOC 149..150, DRAM 150..278.
    # depth 2: tile 1 computes 10..20; its store NOC 20..21, DRAM 139..267 (behind tile 0's).
    tiles = [dict(unit=0, compute=10, xfers=[(KIND_OUTPUTS, STORE, DRAM, 2048)]) for _ in range(2)]
    args = make_program(tiles, units=1, rates=RATES_C, depth=depth)
    times, acc, _, _, got = run(args)
    assert got == makespan
    assert acc[1, ACC_OUTPUTS] == out_stall
    if depth == 1:
        assert times[1, START] == times[0, DONE] == 139          # starts on the cycle the slot frees
        assert times[1, OUT_READY] == 139
    assert_same(run(args), naive(args))


def test_dependency_gap_is_charged_to_dependency():
    """A unit-1 tile reading a region written by unit 0 issues at the cycle it is done; the gap is ACC_DEPENDENCY."""
    # unit 0, tile A: compute 0..50; store 2048 B: NOC 50..114, +5 -> SRAM 119..151, +2 -> done 153
    # unit 1, tile B: waits for region 0 (done 153); its 1024 B SRAM load: SRAM 153..169, +2 ->
    #   NOC 171..203, +5 -> landed 208; setup 7 -> compute 215..255 = makespan
    rates = {DRAM: (16, 1, 30), RES_NOC: (32, 1, 5), SRAM: (64, 1, 2)}
    tiles = [dict(unit=0, compute=50, xfers=[(KIND_OUTPUTS, STORE, SRAM, 2048)]),
             dict(unit=1, compute=40, setup=7, deps=[(0, 0)], xfers=[(KIND_INPUTS, LOAD, SRAM, 1024)])]
    args = make_program(tiles, units=2, rates=rates, depth=2)
    times, acc, xfer_done, _, makespan = run(args)
    assert times[0, DONE] == 153
    assert times[1, ISSUE] == times[1, DEP_READY] == 153
    assert xfer_done.tolist() == [153, 208]
    assert times[1, START] == 215 and makespan == 255
    want = np.zeros(5, np.int64)
    want[[ACC_DEPENDENCY, ACC_INPUTS, ACC_SETUP]] = 153, 208 - 153, 7
    assert acc[1].tolist() == want.tolist()
    assert 40 + acc[1].sum() == makespan == 50 + acc[0].sum() + (makespan - times[0, END])
    assert_same(run(args), naive(args))


# ---- invariants on random programs -------------------------------------------------------------

INVARIANT_SEEDS = range(1000, 1060)


def test_generator_makes_valid_programs():
    """The random generator's programs use TileProgram's dtypes and point deps at earlier regions only."""
    args = random_program(0)
    want = dict(tile_unit=np.int32, tile_compute=np.int64, tile_setup=np.int64, tile_region=np.int32,
                dep_start=np.int64, dep_lo=np.int32, dep_hi=np.int32, xfer_start=np.int64, xfer_kind=np.int8,
                xfer_dir=np.int8, xfer_mem=np.int8, xfer_bytes=np.int64, region_tiles=np.int32,
                unit_start=np.int64, unit_tiles=np.int32)
    for name, dt in want.items():
        assert args[name].dtype == dt, name
    for s in range(200):
        a = random_program(s)
        for i in range(len(a["tile_unit"])):
            for k in range(a["dep_start"][i], a["dep_start"][i + 1]):
                assert a["dep_lo"][k] <= a["dep_hi"][k] < a["tile_region"][i]


def test_every_unit_cycle_has_one_owner():
    """Per unit: sum of (compute + every acc column) over its tiles + idle after its last compute == makespan."""
    for seed in INVARIANT_SEEDS:
        args = random_program(seed)
        times, acc, _, _, makespan = run(args)
        for u in range(len(args["unit_start"]) - 1):
            mine = args["unit_tiles"][args["unit_start"][u]:args["unit_start"][u + 1]]
            last_end = int(times[mine, END].max()) if len(mine) else 0
            total = int(args["tile_compute"][mine].sum() + acc[mine].sum()) + makespan - last_end
            assert total == makespan, (seed, u)
        assert (acc >= 0).all(), seed


def test_resource_busy_cycles_equal_the_sum_over_chunks():
    """Each resource's busy cycles == sum over the chunks through it of ceil(chunk * den / num)."""
    for seed in INVARIANT_SEEDS:
        args = random_program(seed)
        _, _, xfer_done, res_busy, _ = run(args)
        num, den = args["res_num"], args["res_den"]
        want = [0] * NUM_RESOURCES
        for mem, nbytes in zip(args["xfer_mem"], args["xfer_bytes"]):
            for c in chunk_sizes(int(nbytes)):
                for r in (int(mem), RES_NOC):
                    want[r] += cycles_for(c, int(num[r]), int(den[r]))
        assert res_busy.tolist() == want, seed
        assert (xfer_done >= 0).all(), seed


def test_tile_times_are_ordered():
    """issue >= dependency ready, start >= issue + setup, end == start + compute, done >= end."""
    for seed in INVARIANT_SEEDS:
        args = random_program(seed)
        times, _, _, _, makespan = run(args)
        assert (times[:, ISSUE] >= times[:, DEP_READY]).all()
        assert (times[:, START] >= times[:, ISSUE] + args["tile_setup"]).all()
        assert (times[:, END] == times[:, START] + args["tile_compute"]).all()
        assert (times[:, DONE] >= times[:, END]).all()
        assert makespan == times[:, DONE].max()


def test_two_runs_are_identical():
    """Running the same program twice gives identical arrays (deterministic event order)."""
    for seed in INVARIANT_SEEDS[:20]:
        args = random_program(seed)
        assert_same(run(args), run(args))


# ---- NUMBA_DISABLE_JIT smoke (STYLE habit 13) --------------------------------------------------

_PURE_PYTHON = """
import json, sys
import numpy as np
from simulator.engine.core import run_program
d = np.load(sys.argv[1])
names = json.loads(sys.argv[2])
args = [d[n] for n in names[:-1]] + [int(d[names[-1]])]
times, acc, xfer_done, res_busy, makespan, _ = run_program(*args)
np.savez(sys.argv[3], times=times, acc=acc, xfer_done=xfer_done, res_busy=res_busy, makespan=int(makespan))
"""


def test_engine_without_jit_equals_jitted(tmp_path):
    """run_program under NUMBA_DISABLE_JIT=1 (plain Python) gives the jitted result on a small random program."""
    args = random_program(7)
    np.savez(tmp_path / "prog.npz", **args)
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", _PURE_PYTHON, str(tmp_path / "prog.npz"), json.dumps(ARG_NAMES),
                    str(tmp_path / "out.npz")], check=True, env=env, cwd=ROOT, timeout=60)
    out = np.load(tmp_path / "out.npz")
    assert_same((out["times"], out["acc"], out["xfer_done"], out["res_busy"], int(out["makespan"])), run(args))
