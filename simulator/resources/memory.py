"""The memory path -> engine tables: SRAM banks, interconnect, and the DRAM (either model).

Each resource serves bytes at an exact rational rate num/den bytes per core cycle (a chunk of n
bytes takes ceil(n * den / num) cycles, integer arithmetic only) plus a fixed latency in core
cycles. For the SRAM the rate is that of one bank (the engine spreads a chunk over the banks by
address interleave). For the DRAM, the `bandwidth` model is a server at the channels' aggregate
peak with the unloaded row-miss latency (tRCD + CL); the `cycle` model (engine/dram.py) times
every command itself, so its latency entry is 0. Ideal memory makes every transfer free.
"""
from __future__ import annotations

from math import gcd
from typing import NamedTuple

import numpy as np

from simulator.engine.constants import (ARB_FIXED_PRIORITY, ARB_ROUND_ROBIN, DRAM_BANDWIDTH, DRAM_CYCLE,
                                        NUM_RESOURCES, RES_DRAM, RES_NOC, RES_SRAM)
from simulator.resources.dram import dram_state_new, dram_tables

PS_PER_S = 10**12
ARBITRATION_CODES = {"round_robin": ARB_ROUND_ROBIN, "fixed_priority": ARB_FIXED_PRIORITY}
DRAM_MODEL_CODES = {"bandwidth": DRAM_BANDWIDTH, "cycle": DRAM_CYCLE}


class MemoryTables(NamedTuple):
    res_num: np.ndarray          # int64[NUM_RESOURCES]
    res_den: np.ndarray
    res_latency: np.ndarray      # core cycles
    sram_banks: int
    sram_interleave: int         # bytes
    noc_policy: int
    dram_mode: int
    dram_tb: object              # engine.dram.DramTables
    dram_st: object              # engine.dram.DramState (mutated by the run)


def _rate(num: int, den: int) -> tuple[int, int]:
    g = gcd(num, den)
    return num // g, den // g


def memory_tables(arch) -> MemoryTables:
    """Lower the arch's memory section for the engine (a fresh DRAM state each call)."""
    hz = arch.effective_clock_hz
    mem = arch.memory
    dram = mem.dram
    t = dram.resolved_timing
    num = np.zeros(NUM_RESOURCES, np.int64)
    den = np.ones(NUM_RESOURCES, np.int64)
    lat = np.zeros(NUM_RESOURCES, np.int64)
    # DRAM bytes/s = channels * MT/s * 1e6 * width/8  ->  bytes per core cycle = that / hz
    dram_bytes_per_s = dram.channels * t.data_rate_mtps * 10**6 * dram.channel_width_bits // 8
    num[RES_DRAM], den[RES_DRAM] = _rate(dram_bytes_per_s, hz)
    mode = DRAM_MODEL_CODES[dram.model]
    if mode == DRAM_BANDWIDTH:
        miss_ps = (t.trcd_rd + t.cl) * t.tck_ps
        lat[RES_DRAM] = -(-miss_ps * hz // PS_PER_S)
    num[RES_SRAM], den[RES_SRAM] = mem.sram.bank_bytes_per_cycle, 1
    lat[RES_SRAM] = mem.sram.latency_cycles
    num[RES_NOC], den[RES_NOC] = mem.interconnect.width_bytes_per_cycle, 1
    lat[RES_NOC] = mem.interconnect.latency_cycles
    tb = dram_tables(arch, hz)
    return MemoryTables(res_num=num, res_den=den, res_latency=lat, sram_banks=mem.sram.banks,
                        sram_interleave=mem.sram.interleave_bytes,
                        noc_policy=ARBITRATION_CODES[mem.interconnect.arbitration], dram_mode=mode,
                        dram_tb=tb, dram_st=dram_state_new(tb))
