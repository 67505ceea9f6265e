"""The njit event loop against its slow reference (tests/naive/engine.py), hand-computed cases, invariants."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.engine.constants import (ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS,
                                        ARB_FIXED_PRIORITY, ARB_ROUND_ROBIN, CHUNK_BYTES, DRAM_BANDWIDTH,
                                        DRAM_CYCLE, KIND_INPUTS, KIND_OUTPUTS, KIND_WEIGHTS, LOAD,
                                        NUM_RESOURCES, RES_DRAM, RES_NOC, RES_SRAM, STORE)
from simulator.engine.core import run_program
from simulator.engine.dram_cycle import cycle_dram_new
from simulator.engine.records import MemoryTables, ServerDram, TileProgram
from simulator.engine.dram import ST_BUS_BUSY_CYCLES, ST_BYTES, ST_CONFLICTS, ST_HITS, ST_MISSES, ST_REFRESHES
from simulator.resources.dram import dram_state_new, dram_tables, preset_spec
from simulator.resources.memory import dram_chunks

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from tests.naive.engine import (bank_shares, chunk_sizes, cycles_for, naive_results, naive_run_program,  # noqa: E402
                                naive_simulation)

DRAM, SRAM = RES_DRAM, RES_SRAM
ARG_NAMES = ("tile_unit", "tile_compute", "tile_setup", "tile_region", "dep_start", "dep_lo", "dep_hi",
             "xfer_start", "xfer_kind", "xfer_dir", "xfer_mem", "xfer_bytes", "xfer_addr", "region_tiles",
             "unit_start", "unit_tiles", "res_num", "res_den", "res_latency", "depth",
             "sram_banks", "sram_interleave", "noc_policy", "dram_mode", "dram_tb", "dram_st")
RETURN_NAMES = ("times", "acc", "acc_res", "xfer_done", "res_busy", "res_wait", "unit_noc_wait", "makespan",
                "events")
ISSUE, DEP_READY, START, END, DONE, OUT_READY = range(6)
GHZ = 1_000_000_000
# The bandwidth model ignores the tables, but the naive engine's signature takes them.
BANDWIDTH_DRAM_SPEC = preset_spec("LPDDR4-3200")
BANDWIDTH_DRAM_TB = dram_tables(BANDWIDTH_DRAM_SPEC, GHZ)


# ---- building programs ---------------------------------------------------------------------------

def make_program(tiles, units, rates, depth, regions=None, sram=(1, 64), noc_policy=ARB_ROUND_ROBIN,
                 dram=None):
    """Engine arguments (a dict in run_program's order, plus `dram_spec`) from readable per-tile descriptions.

    tiles: list of dicts with unit, compute, setup=0, region=own index, deps=[(lo, hi)],
    xfers=[(kind, direction, memory, bytes[, address=0])]. Queues hold each unit's tiles in list
    order. rates: {resource: (num, den, latency)}. sram: (banks, interleave bytes).
    dram: None for the bandwidth model, else (DramSpec, core clock Hz) for the cycle-level one.
    Dtypes follow mapping.program.TileProgram. dram_st is made fresh by every run (see `run`).
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
    if dram is None:
        dram_mode, dram_spec, dram_tb = DRAM_BANDWIDTH, BANDWIDTH_DRAM_SPEC, BANDWIDTH_DRAM_TB
    else:
        dram_mode, dram_spec, dram_tb = DRAM_CYCLE, dram[0], dram_tables(dram[0], dram[1])
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
        xfer_addr=np.array([x[4] if len(x) > 4 else 0 for x in flat_x], np.int64),
        region_tiles=np.bincount(np.array(region, np.int64), minlength=G).astype(np.int32),
        unit_start=unit_start,
        unit_tiles=order,
        res_num=num, res_den=den, res_latency=lat,
        depth=int(depth),
        sram_banks=int(sram[0]), sram_interleave=int(sram[1]), noc_policy=int(noc_policy),
        dram_mode=dram_mode, dram_tb=dram_tb, dram_st=None, dram_spec=dram_spec,
    )


