"""The on-chip SRAM as an engine resource: banks served first come first served.

A chunk's bytes go to banks by address interleave: byte a is in bank (a // interleave) % banks.
Each bank that gets some serves its share for ceil(bytes * den / num) cycles (num/den: one
bank's bytes per core cycle) from max(arrival, the bank's previous end); the chunk leaves when
its last bank is done. So the SRAM decides a chunk's leave time the moment the chunk arrives,
and has no events of its own.

State `banks`: int64[2, B]: row 0 the cycle each bank is next free, row 1 scratch (bytes per
bank of the chunk being placed). Statistics go to the engine's res_busy (bank-cycles) and
res_wait (cycles a chunk waited beyond its longest bank's own service: bank conflicts).
"""
import numpy as np

from simulator.engine.constants import RES_SRAM
from simulator.engine.jit import helper, kernel
from simulator.engine.rates import duration


@helper
def sram_new(banks):
    return np.zeros((2, max(banks, 1)), np.int64)


@kernel
def sram_offer(banks, mem, addr, nbytes, now, res_busy, res_wait):
    """A chunk of nbytes at addr arrives at `now`: returns the cycle it leaves."""
    nb = mem.sram_banks
    inter = mem.sram_interleave
    for b in range(nb):
        banks[1, b] = 0
    a = addr
    end_a = addr + nbytes
    while a < end_a:
        g_end = min(end_a, (a // inter + 1) * inter)
        banks[1, (a // inter) % nb] += g_end - a
        a = g_end
    leave = now
    longest = 0
    for b in range(nb):
        if banks[1, b] > 0:
            d = duration(banks[1, b], mem.res_num[RES_SRAM], mem.res_den[RES_SRAM])
            begin = max(now, banks[0, b])
            banks[0, b] = begin + d
            res_busy[RES_SRAM] += d
            leave = max(leave, begin + d)
            longest = max(longest, d)
    res_wait[RES_SRAM] += leave - now - longest
    return leave
