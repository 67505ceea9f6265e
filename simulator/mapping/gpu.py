"""The GPU execution model: each layer one kernel of thread blocks in waves over the SMs.

For a chip with `compute.kind: gpu` (archs/tesla_t4.yaml), `build_gpu_program` lowers a network
the way a GPU inference runtime runs it, instead of the array model's overlapping row blocks:

- **Implicit GEMM.** A convolution is a GEMM of output pixels (batch x P x Q, one per image for
  batch_matmul) x output channels (per group), reducing over C x R x S. It is cut into thread-block
  tiles of m pixels x n channels; a block walks the whole reduction k at a time (`k` of the tile
  shape), each step one engine tile: its m x k input and n x k weight slices load into shared
  memory while earlier steps compute (`prefetch_depth` stages, as a multistage GEMM main loop),
  and the last step writes the m x n outputs. The mapper picks, per layer, the shape of
  `compute.gpu.block_tiles` and the raster order (pixel blocks or channel blocks fastest in launch
  order, as a library's block swizzle chooses) with the least estimated time (`choose_gpu_tiling`).
- **Occupancy and waves.** A block needs `prefetch_depth` x (m + n) x k operand bytes of shared
  memory (`buffers.weights` + `buffers.inputs` of the SM) and m x n accumulators in registers
  (`buffers.outputs`), so an SM holds `occupancy` = min(max_blocks_per_sm, what fits) blocks. Each
  SM is modelled as that many *slots* (engine units), the blocks resident on one SM sharing its
  tensor cores evenly: a k-step takes m x n x k x occupancy / (SM MACs x tensor_core_efficiency)
  cycles. Blocks go to slots round robin in launch order (block b to SM b mod SMs), so a kernel
  runs in waves = ceil(blocks / (SMs x occupancy)), and the last wave may be partly empty: its
  blocks run at their share of the SM, as in NVIDIA's wave-quantization account, while the empty
  slots idle.
- **One kernel at a time.** Every tile of a kernel depends on the whole previous kernel (one
  region per layer): layers never overlap, and independent branches run one after the other as
  on one stream. Each kernel pays `kernel_launch_cycles` on every slot it uses (the engine's
  per-layer setup), after its barrier.
- **L2 as a cache.** Every tensor and weight lives in DRAM; whether a block's operands hit in the
  L2 is decided by an LRU over what earlier waves touched (mapping/gpu_l2.py). A block's misses
  are its DRAM bytes, spread over its k-steps in proportion; the rest of its operand bytes come
  from the L2. Outputs are written to the L2 and reach the DRAM when evicted (write-back), the
  network's outputs directly.
- **CUDA-core kernels.** Pooling, adds, concat, upsample and other non-MAC layers run as
  element-wise kernels over the SMs' CUDA cores (the vector units, `vector.lanes` a cycle per
  SM), cut into the row blocks of mapping/vector_tiling.py. A grouped convolution whose group
  GEMM is too narrow for the tensor cores (a depthwise conv) runs on the CUDA cores at one MAC per
  lane per cycle when that is estimated faster than padded tensor-core tiles.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from simulator.engine.constants import KIND_INPUTS, KIND_OUTPUTS, KIND_WEIGHTS, LOAD, STORE
from simulator.errors import MappingError
from simulator.mapping.gpu_l2 import SEGMENT_BYTES, L2Cache, segments_of
from simulator.mapping.placement import ALIAS_OPS, DRAM, SRAM, place_tensors
from simulator.mapping.program import MappedNetwork, _Builder
from simulator.mapping.vector_tiling import vector_tiles


@dataclass(frozen=True)
class GpuContext:
    """The figures of the GPU model, from the arch spec."""
    sms: int
    sm_macs: int                  # tensor-core MACs per SM per cycle
    efficiency: float             # compute.gpu.tensor_core_efficiency
    stages: int                   # compute.array.prefetch_depth: shared-memory stages of a block
    smem_bytes: int               # buffers.weights + buffers.inputs
    acc_buffer_bytes: int         # buffers.outputs
    acc_bytes: int
    operand_bytes: int
    lanes: int                    # CUDA-core lanes per SM
    vector_units: int
    block_tiles: tuple[tuple[int, int, int], ...]
    max_blocks_per_sm: int
    launch_cycles: int
    vector_slot_bytes: int        # a CUDA-core tile's working set (the inputs buffer / prefetch depth)
    ic_bytes_per_cycle: float
    dram_bytes_per_cycle: float
    l2_bytes: int

    @property
    def slots_per_sm(self) -> int:
        """The most blocks of any listed shape an SM holds: the engine's units per SM."""
        return max(1, max(occupancy(self, m, n, k) for m, n, k in self.block_tiles))


