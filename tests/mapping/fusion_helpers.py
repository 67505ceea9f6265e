"""Helpers of the fusion tests: run a mapped program, measure what the SRAM rings really hold."""
from __future__ import annotations

import numpy as np

import simulator
from simulator.engine.constants import KIND_OUTPUTS, STORE
from simulator.engine.core import run_program
from simulator.mapping.program import build_program
from simulator.resources.memory import dram_record, memory_tables


def mapped_and_times(arch, network, size, fuse="auto", overrides=()):
    spec = simulator.load_arch(arch, overrides)
    net = simulator.load_network(network, size)
    mapped = build_program(spec, net, fuse=fuse)
    out = run_program(mapped.program, memory_tables(spec), dram_record(spec, mapped.program))
    return mapped, out


def ring_peaks(mapped, out) -> dict[str, tuple[int, int]]:
    """Fused intermediate -> (peak bytes live in its ring during the run, ring bytes).

    A region (block of rows) is live from its first producer tile's compute start to the latest
    compute start of a tile that reads it (its inputs are in the array's buffer by then).
    """
    p, pl = mapped.program, mapped.placement
    T = len(p.tile_unit)
    start = out.times[:, 2]
    region_bytes = np.zeros(len(p.region_tiles), np.int64)
    x_tile = np.repeat(np.arange(T), np.diff(p.xfer_start))
    w = (p.xfer_kind == KIND_OUTPUTS) & (p.xfer_dir == STORE)
    np.add.at(region_bytes, p.tile_region[x_tile[w]], p.xfer_bytes[w])
    born = np.full(len(p.region_tiles), np.iinfo(np.int64).max)
    np.minimum.at(born, p.tile_region, start)
    freed = np.zeros(len(p.region_tiles), np.int64)
    d_tile = np.repeat(np.arange(T), np.diff(p.dep_start))
    for lo, hi, t in zip(p.dep_lo, p.dep_hi, d_tile):
        freed[lo:hi + 1] = np.maximum(freed[lo:hi + 1], start[t])
    peaks = {}
    layer_id = {n: i for i, n in enumerate(mapped.layer_names)}
    for name, ring in mapped.fusion.intermediates().items():
        regs = np.unique(p.tile_region[p.tile_layer == layer_id[name]])
        ev_t = np.concatenate([born[regs], np.maximum(freed[regs], born[regs])])
        ev_b = np.concatenate([region_bytes[regs], -region_bytes[regs]])
        o = np.lexsort((ev_b, ev_t))                   # frees before births at equal times
        peaks[name] = (int(np.cumsum(ev_b[o]).max()), int(pl.size_bytes[pl.tensor_of[name]]))
    return peaks
