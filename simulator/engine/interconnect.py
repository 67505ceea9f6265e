"""The interconnect as an engine resource: one chunk at a time, arbitrated between units.

It moves num/den bytes per core cycle; a chunk takes ceil(bytes * den / num) cycles. Chunks that
arrive while it is busy queue per unit (FIFO). When it frees, or when a chunk arrives while it
is idle, the arbiter takes the head of one unit's queue: the next unit after the last one picked
(round robin; "last" starts at U - 1) or the lowest unit with a chunk (fixed priority). The
arbiter runs as an event of its own at that time, so every chunk that arrives earlier in the
same cycle's event order competes. A chunk's wait is its arrival to the start of its service.

Entry points (the resource interface, core.py): `noc_offer` (a chunk arrives; True if the
arbiter must be woken now), `noc_finish` (at the interconnect's event: the chunk whose service
ended, if any), `noc_start_next` (arbitrate; the cycle the next service ends, NEVER if idle).

State NocState: `ns` scalars (NS_*), `nu[NU_*, U]` per unit, `nr[NR_*, cap]` chunk records
(free ones linked through NR_NEXT).
"""
from typing import NamedTuple

import numpy as np

from simulator.engine.constants import ARB_FIXED_PRIORITY, NEVER, RES_NOC
from simulator.engine.jit import helper, kernel
from simulator.engine.rates import duration

NS_FREE = 0          # first free record, -1 none
NS_QUEUED = 1        # chunks waiting
NS_BUSY = 2          # 1 while an interconnect event is pending
NS_LAST = 3          # unit picked last
NS_SERVING = 4       # record in service, -1 none
NS_SIZE = 5
NU_HEAD = 0          # oldest waiting record of the unit, -1 none
NU_TAIL = 1
NU_WAIT = 2          # cycles the unit's chunks waited (statistic)
NU_SIZE = 3
NR_X = 0             # transfer
NR_K = 1             # chunk index in the transfer
NR_STAGE = 2         # 1 or 2: which resource of the transfer's path this is
NR_BYTES = 3
NR_ARRIVE = 4
NR_NEXT = 5          # next record in the unit's queue, or next free record
NR_SIZE = 6


class NocState(NamedTuple):
    ns: np.ndarray
    nu: np.ndarray
    nr: np.ndarray


@helper
def noc_new(units, capacity):
    """State for `units` units and at most `capacity` chunks at the interconnect at once."""
    ns = np.zeros(NS_SIZE, np.int64)
    ns[NS_LAST] = units - 1
    ns[NS_SERVING] = -1
    nu = np.full((NU_SIZE, max(units, 1)), -1, np.int64)
    nu[NU_WAIT, :] = 0
    nr = np.zeros((NR_SIZE, capacity + 1), np.int64)
    for r in range(capacity):
        nr[NR_NEXT, r] = r + 1
    nr[NR_NEXT, capacity] = -1
    return NocState(ns, nu, nr)


@kernel
def noc_offer(noc, x, k, stage, nbytes, unit, now):
    """Chunk k of transfer x (nbytes, for `unit`) arrives at `now`; True if the arbiter must run now."""
    ns, nu, nr = noc.ns, noc.nu, noc.nr
    r = ns[NS_FREE]
    ns[NS_FREE] = nr[NR_NEXT, r]
    nr[NR_X, r] = x
    nr[NR_K, r] = k
    nr[NR_STAGE, r] = stage
    nr[NR_BYTES, r] = nbytes
    nr[NR_ARRIVE, r] = now
    nr[NR_NEXT, r] = -1
    if nu[NU_TAIL, unit] < 0:
        nu[NU_HEAD, unit] = r
    else:
        nr[NR_NEXT, nu[NU_TAIL, unit]] = r
    nu[NU_TAIL, unit] = r
    ns[NS_QUEUED] += 1
    if ns[NS_BUSY]:
        return False
    ns[NS_BUSY] = 1
    return True


@kernel
def noc_finish(noc):
    """At the interconnect's event: (x, k, stage, arrival) of the chunk whose service ended
    (x = -1 if none was in service); its record is freed."""
    ns, nr = noc.ns, noc.nr
    r = ns[NS_SERVING]
    if r < 0:
        return -1, 0, 0, 0
    ns[NS_SERVING] = -1
    nr[NR_NEXT, r] = ns[NS_FREE]
    ns[NS_FREE] = r
    return nr[NR_X, r], nr[NR_K, r], nr[NR_STAGE, r], nr[NR_ARRIVE, r]


@kernel
def noc_start_next(noc, mem, now, res_busy, res_wait):
    """Arbitrate at `now`: the cycle the picked chunk's service ends, NEVER if none waits."""
    ns, nu, nr = noc.ns, noc.nu, noc.nr
    ns[NS_BUSY] = 0
    if ns[NS_QUEUED] == 0:
        return NEVER
    U = nu.shape[1]
    pick = -1
    for k in range(U):
        v = k if mem.noc_policy == ARB_FIXED_PRIORITY else (ns[NS_LAST] + 1 + k) % U
        if nu[NU_HEAD, v] >= 0:
            pick = v
            break
    ns[NS_LAST] = pick
    r = nu[NU_HEAD, pick]
    nu[NU_HEAD, pick] = nr[NR_NEXT, r]
    if nu[NU_HEAD, pick] < 0:
        nu[NU_TAIL, pick] = -1
    ns[NS_QUEUED] -= 1
    d = duration(nr[NR_BYTES, r], mem.res_num[RES_NOC], mem.res_den[RES_NOC])
    waited = now - nr[NR_ARRIVE, r]
    res_busy[RES_NOC] += d
    res_wait[RES_NOC] += waited
    nu[NU_WAIT, pick] += waited
    ns[NS_SERVING] = r
    ns[NS_BUSY] = 1
    return now + d