def gpu_context(arch) -> GpuContext:
    a, g = arch.compute.array, arch.compute.gpu
    return GpuContext(
        sms=arch.compute.arrays, sm_macs=a.macs, efficiency=g.tensor_core_efficiency, stages=a.prefetch_depth,
        smem_bytes=a.buffers.weights.size_bytes + a.buffers.inputs.size_bytes,
        acc_buffer_bytes=a.buffers.outputs.size_bytes, acc_bytes=-(-a.accumulator_bits // 8),
        operand_bytes=a.operand_bytes, lanes=arch.compute.vector.lanes, vector_units=arch.compute.vector.units,
        block_tiles=tuple(tuple(t) for t in g.block_tiles), max_blocks_per_sm=g.max_blocks_per_sm,
        launch_cycles=g.kernel_launch_cycles + arch.overheads.layer_setup_cycles,
        vector_slot_bytes=a.buffers.inputs.size_bytes // a.prefetch_depth,
        ic_bytes_per_cycle=float(arch.memory.interconnect.width_bytes_per_cycle),
        dram_bytes_per_cycle=arch.dram_peak_bytes_per_s / arch.effective_clock_hz,
        l2_bytes=arch.memory.sram.size_bytes)


def occupancy(ctx: GpuContext, m: int, n: int, k: int) -> int:
    """Blocks of an m x n x k tile one SM holds: the hardware limit, shared memory, accumulators."""
    smem = ctx.stages * (m + n) * k * ctx.operand_bytes
    regs = m * n * ctx.acc_bytes
    return min(ctx.max_blocks_per_sm, ctx.smem_bytes // smem, ctx.acc_buffer_bytes // regs)


def waves(blocks: int, sms: int, blocks_per_sm: int) -> int:
    """Waves of a grid: ceil(blocks / (SMs x blocks per SM))."""
    return -(-blocks // (sms * blocks_per_sm))


def step_cycles(ctx: GpuContext, m: int, n: int, k: int, blocks_per_sm: int) -> int:
    """Cycles of one k-step of a block while `blocks_per_sm` blocks share the SM's tensor cores."""
    return int(np.ceil(m * n * k * blocks_per_sm / (ctx.sm_macs * ctx.efficiency) - 1e-9))


@dataclass(frozen=True)
class GpuTiling:
    """The kernel chosen for a MAC layer: a block shape on the tensor cores, or the CUDA cores."""
    m: int
    n: int
    k: int
    blocks_per_sm: int
    blocks: int
    waves: int
    k_steps: int
    est_cycles: float
    cuda_cores: bool = False
    raster: str = "pixels"        # which block index runs fastest in launch order: 'pixels' or 'channels'
    runner_up: "GpuTiling | None" = None   # the second-best candidate (--explain, the JSON's mappings)


def _gemm(layer):
    """(groups, pixels per GEMM, images per GEMM run separately, channels per group, reduction)."""
    pq = layer.p * layer.q if layer.tiles_rows else 1
    if layer.stationary_per_image:
        return layer.groups, pq, layer.n, layer.k // layer.groups, layer.c * layer.r * layer.s
    return layer.groups, layer.n * pq, 1, layer.k // layer.groups, layer.c * layer.r * layer.s


def choose_gpu_tiling(layer, ctx: GpuContext, source: str = "") -> GpuTiling:
    """The block shape and raster order with the least estimated time: the longest of waves x block
    time, the interconnect's time for the operand bytes the blocks read, and the DRAM's time for the
    bytes the order re-reads (ties: fewer blocks, then pixels fastest).

    Raster order: with pixel blocks fastest, a wave spans pixel blocks of one channel block, so the
    input is streamed once per channel block unless it fits the L2; with channel blocks fastest, a
    wave spans every channel block of a band of pixels, so the input is read once and the weights
    once per wave unless they fit the L2 (as a library's swizzled block order does)."""
    G, M, images, N, K = _gemm(layer)
    ob = ctx.operand_bytes
    in_bytes = layer.input_elems * ob
    w_bytes = layer.stationary_elems * ob * (layer.n if layer.stationary_per_image else 1)
    out_bytes = layer.output_elems * ob
    cands = []
    for m, n, k in ctx.block_tiles:
        o = occupancy(ctx, m, n, k)
        if o <= 0:
            continue
        n_m, n_n, n_k = -(-M // m), -(-N // n), -(-K // k)
        blocks = G * images * n_m * n_n
        w = waves(blocks, ctx.sms, o)
        compute = w * n_k * step_cycles(ctx, m, n, k, o)
        moved = G * images * (n_m * n_n * (m + n) * K * ob)
        for r, raster in enumerate(("pixels", "channels")):
            if raster == "pixels":
                dram = w_bytes + in_bytes * (1 if in_bytes <= ctx.l2_bytes else n_n) + out_bytes
            else:
                dram = in_bytes + w_bytes * (1 if w_bytes <= ctx.l2_bytes else w) + out_bytes
            est = max(compute, moved / ctx.ic_bytes_per_cycle, dram / ctx.dram_bytes_per_cycle)
            cands.append(((est, blocks, r), GpuTiling(m, n, k, o, blocks, w, n_k, float(est), raster=raster)))
    cands.sort(key=lambda c: c[0])
    best = cands[0][1] if cands else None
    if best is not None and len(cands) > 1:
        best = replace(best, runner_up=cands[1][1])
    if best is None:
        raise MappingError(source, "compute.gpu.block_tiles",
                           f"no block tile of layer '{layer.name}' fits an SM ({ctx.smem_bytes} B of shared memory "
                           f"for {ctx.stages} stages, {ctx.acc_buffer_bytes} B of accumulators); list a smaller "
                           f"shape or enlarge compute.array.buffers")
    if G > 1 and layer.tiles_rows:
        cc = -(-layer.macs // (ctx.vector_units * ctx.lanes))
        if cc < best.est_cycles:
            return GpuTiling(0, 0, 0, 1, 0, 0, 1, float(cc), cuda_cores=True,
                             runner_up=replace(best, runner_up=None))
    return best


def build_gpu_program(arch, net, ideal_memory: bool = False, source: str = "") -> MappedNetwork:
    """Lower a network onto a GPU: one kernel per layer (module docstring)."""
    ctx = gpu_context(arch)
    ob = ctx.operand_bytes
    slots = ctx.slots_per_sm
    A = ctx.sms * slots
    V = ctx.vector_units
    # every tensor in DRAM: the L2 is a cache, not a placement
    placement = place_tensors(net, 0, ob, False, source)
    n_t = len(placement.names)
    last_reader = np.full(n_t, -1, np.int64)
    is_output = np.ones(n_t, bool)
    for step, layer in enumerate(net.layers):
        for i in layer.inputs:
            t = placement.tensor_of[i]
            last_reader[t] = step
            if layer.op not in ALIAS_OPS:
                is_output[t] = False
    is_output[0] = False
    ends = [int(placement.address[t] + placement.size_bytes[t]) for t in range(n_t)]
    ends += [a + _weight_bytes(net.layer(n), ob) for n, a in placement.weights_address.items()]
    space = max(ends + [1])
    seg_tensor = np.full(space // SEGMENT_BYTES + 1, -1, np.int32)
    for t in range(n_t):
        lo, hi = int(placement.address[t]), int(placement.address[t] + placement.size_bytes[t])
        if hi > lo:
            seg_tensor[lo // SEGMENT_BYTES:(hi - 1) // SEGMENT_BYTES + 1] = t
    l2 = L2Cache(0 if ideal_memory else ctx.l2_bytes, space, seg_tensor)
    b = _Builder()
    names, ops, macs_per_layer = [], [], []
    tilings: dict[str, GpuTiling] = {}
    prev_region = -1
    for layer_id, layer in enumerate(net.layers):
        names.append(layer.name)
        ops.append(layer.op)
        macs_per_layer.append(layer.macs)
        if layer.op in ALIAS_OPS:
            continue
        out_t = placement.tensor_of[layer.name]
        in_ts = [placement.tensor_of[i] for i in layer.inputs]
        out_to_dram = bool(is_output[out_t])
        if layer.is_mac_op:
            t = tilings[layer.name] = choose_gpu_tiling(layer, ctx, source)
            kern = (_cuda_core_conv(layer, ctx, placement, in_ts, out_t) if t.cuda_cores
                    else _gemm_kernel(layer, t, ctx, placement, in_ts, out_t))
        else:
            kern = _vector_kernel(layer, ctx, placement, in_ts, out_t)
        prev_region = _emit(b, l2, layer_id, kern, out_to_dram, ideal_memory, prev_region, A)
        for t_in in set(in_ts):
            if last_reader[t_in] <= layer_id:
                l2.kill(t_in)
    program = b.finish(A + V, ctx.launch_cycles, ctx.stages)
    return MappedNetwork(program=program, layer_names=tuple(names), layer_ops=tuple(ops),
                         layer_macs=np.array(macs_per_layer, np.int64), layer_winograd=tuple(0 for _ in names),
                         num_arrays=A, num_vector_units=V, placement=placement, tilings=tilings)


def _weight_bytes(layer, ob: int) -> int:
    return layer.stationary_elems * ob if layer.is_mac_op and not layer.stationary_per_image else 0


@dataclass
class _Kernel:
    """A kernel's blocks (in launch order) and their k-steps (the engine's tiles)."""
    unit: np.ndarray              # per block
    slots: int                    # blocks resident at once on the whole chip (a wave)
    steps: np.ndarray             # k-steps (tiles) per block
    macs: np.ndarray              # per tile
    compute: np.ndarray           # per tile
    operands: list                # (kind, per-tile bytes, per-block footprint lo, hi) in DRAM addresses
    out_bytes: np.ndarray         # per block
    out_lo: np.ndarray            # per block footprint of the outputs
    out_hi: np.ndarray


def _gemm_kernel(layer, t: GpuTiling, ctx: GpuContext, pl, in_ts, out_t) -> _Kernel:
    G, M, images, N, K = _gemm(layer)
    ob = ctx.operand_bytes
    m, n, k = t.m, t.n, t.k
    n_m, n_n, n_k = -(-M // m), -(-N // n), -(-K // k)
    blk = np.arange(t.blocks, dtype=np.int64)
    if t.raster == "pixels":
        i = blk % n_m                               # pixel block: fastest in launch order
        j = (blk // n_m) % n_n                      # channel block
    else:
        j = blk % n_n                               # channel block fastest: a wave covers a band of pixels
        i = (blk // n_n) % n_m
    img = (blk // (n_m * n_n)) % images             # batch_matmul: its own GEMM per image
    grp = blk // (n_m * n_n * images)
    m0 = img * M + i * m                            # first output pixel over the flattened batch
    m_len = np.minimum(m, M - i * m)
    n0 = grp * N + j * n                            # first output channel
    n_len = np.minimum(n, N - j * n)
    # tiles: the k-steps of each block
    tb = np.repeat(blk, n_k)
    step = np.tile(np.arange(n_k, dtype=np.int64), t.blocks)
    k_len = np.minimum(k, K - step * k)
    macs = m_len[tb] * n_len[tb] * k_len
    compute = np.full(len(tb), step_cycles(ctx, m, n, k, t.blocks_per_sm), np.int64)
    # footprints in DRAM addresses
    in_addr = int(pl.address[in_ts[0]])
    cin, hin, win = layer.in_shapes[0]
    last = m0 + m_len - 1
    if layer.tiles_rows:
        pq = layer.p * layer.q
        n_first, n_last = m0 // pq, last // pq
        p_first, p_last = (m0 % pq) // layer.q, (last % pq) // layer.q
        top = layer.padding[0]
        r_lo = np.clip(p_first * layer.stride[0] - top, 0, hin)
        r_hi = np.clip(p_last * layer.stride[0] - top + (layer.r - 1) * layer.dilation[0] + 1, 0, hin)
        row = win * cin * ob
        a_lo = in_addr + (n_first * hin + r_lo) * row
        a_hi = np.maximum(in_addr + (n_last * hin + r_hi) * row, a_lo)
    else:
        per_img = cin * hin * win * ob
        a_lo = in_addr + m0 * per_img
        a_hi = in_addr + (last + 1) * per_img
    if layer.stationary_per_image:
        w_base = int(pl.address[in_ts[1]]) + img * layer.stationary_elems * ob
    else:
        w_base = pl.weights_address[layer.name]
    w_lo = w_base + n0 * K * ob
    w_hi = w_lo + n_len * K * ob
    out_addr = int(pl.address[out_t])
    out_lo = out_addr + m0 * layer.k * ob
    out_hi = out_lo + m_len * layer.k * ob
    unit = blk % (ctx.sms * t.blocks_per_sm)
    return _Kernel(unit=unit, slots=ctx.sms * t.blocks_per_sm, steps=np.full(t.blocks, n_k, np.int64),
                   macs=macs, compute=compute,
                   operands=[(KIND_INPUTS, m_len[tb] * k_len * ob, a_lo, a_hi),
                             (KIND_WEIGHTS, n_len[tb] * k_len * ob, w_lo, w_hi)],
                   out_bytes=m_len * n_len * ob, out_lo=out_lo, out_hi=out_hi)


def _vector_units(ctx: GpuContext, n: int) -> np.ndarray:
    return ctx.sms * ctx.slots_per_sm + np.arange(n, dtype=np.int64) % ctx.vector_units


def _vector_kernel(layer, ctx: GpuContext, pl, in_ts, out_t) -> _Kernel:
    ob = ctx.operand_bytes
    cols = vector_tiles(layer, ob, ctx.vector_slot_bytes, ctx.lanes)
    n = len(cols["img"])
    operands = []
    for t_in, inp in zip(in_ts, cols["inputs"]):
        lo = int(pl.address[t_in]) + inp["offset"]
        operands.append((KIND_INPUTS, np.asarray(inp["bytes"], np.int64), lo, lo + inp["bytes"]))
    out_lo = int(pl.address[out_t]) + cols["out_offset"]
    return _Kernel(unit=_vector_units(ctx, n), slots=ctx.vector_units, steps=np.ones(n, np.int64),
                   macs=np.zeros(n, np.int64), compute=np.asarray(cols["compute_cycles"], np.int64),
                   operands=operands, out_bytes=np.asarray(cols["out_bytes"], np.int64), out_lo=out_lo,
                   out_hi=out_lo + cols["out_bytes"])


def _cuda_core_conv(layer, ctx: GpuContext, pl, in_ts, out_t) -> _Kernel:
    """A grouped (depthwise) conv on the CUDA cores: row blocks of one image, one MAC per lane per cycle."""
    ob = ctx.operand_bytes
    cin, hin, win = layer.in_shapes[0]
    sh, dh, top = layer.stride[0], layer.dilation[0], layer.padding[0]
    P, Q, K = layer.p, layer.q, layer.k

    def rows_in(p0, p_len):
        lo = np.clip(p0 * sh - top, 0, hin)
        hi = np.clip((p0 + p_len - 1) * sh - top + (layer.r - 1) * dh + 1, 0, hin)
        return lo, np.maximum(hi, lo)

    ph = P
    while ph > 1:
        lo, hi = rows_in(np.array([0]), np.array([ph]))
        if (int(hi[0] - lo[0]) * win * cin + ph * Q * K) * ob <= ctx.vector_slot_bytes:
            break
        ph = -(-ph // 2)
    n_ph = -(-P // ph)
    img = np.repeat(np.arange(layer.n, dtype=np.int64), n_ph)
    p0 = np.tile(np.arange(n_ph, dtype=np.int64), layer.n) * ph
    p_len = np.minimum(ph, P - p0)
    lo, hi = rows_in(p0, p_len)
    macs = K * layer.c * layer.r * layer.s * p_len * Q
    in_lo = int(pl.address[in_ts[0]]) + (img * hin + lo) * win * cin * ob
    in_bytes = (hi - lo) * win * cin * ob
    w_lo = np.full(len(img), pl.weights_address[layer.name], np.int64)
    w_bytes = np.full(len(img), layer.stationary_elems * ob, np.int64)
    out_lo = int(pl.address[out_t]) + (img * P + p0) * Q * K * ob
    out_bytes = p_len * Q * K * ob
    return _Kernel(unit=_vector_units(ctx, len(img)), slots=ctx.vector_units, steps=np.ones(len(img), np.int64),
                   macs=macs, compute=-(-macs // ctx.lanes),
                   operands=[(KIND_INPUTS, in_bytes, in_lo, in_lo + in_bytes), (KIND_WEIGHTS, w_bytes, w_lo, w_lo + w_bytes)],
                   out_bytes=out_bytes, out_lo=out_lo, out_hi=out_lo + out_bytes)


def _emit(b: _Builder, l2: L2Cache, layer_id: int, kern: _Kernel, out_to_dram: bool, ideal: bool,
          prev_region: int, A: int) -> int:
    """Add a kernel's tiles, its L2-decided transfers and its barrier; returns its region."""
    nb = len(kern.unit)
    tb = np.repeat(np.arange(nb, dtype=np.int64), kern.steps)
    first_tile = np.concatenate(([0], np.cumsum(kern.steps)[:-1]))
    last_tile = first_tile + kern.steps - 1
    base, region = b.add_tiles(kern.unit[tb], layer_id, kern.macs, kern.compute, np.zeros(len(tb), np.int64), 1)
    ids = base + np.arange(len(tb), dtype=np.int64)
    if prev_region >= 0:
        b.add_deps(ids, np.full(len(ids), prev_region), np.full(len(ids), prev_region))
    if ideal:
        return region
    n_ops = len(kern.operands)
    totals = [np.bincount(tb, weights=op[1], minlength=nb).astype(np.int64) for op in kern.operands]
    missed = np.zeros((n_ops, nb), np.int64)
    written_back = np.zeros(nb, np.int64)
    for w0 in range(0, nb, kern.slots):
        w1 = min(nb, w0 + kern.slots)
        segs, owners = [], []
        for o, (_, _, lo, hi) in enumerate(kern.operands):
            s, own = segments_of(np.broadcast_to(lo, (nb,))[w0:w1], np.broadcast_to(hi, (nb,))[w0:w1])
            segs.append(s)
            owners.append(own * n_ops + o)
        ws, _ = segments_of(kern.out_lo[w0:w1], kern.out_hi[w0:w1])
        miss, wb = l2.wave(np.concatenate(segs), np.concatenate(owners), (w1 - w0) * n_ops,
                           np.empty(0, np.int64) if out_to_dram else ws)
        missed[:, w0:w1] = miss.reshape(w1 - w0, n_ops).T
        if wb:
            share = np.full(w1 - w0, wb * SEGMENT_BYTES // (w1 - w0), np.int64)
            share[: wb * SEGMENT_BYTES % (w1 - w0)] += 1
            written_back[w0:w1] += share
    for o, (kind, nbytes, lo, _) in enumerate(kern.operands):
        miss = np.minimum(missed[o] * SEGMENT_BYTES, totals[o])
        cum = np.cumsum(nbytes) - np.repeat(np.cumsum(nbytes)[first_tile] - nbytes[first_tile], kern.steps)
        before = cum - nbytes
        tot = np.maximum(totals[o][tb], 1)
        dram = miss[tb] * cum // tot - miss[tb] * before // tot
        addr = np.broadcast_to(lo, (nb,))[tb] + before
        b.add_xfers(ids, kind, LOAD, DRAM, dram, addr)
        b.add_xfers(ids, kind, LOAD, SRAM, nbytes - dram, addr)
    last_ids = base + last_tile
    b.add_xfers(last_ids, KIND_OUTPUTS, STORE, DRAM if out_to_dram else SRAM, kern.out_bytes, kern.out_lo)
    b.add_xfers(last_ids, KIND_OUTPUTS, STORE, DRAM, written_back, kern.out_lo)
    return region
