"""The `cycle` DRAM model as an engine resource: every chunk a transaction of bursts.

A chunk arriving at the DRAM takes a transaction slot ("job") and is handed to the in-order
front end (engine/dram_frontend.py), which moves its bursts into the controllers' queues
(engine/dram.py; with controller.cmd_queue_size > 0 the transaction queues of
engine/dram_cmdq.py's two-level controller) in the DRAM clock. The engine hears of two things
only: a chunk *accepted* (its last burst entered a queue: the transfer's next chunk may come)
and a chunk *finished* (its last burst's data is done: it leaves the DRAM). Rules D1-D7 in
tests/naive/engine.py.

Entry points (the resource interface, core.py through engine/dram_port.py): `cycle_offer` (a
chunk arrives; the core then wakes the DRAM now), the front end's `tx_step` (at a DRAM event:
decide up to now; how many finished and accepted), `cycle_finished` / `cycle_accepted` (read
them), the front end's `tx_lookahead` (when the next DRAM event is due, found by deciding ahead).

Time: core cycles per DRAM cycle = num / den (exact); d(T) = floor(T * den / num) is the last
DRAM edge at or before core cycle T, and a DRAM cycle t is seen at core cycle ceil(t * num / den).
"""
import numpy as np

from simulator.engine.constants import PENDING
from simulator.engine.dram import P_BURST_BYTES, P_CORE_DEN, P_CORE_NUM
from simulator.engine.dram_cmdq import cmdq_flat_size
from simulator.engine.dram_frontend import (OUT_ACC, OUT_FIN, OUT_FIN_CYCLE, TX_ACCESS, TX_BANK, TX_REFRESH,
                                            front_end_new, tx_submit)
from simulator.engine.jit import kernel
from simulator.engine.records import CycleDram

# jobs: int64[JOB_SIZE, J], the chunk a transaction slot carries
JOB_X = 0            # transfer
JOB_K = 1            # chunk index
JOB_STAGE = 2        # 1: the DRAM is the first resource of its path (a load), 2: the second (a store)
JOB_ARRIVE = 3       # core cycle it arrived
JOB_NEXT = 4         # next free slot, -1 none; column J holds the first free slot
JOB_SIZE = 5


class CmdqDram(CycleDram):
    """A CycleDram whose controllers have command queues (DRAMSim3's two-level controller,
    engine/dram_cmdq.py; their state in `fe` after the front end's scalars). Its own type, so the
    engine is compiled apart for it (engine/dram_port.py) and a run with one queue never compiles
    the command queues' code; a CycleDram for everything else (isinstance)."""
    __slots__ = ()


def cycle_dram_new(tb, st, slots: int) -> CycleDram:
    """The record for a run with at most `slots` DRAM chunks at once (the program's DRAM chunks): a
    CmdqDram if the tables have command queues."""
    slots = max(int(slots), 1)
    cmdq = 0
    if tb.cmd_queue_size > 0:           # the two-level controller's queues live in fe (dram_cmdq.py)
        cmdq = cmdq_flat_size(tb.channels, tb.bank_groups * tb.banks_per_group, max(tb.queue_depth, tb.write_buffer))
    fe, tx, ff, pf, acc = front_end_new(slots, cmdq)
    jobs = np.zeros((JOB_SIZE, slots + 1), np.int64)
    jobs[JOB_NEXT, :slots] = np.arange(1, slots + 1)
    jobs[JOB_NEXT, slots - 1] = -1
    jobs[JOB_NEXT, slots] = 0
    record = CmdqDram if cmdq else CycleDram
    return record(tb=tb, st=st, fe=fe, tx=tx, ff=ff, pf=pf, acc=acc, jobs=jobs, out=np.zeros((3, slots), np.int64))


@kernel
def cycle_offer(dram, mem, x, k, stage, addr, nbytes, is_write, now, res_busy, res_wait):
    """Chunk k of transfer x (nbytes at addr) arrives at core cycle `now` and joins the front end;
    returns PENDING (its leave time comes with a later DRAM event). `mem`, res_busy and res_wait
    are not used: the cycle model keeps its own statistics in the DRAM state."""
    jobs = dram.jobs
    p = dram.tb.p
    J = jobs.shape[1] - 1
    j = jobs[JOB_NEXT, J]
    jobs[JOB_NEXT, J] = jobs[JOB_NEXT, j]
    jobs[JOB_X, j] = x
    jobs[JOB_K, j] = k
    jobs[JOB_STAGE, j] = stage
    jobs[JOB_ARRIVE, j] = now
    bb = p[P_BURST_BYTES]
    tx_submit(dram.fe, dram.tx, dram.ff, j, addr, (nbytes + bb - 1) // bb, is_write,
              (now * p[P_CORE_DEN]) // p[P_CORE_NUM])
    return PENDING


@kernel
def cycle_finished(dram, i, now):
    """The i-th chunk tx_step found finished: (x, k, stage, leave cycle, cycles at the DRAM, of
    which on bank timing, of which in a refresh); frees its slot.

    The shares are the transaction's bursts' (sums of their waits over their access times)
    applied to the chunk's whole time at the DRAM, floored.
    """
    p = dram.tb.p
    jobs = dram.jobs
    tx = dram.tx
    j = dram.out[OUT_FIN, i]
    c_num = p[P_CORE_NUM]
    c_den = p[P_CORE_DEN]
    t_fin = max(now, (dram.out[OUT_FIN_CYCLE, i] * c_num + c_den - 1) // c_den)
    spent = t_fin - jobs[JOB_ARRIVE, j]
    on_bank = 0
    in_ref = 0
    if tx[TX_ACCESS, j] > 0:
        on_bank = spent * tx[TX_BANK, j] // tx[TX_ACCESS, j]
        in_ref = spent * tx[TX_REFRESH, j] // tx[TX_ACCESS, j]
    J = jobs.shape[1] - 1
    jobs[JOB_NEXT, j] = jobs[JOB_NEXT, J]
    jobs[JOB_NEXT, J] = j
    return jobs[JOB_X, j], jobs[JOB_K, j], jobs[JOB_STAGE, j], t_fin, spent, on_bank, in_ref


@kernel
def cycle_accepted(dram, i):
    """The i-th chunk tx_step found accepted: (transfer, stage)."""
    j = dram.out[OUT_ACC, i]
    return dram.jobs[JOB_X, j], dram.jobs[JOB_STAGE, j]
