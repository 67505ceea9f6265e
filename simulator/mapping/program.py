"""The tile program: (ArchSpec, Network) -> numpy columns the engine runs, one row per tile.

Each tile runs on one unit (a MAC array, or a vector unit numbered after the arrays), carries the
MACs it performs (fewer than the layer's direct count where it runs Winograd) and compute cycles, its transfers (weights, inputs, outputs: bytes, memory, address),
and the output *regions* it depends on. A region is a block of output rows of one image of one
layer, or, where a layer's tiles fold the batch (mapping/tiling.py), the whole outputs of the
tile's images; it is done when all tiles that write it are done, and a tile may issue its loads only when
every region it reads is done.

Units run their tiles in the order of the global sequence: layer by layer, except in a fused group
(mapping/fusion.py), whose tiles run band-major: a tile's band is the first band of the group that
needs its rows, or the latest band of a producer tile it reads; the group's tiles are ordered by
(image, band, layer, tile), so every producer tile precedes its consumers on every unit. In a group
a weight block is reloaded by each band (from the SRAM copy the group stages, the first load from
DRAM), and a layer's setup is charged once per unit (on its first tile), not once per band.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from simulator.engine.constants import KIND_INPUTS, KIND_OUTPUTS, KIND_WEIGHTS, LOAD, STORE  # noqa: F401 (re-exported)
from simulator.engine.records import TileProgram
from simulator.errors import MappingError
from simulator.mapping import fusion as fu
from simulator.mapping.placement import ALIAS_OPS, DRAM, SRAM, Placement, place_tensors
from simulator.mapping import winograd as wg
from simulator.mapping.dot_product import dot_product_cycles
from simulator.mapping.systolic import gemm_cycles
from simulator.mapping.tiling import (ConvTiling, TileContext, buffer_fields, choose_conv_tiling, conv_shape_key,
                                      conv_tiles)
from simulator.mapping.vector_tiling import vector_tiles

@dataclass(frozen=True)
class MappedNetwork:
    """The program plus what reports need to name things."""
    program: TileProgram
    layer_names: tuple[str, ...]
    layer_ops: tuple[str, ...]
    layer_macs: np.ndarray             # MACs performed: Winograd's count where a layer runs Winograd
    layer_winograd: tuple[int, ...]    # m of F(m x m, 3 x 3) per layer, 0 where it runs direct
    num_arrays: int
    num_vector_units: int
    placement: Placement
    tilings: dict[str, ConvTiling]
    fusion: fu.FusionPlan = fu.NO_FUSION


def tile_context(arch) -> TileContext:
    a = arch.compute.array
    mem = arch.memory
    hz = arch.effective_clock_hz
    w = arch.compute.winograd
    return TileContext(
        rows=a.rows, cols=a.cols, macs_per_pe=a.macs_per_pe, dataflow=a.dataflow, kind=a.kind,
        pipeline_latency=a.pipeline_latency_cycles, winograd_m=w.output_tile if w else 0,
        winograd_weight_bits=w.weight_bits if w else 0, winograd_latency=w.transform_latency_cycles if w else 0,
        arrays=arch.compute.arrays,
        operand_bytes=a.operand_bytes, acc_bytes=-(-a.accumulator_bits // 8),
        dram_bytes_per_cycle=arch.dram_peak_bytes_per_s / hz,
        sram_bytes_per_cycle=float(mem.sram.banks * mem.sram.bank_bytes_per_cycle),
        ic_bytes_per_cycle=float(mem.interconnect.width_bytes_per_cycle), **buffer_fields(a))


class _Builder:
    """Accumulates per-layer column blocks, then concatenates them once."""

    def __init__(self):
        self.tiles: dict[str, list[np.ndarray]] = {k: [] for k in ("unit", "layer", "macs", "compute", "region")}
        self.xfers: dict[str, list[np.ndarray]] = {k: [] for k in ("tile", "kind", "dir", "mem", "bytes", "addr")}
        self.deps: dict[str, list[np.ndarray]] = {k: [] for k in ("tile", "lo", "hi")}
        self.region_tiles: list[np.ndarray] = []
        self.n_tiles = 0
        self.n_regions = 0

    def add_tiles(self, unit, layer_id, macs, compute, region_local, n_regions):
        n = len(unit)
        base = self.n_tiles
        self.tiles["unit"].append(np.asarray(unit, np.int32))
        self.tiles["layer"].append(np.full(n, layer_id, np.int32))
        self.tiles["macs"].append(np.asarray(macs, np.int64))
        self.tiles["compute"].append(np.asarray(compute, np.int64))
        region = np.asarray(region_local, np.int64) + self.n_regions
        self.tiles["region"].append(region.astype(np.int32))
        self.region_tiles.append(np.bincount(np.asarray(region_local), minlength=n_regions).astype(np.int32))
        self.n_tiles += n
        region_base = self.n_regions
        self.n_regions += n_regions
        return base, region_base

    def add_xfers(self, tile_ids, kind, direction, mem, nbytes, addr):
        nbytes = np.asarray(nbytes, np.int64)
        keep = nbytes > 0
        n = int(keep.sum())
        if n == 0:
            return
        self.xfers["tile"].append(np.asarray(tile_ids, np.int64)[keep])
        self.xfers["kind"].append(np.full(n, kind, np.int8))
        self.xfers["dir"].append(np.full(n, direction, np.int8))
        self.xfers["mem"].append(np.broadcast_to(np.asarray(mem, np.int8), keep.shape)[keep])
        self.xfers["bytes"].append(nbytes[keep])
        self.xfers["addr"].append(np.broadcast_to(np.asarray(addr, np.int64), keep.shape)[keep])

    def add_deps(self, tile_ids, lo, hi):
        self.deps["tile"].append(np.asarray(tile_ids, np.int64))
        self.deps["lo"].append(np.asarray(lo, np.int32))
        self.deps["hi"].append(np.asarray(hi, np.int32))

    def finish(self, num_units: int, setup_cycles: int, prefetch_depth: int, seq=None) -> TileProgram:
        """`seq`: each tile's position in the global sequence (None: tile order)."""
        cat = lambda parts, dt: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt)
        unit = cat(self.tiles["unit"], np.int32)
        layer = cat(self.tiles["layer"], np.int32)
        T = len(unit)
        # per-unit queues: order of the global sequence (layer-major but for fused groups)
        order = (np.argsort(unit, kind="stable") if seq is None else np.lexsort((seq, unit))).astype(np.int32)
        unit_start = np.zeros(num_units + 1, np.int64)
        np.cumsum(np.bincount(unit, minlength=num_units), out=unit_start[1:])
        # setup cost on the first tile of each layer on each unit (a fused layer's bands: once)
        setup = np.zeros(T, np.int64)
        if setup_cycles and T:
            seq_key = unit[order].astype(np.int64) * (int(layer.max()) + 1) + layer[order]
            _, pos = np.unique(seq_key, return_index=True)
            setup[order[pos]] = setup_cycles
        xt = cat(self.xfers["tile"], np.int64)
        xk = cat(self.xfers["kind"], np.int8)
        xorder = np.lexsort((xk, xt))
        xfer_start = np.zeros(T + 1, np.int64)
        np.cumsum(np.bincount(xt, minlength=T), out=xfer_start[1:])
        dt = cat(self.deps["tile"], np.int64)
        dorder = np.argsort(dt, kind="stable")
        dep_start = np.zeros(T + 1, np.int64)
        np.cumsum(np.bincount(dt, minlength=T), out=dep_start[1:])
        return TileProgram(
            tile_unit=unit, tile_layer=layer, tile_macs=cat(self.tiles["macs"], np.int64),
            tile_compute=cat(self.tiles["compute"], np.int64), tile_setup=setup,
            tile_region=cat(self.tiles["region"], np.int32),
            dep_start=dep_start, dep_lo=cat(self.deps["lo"], np.int32)[dorder],
            dep_hi=cat(self.deps["hi"], np.int32)[dorder],
            xfer_start=xfer_start, xfer_kind=xk[xorder], xfer_dir=cat(self.xfers["dir"], np.int8)[xorder],
            xfer_mem=cat(self.xfers["mem"], np.int8)[xorder], xfer_bytes=cat(self.xfers["bytes"], np.int64)[xorder],
            xfer_addr=cat(self.xfers["addr"], np.int64)[xorder],
            region_tiles=cat(self.region_tiles, np.int32), unit_start=unit_start, unit_tiles=order,
            prefetch_depth=int(prefetch_depth))


