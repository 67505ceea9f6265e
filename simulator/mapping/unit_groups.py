"""Unit groups: engines of other kinds beside the main arrays, each running whole images.

A chip such as Xavier NX has GPU SMs and two NVDLA engines (`compute.unit_groups`). An inference
runtime gives each engine its own stream of images (TensorRT builds one engine per device), so
the mapper here assigns the batch's images to the main compute and to each engine of each group,
lowers every share with that engine's own model (the GPU model of mapping/gpu.py or the array
model of mapping/program.py), and runs them as one program: they share the DRAM and the
interconnect and nothing else.

- **Assignment.** Images go in proportion to each engine's estimated rate: the main compute's
  estimate for the whole batch (its per-layer busiest unit, summed over layers) divided by the
  batch, and an engine's estimate for one image; largest remainders fill the rest. At batch 1 the
  fastest engine takes the image and the others idle.
- **An engine** is one MAC array (`array`) and its vector units (`vector`) at its own `clock`,
  lowered by the array model with no SRAM of its own (its activations in DRAM, its local buffers
  being its convolution buffer); its compute and setup cycles are converted to core cycles at
  the clock ratio (rounded up). It runs every layer of its images (no fallback to the GPU).
- **Units** are numbered: the main arrays, then each engine's array, then the main vector units,
  then each engine's vector units.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from simulator.engine.constants import RES_DRAM
from simulator.engine.records import TileProgram
from simulator.errors import MappingError
from simulator.mapping.placement import ADDRESS_ALIGN_BYTES
from simulator.mapping.program import MappedNetwork, build_program
from simulator.workload.graph import network_from_layers
from simulator.workload.ops import input_layer


def main_arch(arch):
    """The chip without its unit groups."""
    return arch.model_copy(update={"compute": arch.compute.model_copy(update={"unit_groups": []})})


def engine_arch(arch, group):
    """One engine of `group` as a chip of its own: one array, its vector units, its clock, no SRAM."""
    compute = arch.compute.model_copy(update={"kind": "arrays", "gpu": None, "arrays": 1, "array": group.array,
                                              "vector": group.vector, "winograd": None, "unit_groups": []})
    memory = arch.memory.model_copy(update={"sram": arch.memory.sram.model_copy(update={"size_bytes": 0,
                                                                                      "pin_weights": False})})
    overheads = arch.overheads.model_copy(update={"layer_setup_cycles": 0, "sustained_clock_fraction": 1.0})
    return arch.model_copy(update={"clock_hz": group.clock_hz, "compute": compute, "memory": memory,
                                   "overheads": overheads})


def with_batch(net, n: int):
    """`net` with `n` images."""
    layers = [dataclasses.replace(layer, batch=n, n=n if layer.is_mac_op else layer.n) for layer in net.layers]
    return network_from_layers(layers, name=net.name, input_layer_=input_layer(net.input_channels, net.input_size, n),
                               source_path=None, input_size=net.input_size, batch=n, description=net.description,
                               reference=net.reference, precision=net.precision)


def estimated_cycles(mapped: MappedNetwork) -> int:
    """The busiest unit's compute + setup per layer, summed over layers (a kernel-by-kernel bound)."""
    p = mapped.program
    U = len(p.unit_start) - 1
    L = len(mapped.layer_names)
    per = np.bincount(p.tile_layer.astype(np.int64) * U + p.tile_unit, weights=p.tile_compute + p.tile_setup,
                      minlength=L * U).reshape(L, U)
    return int(per.max(axis=1).sum())


def assign_images(batch: int, rates: list[float]) -> list[int]:
    """Images per engine in proportion to `rates`, largest remainders first (ties: earlier engine)."""
    total = sum(rates)
    exact = [batch * r / total for r in rates]
    n = [int(e) for e in exact]
    order = sorted(range(len(rates)), key=lambda i: (-(exact[i] - n[i]), i))
    for i in order[:batch - sum(n)]:
        n[i] += 1
    return n


def build_grouped_program(arch, net, ideal_memory: bool = False, source: str = "") -> MappedNetwork:
    """Lower `net` with its images shared between the main compute and the unit groups' engines."""
    main = main_arch(arch)
    engines = [(g, engine_arch(arch, g)) for g in arch.compute.unit_groups for _ in range(g.count)]
    depth = {arch.compute.array.prefetch_depth} | {g.array.prefetch_depth for g, _ in engines}
    if len(depth) > 1:
        raise MappingError(source, "compute.unit_groups",
                           "every unit group's array.prefetch_depth must equal compute.array.prefetch_depth "
                           f"(the engine runs one depth; got {sorted(depth)})")
    core_hz = arch.effective_clock_hz
    whole = build_program(main, net, ideal_memory, source)
    one = build_program(engines[0][1], with_batch(net, 1), ideal_memory, source) if engines else None
    rates = [net.batch / max(estimated_cycles(whole), 1)]
    for g, spec in engines:
        rates.append(g.clock_hz / core_hz / max(estimated_cycles(one), 1))
    shares = assign_images(net.batch, rates)
    parts = []
    if shares[0]:
        parts.append((whole if shares[0] == net.batch else build_program(main, with_batch(net, shares[0]),
                                                                         ideal_memory, source), core_hz, core_hz))
    else:                               # no image for the main compute: its units stay, empty
        parts.append((_idle(whole), core_hz, core_hz))
    for (g, spec), n in zip(engines, shares[1:]):
        m = build_program(spec, with_batch(net, max(n, 1)), ideal_memory, source)
        parts.append((m if n else _idle(m), g.clock_hz, core_hz))
    program = merge_programs([(m.program, m.num_arrays, m.num_vector_units, hz, core) for m, hz, core in parts])
    first = parts[0][0] if shares[0] else whole
    return MappedNetwork(program=program, layer_names=first.layer_names, layer_ops=first.layer_ops,
                         layer_macs=sum(m.layer_macs for m, _, _ in parts),
                         layer_winograd=first.layer_winograd, num_arrays=sum(m.num_arrays for m, _, _ in parts),
                         num_vector_units=sum(m.num_vector_units for m, _, _ in parts),
                         placement=first.placement, tilings=first.tilings)


