"""The event loop's mutable state, as one record of packed int64 arrays (built once per run)."""
from typing import NamedTuple

import numpy as np

from simulator.engine.constants import CHUNK_BYTES, NUM_HELD, NUM_RESOURCES
from simulator.engine.jit import helper

# times: int64[T, 6] (returned as EngineResult.times)
T_ISSUE = 0          # loads issued
T_DEP_READY = 1      # every region it reads was done
T_START = 2          # compute starts (after setup)
T_END = 3            # compute ends
T_DONE = 4           # stores landed
T_OUT_READY = 5      # the output slot freed (0 if the tile never waited for it)
# tl: int64[TL_SIZE, T], per tile
TL_W_READY = 0       # weights landed (issue time if none)
TL_I_READY = 1       # inputs landed
TL_W_LAST = 2        # the weights transfer that landed last, -1 none
TL_I_LAST = 3
TL_LOADS_LEFT = 4
TL_STORES_LEFT = 5
TL_SIZE = 6
# us: int64[US_SIZE, U], per unit (flags are 0/1)
US_ISSUE = 0         # position in unit_tiles of the next tile to issue
US_START = 1         # ... of the next tile to start computing
US_COMPUTED = 2      # tiles computed
US_BUSY = 3          # computing
US_WB = 4            # write-backs pending
US_WAKE = 5          # a wake event is pending
US_DEP_WAIT = 6      # the last issue attempt stopped at an unfinished region
US_OUT_BLOCKED = 7   # the next tile waits for an output slot
US_OUT_FREE_AT = 8   # when that slot freed
US_SIZE = 9
# xs: int64[XS_SIZE, X], per transfer
XS_REM1 = 0          # bytes not yet entered into the first resource
XS_CHUNKS_LEFT = 1   # chunks not yet out of the second resource
XS_DONE = 2          # cycle the last byte landed, -1 not yet
XS_TILE = 3
XS_SIZE = 4
# rg: int64[2, G], per region
RG_LEFT = 0          # tiles not yet done
RG_DONE = 1          # cycle the last one was done


class SimState(NamedTuple):
    times: np.ndarray
    tl: np.ndarray
    us: np.ndarray
    xs: np.ndarray
    x_res: np.ndarray        # int64[X, NUM_HELD]: cycles each transfer's chunks spent at each resource
    rg: np.ndarray
    res_busy: np.ndarray     # int64[NUM_RESOURCES]
    res_wait: np.ndarray


@helper
def sim_new(prog):
    """Fresh state for a program: nothing issued, every unit at its first tile."""
    T = prog.tile_unit.shape[0]
    X = prog.xfer_bytes.shape[0]
    U = prog.unit_start.shape[0] - 1
    G = prog.region_tiles.shape[0]
    tl = np.zeros((TL_SIZE, T), np.int64)
    tl[TL_W_LAST, :] = -1
    tl[TL_I_LAST, :] = -1
    us = np.zeros((US_SIZE, U), np.int64)
    for u in range(U):
        us[US_ISSUE, u] = prog.unit_start[u]
        us[US_START, u] = prog.unit_start[u]
    xs = np.zeros((XS_SIZE, X), np.int64)
    for i in range(T):
        for x in range(prog.xfer_start[i], prog.xfer_start[i + 1]):
            xs[XS_TILE, x] = i
    for x in range(X):
        xs[XS_REM1, x] = prog.xfer_bytes[x]
        xs[XS_CHUNKS_LEFT, x] = (prog.xfer_bytes[x] + CHUNK_BYTES - 1) // CHUNK_BYTES
        xs[XS_DONE, x] = -1
    rg = np.zeros((2, G), np.int64)
    for g in range(G):
        rg[RG_LEFT, g] = prog.region_tiles[g]
    return SimState(np.zeros((T, 6), np.int64), tl, us, xs, np.zeros((X, NUM_HELD), np.int64), rg,
                    np.zeros(NUM_RESOURCES, np.int64), np.zeros(NUM_RESOURCES, np.int64))