def build_program(arch, net, ideal_memory: bool = False, source: str = "", fuse: str | None = None) -> MappedNetwork:
    """Lower a network onto a chip: placement, tiling, transfers and dependencies.

    `fuse`: 'none' or 'auto' (mapping/fusion.py); None: the arch's compute.fusion. Ideal memory
    never fuses.
    """
    if arch.memory.sram.sharing != "shared":
        raise MappingError(source, "memory.sram.sharing",
                           "'per_array' SRAM is accepted by the spec but not modelled by the engine yet; use 'shared'")
    if arch.compute.unit_groups:        # engines of other kinds run some images (mapping/unit_groups.py)
        from simulator.mapping.unit_groups import build_grouped_program
        return build_grouped_program(arch, net, ideal_memory, source)
    if arch.compute.kind == "gpu":      # one kernel per layer, thread blocks in waves (mapping/gpu.py)
        from simulator.mapping.gpu import build_gpu_program
        return build_gpu_program(arch, net, ideal_memory, source)
    fuse = arch.compute.fusion if fuse is None else fuse
    if fuse not in fu.FUSION_MODES:
        raise MappingError(source, "compute.fusion", f"unknown fusion mode {fuse!r}; one of {', '.join(fu.FUSION_MODES)}")
    ctx = tile_context(arch)
    A, V = arch.compute.arrays, arch.compute.vector.units
    lanes = arch.compute.vector.lanes
    ob = ctx.operand_bytes
    sram, pin = arch.memory.sram.size_bytes, arch.memory.sram.pin_weights
    placement = place_tensors(net, sram, ob, pin, source)
    tiling_memo: dict[tuple, ConvTiling] = {}
    plan = fu.NO_FUSION
    if fuse == "auto" and not ideal_memory:
        costs = _layer_costs(net, placement, ctx, A, V, lanes, tiling_memo)
        banded = _banded_cost(net, placement, ctx, A, V, lanes, tiling_memo)
        plan = fu.plan_fusion(net, placement, costs, banded, ctx, placement.sram_activation_capacity_bytes, pin)
        if plan.groups:
            placement = place_tensors(net, sram, ob, pin, source, fusion=plan)
    b = _Builder()
    # region layout of each tensor: (first region id, blocks per image, rows per block, rows,
    # images per region); absent = no deps
    regions: dict[int, tuple[int, int, int, int, int]] = {}
    tilings: dict[str, ConvTiling] = {}
    names, ops, macs_per_layer, wino = [], [], [], []
    seq_parts: list[np.ndarray] = []          # global sequence position of each tile
    fused = _GroupOrder()
    stage_peak = 0                            # SRAM occupancy at a step with an input stage in use
    for layer_id, layer in enumerate(net.layers):
        names.append(layer.name)
        ops.append(layer.op)
        macs_per_layer.append(layer.macs)
        wino.append(0)
        if layer.op in ALIAS_OPS:
            continue
        out_t = placement.tensor_of[layer.name]
        in_ts = [placement.tensor_of[i] for i in layer.inputs]
        out_mem = int(placement.memory[out_t])
        if ideal_memory:
            wino[-1] = _ideal_layer(b, layer, layer_id, ctx, A, V, lanes, regions, out_t, in_ts)
            if wino[-1]:
                macs_per_layer[-1] = wg.layer_macs(layer, wino[-1])
            continue
        gi = plan.group_of.get(layer.name, -1)
        group = plan.groups[gi] if gi >= 0 else None
        if group is not None and group.layers[0] == layer.name:
            fused.start(b.n_tiles)
        max_rows = group.band_rows[layer.name] if group is not None else None
        in_addr = [_addr_fn(placement, t) for t in in_ts]
        out_addr = _addr_fn(placement, out_t)
        dep_ranges = []
        if layer.is_mac_op:
            # batch_matmul's stationary operand is its second input tensor, not weights
            w_mem = placement.memory[in_ts[1]] if layer.stationary_per_image else placement.weights_memory
            w_addr = (placement.address[in_ts[1]] if layer.stationary_per_image
                      else placement.weights_address[layer.name])
            staged = placement.weights_staged.get(layer.name, -1) if not layer.stationary_per_image else -1
            flags = (placement.memory[in_ts[0]] == DRAM, w_mem == DRAM, out_mem == DRAM)
            in_stage_addr, in_stage = (placement.inputs_staged or {}).get(layer.name, (0, 0))
            key = (conv_shape_key(layer), *flags, staged >= 0, max_rows, in_stage)   # YOLOv3 repeats its shapes
            t = tiling_memo.get(key)
            if t is None:
                t = tiling_memo[key] = choose_conv_tiling(layer, ctx, *flags, w_staged=staged >= 0, max_rows=max_rows,
                                                          in_stage=in_stage)
            tilings[layer.name] = t
            cols = conv_tiles(layer, t, ctx)
            wino[-1] = t.winograd
            macs_per_layer[-1] = int(cols["macs"].sum())
            rows = layer.p if layer.tiles_rows else 1
            n_blocks = -(-rows // t.ph)
            region_local = (cols["img"] // t.nb) * n_blocks + cols["out_row_lo"] // t.ph
            base, rbase = b.add_tiles(cols["unit"], layer_id, cols["macs"], cols["compute_cycles"],
                                      region_local, -(-layer.n // t.nb) * n_blocks)
            ids = base + np.arange(len(cols["unit"]), dtype=np.int64)
            full = not layer.tiles_rows
            dep_ranges.append((in_ts[0], _add_region_deps(b, ids, regions.get(in_ts[0]), cols["img"], cols["in_row_lo"],
                                                          cols["in_row_hi"], full, layer.in_shapes[0][1], cols["img_last"])))
            if layer.stationary_per_image:
                _add_region_deps(b, ids, regions.get(in_ts[1]), cols["img"], cols["in_row_lo"], cols["in_row_hi"], True,
                                 img_last=cols["img_last"])
            w_first, w_bytes, i_first = cols["w_first"], cols["w_bytes"], cols["i_first"]
            if group is not None:
                ckey = fused.stage(group, layer.name, cols["img"], cols["out_row_lo"], dep_ranges)
                # bands interleave the layers: a weight block is reloaded by each band (from the staged copy)
                local = np.lexsort((np.arange(len(ids)), ckey))
                w_first = _first_in(cols["w_block"], local)
                i_first = _first_in(cols["i_block"], local)
                if t.order in ("weights_resident", "partials_resident"):
                    reuse = (ckey * (int(cols["w_block"].max()) + 1) + cols["w_block"]) * A + cols["unit"]
                    w_bytes = np.where(_first_in(reuse, local), cols["w_bytes_each"], 0)
            if staged >= 0 and w_mem == DRAM:
                # staged: each weight block's first load reads the DRAM, every later one the SRAM copy
                w_mem = np.where(w_first, DRAM, SRAM).astype(np.int8)
                w_addr = np.where(w_first, w_addr, staged)
            b.add_xfers(ids, KIND_WEIGHTS, LOAD, w_mem, w_bytes, w_addr + cols["w_offset"])
            in_mem, in_at = placement.memory[in_ts[0]], in_addr[0](cols["in_offset"])
            if t.in_stage_bytes and in_mem == DRAM:
                # a staged input: each block's first load reads the DRAM, every later one the SRAM stage
                in_mem = np.where(i_first, DRAM, SRAM).astype(np.int8)
                in_at = np.where(i_first, in_at, in_stage_addr + cols["in_offset"] % t.in_stage_bytes)
                stage_peak = max(stage_peak, int(placement.step_occupancy[placement.step_of[layer.name]])
                                 + t.in_stage_bytes)
            b.add_xfers(ids, KIND_INPUTS, LOAD, in_mem, cols["in_bytes"], in_at)
            b.add_xfers(ids, KIND_OUTPUTS, STORE, out_mem, cols["out_bytes"], out_addr(cols["out_offset"]))
            regions[out_t] = (rbase, n_blocks, t.ph, rows, t.nb)
        else:
            cols = vector_tiles(layer, ob, ctx.inputs_slot_bytes, lanes)
            n = len(cols["img"])
            unit = A + (np.arange(n) % V)
            ph, nb = cols["rows_per_region"], cols["blocks_per_img"]
            region_local = cols["img"] * nb + cols["out_row_lo"] // ph
            base, rbase = b.add_tiles(unit, layer_id, np.zeros(n, np.int64), cols["compute_cycles"],
                                      region_local, layer.batch * nb)
            ids = base + np.arange(n, dtype=np.int64)
            for t_in, inp, addr in zip(in_ts, cols["inputs"], in_addr):
                b.add_xfers(ids, KIND_INPUTS, LOAD, placement.memory[t_in], inp["bytes"], addr(inp["offset"]))
                dep_ranges.append((t_in, _add_region_deps(b, ids, regions.get(t_in), cols["img"], inp["row_lo"],
                                                          inp["row_hi"], inp["full"], inp["rows_seen"])))
            b.add_xfers(ids, KIND_OUTPUTS, STORE, out_mem, cols["out_bytes"], out_addr(cols["out_offset"]))
            regions[out_t] = (rbase, nb, ph, layer.out_shape[1], 1)
            if group is not None:
                fused.stage(group, layer.name, cols["img"], cols["out_row_lo"], dep_ranges)
        if group is not None:
            fused.add(out_t, in_ts, ids, region_local, rbase)
            if group.layers[-1] == layer.name:
                seq_parts.append(fused.finish(b, placement))
        else:
            seq_parts.append(ids)
    if stage_peak:                            # the input stages in use count in the SRAM peak (pinned weights too)
        pinned = net_weight_bytes(net, ob) if placement.weights_memory == SRAM else 0
        placement = dataclasses.replace(placement, sram_peak_bytes=max(placement.sram_peak_bytes, stage_peak + pinned))
    seq = np.concatenate(seq_parts) if seq_parts and plan.groups else None
    program = b.finish(A + V, arch.overheads.layer_setup_cycles, arch.compute.array.prefetch_depth, seq=seq)
    return MappedNetwork(program=program, layer_names=tuple(names), layer_ops=tuple(ops),
                         layer_macs=np.array(macs_per_layer, np.int64), layer_winograd=tuple(wino),
                         num_arrays=A, num_vector_units=V,
                         placement=placement, tilings=tilings, fusion=plan)


def net_weight_bytes(net, ob: int) -> int:
    """The network's weight bytes (pinned weights count in the SRAM peak)."""
    return sum(layer.weight_elems * ob for layer in net.layers if layer.is_mac_op)


def _addr_fn(placement: Placement, t: int):
    """Byte offset into tensor t -> address; a fused intermediate's rows wrap around its ring."""
    base = int(placement.address[t])
    if placement.fused is not None and placement.fused[t]:
        ring = max(int(placement.size_bytes[t]), 1)
        return lambda off: base + np.asarray(off, np.int64) % ring
    return lambda off: base + np.asarray(off, np.int64)


def _first_in(key: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Bool per tile: the first tile of its key when the tiles run in `order`."""
    first = np.zeros(len(key), bool)
    _, pos = np.unique(np.asarray(key)[order], return_index=True)
    first[order[pos]] = True
    return first


class _GroupOrder:
    """The band-major order of one fused group's tiles (module docstring)."""

    def start(self, first_tile: int) -> None:
        self.first = first_tile
        self.ids, self.keys, self.pos, self.tensors = [], [], [], []
        self.region_key: dict[int, tuple[int, np.ndarray]] = {}   # tensor -> (first region, key per region)
        self.current = None

    def stage(self, group, name, img, out_row_lo, dep_ranges) -> np.ndarray:
        """Key (image, band) of each tile of layer `name`: its own band, or a later one a producer forces."""
        bands = group.bands
        key = np.asarray(img, np.int64) * bands + fu.tile_stages(group.need[name], out_row_lo)
        for t_in, rng in dep_ranges:
            if t_in in self.region_key and rng is not None:
                rbase, rkey = self.region_key[t_in]
                running = np.maximum.accumulate(rkey)
                key = np.maximum(key, running[np.asarray(rng[1], np.int64) - rbase])
        self.current = key
        return key

    def add(self, out_t: int, in_ts, ids: np.ndarray, region_local: np.ndarray, rbase: int) -> None:
        key = self.current
        rkey = np.zeros(int(np.max(region_local)) + 1 if len(region_local) else 0, np.int64)
        np.maximum.at(rkey, np.asarray(region_local, np.int64), key)
        self.region_key[out_t] = (rbase, rkey)
        self.ids.append(ids)
        self.keys.append(key)
        self.pos.append(np.full(len(ids), len(self.pos), np.int64))
        self.tensors.append((out_t, tuple(in_ts)))

    def finish(self, b: _Builder, placement: Placement) -> np.ndarray:
        """Ring backpressure deps, then the group's tile ids renumbered in sequence positions.

        A producer tile of band k of an intermediate waits until its consumers' tiles of band
        k - RING_LAG_BANDS are done (their regions), so it runs at most that many bands ahead and the
        ring (fusion.py) holds what is live; those consumers precede it in the sequence, so no deadlock.
        """
        for i, (out_t, _) in enumerate(self.tensors):
            if placement.fused is None or not placement.fused[out_t]:
                continue
            target = self.keys[i] - fu.RING_LAG_BANDS
            for j in range(i + 1, len(self.tensors)):
                if out_t not in self.tensors[j][1]:
                    continue
                rbase, rkey = self.region_key[self.tensors[j][0]]
                last = np.searchsorted(rkey, target, side="right") - 1          # last region of band <= target
                has = last >= 0
                first = np.searchsorted(rkey, rkey[np.maximum(last, 0)], side="left")
                if has.any():
                    b.add_deps(self.ids[i][has], rbase + first[has], rbase + last[has])
        ids = np.concatenate(self.ids)
        order = np.lexsort((ids, np.concatenate(self.pos), np.concatenate(self.keys)))
        seq = np.empty(len(ids), np.int64)
        seq[order] = self.first + np.arange(len(ids), dtype=np.int64)
        return seq


def _banded_cost(net, placement, ctx, A, V, lanes, memo):
    """fusion.plan_fusion's `banded(name, max_rows)`: a layer's compute in a fused group, tiled to its
    band, plus one tile's time per band (its inputs and outputs in SRAM, its weights staged)."""
    layers = {layer.name: layer for layer in net.layers}
    ob = ctx.operand_bytes
    cache: dict[tuple, float] = {}
    vec: dict[str, tuple[float, int]] = {}      # vector layer -> (its compute, its tallest tile's)

    def banded(name: str, max_rows: int) -> float:
        layer = layers[name]
        if (name, max_rows) in cache:
            return cache[name, max_rows]
        if layer.is_mac_op:
            w_dram = placement.weights_memory == DRAM
            key = (conv_shape_key(layer), False, w_dram, False, True, max_rows)
            t = memo.get(key)
            if t is None:
                t = memo[key] = choose_conv_tiling(layer, ctx, False, w_dram, False, w_staged=True, max_rows=max_rows)
            per_unit = -(-t.n_tiles // A)
            cost = t.est_compute_cycles * (1 + -(-layer.p // max_rows) / per_unit)
        else:                           # a vector layer's tiles do not depend on max_rows
            if name not in vec:
                cc = vector_tiles(layer, ob, ctx.inputs_slot_bytes, lanes)["compute_cycles"]
                vec[name] = (float(cc.sum()) / V, int(cc.max()))
            total, per_tile = vec[name]
            cost = total + -(-layer.out_shape[1] // max_rows) * per_tile
        cache[name, max_rows] = cost
        return cost
    return banded


def _layer_costs(net, placement, ctx, A, V, lanes, memo) -> dict[str, fu.LayerCost]:
    """Each tiling layer's compute estimate (whole chip) and weight bytes, unfused (fusion.plan_fusion)."""
    costs = {}
    ob = ctx.operand_bytes
    for layer in net.layers:
        if layer.op in ALIAS_OPS:
            continue
        if layer.is_mac_op:
            in_ts = [placement.tensor_of[i] for i in layer.inputs]
            w_mem = placement.memory[in_ts[1]] if layer.stationary_per_image else placement.weights_memory
            staged = layer.name in placement.weights_staged
            flags = (placement.memory[in_ts[0]] == DRAM, w_mem == DRAM,
                     placement.memory[placement.tensor_of[layer.name]] == DRAM)
            key = (conv_shape_key(layer), *flags, staged, 0)
            t = memo.get(key)
            if t is None:
                t = memo[key] = choose_conv_tiling(layer, ctx, *flags, w_staged=staged)
            costs[layer.name] = fu.LayerCost(float(t.est_compute_cycles),
                                             0 if layer.stationary_per_image else layer.weight_elems * ob)
        else:
            work = max(layer.vector_elems, layer.output_elems)
            rows = int(vector_tiles(layer, ob, ctx.inputs_slot_bytes, lanes)["rows_per_region"])
            costs[layer.name] = fu.LayerCost(-(-work // lanes) / V, 0, rows)
    return costs


def _add_region_deps(b: _Builder, ids, region, img, row_lo, row_hi, full: bool, rows_seen: int = -1,
                     img_last=None):
    """Tiles `ids` wait for the producer regions holding input rows [row_lo, row_hi) of images img..img_last.

    `rows_seen` is the consumer's view of the input's height; when a reshape between them changed
    it (an imported model), rows do not correspond and the tiles wait for the whole tensor. A tile
    spanning several images (a batch fold) reads them whole, so its regions are one contiguous run.
    Returns the (lo, hi) region ranges added (None when there are none).
    """
    if region is None:                  # the graph input: in DRAM before the run starts
        return None
    base, blocks, rows, rows_total, per_region = region
    img = np.asarray(img, np.int64)
    last = img if img_last is None else np.asarray(img_last, np.int64)
    if rows_seen >= 0 and rows_seen != rows_total:
        full = True
    if full:
        lo = np.full(len(ids), base)
        hi = lo + blocks * (last.max() // per_region + 1 if len(last) else 1) - 1
    else:
        lo = base + (img // per_region) * blocks + np.asarray(row_lo, np.int64) // rows
        hi = base + (last // per_region) * blocks + np.maximum(np.asarray(row_hi, np.int64) - 1, 0) // rows
    b.add_deps(ids, lo, hi)
    return lo, hi


def _ideal_layer(b: _Builder, layer, layer_id, ctx: TileContext, A, V, lanes, regions, out_t, in_ts) -> int:
    """SCALE-Sim-compatible lowering: memory free, folds back to back, a layer per region.

    Returns m if the layer ran Winograd F(m x m, 3 x 3) (where that takes fewer cycles), else 0.
    """
    m = 0
    if layer.is_mac_op:
        folds, per_fold, fixed, m = _ideal_work(layer, ctx, A)
        share = np.array([folds // A + (1 if a < folds % A else 0) for a in range(A)], np.int64)
        unit = np.nonzero(share)[0]
        compute = share[unit] * per_fold + fixed
        total_macs = wg.layer_macs(layer, m) if m else layer.macs
        macs = total_macs * share[unit] // folds
        macs[0] += total_macs - macs.sum()
    else:
        work = max(layer.vector_elems, layer.output_elems)
        unit = np.array([A + (layer_id % V)])
        compute = np.array([-(-work // lanes)], np.int64)
        macs = np.zeros(1, np.int64)
    base, rbase = b.add_tiles(unit, layer_id, macs, compute, np.zeros(len(unit), np.int64), 1)
    ids = base + np.arange(len(unit), dtype=np.int64)
    for t_in in in_ts:
        if t_in in regions:
            r = regions[t_in][0]
            b.add_deps(ids, np.full(len(ids), r), np.full(len(ids), r))
    regions[out_t] = (rbase, 1, 1 << 40, -1, 1)
    return m


def _ideal_work(layer, ctx: TileContext, A: int) -> tuple[int, int, int, int]:
    """(work units, cycles per unit, fixed cycles per array, Winograd m) of a MAC layer, memory free.

    Systolic: the units are folds, run back to back with every preload exposed (SCALE-Sim's
    regime); dot-product: the units are passes (a block of input channels for a block of output
    channels), the pipeline latency paid once per array. A Winograd layer has (m+2)^2 times the
    folds or passes of its channels x filters GEMM, each streaming the tiles; it is chosen when
    its busiest array finishes first.
    """
    g = layer.groups
    conv = layer.tiles_rows             # a conv (or imported per-token GEMM) streams rows of pixels
    kg, C, N = layer.k // g, layer.c, layer.n
    out_rows, pixels = N * (layer.p if conv else 1), N * (layer.p * layer.q if conv else 1)
    options = []
    for m in [0] + ([ctx.winograd_m] if ctx.winograd_m and wg.eligible(layer) else []):
        steps = N * int(wg.tiles(layer.p, layer.q, m)) if m else pixels
        if ctx.kind == "dot_product":
            per = steps * (wg.positions(m) if m else layer.r * layer.s)
            units = g * int(dot_product_cycles(ctx.rows, ctx.cols, C, kg, 1, 0))
            fixed = ctx.pipeline_latency + (ctx.winograd_latency if m else 0)
        else:
            one = gemm_cycles(ctx.dataflow, ctx.rows, ctx.cols, C * (1 if m else layer.r * layer.s), kg, steps,
                              ctx.macs_per_pe, overlap_preload=False, kernel=(layer.r, layer.s), out_rows=out_rows)
            units = one.folds * g * (wg.positions(m) if m else 1)
            per, fixed = one.cycles // one.folds, (ctx.winograd_latency if m else 0)
        options.append(((-(-units // A)) * per + fixed, (units, per, fixed, m)))
    return min(options)[1]
