"""The `bandwidth` DRAM model as an engine resource: one first-come-first-served server.

The server moves num/den bytes per core cycle (the channels' aggregate peak); a chunk is served
from max(arrival, the server's previous end) for ceil(bytes * den / num) cycles, then travels the
DRAM's fixed latency (the unloaded row-miss time tRCD + CL, in MemoryTables.res_latency). The
leave time is decided when the chunk arrives: no events of its own. Banks, rows and refresh are
not seen (use the `cycle` model, engine/dram_cycle.py).
"""
from simulator.engine.constants import RES_DRAM
from simulator.engine.jit import kernel
from simulator.engine.rates import duration


@kernel
def server_offer(dram, mem, x, k, stage, addr, nbytes, is_write, now, res_busy, res_wait):
    """A chunk of nbytes arrives at `now`: returns the cycle it leaves the server (the chunk's
    identity and address do not matter to it; engine/dram_port.py gives both models one form)."""
    begin = max(now, dram.free_at[0])
    d = duration(nbytes, mem.res_num[RES_DRAM], mem.res_den[RES_DRAM])
    dram.free_at[0] = begin + d
    res_busy[RES_DRAM] += d
    res_wait[RES_DRAM] += begin - now
    return begin + d
