"""What goes into the engine and what comes out: typed records of numpy arrays.

Built in Python by keyword (mapping.program builds the TileProgram, resources.memory the
memory records), unpacked once inside the compiled code. The DRAM record's *type* selects the
DRAM model at compile time (engine/dram_port.py): a run compiles only the model it uses.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class TileProgram(NamedTuple):
    """Equal-length columns per tile, per transfer, per region and per unit (-1 = none)."""
    tile_unit: np.ndarray        # int32 [T]
    tile_layer: np.ndarray       # int32 [T]
    tile_macs: np.ndarray        # int64 [T]
    tile_compute: np.ndarray     # int64 [T] compute cycles (preload, fill, stream, drain)
    tile_setup: np.ndarray       # int64 [T] fixed cycles before compute (first tile of a layer on a unit)
    tile_region: np.ndarray      # int32 [T] region this tile writes (every tile belongs to one)
    dep_start: np.ndarray        # int64 [T+1] CSR into dep_lo/dep_hi
    dep_lo: np.ndarray           # int32 [D] first region of a needed range
    dep_hi: np.ndarray           # int32 [D] last region (inclusive)
    xfer_start: np.ndarray       # int64 [T+1] CSR into the transfer columns
    xfer_kind: np.ndarray        # int8  [X] KIND_*
    xfer_dir: np.ndarray         # int8  [X] LOAD or STORE
    xfer_mem: np.ndarray         # int8  [X] RES_DRAM or RES_SRAM
    xfer_bytes: np.ndarray       # int64 [X]
    xfer_addr: np.ndarray        # int64 [X] byte address in that memory
    region_tiles: np.ndarray     # int32 [G] tiles that must finish for the region to be done
    unit_start: np.ndarray       # int64 [U+1] CSR into unit_tiles
    unit_tiles: np.ndarray       # int32 [T] tiles in execution order per unit
    prefetch_depth: int          # tiles a unit may have issued and not computed (and write-backs pending)


class MemoryTables(NamedTuple):
    """Rates and latencies of the resources a chunk passes (resources.memory.memory_tables).

    A resource serves n bytes in ceil(n * res_den / res_num) core cycles (for the SRAM: per
    bank) and hands the chunk on res_latency core cycles after it leaves.
    """
    res_num: np.ndarray          # int64 [NUM_RESOURCES]
    res_den: np.ndarray          # int64 [NUM_RESOURCES]
    res_latency: np.ndarray      # int64 [NUM_RESOURCES], core cycles
    sram_banks: int
    sram_interleave: int         # bytes
    noc_policy: int              # ARB_*


class ServerDram(NamedTuple):
    """The `bandwidth` DRAM model: a first-come-first-served server at the channels' peak."""
    free_at: np.ndarray          # int64 [1]: core cycle the server is next free (mutated by the run)


class CycleDram(NamedTuple):
    """The `cycle` DRAM model: engine/dram.py's controllers behind engine/dram_frontend.py.

    Built by engine.dram_cycle.cycle_dram_new; `st` is mutated by the run (its statistics are
    read afterwards).
    """
    tb: object                   # engine.dram.DramTables
    st: object                   # engine.dram.DramState
    fe: np.ndarray               # int64 [FE_SIZE] front-end scalars
    tx: np.ndarray               # int64 [TX_SIZE, J] per transaction slot
    ff: np.ndarray               # int64 [J] the front end's FIFO ring
    pf: np.ndarray               # int64 [J] transactions whose finish is known
    acc: np.ndarray              # int64 [J] acceptances not yet reported
    jobs: np.ndarray             # int64 [JOB_SIZE, J] the chunk each slot carries (dram_cycle.JOB_*)
    out: np.ndarray              # int64 [3, J] finished ids, their finish cycles, accepted ids


class EngineResult(NamedTuple):
    """What run_program returns (all integer cycles of the core clock)."""
    times: np.ndarray            # int64 [T, 6]: issue, dependency ready, start (after setup), end, done, out-slot ready
    acc: np.ndarray              # int64 [T, NUM_ACC]: gap before the tile's compute, by cause
    acc_res: np.ndarray          # int64 [T, NUM_HELD]: operand stalls, by the resource that held them
    xfer_done: np.ndarray        # int64 [X]: cycle each transfer's last byte landed
    res_busy: np.ndarray         # int64 [NUM_RESOURCES]: server cycles (DRAM: bandwidth model only), bank-cycles (SRAM)
    res_wait: np.ndarray         # int64 [NUM_RESOURCES]: cycles chunks queued at each resource
    unit_noc_wait: np.ndarray    # int64 [U]: cycles each unit's chunks queued for the interconnect
    makespan: int
    events: int
