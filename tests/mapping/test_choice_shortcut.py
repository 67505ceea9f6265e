"""The tiling choice's shortcut (mapping/tiling.py, _best_row): a state skips the chain of states
below it when its uncapped best (and, for a state's own choice, its runner-up) moves no more DRAM
bytes than any row of those states can. It must change no choice: on every candidate table a few
networks build, at every operand-home state (input on chip or not, weights' level, output on chip
or not, input stage rungs), the choice and its runner-up equal the ones made with every chain
walked in full."""
from __future__ import annotations

import pytest

import simulator.mapping.tiling as tiling
from simulator.mapping.program import build_program
from simulator.spec import load_arch
from simulator.workload import load_network

# each of these has states where a wrong shortcut (one that always fires) changes a choice
CASES = [("teaching", "resnet50", (224, 224), 1), ("inferx_x1", "yolov3", (416, 416), 1),
         ("blaize_el_cano", "mobilenet_v2", (224, 224), 1)]


def _states(tab):
    stages = sorted({tiling._stage_level(tab, tab.in_total // k) for k in (1, 2, 4, 16)})
    for i_on in (0, 1):
        for w_lv in (0, 1, 2):
            for o_on in (0, 1):
                for stage in (stages if not i_on else [0]):
                    yield (i_on, w_lv, o_on, stage), (tuple(range(w_lv + 1)) if w_lv < 2 else (2,))


def _choices(tables) -> list:
    out = []
    for (_, ctx, _), tab in tables:
        for state, w_levels in _states(tab):
            tab.choices.clear()
            t, dram = tiling._choose(tab, ctx, state, w_levels)
            ru = t.runner_up
            out.append((t.gb, t.kc, t.cr, t.ph, t.qw, t.nb, t.order, t.split, t.winograd, dram)
                       + ((ru.gb, ru.kc, ru.cr, ru.ph, ru.qw, ru.nb, ru.order, ru.split, ru.winograd)
                          if ru is not None else ()))
    return out


def _tables(arch, network, size, batch):
    tiling._TABLES.clear()
    build_program(load_arch(arch), load_network(network, input_size=size, batch=batch))
    return list(tiling._TABLES.items())


@pytest.mark.parametrize("arch, network, size, batch", CASES)
def test_the_shortcut_changes_no_choice(monkeypatch, arch, network, size, batch):
    tables = _tables(arch, network, size, batch)
    fast = _choices(tables)
    # a floor below every byte count: the shortcut never fires, every chain is walked
    monkeypatch.setattr(tiling, "_dram_floor", lambda tab, state: -1)
    assert _choices(tables) == fast
    for _, tab in tables:
        tab.choices.clear()
    tiling._TABLES.clear()
