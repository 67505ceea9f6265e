"""The on-chip SRAM as an engine resource: banks served first come first served.

A chunk's bytes go to banks by address interleave: byte a is in bank (a // interleave) % banks.
Each bank that gets some serves its share for ceil(bytes * den / num) cycles (num/den: one
bank's bytes per core cycle) from max(arrival, the bank's previous end); the chunk leaves when
its last bank is done. So the SRAM decides a chunk's leave time the moment the chunk arrives,
and has no events of its own.

State `banks`: int64[2, B]: row 0 the cycle each bank is next free (row 1 unused). Statistics go
to the engine's res_busy (bank-cycles) and res_wait (cycles a chunk waited beyond its longest
bank's own service: bank conflicts).
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
    """A chunk of nbytes at addr arrives at `now`: returns the cycle it leaves.

    Its bytes per bank in closed form: the chunk spans interleave granules g0..g1, granule g in
    bank g % banks, each whole granule `interleave` bytes, the first and last cut at the chunk's ends
    (two divisions per chunk instead of two per granule: this was a third of the engine's time).
    """
    if nbytes <= 0:
        return now
    nb = mem.sram_banks
    inter = mem.sram_interleave
    end_a = addr + nbytes
    g0 = addr // inter
    g1 = (end_a - 1) // inter
    n = g1 - g0 + 1
    full = n // nb
    rem = n - full * nb
    b0 = g0 % nb
    b1 = g1 % nb
    num = mem.res_num[RES_SRAM]
    den = mem.res_den[RES_SRAM]
    leave = now
    longest = 0
    for b in range(nb):
        j = b - b0 if b >= b0 else b - b0 + nb       # granules g0 + j, g0 + j + nb, ... are in bank b
        got = full * inter + (inter if j < rem else 0)
        if b == b0:
            got -= addr - g0 * inter
        if b == b1:
            got -= (g1 + 1) * inter - end_a
        if got > 0:
            d = duration(got, num, den)
            begin = max(now, banks[0, b])
            banks[0, b] = begin + d
            res_busy[RES_SRAM] += d
            leave = max(leave, begin + d)
            longest = max(longest, d)
    res_wait[RES_SRAM] += leave - now - longest
    return leave