def _idle(mapped: MappedNetwork) -> MappedNetwork:
    """`mapped`'s units with no tiles: an engine that got no image keeps its place in the unit list."""
    p = mapped.program
    empty = {k: getattr(p, k)[:0] for k in TileProgram._fields if k not in ("prefetch_depth",)}
    empty.update(dep_start=p.dep_start[:1] * 0, xfer_start=p.xfer_start[:1] * 0, unit_start=p.unit_start * 0)
    return dataclasses.replace(mapped, program=TileProgram(**empty, prefetch_depth=p.prefetch_depth),
                               layer_macs=mapped.layer_macs * 0)


def merge_programs(parts) -> TileProgram:
    """One TileProgram of independent parts (program, arrays, vector units, part clock, core clock):
    units renumbered (all arrays, then all vector units), regions and DRAM addresses offset apart,
    cycles converted to the core clock."""
    A = sum(a for _, a, _, _, _ in parts)
    cols = {k: [] for k in TileProgram._fields if k not in ("prefetch_depth", "unit_start", "unit_tiles")}
    unit_tiles: dict[int, np.ndarray] = {}
    t_off = r_off = x_off = d_off = addr_off = 0
    a_next, v_next = 0, A
    for p, a, v, hz, core in parts:
        U = a + v
        new_unit = np.concatenate((a_next + np.arange(a), v_next + np.arange(v))).astype(np.int32)
        scale = (lambda c: -(-np.asarray(c, np.int64) * core // hz)) if hz != core else (lambda c: c)
        cols["tile_unit"].append(new_unit[p.tile_unit])
        cols["tile_layer"].append(p.tile_layer)
        cols["tile_macs"].append(p.tile_macs)
        cols["tile_compute"].append(scale(p.tile_compute))
        cols["tile_setup"].append(scale(p.tile_setup))
        cols["tile_region"].append(p.tile_region + r_off)
        cols["dep_start"].append(p.dep_start[:-1] + d_off)
        cols["dep_lo"].append(p.dep_lo + r_off)
        cols["dep_hi"].append(p.dep_hi + r_off)
        cols["xfer_start"].append(p.xfer_start[:-1] + x_off)
        for k in ("xfer_kind", "xfer_dir", "xfer_mem", "xfer_bytes"):
            cols[k].append(getattr(p, k))
        dram = p.xfer_mem == RES_DRAM
        cols["xfer_addr"].append(np.where(dram, p.xfer_addr + addr_off, p.xfer_addr))
        cols["region_tiles"].append(p.region_tiles)
        for u in range(U):
            unit_tiles[int(new_unit[u])] = p.unit_tiles[p.unit_start[u]:p.unit_start[u + 1]] + t_off
        end = int((p.xfer_addr[dram] + p.xfer_bytes[dram]).max(initial=0))
        addr_off += -(-end // ADDRESS_ALIGN_BYTES) * ADDRESS_ALIGN_BYTES
        t_off += len(p.tile_unit)
        r_off += len(p.region_tiles)
        x_off += len(p.xfer_bytes)
        d_off += len(p.dep_lo)
        a_next += a
        v_next += v
    out = {k: np.concatenate(v) for k, v in cols.items()}
    out["dep_start"] = np.concatenate((out["dep_start"], [d_off])).astype(np.int64)
    out["xfer_start"] = np.concatenate((out["xfer_start"], [x_off])).astype(np.int64)
    n_units = v_next
    counts = [len(unit_tiles.get(u, ())) for u in range(n_units)]
    unit_start = np.zeros(n_units + 1, np.int64)
    np.cumsum(counts, out=unit_start[1:])
    order = np.concatenate([unit_tiles.get(u, np.zeros(0, np.int32)) for u in range(n_units)]).astype(np.int32)
    types = {f: getattr(parts[0][0], f).dtype for f in out}
    return TileProgram(**{k: v.astype(types[k]) for k, v in out.items()}, unit_start=unit_start, unit_tiles=order,
                       prefetch_depth=parts[0][0].prefetch_depth)
