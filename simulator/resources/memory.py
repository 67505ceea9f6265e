"""The memory path as bandwidth-and-latency servers: DRAM, SRAM, interconnect -> engine tables.

Each resource serves bytes at an exact rational rate num/den bytes per core cycle (so a chunk of
n bytes takes ceil(n * den / num) cycles, integer arithmetic only) after a fixed latency in core
cycles. DRAM is the aggregate of its channels at peak rate, with the unloaded row-miss latency
(tRCD + CL) converted from DRAM clocks to core cycles; bank, row and refresh timing belong to the
cycle-level DRAM model. Ideal memory makes every transfer free.
"""
from __future__ import annotations

from math import gcd

import numpy as np

from simulator.engine.constants import NUM_RESOURCES, RES_DRAM, RES_NOC, RES_SRAM

PS_PER_S = 10**12


def _rate(num: int, den: int) -> tuple[int, int]:
    g = gcd(num, den)
    return num // g, den // g


def resource_tables(arch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(num, den, latency_cycles) per resource id, int64."""
    hz = arch.clock_hz
    mem = arch.memory
    dram = mem.dram
    t = dram.resolved_timing
    num = np.zeros(NUM_RESOURCES, np.int64)
    den = np.ones(NUM_RESOURCES, np.int64)
    lat = np.zeros(NUM_RESOURCES, np.int64)
    # DRAM bytes/s = channels * MT/s * 1e6 * width/8  ->  bytes per core cycle = that / hz
    dram_bytes_per_s = dram.channels * t.data_rate_mtps * 10**6 * dram.channel_width_bits // 8
    num[RES_DRAM], den[RES_DRAM] = _rate(dram_bytes_per_s, hz)
    miss_ps = (t.trcd_rd + t.cl) * t.tck_ps
    lat[RES_DRAM] = -(-miss_ps * hz // PS_PER_S)
    num[RES_SRAM], den[RES_SRAM] = mem.sram.banks * mem.sram.bank_bytes_per_cycle, 1
    lat[RES_SRAM] = mem.sram.latency_cycles
    num[RES_NOC], den[RES_NOC] = mem.interconnect.width_bytes_per_cycle, 1
    lat[RES_NOC] = mem.interconnect.latency_cycles
    return num, den, lat
