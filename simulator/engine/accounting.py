"""Every unit cycle has one owner: the gap before each tile's compute, charged to one cause.

Per unit, in queue order: the gap between the previous compute end and the moment the unit took
the tile (start - setup) goes to `dependency` up to the time the tile's regions were done, and
the rest to one cause: `outputs` if the output slot freed last (at or after both operands, and
strictly after the rest began), else `weights` if the weights landed strictly after the inputs,
else `inputs`. A weights/inputs stall is also charged (acc_res) to the resource where the
operand's last-landing transfer spent the most cycles (ties: the lower resource id); a DRAM
charge is split by that transfer's shares on bank timing and in refresh (the rest stays "dram").
"""
import numpy as np

from simulator.engine.constants import (ACC_DEPENDENCY, ACC_INPUTS, ACC_OUTPUTS, ACC_SETUP, ACC_WEIGHTS,
                                        HELD_DRAM_BANK, HELD_DRAM_REFRESH, NUM_ACC, NUM_HELD, NUM_RESOURCES,
                                        RES_DRAM)
from simulator.engine.jit import helper, kernel
from simulator.engine.state import T_DEP_READY, T_END, T_OUT_READY, T_START, TL_I_LAST, TL_I_READY, TL_W_LAST, TL_W_READY


@helper
def account(prog, sim):
    """(acc[T, NUM_ACC], acc_res[T, NUM_HELD]) of a finished run."""
    T = sim.times.shape[0]
    acc = np.zeros((T, NUM_ACC), np.int64)
    acc_res = np.zeros((T, NUM_HELD), np.int64)
    for u in range(prog.unit_start.shape[0] - 1):
        _account_unit(prog, sim, u, acc, acc_res)
    return acc, acc_res


@kernel
def _account_unit(prog, sim, u, acc, acc_res):
    times, tl = sim.times, sim.tl
    prev_end = 0
    for pos in range(prog.unit_start[u], prog.unit_start[u + 1]):
        i = prog.unit_tiles[pos]
        setup = prog.tile_setup[i]
        s0 = times[i, T_START] - setup
        acc[i, ACC_SETUP] = setup
        dep = times[i, T_DEP_READY]
        if dep > prev_end:
            acc[i, ACC_DEPENDENCY] = min(dep, s0) - prev_end
        rest_from = max(prev_end, dep)
        if s0 > rest_from:
            w, inp, out = tl[TL_W_READY, i], tl[TL_I_READY, i], times[i, T_OUT_READY]
            x = -1
            if out >= w and out >= inp and out > rest_from:
                acc[i, ACC_OUTPUTS] = s0 - rest_from
            elif w > inp:
                acc[i, ACC_WEIGHTS] = s0 - rest_from
                x = tl[TL_W_LAST, i]
            else:
                acc[i, ACC_INPUTS] = s0 - rest_from
                x = tl[TL_I_LAST, i]
            if x >= 0:
                _charge_resource(sim.x_res, x, s0 - rest_from, acc_res, i)
        prev_end = times[i, T_END]


@kernel
def _charge_resource(x_res, x, stall, acc_res, i):
    """Charge an operand stall to the resource where transfer x spent the most cycles."""
    best = 0
    for r in range(1, NUM_RESOURCES):
        if x_res[x, r] > x_res[x, best]:
            best = r
    if best == RES_DRAM and x_res[x, RES_DRAM] > 0:
        on_bank = stall * x_res[x, HELD_DRAM_BANK] // x_res[x, RES_DRAM]
        in_ref = stall * x_res[x, HELD_DRAM_REFRESH] // x_res[x, RES_DRAM]
        acc_res[i, HELD_DRAM_BANK] += on_bank
        acc_res[i, HELD_DRAM_REFRESH] += in_ref
        stall -= on_bank + in_ref
    acc_res[i, best] += stall
