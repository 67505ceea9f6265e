"""Where the core meets the DRAM: one set of calls, the model chosen by the record's type.

The core calls `dram_offer`, `dram_step`, `dram_finished`, `dram_accepted` and `dram_lookahead`
on its DRAM record. Each is a Numba overload that picks the implementation from the record's
type when the core is compiled: a ServerDram (`bandwidth` model, engine/dram_server.py), a
CycleDram (`cycle` model, engine/dram_cycle.py) or a CmdqDram (a CycleDram whose controllers have
command queues: the same offer/finished/accepted, the front end's cq_tx_step / cq_tx_lookahead).
So `run_program` is compiled (and cached) once per DRAM model, and a run compiles only the model
it uses: the cycle-level controller's kernels are never compiled for a bandwidth-model run, nor
the command queues' for a run without them. (With NUMBA_DISABLE_JIT the same functions
dispatch on the Python class.)

Each model's functions take the same arguments (the offer takes every argument either model
needs), so an overload returns the model's own function. A second DRAM kind (HBM
pseudo-channels, an L2 in front of the DRAM) is a new record type, a module with these five
functions, and one branch in each overload below.
"""
from numba import types
from numba.extending import overload

from simulator.engine.constants import NEVER
from simulator.engine.dram_cycle import CmdqDram, cycle_accepted, cycle_finished, cycle_offer
from simulator.engine.dram_frontend import cq_tx_lookahead, cq_tx_step, tx_lookahead, tx_step
from simulator.engine.dram_server import server_offer
from simulator.engine.jit import KERNEL_OPTIONS
from simulator.engine.records import CycleDram, ServerDram



def _is_cycle(dram_type) -> bool:
    if getattr(dram_type, "instance_class", None) in (CycleDram, CmdqDram):
        return True
    if getattr(dram_type, "instance_class", None) is ServerDram:
        return False
    raise types.TypingError(f"not a DRAM record: {dram_type}")


def _is_cmdq(dram_type) -> bool:
    return getattr(dram_type, "instance_class", None) is CmdqDram


def dram_offer(dram, mem, x, k, stage, addr, nbytes, is_write, now, res_busy, res_wait):
    """A chunk arrives at `now`: the cycle it leaves, or PENDING (then wake the DRAM now)."""
    impl = cycle_offer if isinstance(dram, CycleDram) else server_offer
    return impl(dram, mem, x, k, stage, addr, nbytes, is_write, now, res_busy, res_wait)


@overload(dram_offer, jit_options=KERNEL_OPTIONS)
def _dram_offer(dram, mem, x, k, stage, addr, nbytes, is_write, now, res_busy, res_wait):
    return cycle_offer if _is_cycle(dram) else server_offer


def dram_step(dram, now):
    """At a DRAM event: (chunks finished, chunks accepted) by `now`."""
    if isinstance(dram, CmdqDram):
        return cq_tx_step(dram, now)
    return tx_step(dram, now) if isinstance(dram, CycleDram) else (0, 0)


@overload(dram_step, jit_options=KERNEL_OPTIONS)
def _dram_step(dram, now):
    if _is_cmdq(dram):
        return cq_tx_step
    return tx_step if _is_cycle(dram) else (lambda dram, now: (0, 0))


def dram_finished(dram, i, now):
    """The i-th finished chunk: (x, k, stage, leave cycle, cycles at the DRAM, on banks, in refresh)."""
    return cycle_finished(dram, i, now) if isinstance(dram, CycleDram) else (-1, 0, 0, 0, 0, 0, 0)


@overload(dram_finished, jit_options=KERNEL_OPTIONS)
def _dram_finished(dram, i, now):
    return cycle_finished if _is_cycle(dram) else (lambda dram, i, now: (-1, 0, 0, 0, 0, 0, 0))


def dram_accepted(dram, i):
    """The i-th accepted chunk: (transfer, stage)."""
    return cycle_accepted(dram, i) if isinstance(dram, CycleDram) else (-1, 0)


@overload(dram_accepted, jit_options=KERNEL_OPTIONS)
def _dram_accepted(dram, i):
    return cycle_accepted if _is_cycle(dram) else (lambda dram, i: (-1, 0))


def dram_lookahead(dram, next_other):
    """Core cycle of the next DRAM event: NEVER if none, -1 if the search was cut at next_other."""
    if isinstance(dram, CmdqDram):
        return cq_tx_lookahead(dram, next_other)
    return tx_lookahead(dram, next_other) if isinstance(dram, CycleDram) else NEVER


@overload(dram_lookahead, jit_options=KERNEL_OPTIONS)
def _dram_lookahead(dram, next_other):
    if _is_cmdq(dram):
        return cq_tx_lookahead
    return tx_lookahead if _is_cycle(dram) else (lambda dram, next_other: NEVER)