def small_dram(rng):
    """A small cycle-level DRAM: few rows, short refresh interval, shallow queues, an odd clock ratio.

    (A slow core clock puts several DRAM cycles in a core cycle, so one DRAM event finishes
    several chunks: their order is then the order their finishes became known, D4.)
    """
    grade = str(rng.choice(["LPDDR4-3200", "DDR4-3200"]))
    per_bank = grade == "LPDDR4-3200" and bool(rng.integers(0, 2))
    timing = {"rows": 8, "trfc": 100, "trefi": 400 + int(rng.integers(0, 300))}
    if per_bank:
        timing.update(trfc_pb=40, trefi_pb=timing["trefi"] // 8)
    args = dict(channels=int(rng.integers(1, 3)), queue_depth=int(rng.integers(2, 9)),
                page_policy=str(rng.choice(["open", "close"])),
                address_mapping=str(rng.choice(["ro_ba_bg_co_ch", "ro_co_ba_bg_ch", "ro_ba_bg_ch_co"])),
                refresh="per_bank" if per_bank else "all_bank", timing=timing,
                controller={"row_hit_cap": int(rng.choice([0, 1, 4])),
                            "write_buffer": int(rng.choice([0, 0, 3, 6]))})
    clock = int(rng.choice([GHZ, 933_000_000, 1_250_000_000, 700_000_000, 400_000_000, 250_000_000]))
    # the refresh policy: a PRE per bank or a PREA, and postponement (all-bank refresh only)
    args["controller"]["refresh_precharge"] = str(rng.choice(["all", "per_bank"]))
    args["controller"]["refresh_postpone"] = 0 if per_bank else int(rng.choice([0, 0, 1, 3]))
    return preset_spec(grade, **args), clock


def random_program(seed):
    """A small random valid program: layers in order, deps only to earlier layers' regions (no deadlock).

    Every fourth seed uses the cycle-level DRAM (with smaller programs: the naive DRAM steps every cycle).
    """
    rng = np.random.default_rng(seed)
    cycle_dram = seed % 4 == 1
    units = int(rng.integers(1, 5))
    T = int(rng.integers(1, 21 if cycle_dram else 41))
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
            xfers.append((kind, LOAD, int(rng.integers(0, 2)), _random_bytes(rng, tie_heavy), _random_addr(rng)))
        if rng.random() < 0.6:
            xfers.insert(int(rng.integers(0, len(xfers) + 1)),
                         (KIND_OUTPUTS, STORE, int(rng.integers(0, 2)), _random_bytes(rng, tie_heavy),
                          _random_addr(rng)))
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
    sram = (int(rng.integers(1, 9)), int(rng.integers(16, 257)))
    policy = int(rng.choice([ARB_ROUND_ROBIN, ARB_FIXED_PRIORITY]))
    dram = small_dram(rng) if cycle_dram else None
    return make_program(tiles, units, rates, int(rng.integers(1, 4)), regions=n_regions, sram=sram,
                        noc_policy=policy, dram=dram)


def _random_bytes(rng, tie_heavy):
    if tie_heavy or rng.random() < 0.2:
        return int(rng.choice([1, CHUNK_BYTES - 1, CHUNK_BYTES, CHUNK_BYTES + 1, 2 * CHUNK_BYTES]))
    return int(rng.integers(1, 10001))


def _random_addr(rng):
    """Mostly a few shared, aligned bases (bank and row conflicts), sometimes anywhere."""
    if rng.random() < 0.7:
        return int(rng.integers(0, 8)) * 4096 + int(rng.choice([0, 0, 64, 100]))
    return int(rng.integers(0, 1 << 20))


def engine_records(args, state=None):
    """run_program's three records from the argument dict (a fresh DRAM state unless `state` is given)."""
    T = len(args["tile_unit"])
    prog = TileProgram(**{k: args[k] for k in TileProgram._fields if k in args},
                       tile_layer=np.zeros(T, np.int32), tile_macs=np.zeros(T, np.int64),
                       prefetch_depth=args["depth"])
    mem = MemoryTables(**{k: args[k] for k in MemoryTables._fields})
    if args["dram_mode"] == DRAM_CYCLE:
        st = state if state is not None else dram_state_new(args["dram_tb"])
        dram = cycle_dram_new(args["dram_tb"], st, dram_chunks(prog))
    else:
        dram = ServerDram(free_at=np.zeros(1, np.int64))
    return prog, mem, dram


def run(args, state=None):
    """The njit engine: run_program's EngineResult as a plain tuple (ints for makespan and events)."""
    out = run_program(*engine_records(args, state))
    return tuple(out[:7]) + (int(out.makespan), int(out.events))


def naive(args):
    return naive_run_program(*(args[k] for k in ARG_NAMES), dram_spec=args["dram_spec"])


def assert_same(got, want):
    for name, a, b in zip(RETURN_NAMES, got, want):
        np.testing.assert_array_equal(a, b, err_msg=name)


# ---- engine == reference -----------------------------------------------------------------------

@pytest.mark.parametrize("block", range(4))
def test_engine_equals_naive_on_random_programs(block):
    """On 240 seeded random programs (60 with the cycle-level DRAM) engine and reference agree exactly.

    With the cycle-level DRAM, the per-channel row hits, misses, conflicts and refreshes agree too.
    """
    for seed in range(block * 60, (block + 1) * 60):
        args = random_program(seed)
        st = dram_state_new(args["dram_tb"])
        got = run(args, st)
        sim = naive_simulation(*(args[k] for k in ARG_NAMES), dram_spec=args["dram_spec"])
        try:
            assert_same(got, naive_results(sim))
            if args["dram_mode"] == DRAM_CYCLE:
                for c, ch in enumerate(sim.dram.ch):
                    assert [int(st.stats[c, s]) for s in (ST_HITS, ST_MISSES, ST_CONFLICTS, ST_REFRESHES)] == \
                           [*ch.kinds.values(), ch.refreshes], f"DRAM channel {c} statistics"
        except AssertionError as e:
            raise AssertionError(f"seed {seed}: {e}") from None


def test_engine_equals_naive_on_a_program_without_tiles_on_some_units():
    """Units with empty queues, zero-transfer tiles and a program with no transfers at all agree."""
    args = make_program([dict(unit=2, compute=7), dict(unit=2, compute=3, setup=5)], units=4,
                        rates={}, depth=1)
    got = run(args)
    assert_same(got, naive(args))
    assert got[7] == 7 + 5 + 3


# ---- hand-computed cases -------------------------------------------------------------------

RATES_A = {DRAM: (16, 1, 30), RES_NOC: (32, 1, 5), SRAM: (64, 1, 2)}


def test_single_tile_load_compute_store_exact_makespan():
    """One 4096 B DRAM load at 16 B/cycle, 100 compute cycles, one 1024 B store over 4 SRAM banks: makespan 498."""
    # load, chunk 0 (2048 B): DRAM 0..128, +30 latency -> NOC 158..222
    #       chunk 1 (2048 B): enters the DRAM as chunk 0 leaves: DRAM 128..256, +30 -> NOC 286..350,
    #       +5 latency -> landed 355
    # compute 355..455
    # store (1024 B at address 0, 4 banks interleaved by 256 B): NOC 455..487, +5 -> SRAM at 492,
    #       256 B per bank = 4 cycles each, all four banks at once: 492..496, +2 -> landed 498
    args = make_program([dict(unit=0, compute=100, xfers=[(KIND_WEIGHTS, LOAD, DRAM, 4096),
                                                          (KIND_OUTPUTS, STORE, SRAM, 1024, 0)])],
                        units=1, rates=RATES_A, depth=1, sram=(4, 256))
    times, acc, acc_res, xfer_done, res_busy, res_wait, noc_wait, makespan, _ = got = run(args)
    assert makespan == 498
    assert times[0].tolist() == [0, 0, 355, 455, 498, 0]
    assert xfer_done.tolist() == [355, 498]
    assert res_busy.tolist() == [256, 4 * 4, 64 + 64 + 32]      # DRAM, SRAM bank-cycles, NOC
    assert res_wait.tolist() == [0, 0, 0] and noc_wait.tolist() == [0]
    assert acc[0, ACC_WEIGHTS] == 355 and acc[0].sum() == 355       # 100 busy + 355 weights + 43 idle
    # the weights' chunks spent DRAM 128 + 128 = 256 cycles, NOC 64 + 64 = 128: the stall is DRAM's
    assert acc_res[0].tolist() == [355, 0, 0, 0, 0]
    assert_same(got, naive(args))


@pytest.mark.parametrize("nbytes, landed, noc_wait",
                         [(CHUNK_BYTES, 128 + 64 + 35, 0), (CHUNK_BYTES + 1, 128 + 30 + 64 + 5 + 1, 222 - 159)])
def test_one_byte_past_a_chunk_costs_one_more_chunk(nbytes, landed, noc_wait):
    """2048 B is one chunk (lands at 227); 2049 B adds a 1 B chunk that lands one NOC cycle after the first."""
    # 2048: DRAM 0..128, NOC 158..222, +5 -> 227
    # 2049: chunk 1 (1 B) DRAM 128..129, reaches the NOC at 159 but it serves chunk 0 until 222:
    #       queued 159..222 (63 cycles of wait), served 222..223, +5 -> 228
    args = make_program([dict(unit=0, compute=1, xfers=[(KIND_INPUTS, LOAD, DRAM, nbytes)])],
                        units=1, rates=RATES_A, depth=1)
    got = run(args)
    assert got[3].tolist() == [landed]
    assert got[5][RES_NOC] == got[6][0] == noc_wait
    assert_same(got, naive(args))


RATES_B = {DRAM: (16, 1, 0), RES_NOC: (1024, 1, 0), SRAM: (64, 1, 0)}


@pytest.mark.parametrize("units, makespan", [(1, 268), (2, 524)])
def test_two_units_contend_for_one_memory(units, makespan):
    """Two units loading 4096 B each from DRAM at once finish at 524, one alone at 268."""
    # alone: DRAM 0..128, 128..256; NOC 128..130, 256..258 -> landed 258; compute 10 -> 268
    # two (unit 0's chunk enters first, then chunks interleave as each leaves the DRAM):
    #   DRAM  u0c0 0..128, u1c0 128..256, u0c1 256..384, u1c1 384..512
    #   (each of the last three waited 128 cycles: res_wait 384)
    #   NOC   u0c0 128..130, u1c0 256..258, u0c1 384..386, u1c1 512..514 (never contended)
    #   unit 0 lands 386, done 396; unit 1 lands 514, done 524
    tiles = [dict(unit=u, compute=10, xfers=[(KIND_INPUTS, LOAD, DRAM, 4096)]) for u in range(units)]
    args = make_program(tiles, units=units, rates=RATES_B, depth=1)
    times, acc, acc_res, xfer_done, res_busy, res_wait, _, got, _ = run(args)
    assert got == makespan
    assert res_busy[DRAM] == 256 * units
    if units == 2:
        assert xfer_done.tolist() == [386, 514]
        assert acc[:, ACC_INPUTS].tolist() == [386, 514]
        assert acc_res[:, DRAM].tolist() == [386, 514] and acc_res.sum() == 386 + 514
        assert res_wait.tolist() == [3 * 128, 0, 0]
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
    times, acc, acc_res, _, _, _, _, got, _ = run(args)
    assert got == makespan
    assert acc[:, ACC_INPUTS].sum() == stalled == acc.sum() == acc_res[:, DRAM].sum() == acc_res.sum()
    assert_same(run(args), naive(args))


@pytest.mark.parametrize("depth, makespan, out_stall", [(1, 278, 129), (2, 267, 0)])
def test_pending_write_back_blocks_the_next_compute(depth, makespan, out_stall):
    """Depth 1: the second tile waits for the first one's 2048 B DRAM store (129 cycles, charged to outputs)."""
    # depth 1: tile 0 computes 0..10; its store NOC 10..11, DRAM 11..139 -> slot free at 139;
    #          tile 1 computes 139..149, store NOC 149..150, DRAM 150..278.
    # depth 2: tile 1 computes 10..20; its store NOC 20..21, DRAM 139..267 (behind tile 0's).
    tiles = [dict(unit=0, compute=10, xfers=[(KIND_OUTPUTS, STORE, DRAM, 2048)]) for _ in range(2)]
    args = make_program(tiles, units=1, rates=RATES_C, depth=depth)
    times, acc, acc_res, _, _, res_wait, _, got, _ = run(args)
    assert got == makespan
    assert acc[1, ACC_OUTPUTS] == out_stall
    assert acc_res.sum() == 0                                 # an output-slot stall names no resource
    if depth == 1:
        assert times[1, START] == times[0, DONE] == 139          # starts on the cycle the slot frees
        assert times[1, OUT_READY] == 139
    else:
        assert res_wait[DRAM] == 139 - 21
    assert_same(run(args), naive(args))


def test_dependency_gap_is_charged_to_dependency():
    """A unit-1 tile reading a region written by unit 0 issues at the cycle it is done; the gap is ACC_DEPENDENCY."""
    # SRAM: 2 banks of 64 B/cycle, interleaved by 1024 B.
    # unit 0, tile A: compute 0..50; store 2048 B at address 0: NOC 50..114, +5 -> SRAM 119:
    #   1024 B in bank 0 and 1024 B in bank 1, 16 cycles each, side by side: 119..135, +2 -> done 137
    # unit 1, tile B: waits for region 0 (done 137); its 1024 B load at address 1024 (bank 1 only):
    #   SRAM 137..153, +2 -> NOC 155..187, +5 -> landed 192; setup 7 -> compute 199..239 = makespan
    # B's inputs spent 16 cycles at the SRAM and 32 at the NOC: the 55-cycle stall is the NOC's.
    tiles = [dict(unit=0, compute=50, xfers=[(KIND_OUTPUTS, STORE, SRAM, 2048, 0)]),
             dict(unit=1, compute=40, setup=7, deps=[(0, 0)], xfers=[(KIND_INPUTS, LOAD, SRAM, 1024, 1024)])]
    args = make_program(tiles, units=2, rates=RATES_A, depth=2, sram=(2, 1024))
    times, acc, acc_res, xfer_done, res_busy, _, _, makespan, _ = run(args)
    assert times[0, DONE] == 137
    assert times[1, ISSUE] == times[1, DEP_READY] == 137
    assert xfer_done.tolist() == [137, 192]
    assert times[1, START] == 199 and makespan == 239
    assert res_busy[SRAM] == 16 + 16 + 16
    want = np.zeros(5, np.int64)
    want[[ACC_DEPENDENCY, ACC_INPUTS, ACC_SETUP]] = 137, 192 - 137, 7
    assert acc[1].tolist() == want.tolist()
    assert acc_res[1].tolist() == [0, 0, 55, 0, 0]
    assert 40 + acc[1].sum() == makespan == 50 + acc[0].sum() + (makespan - times[0, END])
    assert_same(run(args), naive(args))


# (e) interconnect arbitration
FREE_SRAM = {SRAM: (1, 0, 0), RES_NOC: (32, 1, 5), DRAM: (16, 1, 0)}


@pytest.mark.parametrize("policy, landed, waits", [
    # round robin: u0c0 0..64, u1c0 64..128, u0c1 128..192, u1c1 192..256, u0c2 256..320, u1c2 320..384
    #   +5 -> unit 0 lands 325, unit 1 389; waits u0 0 + 128 + 256, u1 64 + 192 + 320
    (ARB_ROUND_ROBIN, [325, 389], [0 + 128 + 256, 64 + 192 + 320]),
    # fixed priority: unit 0's three chunks 0..192, then unit 1's 192..384
    #   +5 -> unit 0 lands 197, unit 1 389; waits u0 0 + 64 + 128, u1 192 + 256 + 320
    (ARB_FIXED_PRIORITY, [197, 389], [0 + 64 + 128, 192 + 256 + 320]),
])
def test_two_units_contend_for_the_interconnect(policy, landed, waits):
    """Two units' 3-chunk loads queue at the NOC: round robin alternates, fixed priority serves unit 0 first."""
    # The SRAM is free (0 cycles, 0 latency), so all six chunks reach the NOC at time 0 (each
    # leaves the SRAM as the one before it does). The arbiter first runs with both units' first
    # chunks queued (R1: its event is pushed behind the arrival of unit 1's first chunk), and at
    # its next decision (64) every other chunk waits. Each 2048 B chunk takes 64 NOC cycles.
    tiles = [dict(unit=u, compute=10, xfers=[(KIND_INPUTS, LOAD, SRAM, 3 * CHUNK_BYTES, u * 65536)])
             for u in range(2)]
    args = make_program(tiles, units=2, rates=FREE_SRAM, depth=1, sram=(8, 256), noc_policy=policy)
    times, acc, acc_res, xfer_done, res_busy, res_wait, noc_wait, makespan, _ = got = run(args)
    assert xfer_done.tolist() == landed
    assert times[:, END].tolist() == [landed[0] + 10, landed[1] + 10] and makespan == 399
    assert noc_wait.tolist() == waits and res_wait[RES_NOC] == sum(waits)
    assert res_busy[RES_NOC] == 6 * 64
    assert acc_res[:, RES_NOC].tolist() == landed                  # the free SRAM is never the cause
    assert_same(got, naive(args))


# (f) SRAM banks
@pytest.mark.parametrize("addr1, landed, wait", [
    (4 * 2048, [32, 64], 32),     # both chunks in bank 0: 0..32, then 32..64
    (2048, [32, 32], 0),          # bank 0 and bank 1: both 0..32
    (1024, [32, 32 + 16], 32),    # straddles banks 0 and 1 (1024 B each, 16 cycles each): bank 0
                                  # is busy until 32 -> 32..48, bank 1 0..16; leaves at 48, wait 48 - 0 - 16
])
def test_chunks_in_one_sram_bank_serialize_in_different_banks_overlap(addr1, landed, wait):
    """Two 2048 B SRAM loads at once: the same bank serializes them (32 + 32 cycles), different banks overlap."""
    # 4 banks of 64 B/cycle interleaved by 2048 B; a free interconnect, no latencies. Unit 0's chunk
    # (address 0, bank 0) arrives first.
    rates = {SRAM: (64, 1, 0), RES_NOC: (1, 0, 0), DRAM: (16, 1, 0)}
    tiles = [dict(unit=0, compute=5, xfers=[(KIND_INPUTS, LOAD, SRAM, 2048, 0)]),
             dict(unit=1, compute=5, xfers=[(KIND_INPUTS, LOAD, SRAM, 2048, addr1)])]
    args = make_program(tiles, units=2, rates=rates, depth=1, sram=(4, 2048))
    _, _, acc_res, xfer_done, res_busy, res_wait, _, makespan, _ = got = run(args)
    assert xfer_done.tolist() == landed and makespan == landed[1] + 5
    assert res_busy[SRAM] == 64 and res_wait[SRAM] == wait
    assert acc_res[:, SRAM].tolist() == landed
    assert_same(got, naive(args))


# (g) stalls by resource
DDR4_1GHZ = (preset_spec("DDR4-3200"), GHZ)     # tCK 625 ps: 5/8 core cycle per DRAM cycle


def test_dram_input_stall_is_charged_to_dram_bandwidth_model():
    """A 4096 B DRAM input load (DRAM 256 cycles, NOC 128): its stall goes to DRAM in acc_res."""
    # as the single-tile case: landed 355, compute 355..365
    args = make_program([dict(unit=0, compute=10, xfers=[(KIND_INPUTS, LOAD, DRAM, 4096)])],
                        units=1, rates=RATES_A, depth=1)
    _, acc, acc_res, xfer_done, _, _, _, makespan, _ = got = run(args)
    assert xfer_done.tolist() == [355] and makespan == 365
    assert acc[0, ACC_INPUTS] == 355 and acc_res[0].tolist() == [355, 0, 0, 0, 0]
    assert_same(got, naive(args))


def test_dram_input_stall_is_charged_to_dram_cycle_model():
    """One 64 B read from an idle DDR4-3200 at 1 GHz: a row miss, 49 DRAM cycles = core 31; stall to DRAM."""
    # core 0: the chunk arrives; the front end moves its one burst at DRAM cycle 0, visible from 1
    #   look-ahead (nothing else pending): ACT at DRAM 1, RD at 1 + tRCD 22 = 23 (the chunk's last
    #   burst: its finish is known), data ends 23 + CL 22 + burst 4 = 49 -> wake-up at core
    #   ceil(49 * 5/8) = 31
    # core 31 (DRAM floor(31 * 8/5) = 49): the chunk is finished and leaves the DRAM at 31
    #   NOC 64 B at 64 B/cycle: 31..32 -> landed 32; compute 32..42
    rates = {DRAM: (1, 1, 0), RES_NOC: (64, 1, 0), SRAM: (64, 1, 0)}
    args = make_program([dict(unit=0, compute=10, xfers=[(KIND_INPUTS, LOAD, DRAM, 64)])],
                        units=1, rates=rates, depth=1, dram=DDR4_1GHZ)
    st = dram_state_new(args["dram_tb"])
    _, acc, acc_res, xfer_done, res_busy, res_wait, _, makespan, events = got = run(args, st)
    assert xfer_done.tolist() == [32] and makespan == 42
    # DRAM 31 cycles, NOC 1: the stall is the DRAM's. Its burst's access, visible 1 -> data 49, is 48
    # DRAM cycles, 22 of them waiting on the bank (ACT at 1 -> RD at 23): the chunk's DRAM time has
    # 31 * 22 // 48 = 14 cycles on bank timing, and the stall 32 * 14 // 31 = 14.
    assert acc[0, ACC_INPUTS] == 32 and acc_res[0].tolist() == [18, 0, 0, 14, 0]
    assert res_busy[DRAM] == res_wait[DRAM] == 0                              # kept in the DRAM state
    assert st.stats[0, ST_MISSES] == 1 and st.stats[0, ST_BYTES] == 64
    # wake, stage 1, dram at 0 and 31, stage 2, NOC arbiter + done, xfer done, wake, compute done, wake
    assert events == 11
    assert_same(got, naive(args))


def test_sram_input_stall_behind_a_slow_interconnect_is_charged_to_it():
    """Inputs from a fast SRAM over a slow NOC (4096 B: SRAM 2 x 4, NOC 2 x 128): the stall goes to the NOC."""
    # SRAM 512 B/cycle, 1 bank: chunk 0 0..4, chunk 1 4..8; NOC 16 B/cycle: 4..132, 132..260 -> 260
    rates = {SRAM: (512, 1, 0), RES_NOC: (16, 1, 0), DRAM: (16, 1, 0)}
    args = make_program([dict(unit=0, compute=10, xfers=[(KIND_INPUTS, LOAD, SRAM, 4096)])],
                        units=1, rates=rates, depth=1)
    _, acc, acc_res, xfer_done, _, _, noc_wait, _, _ = got = run(args)
    assert xfer_done.tolist() == [260] and noc_wait.tolist() == [132 - 8]
    assert acc_res[0].tolist() == [0, 0, 260, 0, 0]
    assert_same(got, naive(args))


def test_weights_landing_together_name_the_resource_of_the_one_handled_last():
    """Two weights loads landing on the same cycle: the one handled last (R8) names the stall's resource."""
    # free NOC, no latencies. x0: 1600 B from DRAM at 16 B/cycle, DRAM 0..100 -> landed 100.
    # x1: 2048 B from SRAM (1 bank, 2048/100 B/cycle): ceil(2048 * 100 / 2048) = 100, SRAM 0..100 -> 100.
    # Both land at 100; x1's arrival is handled after x0's, so the 100-cycle stall is the SRAM's.
    rates = {DRAM: (16, 1, 0), SRAM: (2048, 100, 0), RES_NOC: (1, 0, 0)}
    args = make_program([dict(unit=0, compute=1, xfers=[(KIND_WEIGHTS, LOAD, DRAM, 1600),
                                                        (KIND_WEIGHTS, LOAD, SRAM, 2048)])],
                        units=1, rates=rates, depth=1)
    _, acc, acc_res, xfer_done, _, _, _, _, _ = got = run(args)
    assert xfer_done.tolist() == [100, 100]
    assert acc[0, ACC_WEIGHTS] == 100 and acc_res[0].tolist() == [0, 100, 0, 0, 0]
    assert_same(got, naive(args))


def test_one_dram_event_hands_finished_chunks_on_channel_by_channel():
    """Two 64 B reads finishing on one DRAM cycle in two channels reach the NOC channel 0's first (D3)."""
    # DDR4-3200, 2 channels, channel the lowest address field: address 64 is channel 1, 0 is channel 0.
    # Core 250 MHz: 625 ps x 250 MHz = 5/32 core cycle per DRAM cycle.
    # core 0: both bursts offered (x0 to channel 1, x1 to channel 0), visible from DRAM 1
    # core 1 (DRAM 6): ACT at 1 on both; RD at 1 + 22 = 23 -> core ceil(23 * 5/32) = 4
    # core 4 (DRAM 25): RD at 23 on both; data ends 23 + 22 + 4 = 49 -> core ceil(49 * 5/32) = 8
    # core 8 (DRAM 51): both done; channel 0 first: x1 then x0 queue at the NOC (1 B/cycle):
    #   x1 8..72, x0 72..136; compute 136..137
    spec = preset_spec("DDR4-3200", channels=2, address_mapping="ro_ba_bg_co_ch")
    rates = {DRAM: (1, 1, 0), RES_NOC: (1, 1, 0), SRAM: (64, 1, 0)}
    args = make_program([dict(unit=0, compute=1, xfers=[(KIND_INPUTS, LOAD, DRAM, 64, 64),
                                                        (KIND_INPUTS, LOAD, DRAM, 64, 0)])],
                        units=1, rates=rates, depth=1, dram=(spec, 250_000_000))
    assert (args["dram_tb"].core_per_dram_num, args["dram_tb"].core_per_dram_den) == (5, 32)
    got = run(args)
    assert got[3].tolist() == [136, 72] and got[7] == 137
    assert got[6].tolist() == [72 - 8]
    assert_same(got, naive(args))


# ---- invariants on random programs -------------------------------------------------------------

INVARIANT_SEEDS = range(1000, 1060)


def test_generator_makes_valid_programs():
    """The random generator's programs use TileProgram's dtypes and point deps at earlier regions only."""
    args = random_program(0)
    want = dict(tile_unit=np.int32, tile_compute=np.int64, tile_setup=np.int64, tile_region=np.int32,
                dep_start=np.int64, dep_lo=np.int32, dep_hi=np.int32, xfer_start=np.int64, xfer_kind=np.int8,
                xfer_dir=np.int8, xfer_mem=np.int8, xfer_bytes=np.int64, xfer_addr=np.int64,
                region_tiles=np.int32, unit_start=np.int64, unit_tiles=np.int32)
    for name, dt in want.items():
        assert args[name].dtype == dt, name
    modes = set()
    for s in range(200):
        a = random_program(s)
        modes.add((a["dram_mode"], a["noc_policy"]))
        assert 1 <= a["sram_banks"] <= 8 and 16 <= a["sram_interleave"] <= 256
        for i in range(len(a["tile_unit"])):
            for k in range(a["dep_start"][i], a["dep_start"][i + 1]):
                assert a["dep_lo"][k] <= a["dep_hi"][k] < a["tile_region"][i]
    assert modes == {(m, p) for m in (DRAM_BANDWIDTH, DRAM_CYCLE) for p in (ARB_ROUND_ROBIN, ARB_FIXED_PRIORITY)}


def test_every_unit_cycle_has_one_owner():
    """Per unit: sum of (compute + every acc column) over its tiles + idle after its last compute == makespan."""
    for seed in INVARIANT_SEEDS:
        args = random_program(seed)
        times, acc, acc_res, _, _, _, _, makespan, _ = run(args)
        for u in range(len(args["unit_start"]) - 1):
            mine = args["unit_tiles"][args["unit_start"][u]:args["unit_start"][u + 1]]
            last_end = int(times[mine, END].max()) if len(mine) else 0
            total = int(args["tile_compute"][mine].sum() + acc[mine].sum()) + makespan - last_end
            assert total == makespan, (seed, u)
        assert (acc >= 0).all() and (acc_res >= 0).all(), seed
        # a resource is named only for operand stalls, at most once per tile (the DRAM's bank and
        # refresh shares are parts of the DRAM's charge)
        assert (acc_res.sum(axis=1) <= acc[:, ACC_WEIGHTS] + acc[:, ACC_INPUTS]).all(), seed
        held = acc_res[:, :NUM_RESOURCES].copy()
        held[:, DRAM] += acc_res[:, NUM_RESOURCES:].sum(axis=1)
        assert (np.count_nonzero(held, axis=1) <= 1).all(), seed


def test_resource_busy_cycles_equal_the_sum_over_chunks():
    """Busy cycles == sum over chunks of ceil(chunk * den / num); the SRAM's summed per bank of each chunk.

    The cycle-level DRAM keeps its own: ceil(chunk / burst) bursts of burst_cycles each.
    """
    for seed in INVARIANT_SEEDS:
        args = random_program(seed)
        st = dram_state_new(args["dram_tb"])
        _, _, _, xfer_done, res_busy, res_wait, noc_wait, _, _ = run(args, st)
        num, den = [int(v) for v in args["res_num"]], [int(v) for v in args["res_den"]]
        banks, interleave = args["sram_banks"], args["sram_interleave"]
        tb = args["dram_tb"]
        want = [0] * NUM_RESOURCES
        bursts = 0
        for mem, nbytes, addr in zip(args["xfer_mem"], args["xfer_bytes"], args["xfer_addr"]):
            for k, c in enumerate(chunk_sizes(int(nbytes))):
                want[RES_NOC] += cycles_for(c, num[RES_NOC], den[RES_NOC])
                if mem == SRAM:
                    want[SRAM] += sum(cycles_for(b, num[SRAM], den[SRAM])
                                      for b in bank_shares(int(addr) + k * CHUNK_BYTES, c, banks, interleave) if b)
                elif args["dram_mode"] == DRAM_BANDWIDTH:
                    want[DRAM] += cycles_for(c, num[DRAM], den[DRAM])
                else:
                    bursts += -(-c // tb.burst_bytes)
        assert res_busy.tolist() == want, seed
        assert int(st.stats[:, ST_BUS_BUSY_CYCLES].sum()) == bursts * tb.burst_cycles, seed
        assert int(st.stats[:, ST_BYTES].sum()) == bursts * tb.burst_bytes, seed
        assert (xfer_done >= 0).all() and (res_wait >= 0).all(), seed
        assert res_wait[RES_NOC] == noc_wait.sum(), seed


def test_tile_times_are_ordered():
    """issue >= dependency ready, start >= issue + setup, end == start + compute, done >= end."""
    for seed in INVARIANT_SEEDS:
        args = random_program(seed)
        times, _, _, _, _, _, _, makespan, _ = run(args)
        assert (times[:, ISSUE] >= times[:, DEP_READY]).all()
        assert (times[:, START] >= times[:, ISSUE] + args["tile_setup"]).all()
        assert (times[:, END] == times[:, START] + args["tile_compute"]).all()
        assert (times[:, DONE] >= times[:, END]).all()
        assert makespan == times[:, DONE].max()


def test_two_runs_are_identical():
    """Running the same program twice (each with a fresh DRAM state) gives identical results."""
    for seed in INVARIANT_SEEDS[:20]:
        args = random_program(seed)
        assert_same(run(args), run(args))


# ---- NUMBA_DISABLE_JIT smoke (STYLE habit 13) --------------------------------------------------

SMOKE_SEED = 5          # a cycle-level DRAM program: the DRAM kernels run as plain Python too

_PURE_PYTHON = """
import importlib.util, json, sys
import numpy as np
spec = importlib.util.spec_from_file_location("t", sys.argv[1])
t = importlib.util.module_from_spec(spec)
spec.loader.exec_module(t)
out = t.run(t.random_program(int(sys.argv[2])))
np.savez(sys.argv[3], **dict(zip(t.RETURN_NAMES, out)))
"""


def test_engine_without_jit_equals_jitted(tmp_path):
    """run_program under NUMBA_DISABLE_JIT=1 (plain Python) gives the jitted result on a small random program."""
    args = random_program(SMOKE_SEED)
    assert args["dram_mode"] == DRAM_CYCLE
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    subprocess.run([sys.executable, "-c", _PURE_PYTHON, __file__, str(SMOKE_SEED), str(tmp_path / "out.npz")],
                   check=True, env=env, cwd=ROOT, timeout=120)
    out = np.load(tmp_path / "out.npz")
    assert_same(tuple(out[n] for n in RETURN_NAMES), run(args))


def test_out_of_order_dram_chunks_keep_their_own_sizes():
    """A transfer's later (64 B) chunk finishing first in the DRAM still crosses the NOC as 64 B.

    DDR4-3200, queue 64, core 1 GHz, NOC 1 B/cycle. x0 (64 B at 8192) opens bank 4 row 0. x1 is
    2112 B at 6144: chunk 0 (2048 B) goes to a closed bank, chunk 1 (64 B at 8192) hits bank 4's
    open row and finishes first. With each chunk keeping its size, x1 lands at 2237; handing the
    sizes out in arrival order (the old behaviour) gave 2207.
    """
    from simulator.resources.dram import preset_spec
    spec = preset_spec("DDR4-3200", queue_depth=64)
    rates = {DRAM: (1, 1, 0), RES_NOC: (1, 1, 0), SRAM: (64, 1, 0)}
    args = make_program([dict(unit=0, compute=10, xfers=[(KIND_INPUTS, LOAD, DRAM, 64, 8192),
                                                          (KIND_INPUTS, LOAD, DRAM, 2112, 6144)])],
                        units=1, rates=rates, depth=1, dram=(spec, 10**9))
    got = run(args)
    assert got[3].tolist()[1] == 2237
    assert_same(got, naive(args))
