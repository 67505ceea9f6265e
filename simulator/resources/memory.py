"""The memory path -> engine records: SRAM banks, interconnect, and the DRAM (either model).

Each resource serves bytes at an exact rational rate num/den bytes per core cycle (a chunk of n
bytes takes ceil(n * den / num) cycles, integer arithmetic only) plus a fixed latency in core
cycles. For the SRAM the rate is that of one bank (the engine spreads a chunk over the banks by
address interleave). For the DRAM, the `bandwidth` model is a server at the channels' aggregate
peak with the unloaded row-miss latency (tRCD + CL); the `cycle` model (engine/dram.py) times
every command itself, so its latency entry is 0. Ideal memory makes every transfer free.
"""
from __future__ import annotations

from math import gcd

import numpy as np

from simulator.engine.constants import (ARB_FIXED_PRIORITY, ARB_ROUND_ROBIN, CHUNK_BYTES, NUM_RESOURCES, RES_DRAM,
                                        RES_NOC, RES_SRAM)
from simulator.engine.dram_cmdq import cmdq_flat_size
from simulator.engine.dram_cycle import cycle_dram_new
from simulator.engine.records import CycleDram, MemoryTables, ServerDram, TileProgram
from simulator.engine.dram import BK_SIZE, LAT_BINS, NUM_STATS, QF_SIZE, SC_SIZE
from simulator.resources.dram import dram_state_new, dram_tables

PS_PER_S = 10**12
ARBITRATION_CODES = {"round_robin": ARB_ROUND_ROBIN, "fixed_priority": ARB_FIXED_PRIORITY}


def _rate(num: int, den: int) -> tuple[int, int]:
    g = gcd(num, den)
    return num // g, den // g


def memory_tables(arch) -> MemoryTables:
    """Lower the arch's memory section: rates and latencies of the SRAM, interconnect and DRAM."""
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
    if dram.model == "bandwidth":
        miss_ps = (t.trcd_rd + t.cl) * t.tck_ps
        lat[RES_DRAM] = -(-miss_ps * hz // PS_PER_S)
    num[RES_SRAM], den[RES_SRAM] = mem.sram.bank_bytes_per_cycle, 1
    lat[RES_SRAM] = mem.sram.latency_cycles
    num[RES_NOC], den[RES_NOC] = mem.interconnect.width_bytes_per_cycle, 1
    lat[RES_NOC] = mem.interconnect.latency_cycles
    return MemoryTables(res_num=num, res_den=den, res_latency=lat, sram_banks=mem.sram.banks,
                        sram_interleave=mem.sram.interleave_bytes,
                        noc_policy=ARBITRATION_CODES[mem.interconnect.arbitration])


def dram_chunks(program: TileProgram) -> int:
    """Chunks the program moves through the DRAM (the most the cycle model can hold at once)."""
    on_dram = program.xfer_mem == RES_DRAM
    return int(((program.xfer_bytes[on_dram] + CHUNK_BYTES - 1) // CHUNK_BYTES).sum())


def memory_bytes(arch) -> int:
    """Bytes of the state the engine allocates per memory resource, from the spec alone, before any
    of it exists: the SRAM's per-bank rows and, for the cycle model, each channel's banks, queue,
    in-flight list, statistics and latency histogram (resources/dram.py:dram_state_new), and with
    command queues their state."""
    total = 2 * arch.memory.sram.banks * 8
    dram = arch.memory.dram
    if dram.model == "cycle":
        t = dram.resolved_timing
        banks = t.bank_groups * t.banks_per_group
        ctrl = dram.controller
        inflight = dram.queue_depth + ctrl.write_buffer + max(t.cl, t.cwl) + t.burst_cycles + 2
        slots = dram.queue_depth + ctrl.write_buffer + banks * ctrl.cmd_queue_size
        per_channel = (SC_SIZE + (banks + t.bank_groups + 1) * BK_SIZE + QF_SIZE * slots
                       + 2 * inflight + NUM_STATS + LAT_BINS)
        total += dram.channels * per_channel * 8
        if ctrl.cmd_queue_size > 0:            # the command queues' state (engine/dram_cmdq.py)
            total += cmdq_flat_size(dram.channels, banks, max(dram.queue_depth, ctrl.write_buffer)) * 8
    return total


def estimated_events(program: TileProgram) -> int:
    """Engine events a program will take, roughly: a few per tile (wake, compute, done) and a
    few per 2 KiB chunk of every transfer (each enters two resources). Cheap: array sums only."""
    chunks = int(((program.xfer_bytes + CHUNK_BYTES - 1) // CHUNK_BYTES).sum())
    return 3 * len(program.tile_unit) + 3 * chunks


# Engine events per second of the compiled engine, per DRAM model, for the time-left estimate of a
# single run (`npusim run` on a terminal). Measured 2026-11-29 by `PYTHONPATH=. python
# benchmarks/engine_rate.py` (run_program alone, warm cache, best of 3; estimated_events / seconds):
# bandwidth 9.0 M/s on YOLOv3-416/608 (inferx_x1) and ResNet-50 (xavier_nx), 5.9 on MobileNetV2
# (tesla_t4); cycle 4.6 on YOLOv3, 2.0-3.3 on ResNet-50 and MobileNetV2. Long runs are what the
# estimate is for, so the rates are those of the largest programs, rounded down.
ENGINE_EVENTS_PER_S = {"bandwidth": 8_000_000, "cycle": 4_000_000}


def estimated_engine_seconds(program: TileProgram, dram_model: str = "bandwidth") -> float:
    """Seconds the engine will take on `program`, roughly (within a factor of about 2): its
    estimated events (transfer chunks and tiles) at the measured rate of `dram_model`. Positive,
    and grows with the program's tiles and bytes moved; computed before the engine starts."""
    rate = ENGINE_EVENTS_PER_S.get(dram_model, ENGINE_EVENTS_PER_S["cycle"])
    return max(1, estimated_events(program)) / rate


def dram_record(arch, program: TileProgram) -> ServerDram | CycleDram:
    """A fresh DRAM record for one run of `program`: its type selects the model in the engine."""
    if arch.memory.dram.model == "bandwidth":
        return ServerDram(free_at=np.zeros(1, np.int64))
    tb = dram_tables(arch, arch.effective_clock_hz)
    return cycle_dram_new(tb, dram_state_new(tb), dram_chunks(program))
