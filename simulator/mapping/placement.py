"""Tensor placement: which activations stay in on-chip SRAM and which spill to DRAM, with addresses.

Liveness follows the graph's topological order: a tensor is live from its producer's step to its
last consumer's step. Placement is *nested by priority*: tensors are ranked (smallest first, then
by topological order), and a tensor is kept in SRAM iff, at every step of its life, it and all
higher-ranked tensors live at that step fit in the SRAM. This is feasible by construction (at any
step the lowest-ranked placed tensor's check covers all placed tensors) and monotone: a larger
SRAM keeps a superset of tensors, so more SRAM never increases DRAM traffic.

The network input and graph outputs live in DRAM (the host writes and reads them there).
Weights stream from DRAM every inference unless the spec pins them in SRAM.

Staged weights: a MAC layer's weights are *staged* in SRAM for the duration of its step (each
weight block read from DRAM once, by the first tile that needs it; every later load of it, by
another pixel block or another array, reads the SRAM copy) iff they fit together with *all*
ranked activations live at that step, placed or not. Stages rank below every activation, so they
never displace one, and the rule reads nothing that depends on the SRAM size but the size itself:
a larger SRAM stages a superset of layers, and placement stays monotone.

Staged inputs: a MAC layer whose input tensor lives in DRAM gets an *input stage* at its step: SRAM
where the blocks of the input its tiles load (a pixel block's rows, halo included, all channels of
the tile's groups; or the whole input) are kept after the first load, so that every later load of
the same block (another channel block, another array) reads the SRAM copy. Its budget is what the
SRAM leaves at that step beside every ranked activation live there but the input itself, placed or
not, and at most the input's size: the stage takes (part of) the input's own place in the ranking,
which is free because the input is in DRAM (where a larger SRAM places the input, the layer reads
it on chip). It ranks above the layer's weight stage, which still fits: weights are staged only
where every ranked activation fits beside them, the input included, and by then the stage has
reached the input's size and stops growing. An input that is not ranked (the graph input) gets
what is left beside every ranked activation and the layer's weights, counted staged or not. The
budget is rounded down to a rung of the ladder ceil(input bytes / 2^j) (`stage_bytes`). It depends
on nothing but the SRAM size and grows with it, and the ladder lets the tiling keep its choice
monotone (mapping/tiling.py: each rung is one more operand home, capped by the rung below). The
tiling uses the stage only where its loop order re-loads input blocks and the blocks in use fit
it (`ConvTiling.in_stage_bytes`); the SRAM peak counts what it uses.

Fused groups (mapping/fusion.py): an intermediate of a fused group is a ring of band rows in SRAM,
its size the ring's; the rings and the group's staged weights are *reserved* before any ranked
tensor (for the ring's life and the group's steps respectively), and the ranking above runs in the
SRAM they leave. For a given fusion plan the rule stays monotone; the plan itself is chosen under
the SRAM size (fusion.plan_fusion).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.engine.constants import RES_DRAM, RES_SRAM
from simulator.errors import MappingError

DRAM, SRAM = RES_DRAM, RES_SRAM        # memory ids: the engine's resource ids for them
# output is the input tensor itself: no copy, no tile (reshape / passthrough: imported models)
ALIAS_OPS = frozenset({"detect", "flatten", "reshape", "passthrough"})
ADDRESS_ALIGN_BYTES = 4096


@dataclass(frozen=True)
class Placement:
    """Where each tensor lives. Tensor ids index the arrays; `tensor_of` maps a layer name to one."""
    tensor_of: dict[str, int]
    names: tuple[str, ...]               # producing layer of each tensor ('input' for the image)
    size_bytes: np.ndarray               # int64 per tensor
    memory: np.ndarray                   # int8 per tensor: DRAM or SRAM
    address: np.ndarray                  # int64 byte address within its memory
    weights_memory: int                  # where weights are read from
    weights_address: dict[str, int]      # DRAM/SRAM address of each MAC layer's weights
    weights_staged: dict[str, int]       # MAC layers whose weights are staged in SRAM -> SRAM address
    sram_peak_bytes: int                 # peak SRAM occupancy (activations + pinned weights)
    sram_activation_capacity_bytes: int
    fused: np.ndarray = None             # bool per tensor: a fused group's intermediate (a ring in SRAM)
    # MAC layers whose DRAM input may be staged -> (SRAM address, stage budget: a power of two of bytes)
    inputs_staged: dict = None
    step_occupancy: np.ndarray = None    # placed SRAM bytes per step (1 = first layer): tensors, rings, weight stages
    step_of: dict = None                 # layer name -> its step


def stage_bytes(budget: int, input_bytes: int) -> int:
    """The input stage a budget allows: the largest rung of the ladder ceil(input / 2^j), j >= 0, not
    above it (0 if none). The ladder is closed under halving (ceil(ceil(x / 2^j) / 2) = ceil(x / 2^(j+1))),
    which the tiling's chain of stage levels uses (mapping/tiling.py)."""
    stage = int(input_bytes)
    while stage > budget:
        if stage <= 1:
            return 0
        stage = -(-stage // 2)
    return stage


def _align(n: int) -> int:
    return -(-n // ADDRESS_ALIGN_BYTES) * ADDRESS_ALIGN_BYTES


def place_tensors(net, sram_bytes: int, operand_bytes: int, pin_weights: bool,
                  source: str = "", fusion=None) -> Placement:
    """Decide SRAM/DRAM for every activation tensor of `net` (see module docstring).

    `fusion`: a mapping.fusion.FusionPlan (None: no fused groups).
    """
    rings = fusion.intermediates() if fusion is not None else {}
    layers = net.layers
    tensor_of: dict[str, int] = {"input": 0}
    names = ["input"]
    sizes = [net.input_channels * net.input_size[0] * net.input_size[1] * net.batch * operand_bytes]
    birth, death = [0], [0]
    is_output = [False]
    for step, layer in enumerate(layers, start=1):
        if layer.op in ALIAS_OPS:
            tensor_of[layer.name] = tensor_of[layer.inputs[0]]
            continue
        tensor_of[layer.name] = len(names)
        names.append(layer.name)
        sizes.append(rings.get(layer.name, layer.output_elems * operand_bytes))
        birth.append(step)
        death.append(step)
        is_output.append(False)
    for step, layer in enumerate(layers, start=1):
        for inp in layer.inputs:
            t = tensor_of[inp]
            death[t] = max(death[t], step)
        if layer.op == "detect" or not net.consumers(layer.name):
            is_output[tensor_of[layer.name]] = True

    weight_bytes = {l.name: l.weight_elems * operand_bytes for l in layers if l.is_mac_op}
    total_weights = sum(weight_bytes.values())
    capacity = sram_bytes
    if pin_weights:
        if total_weights > sram_bytes:
            raise MappingError(source, "memory.sram.pin_weights",
                               f"the network's weights ({total_weights:,} B) do not fit in the SRAM "
                               f"({sram_bytes:,} B); unpin them or enlarge memory.sram.size")
        capacity = sram_bytes - total_weights

    n = len(names)
    size = np.array(sizes, dtype=np.int64)
    memory = np.full(n, DRAM, dtype=np.int8)
    steps = len(layers) + 1
    fused = np.zeros(n, dtype=bool)
    reserved = np.zeros(steps, dtype=np.int64)           # fused groups' rings and staged weights
    group_weights: dict[str, int] = {}
    step_of = {layer.name: step for step, layer in enumerate(layers, start=1)}
    for name in rings:
        t = tensor_of[name]
        fused[t] = True
        memory[t] = SRAM
        reserved[birth[t]:death[t] + 1] += sizes[t]
    for g in (fusion.groups if fusion is not None else ()):
        first, last = step_of[g.layers[0]], step_of[g.layers[-1]]
        for name in g.layers:
            w = weight_bytes.get(name, 0)
            if w and not pin_weights:
                group_weights[name] = w
                reserved[first:last + 1] += w
    if int(reserved.max()) > capacity:
        raise MappingError(source, "compute.fusion",
                           f"fused groups need {int(reserved.max()):,} B of SRAM, more than the "
                           f"{capacity:,} B available")
    occupancy = reserved.copy()                          # placed bytes live at each step
    # Rank: smallest first, ties by birth: each tensor's threshold counts higher-ranked tensors.
    order = sorted((t for t in range(n) if not is_output[t] and t != 0 and not fused[t]),
                   key=lambda t: (sizes[t], birth[t]))
    order_set = set(order)
    for t in order:
        life = slice(birth[t], death[t] + 1)
        need = int(occupancy[life].max()) + sizes[t]     # this tensor + all higher-ranked live ones
        threshold_ok = need <= capacity
        # Higher-ranked tensors are counted whether or not they were placed, so the decision
        # depends on the ranking only (monotone in capacity).
        occupancy[life] += sizes[t]
        if threshold_ok:
            memory[t] = SRAM
    placed_occupancy = reserved.copy()
    for t in range(n):
        if memory[t] == SRAM and not fused[t]:
            placed_occupancy[birth[t]:death[t] + 1] += sizes[t]
    # weight stages: one step each, ranked below every activation (module docstring)
    staged_bytes: dict[str, tuple[int, int]] = {}
    if not pin_weights:
        for step, layer in enumerate(layers, start=1):
            w = weight_bytes.get(layer.name, 0)
            if layer.name in group_weights:
                staged_bytes[layer.name] = (step, w)         # reserved with its group
            elif 0 < w and occupancy[step] + w <= capacity:
                staged_bytes[layer.name] = (step, w)
                placed_occupancy[step] += w

    # input stages: below every activation but the layer's own input, and below its weights (module docstring)
    in_budget: dict[str, int] = {}
    for step, layer in enumerate(layers, start=1):
        if not layer.is_mac_op:
            continue
        t_in = tensor_of[layer.inputs[0]]
        if memory[t_in] != DRAM:
            continue
        in_bytes = layer.n * int(np.prod(layer.in_shapes[0])) * operand_bytes   # as tiling.CandidateTable.in_total
        if t_in in order_set:
            # ranked: counted in `occupancy`; the stage takes at most the input's own place
            budget = min(in_bytes, capacity - (int(occupancy[step]) - sizes[t_in]))
        else:
            # the graph input (or a graph output read on): below the weights, counted staged or not
            # (pinned ones are outside `capacity`, a fused group's in `occupancy`)
            w = 0 if (pin_weights or layer.name in group_weights) else weight_bytes.get(layer.name, 0)
            budget = min(in_bytes, capacity - int(occupancy[step]) - w)
        budget = stage_bytes(budget, in_bytes)
        if budget > 0:
            in_budget[layer.name] = budget

    # Addresses: DRAM tensors and weights in a bump allocator (page-aligned); SRAM tensors get
    # a bump address modulo the SRAM size (used only for the bank interleave).
    address = np.zeros(n, dtype=np.int64)
    weights_address: dict[str, int] = {}
    dram_next = 0
    sram_next = 0
    for name, nbytes in weight_bytes.items():   # weights first: in SRAM when pinned, else in DRAM
        if pin_weights:
            weights_address[name] = sram_next
            sram_next += nbytes
        else:
            weights_address[name] = dram_next
            dram_next += _align(nbytes)
    for t in range(n):
        if memory[t] == DRAM:
            address[t] = dram_next
            dram_next += _align(int(size[t]))
        else:
            address[t] = sram_next % max(sram_bytes, 1)
            sram_next += int(size[t])
    weights_staged = {}
    for name, (_, nbytes) in staged_bytes.items():
        weights_staged[name] = sram_next % max(sram_bytes, 1)
        sram_next += nbytes
    inputs_staged = {}
    for name, nbytes in in_budget.items():
        inputs_staged[name] = (sram_next % max(sram_bytes, 1), nbytes)
        sram_next += nbytes
    peak = int(placed_occupancy.max()) + (total_weights if pin_weights else 0)
    return Placement(tensor_of=tensor_of, names=tuple(names), size_bytes=size, memory=memory,
                     address=address, weights_memory=SRAM if pin_weights else DRAM,
                     weights_address=weights_address, weights_staged=weights_staged, sram_peak_bytes=peak,
                     sram_activation_capacity_bytes=capacity, fused=fused, inputs_staged=inputs_staged,
                     step_occupancy=placed_occupancy, step_of=step_of)
