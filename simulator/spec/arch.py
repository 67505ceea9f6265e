"""The chip: one YAML file (archs/*.yaml) validated into a frozen ArchSpec.

YAML keys are the short names users write (`size`, `clock`); the attributes carry their units
(`size_bytes`, `clock_hz`). Derived figures (peak TOPS, DRAM bandwidth and pins) are computed
here and never written in a file.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_serializer, model_validator
from pydantic_core import PydanticCustomError

from simulator.spec import dram_standards
from simulator.spec.quantities import Bits, BytesPerCycle, FrequencyHz, SizeBytes, TransferRateMtps

DATAFLOWS = ("weight_stationary", "output_stationary", "input_stationary", "row_stationary")
# How an array's MACs are wired (mapping/systolic.py, mapping/dot_product.py).
ARRAY_KINDS = ("systolic", "dot_product")
# m of Winograd F(m x m, 3 x 3) (mapping/winograd.py).
WINOGRAD_OUTPUT_TILES = (2, 4)
# How the chip runs a layer: 'arrays' (tiles on identical MAC arrays, consecutive layers overlapping
# row block by row block) or 'gpu' (one kernel per layer, thread blocks in waves over the SMs;
# mapping/gpu.py).
COMPUTE_KINDS = ("arrays", "gpu")
PRECISION_BYTES = {"int8": 1, "int16": 2, "fp16": 2, "bf16": 2, "fp32": 4}
ARBITRATIONS = ("round_robin", "fixed_priority")
SRAM_SHARING = ("shared", "per_array")
PAGE_POLICIES = ("open", "close")
REFRESH_MODES = ("all_bank", "per_bank")
DRAM_MODELS = ("cycle", "bandwidth")
REFRESH_PRECHARGES = ("all", "per_bank")
# Controller presets: the structural keys of DramControllerSpec as a trusted simulator sets them.
# dramsim3: umd-memsys/DRAMSim3 @ 2981759, configs/DDR4_8Gb_x8_3200.ini and LPDDR4_8Gb_x16_2400.ini
# (queue_structure PER_BANK, cmd_queue_size 8, trans_queue_size 32) and src/controller.cc,
# src/command_queue.cc (write buffer of trans_queue_size drained when full or, above 8 writes, when
# the command queues are empty; row-hit limit 4), src/channel_state.cc (a refresh closes each open
# bank with its own PRE); ../shared/refs/dramsim3_runs.md.
CONTROLLER_PRESETS = {
    "none": {},
    "dramsim3": {"cmd_queue_size": 8, "row_hit_cap": 4, "write_buffer": 32, "write_high_watermark": 1.0,
                 "write_low_watermark": 0.5, "write_idle_drain_above": 8, "refresh_precharge": "per_bank"},
}
CONTROLLER_PRESET_NAMES = tuple(CONTROLLER_PRESETS)
# Address-mapping orders, MSB to LSB (ro = row, ba = bank, bg = bank group, co = column, ch = channel).
ADDRESS_FIELDS = ("ro", "ba", "bg", "co", "ch")   # row, bank, bank group, column, channel

# `memory.dram.timing` in the JSON schema: the preset fields that may be overridden (ints and the
# one bool), each with its FIELD_DOC line, so that editors complete and check the names.
_TIMING_SCHEMA = {
    "type": "object",
    "properties": {name: prop for name, prop in dram_standards.json_schema()["properties"].items()
                   if prop["type"] in ("integer", "boolean")},
    "additionalProperties": False,
}


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class BufferSpec(_Spec):
    """One local buffer of a MAC array (weights, inputs or outputs/accumulators)."""
    size_bytes: SizeBytes = Field(alias="size", description="capacity of the buffer")
    bytes_per_cycle: BytesPerCycle = Field(description="port width between the buffer and the array, bytes per core cycle: a tile takes at least the bytes the buffer feeds it / this (mapping/array_timing.py)")


OPERANDS = ("weights", "inputs", "outputs")


class SharedBufferSpec(_Spec):
    """A banked local buffer shared by two or three operands; the mapper gives each operand whole banks, per layer."""
    size_bytes: SizeBytes = Field(alias="size", description="capacity of the buffer (all banks)")
    banks: int = Field(gt=1, description="banks of size / banks each; the mapper gives every operand in `operands` "
                                         "at least one, per layer (mapping/tiling.py)")
    bank_bytes_per_cycle: BytesPerCycle = Field(alias="bank_width", description="port width of one bank, bytes per "
                                                "core cycle: an operand with b banks is fed at b x this")
    operands: list[Literal[OPERANDS]] = Field(list(OPERANDS), description="the operands that share it (at least "
                                                    "two); each other operand has a buffer of its own")


class ArrayBuffersSpec(_Spec):
    """The local buffers of each MAC array: one per operand, or a shared banked buffer and one per other operand.

    Each field is a section or absent (None, never validated): annotated with its section type so
    that an error below it names the user's key (spec/load.py walks the annotations)."""
    weights: BufferSpec = Field(None, description="stationary/streamed weight buffer (absent when shared)")
    inputs: BufferSpec = Field(None, description="input activation buffer (absent when shared)")
    outputs: BufferSpec = Field(None, description="output/accumulator buffer (partial sums at accumulator width; "
                                                         "absent when shared)")
    shared: SharedBufferSpec = Field(None, description="a banked buffer shared by `shared.operands`, split per "
                                                              "layer by the mapper (NVDLA's convolution buffer)")

    @model_validator(mode="after")
    def _each_operand_once(self) -> "ArrayBuffersSpec":
        shared = self.shared.operands if self.shared else ()
        if len(set(shared)) != len(shared) or (self.shared and len(shared) < 2):
            raise _key_error("shared.operands", f"list two or three distinct operands of {', '.join(OPERANDS)} "
                                                f"(got {', '.join(shared) or 'none'})")
        if self.shared and self.shared.banks < len(shared):
            raise _key_error("shared.banks", f"{self.shared.banks} banks cannot give each of the {len(shared)} "
                                             f"shared operands one")
        for op in OPERANDS:
            own = getattr(self, op) is not None
            if own and op in shared:
                raise _key_error(op, f"'{op}' is in shared.operands and has a buffer of its own; keep one of the two")
            if not own and op not in shared:
                raise _key_error(op, f"no '{op}' buffer: give buffers.{op} {{size, bytes_per_cycle}} or list it "
                                     f"in buffers.shared.operands")
        return self

    @model_serializer(mode="wrap")
    def _absent_buffers_left_out(self, handler):
        """The resolved spec lists the buffers the chip has (no `shared: null` on a chip without one)."""
        return {k: v for k, v in handler(self).items() if v is not None}

    def size_of(self, operand: str) -> int:
        """Bytes of the buffer that holds `operand` (the shared buffer's whole size when shared)."""
        own = getattr(self, operand)
        return own.size_bytes if own is not None else self.shared.size_bytes

    @property
    def total_bytes(self) -> int:
        """All local-buffer bytes of one array (a shared buffer counted once)."""
        return sum(getattr(self, op).size_bytes for op in OPERANDS if getattr(self, op) is not None) + \
            (self.shared.size_bytes if self.shared else 0)


def _key_error(key: str, detail: str) -> PydanticCustomError:
    """An error that load.py reports at `key` below the section that raised it."""
    return PydanticCustomError("dram_preset", "{detail}", {"key": key, "detail": detail})


class ArraySpec(_Spec):
    """One MAC array; the chip has `compute.arrays` identical copies."""
    kind: Literal[ARRAY_KINDS] = Field(
        "systolic", description="'systolic': a rows x cols grid, operands skewed through it (fill and drain per "
                                "fold; mapping/systolic.py); 'dot_product': one input vector of `rows` channels "
                                "broadcast to `cols` dot-product units with adder trees, rows x cols MACs a cycle, "
                                "the pipeline latency once per tile (mapping/dot_product.py)")
    rows: int = Field(gt=0, description="PE rows (dot_product: the width of each dot product, input channels per cycle)")
    cols: int = Field(gt=0, description="PE columns (dot_product: dot-product units, output channels per cycle)")
    macs_per_pe: int = Field(1, gt=0, description="MACs each PE completes per cycle (systolic only; 1 for dot_product)")
    pipeline_latency_cycles: int = Field(
        0, ge=0, alias="pipeline_latency", description="dot_product only: cycles from an input vector entering the "
                                                       "multipliers to its sums leaving the adder tree; paid once per tile")
    dataflow: Literal[DATAFLOWS] = Field(description="which operand stays in the PEs: " + ", ".join(DATAFLOWS)
                                         + " (dot_product: weight_stationary, the weights held in the cells)")
    precision: Literal[tuple(PRECISION_BYTES)] = Field("int8", description="operand precision")
    accumulator_bits: int = Field(32, gt=0, description="partial-sum width in the output buffer")
    prefetch_depth: int = Field(2, gt=0, description="tiles whose operands may be resident at once (2 = double buffering)")
    buffers: ArrayBuffersSpec = Field(description="local buffers of each array: weights, inputs, outputs")

    @model_validator(mode="after")
    def _kind_fits_its_keys(self) -> "ArraySpec":
        if self.kind == "dot_product":
            if self.dataflow != "weight_stationary":
                raise _key_error("dataflow", f"a dot_product array holds its weights in the cells: dataflow must be "
                                             f"weight_stationary, not {self.dataflow}")
            if self.macs_per_pe != 1:
                raise _key_error("macs_per_pe", "a dot_product array does one MAC per cell: macs_per_pe must be 1 "
                                                "(describe the width with rows and the units with cols)")
        elif self.pipeline_latency_cycles:
            raise _key_error("pipeline_latency", "pipeline_latency is a dot_product key; a systolic array's fill "
                                                 "and drain follow from rows and cols (set kind: dot_product or "
                                                 "leave pipeline_latency out)")
        return self

    @property
    def macs(self) -> int:
        return self.rows * self.cols * self.macs_per_pe

    @property
    def operand_bytes(self) -> int:
        return PRECISION_BYTES[self.precision]


class VectorSpec(_Spec):
    """The vector unit: activations, pooling, add, upsample, concat."""
    lanes: int = Field(gt=0, description="elements processed per cycle")
    units: int = Field(1, gt=0, description="number of vector units (one per array is typical)")


class WinogradSpec(_Spec):
    """Winograd F(m x m, 3 x 3) hardware for 3x3 stride-1 convolutions (mapping/winograd.py).

    The input and output transforms run in dedicated hardware in the array's input and output
    paths, pipelined with the MACs (the only placement modelled); the weights stay 3x3 in DRAM
    and SRAM and are transformed on chip into the array's weight buffer."""
    output_tile: Literal[WINOGRAD_OUTPUT_TILES] = Field(
        description="m of F(m x m, 3 x 3): 2 multiplies (m+2)^2 = 16 transformed values per 2x2 outputs "
                    "(2.25x fewer MACs than direct), 4 multiplies 36 per 4x4 (4x fewer)")
    weight_bits: int = Field(gt=0, description="bits of one transformed weight held in the weight buffer "
                                               "(the transform widens the operands)")
    transform_latency_cycles: int = Field(0, ge=0, alias="transform_latency",
                                          description="cycles the input and output transforms add to a tile's "
                                                      "pipeline (paid once per tile)")


class GpuSpec(_Spec):
    """How a GPU runs a layer (mapping/gpu.py): one kernel per layer, an implicit GEMM cut into
    thread-block tiles, the blocks dispatched in waves over the SMs (`compute.arrays`), a launch
    gap and a barrier between kernels, the L2 (`memory.sram`) a cache in front of the DRAM.

    Occupancy follows from the SM's buffers: a block of m x n x k takes `prefetch_depth` stages of
    (m + n) x k operands in shared memory (`buffers.weights` + `buffers.inputs`) and m x n
    accumulators in registers (`buffers.outputs`)."""
    block_tiles: list[list[int]] = Field(
        min_length=1, description="thread-block tile shapes the kernel library offers, each [m, n, k]: output "
                                  "pixels x output channels x reduction step; the mapper picks one per layer "
                                  "(the least estimated time)")
    max_blocks_per_sm: int = Field(gt=0, description="the hardware limit of resident thread blocks per SM; fewer "
                                                     "when shared memory or registers run out")
    tensor_core_efficiency: float = Field(
        gt=0, le=1, description="fraction of the SM's MACs per cycle a block's main loop sustains (issue limits, "
                                "fragment loads, epilogue)")
    kernel_launch_cycles: int = Field(
        ge=0, alias="kernel_launch", description="core cycles from the end of a kernel's last block to the start of "
                                                 "the next kernel's blocks (launch latency not hidden + grid start)")

    @field_validator("block_tiles")
    @classmethod
    def _positive_tiles(cls, v):
        for t in v:
            if len(t) != 3 or min(t) <= 0:
                raise ValueError(f"{list(t)}: a tile is [m, n, k], three positive integers")
        return v


class UnitGroupSpec(_Spec):
    """Engines of another kind beside the main arrays (Xavier NX's two NVDLAs beside its GPU SMs).

    Each engine is one MAC array with its own vector unit(s) and clock, sharing the chip's DRAM; it
    runs whole images of the batch, laid out by the array model, while the main compute runs the
    others. The mapper assigns the images (mapping/unit_groups.py)."""
    name: str = Field(min_length=1, description="the group's name, e.g. dla")
    count: int = Field(gt=0, description="identical engines in the group, each running its own images")
    clock_hz: FrequencyHz = Field(alias="clock", description="the engines' clock")
    array: ArraySpec = Field(description="one engine's MAC array")
    vector: VectorSpec = Field(description="one engine's vector unit(s)")

    @property
    def macs(self) -> int:
        return self.count * self.array.macs


class ComputeSpec(_Spec):
    """The MAC arrays and the vector unit."""
    kind: Literal[COMPUTE_KINDS] = Field(
        "arrays", description="'arrays': tiles on identical MAC arrays, consecutive layers overlapping row block "
                              "by row block; 'gpu': the arrays are SMs and every layer is one kernel of thread "
                              "blocks in waves, with a barrier between kernels (needs `gpu`; mapping/gpu.py)")
    gpu: GpuSpec | None = Field(None, description="the GPU execution model's figures (kind: gpu only)")
    arrays: int = Field(gt=0, description="number of identical MAC arrays (kind gpu: SMs)")
    array: ArraySpec = Field(description="one MAC array (all arrays are identical)")
    vector: VectorSpec = Field(description="the vector unit(s)")
    winograd: WinogradSpec | None = Field(None, description="Winograd hardware for 3x3 stride-1 convolutions "
                                                            "(absent: every convolution runs direct)")
    unit_groups: list[UnitGroupSpec] = Field(
        default_factory=list, description="engines of other kinds beside the main arrays, each running whole "
                                          "images of the batch (mapping/unit_groups.py); empty: none")

    fusion: Literal["none", "auto"] = Field(
        "none", description="depth-first layer fusion (mapping/fusion.py): 'auto' runs groups of consecutive "
                            "layers band by band with their intermediates in SRAM where that is estimated faster; "
                            "'none' runs layer by layer (npusim run --fuse overrides)")

    @model_validator(mode="after")
    def _gpu_section_matches_kind(self) -> "ComputeSpec":
        if self.kind == "gpu" and self.gpu is None:
            raise _key_error("gpu", "kind: gpu needs a `gpu` section (block_tiles, max_blocks_per_sm, "
                                    "tensor_core_efficiency, kernel_launch)")
        if self.kind != "gpu" and self.gpu is not None:
            raise _key_error("gpu", "a `gpu` section is read only with kind: gpu; set compute.kind: gpu or "
                                    "leave the section out")
        if self.kind == "gpu" and self.winograd is not None:
            raise _key_error("winograd", "Winograd is not modelled for kind: gpu; leave compute.winograd out")
        return self

    @model_validator(mode="after")
    def _winograd_needs_a_gemm_array(self) -> "ComputeSpec":
        if self.winograd is not None and self.array.dataflow == "row_stationary":
            raise _key_error("winograd", "Winograd is modelled as (m+2)^2 GEMMs, which a row_stationary array "
                                         "does not run; leave compute.winograd out")
        return self


class SramSpec(_Spec):
    """On-chip SRAM holding activations (and pinned weights) between layers."""
    size_bytes: SizeBytes = Field(alias="size", description="total capacity")
    banks: int = Field(gt=0, description="number of banks; two accesses to one bank in a cycle serialize")
    bank_bytes_per_cycle: BytesPerCycle = Field(alias="bank_width", description="bytes per cycle per bank")
    latency_cycles: int = Field(1, ge=0, alias="latency", description="access latency, core cycles")
    interleave_bytes: SizeBytes = Field(64, alias="interleave", description="address interleave granule across banks")
    sharing: Literal[SRAM_SHARING] = Field("shared", description="shared by all arrays, or split evenly per array")
    pin_weights: bool = Field(False, description="keep all weights resident in SRAM (read from DRAM once, not per inference)")


class InterconnectSpec(_Spec):
    """The path between SRAM/DRAM and the arrays."""
    width_bytes_per_cycle: BytesPerCycle = Field(alias="width", description="bytes per core cycle")
    latency_cycles: int = Field(0, ge=0, alias="latency", description="fixed traversal latency, core cycles")
    arbitration: Literal[ARBITRATIONS] = Field("round_robin", description="order of concurrent transfers")


class DramControllerSpec(_Spec):
    """How the memory controller schedules (cycle model only).

    `preset` fills the keys below with a trusted simulator's values (CONTROLLER_PRESETS); a key
    written next to it wins over the preset's value.
    """
    preset: Literal[CONTROLLER_PRESET_NAMES] = Field(
        "none", description="'dramsim3': DRAMSim3's controller (commit 2981759): a 32-read transaction queue and "
                            "a 32-write buffer in front of 8-entry command queues per bank, row-hit limit 4, "
                            "batched write drains, per-bank PREs before a refresh (sets cmd_queue_size, "
                            "row_hit_cap, write_buffer, write_high_watermark, write_idle_drain_above, "
                            "refresh_precharge); 'none': the keys' own defaults (one FR-FCFS queue)")
    cmd_queue_size: int = Field(
        0, ge=0, description="entries of a per-bank command queue (DRAMSim3 PER_BANK cmd_queue_size, 8). 0: one "
                             "FR-FCFS queue of queue_depth requests per channel. >0: two levels as in DRAMSim3: "
                             "requests wait in a transaction queue (queue_depth reads, plus write_buffer writes); "
                             "one a cycle moves, after that cycle's command, into its bank's command queue if it "
                             "has room (the oldest that fits); banks are served round robin from the one after "
                             "the last served, each queue first-ready in FIFO order; only a queue's oldest "
                             "request may precharge (simulations, stream drivers and npusim dram replay)")
    row_hit_cap: int = Field(
        16, ge=0, description="column commands a bank may serve on its open row while an older request to another "
                              "row of the bank waits; then that request's PRE goes first (0: no cap: hits always "
                              "first, which can starve it). 16 is gem5's max_accesses_per_row; DRAMSim3 uses 4. "
                              "With command queues (cmd_queue_size > 0) DRAMSim3's rule: the PRE is allowed, "
                              "not forced, once the open row has served this many, or when no request of the "
                              "queue hits it")
    write_buffer: int = Field(
        0, ge=0, description="write buffer entries per channel: writes wait there, apart from the queue_depth "
                             "entries of reads, and are drained in batches (0: one queue for both, as FR-FCFS "
                             "sees it; DRAMSim3 and gem5 have 32 and 64)")
    write_high_watermark: float = Field(
        0.85, gt=0, le=1, description="fraction of write_buffer at which a write drain starts (gem5: 85%; "
                                      "DRAMSim3: 100%, a full buffer); without command queues a drain also starts "
                                      "when no read is queued")
    write_low_watermark: float = Field(
        0.5, ge=0, lt=1, description="fraction of write_buffer at which a drain stops if a read waits (gem5: 50%). "
                                     "With command queues a drain moves the writes the buffer held when it "
                                     "started, as DRAMSim3 does, and this key is not read")
    write_idle_drain_above: int = Field(
        0, ge=0, description="with command queues: a drain also starts when the write buffer holds more than this "
                             "many writes and every command queue is empty (DRAMSim3: 8); 0: only at the high "
                             "watermark (and, without command queues, when no read is queued)")
    refresh_precharge: Literal[REFRESH_PRECHARGES] = Field(
        "all", description="how an all-bank refresh closes the open banks: 'all', one PREA; 'per_bank', one PRE "
                           "per open bank, lowest bank first as each becomes legal (DRAMSim3)")

    refresh_postpone: int = Field(
        0, ge=0, le=8, description="all-bank REFs a busy channel may postpone: a due refresh waits while a request "
                                   "is queued, until this many more tREFI have passed, then goes first (ACTs "
                                   "cannot starve it); an idle channel pays what it owes back to back. JEDEC "
                                   "DDR4 (JESD79-4) and LPDDR4 (JESD209-4) allow up to 8. 0: never postponed "
                                   "(cycle model, one-level controller, all-bank refresh)")

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data):
        if isinstance(data, dict) and data.get("preset", "none") in CONTROLLER_PRESETS:
            return {**CONTROLLER_PRESETS[data.get("preset", "none")], **data}
        return data

    @model_validator(mode="after")
    def _low_below_high(self) -> "DramControllerSpec":
        if self.write_low_watermark >= self.write_high_watermark:
            raise PydanticCustomError("watermarks", "{detail}", {
                "key": "write_low_watermark",
                "detail": f"{self.write_low_watermark} is not below write_high_watermark {self.write_high_watermark}"})
        return self


class DramSpec(_Spec):
    """Off-chip DRAM: a standard's preset timing, overridable key by key under `timing`."""
    standard: Literal[dram_standards.STANDARDS] = Field(description="DRAM standard")
    data_rate_mtps: TransferRateMtps | None = Field(None, alias="data_rate", description="per-pin data rate; selects the speed-grade preset")
    channels: int = Field(gt=0, description="independent channels")
    channel_width_bits: Bits = Field(alias="channel_width", description="data bits per channel")
    address_mapping: str = Field("ro_ba_bg_co_ch", description="address fields MSB to LSB, any order of ro (row), "
                                 "ba (bank), bg (bank group), co (column), ch (channel) joined by '_'",
                                 examples=["ro_ba_bg_co_ch", "ro_co_ba_bg_ch", "ch_ro_ba_bg_co"])
    page_policy: Literal[PAGE_POLICIES] = Field("open", description="open page (FR-FCFS) or close page")
    refresh: Literal[REFRESH_MODES] = Field(
        "all_bank", description="'all_bank': every tREFI the channel stops for tRFC; 'per_bank': every "
                                "tREFI_pb one bank (round robin) stops for tRFC_pb while the others go on "
                                "(cycle model; standards whose preset has per-bank timings)")
    queue_depth: int = Field(32, gt=0, description="controller request queue entries per channel")
    controller: DramControllerSpec = Field(default_factory=DramControllerSpec,
                                           description="scheduling rules of the controller (cycle model)")
    model: Literal[DRAM_MODELS] = Field("cycle", description="'cycle' (the default): banks, rows, FR-FCFS and "
                                        "refresh, every burst simulated; 'bandwidth': a server at the channels' peak "
                                        "rate with the unloaded row-miss latency (faster, for large sweeps)")
    timing: Annotated[dict[str, int | bool], WithJsonSchema(_TIMING_SCHEMA)] = Field(
        default_factory=dict, description="overrides of preset fields: timings in DRAM command-clock "
                                          "cycles (nCK), tck_ps in ps, organisation counts (e.g. trcd_rd: 20)")

    def keys_without_effect(self) -> list[str]:
        """Keys set explicitly (in the file or by --set) that the chosen DRAM model does not read."""
        if self.model != "bandwidth":
            return []
        keys = [k for k in ("address_mapping", "page_policy", "refresh", "queue_depth") if k in self.model_fields_set]
        if "controller" in self.model_fields_set:
            keys += [f"controller.{k}" for k in sorted(self.controller.model_fields_set)] or ["controller"]
        return keys

    @field_validator("address_mapping")
    @classmethod
    def _mapping_is_an_order_of_the_fields(cls, v: str) -> str:
        parts = v.split("_")
        if sorted(parts) != sorted(ADDRESS_FIELDS):
            raise ValueError(f"'{v}' is not an order of the five address fields {', '.join(ADDRESS_FIELDS)} "
                             "(MSB to LSB, each once, joined by '_'), e.g. ro_ba_bg_co_ch or ro_co_ba_bg_ch")
        return v

    @model_validator(mode="after")
    def _preset_exists(self) -> "DramSpec":
        # The error carries the sub-key (data_rate, timing.<field>) in ctx["key"]; load.py appends
        # it to the location, so the message names e.g. memory.dram.timing.trcd.
        try:
            preset = dram_standards.find_preset(self.standard, self.data_rate_mtps)
        except KeyError as exc:
            detail = str(exc).strip("'\"") + "; or leave data_rate out to take the fastest grade"
            raise PydanticCustomError("dram_preset", "{detail}", {"key": "data_rate", "detail": detail}) from None
        try:
            dram_standards.with_overrides(preset, self.timing)
        except ValueError as exc:  # a SpecError naming the field, or a plain ValueError
            field, detail = getattr(exc, "key", ""), getattr(exc, "message", str(exc))
            key = f"timing.{field}" if field else "timing"
            raise PydanticCustomError("dram_preset", "{detail}", {"key": key, "detail": detail}) from None
        if self.channel_width_bits % 8:
            raise PydanticCustomError(
                "dram_preset", "{detail}",
                {"key": "channel_width", "detail": f"{self.channel_width_bits} bits is not a whole number of "
                                                   "bytes; a channel is 8, 16, 32 or 64 bits wide (a multiple of 8)"})
        if self.refresh == "per_bank" and not self.resolved_timing.per_bank_refresh_supported:
            raise PydanticCustomError(
                "dram_preset", "{detail}",
                {"key": "refresh", "detail": f"{self.resolved_timing.speed_grade} has no per-bank refresh "
                                             "(its preset has no trfc_pb / trefi_pb); use all_bank"})
        if self.model == "cycle":
            self._check_cycle_model()
        if self.controller.cmd_queue_size > 0:
            self._check_command_queues()
        if self.controller.refresh_postpone and self.refresh != "all_bank":
            raise PydanticCustomError("dram_preset", "{detail}", {
                "key": "controller.refresh_postpone", "detail": f"{self.controller.refresh_postpone} with refresh "
                f"{self.refresh!r}: postponement is modelled for all-bank refresh only; set it to 0"})
        return self

    def _check_cycle_model(self) -> None:
        """What the cycle model needs of the timing, refused here rather than deep in the run:
        whole bursts per row, and a refresh interval longer than the refresh (else the channel
        refreshes forever and the run never ends)."""
        t = self.resolved_timing
        if t.columns % t.burst_length:
            raise PydanticCustomError("dram_preset", "{detail}", {
                "key": "timing.columns", "detail": f"{t.columns} columns is not a multiple of the burst length "
                                                   f"{t.burst_length}; the cycle model needs whole bursts per row"})
        if t.trefi <= t.trfc:
            raise PydanticCustomError("dram_preset", "{detail}", {
                "key": "timing.trefi", "detail": f"trefi = {t.trefi} nCK is not longer than trfc = {t.trfc} nCK: "
                "the channel would do nothing but refresh (cycle model)"})
        # all-bank refresh: with the one-level controller tREFI > tRFC is enough, as a due refresh
        # waits for a freshly opened row's first column command (proof: engine/dram.py
        # _refresh_held). DRAMSim3's two-level controller (cmd_queue_size > 0) has no such rule: a
        # refresh falling due between an ACT and its column command closes the row unused, and
        # with short tREFI that can repeat for ever (LPDDR4-3200 hangs at most tREFI tried from 289 to 395). A wasted
        # ACT leaves the next REF at most tRAS + tRP - 1 late, and then the first ACT after it
        # (tRFC later) has its column command tRCD later, before the next refresh falls due, if
        # tREFI > tRFC + tRCD + tRAS + tRP: sufficient, not shown exact (tests: test_dram_refresh_allbank.py)
        if self.controller.cmd_queue_size > 0:
            need = t.trfc + max(t.trcd_rd, t.trcd_wr) + t.tras + max(t.trp, t.trp_ab)
            if t.trefi <= need:
                raise PydanticCustomError("dram_preset", "{detail}", {
                    "key": "timing.trefi", "detail": f"trefi = {t.trefi} nCK is not longer than trfc + trcd + "
                    f"tras + trp = {need} nCK: with command queues (DRAMSim3's controller) a refresh falling "
                    "due between an ACT and its column command closes the row unused, and DRAMSim3's "
                    "controller has no rule that holds the refresh for that column command, so the run "
                    "could repeat that for ever (cycle model)"})
        # per-bank refresh (docs/dram_model.md, "Per-bank refresh: which timings end"): with the
        # banks' turns one tREFI_pb apart, a run ends for every input exactly when the REFpb
        # commands alone can catch up with their schedule: each bank's tRFC_pb within its turn
        # period, banks x tREFI_pb > tRFC_pb, and consecutive turns more than the REFpb-to-REFpb
        # gap apart, tREFI_pb > tRRD (the gap between the banks taking consecutive turns: tRRD_L
        # within a bank group). Otherwise the refresh stays pending for ever and no bank ever has
        # a free cycle for an ACT (tested: tests/engine/test_dram_refresh_overlap.py)
        if self.refresh == "per_bank":
            banks = t.bank_groups * t.banks_per_group
            gap = t.trrd_l if t.banks_per_group > 1 else t.trrd_s
            key = next((k for k in ("trefi_pb", "trfc_pb", "trrd_l", "trrd_s") if k in self.timing), "trefi_pb")
            if banks * t.trefi_pb <= t.trfc_pb:
                raise PydanticCustomError("dram_preset", "{detail}", {
                    "key": f"timing.{key}", "detail": f"{banks} banks x trefi_pb = {banks} x {t.trefi_pb} nCK is "
                    f"not longer than trfc_pb = {t.trfc_pb} nCK: each bank's per-bank refresh falls due before "
                    "its last one ends, the refresh falls behind for good and the run never ends (cycle model)"})
            if banks > 1 and t.trefi_pb <= gap:
                raise PydanticCustomError("dram_preset", "{detail}", {
                    "key": f"timing.{key}", "detail": f"trefi_pb = {t.trefi_pb} nCK is not longer than the "
                    f"REFpb-to-REFpb gap tRRD = {gap} nCK: the per-bank refreshes fall behind for good, no "
                    "bank gets a free cycle for an ACT and the run never ends (cycle model)"})

    def _check_command_queues(self) -> None:
        """Command queues (controller.cmd_queue_size > 0) are modelled with open page and all-bank
        refresh only (what DRAMSim3's reference runs use), in simulations (the engine's front end,
        engine/dram_frontend.py), the stream drivers and `npusim dram replay` alike."""
        for key, bad, why in ((f"page_policy {self.page_policy!r}", self.page_policy != "open", "command queues are modelled with "
                               "open page only"),
                              (f"refresh {self.refresh!r}", self.refresh != "all_bank", "command queues are modelled with "
                               "all-bank refresh only"),
                              ("controller.refresh_postpone > 0", self.controller.refresh_postpone > 0,
                               "DRAMSim3's controller does not postpone refresh")):
            if bad:
                raise PydanticCustomError("dram_preset", "{detail}", {
                    "key": f"controller.cmd_queue_size", "detail": f"{self.controller.cmd_queue_size} with "
                    f"{key}: {why}"})

    @property
    def resolved_timing(self) -> "dram_standards.DramTiming":
        preset = dram_standards.find_preset(self.standard, self.data_rate_mtps)
        return dram_standards.with_overrides(preset, self.timing)

    @property
    def peak_bytes_per_s(self) -> float:
        return self.channels * dram_standards.peak_bytes_per_s(self.resolved_timing, self.channel_width_bits)


class MemorySpec(_Spec):
    """On-chip SRAM, the interconnect to the arrays, and off-chip DRAM."""
    sram: SramSpec = Field(description="on-chip SRAM")
    interconnect: InterconnectSpec = Field(description="SRAM/DRAM to arrays path")
    dram: DramSpec = Field(description="off-chip DRAM")


class OverheadSpec(_Spec):
    """Costs real chips pay beyond their datasheet peak; each is named and documented."""
    layer_setup_cycles: int = Field(0, ge=0, description="per-layer fixed cost: datapath reconfiguration or kernel launch + sync, core cycles")
    sustained_clock_fraction: float = Field(
        1.0, gt=0, le=1, description="fraction of `clock` the core sustains under continuous load (power or "
                                     "thermal throttling); peak TOPS stay at `clock`, time runs at clock x this")

    def sustained_clock_hz(self, clock_hz: int) -> int:
        """The core clock under sustained load, an int in Hz (floats never reach the engine)."""
        return max(1, round(clock_hz * self.sustained_clock_fraction))


class EnergySpec(_Spec):
    """The energy model's inputs (docs/energy.md): the process node and voltage that scale the
    cited 45 nm per-event energies, and optional measured figures that replace a derived one."""
    process_nm: int = Field(45, gt=0, le=250, description="process node, nm (scales Horowitz's 45 nm energies "
                                                            "by node / 45)")
    core_voltage_v: float | None = Field(None, gt=0, le=3.0, description="core supply, V (scales energies by V^2); "
                                         "default: the node's nominal voltage (docs/energy.md)")
    interconnect_distance_mm: float = Field(2.0, ge=0, description="mean wire length a byte crosses between SRAM/DRAM "
                                            "port and an array, mm (interconnect energy per byte = wire energy x this)")
    power_limit_w: float | None = Field(None, gt=0, description="the chip's sustained power limit or TDP, W, as "
                                        "published; reported next to the simulated power, and the data-sheet TOPS/W "
                                        "is peak TOPS / this")
    dram_row_hit_rate: float | None = Field(None, ge=0, le=1, description="bandwidth DRAM model only: share of bursts "
                                            "that hit an open row; default: a sequential stream, one ACT per row")
    mac_pj: float | None = Field(None, gt=0, description="measured energy per MAC, pJ (replaces the scaled table)")
    local_buffer_pj_per_byte: float | None = Field(None, gt=0, description="measured energy per byte of a local "
                                                   "buffer access, pJ (replaces the size-based table)")
    sram_pj_per_byte: float | None = Field(None, gt=0, description="measured energy per byte of SRAM access, pJ")
    interconnect_pj_per_byte: float | None = Field(None, ge=0, description="measured interconnect energy per byte, pJ")
    static_power_w: float | None = Field(None, ge=0, description="measured static (leakage) power of the chip, W "
                                         "(replaces the SRAM + logic leakage estimate)")

    @property
    def vdd_v(self) -> float:
        from simulator.energy.technology import nominal_vdd_v
        return self.core_voltage_v if self.core_voltage_v is not None else nominal_vdd_v(self.process_nm)


class ArchSpec(_Spec):
    """A whole chip."""
    model_config = ConfigDict(title="npusim architecture spec", json_schema_extra={
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "description": "A whole chip (archs/*.yaml); see docs/formats/arch.md."})

    name: str = Field(min_length=1, description="short name, e.g. inferx_x1")
    description: str = Field("", description="one line on what this chip is")
    clock_hz: FrequencyHz = Field(alias="clock", description="core (MAC) clock")
    compute: ComputeSpec = Field(description="MAC arrays and vector unit")
    memory: MemorySpec = Field(description="SRAM, interconnect, DRAM")
    overheads: OverheadSpec = Field(OverheadSpec(), description="fixed costs beyond the datasheet peak")
    energy: EnergySpec = Field(EnergySpec(), description="process node, voltage and power figures of the energy model")

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, v: str) -> str:
        if not v.replace("_", "").replace("-", "").isalnum():
            raise ValueError("use letters, digits, '_' or '-' only")
        return v

    @property
    def total_macs(self) -> int:
        """MACs per core cycle: the main arrays, plus each unit group's MACs at its clock in core cycles."""
        groups = sum(g.macs * g.clock_hz / self.clock_hz for g in self.compute.unit_groups)
        return self.compute.arrays * self.compute.array.macs + round(groups)

    @property
    def effective_clock_hz(self) -> int:
        """The core clock the simulation runs at: `clock` x overheads.sustained_clock_fraction."""
        return self.overheads.sustained_clock_hz(self.clock_hz)

    @property
    def peak_tops(self) -> float:
        groups = sum(g.macs * g.clock_hz for g in self.compute.unit_groups)
        return 2 * (self.compute.arrays * self.compute.array.macs * self.clock_hz + groups) / 1e12

    @property
    def dram_peak_bytes_per_s(self) -> float:
        return self.memory.dram.peak_bytes_per_s

    @property
    def dram_pins(self) -> int:
        """DRAM data pins (DQ): channels x channel width."""
        return self.memory.dram.channels * self.memory.dram.channel_width_bits

    def derived(self) -> dict:
        return {"total_macs": self.total_macs, "peak_tops": self.peak_tops,
                "effective_clock_hz": self.effective_clock_hz,
                "dram_peak_bytes_per_s": self.dram_peak_bytes_per_s, "dram_pins": self.dram_pins}

    def resolved_dict(self) -> dict:
        """The fully resolved spec: YAML keys, ints in base units, DRAM timing filled in."""
        data = self.model_dump(by_alias=True, mode="json")
        data["memory"]["dram"]["timing"] = dram_standards.to_table(self.memory.dram.resolved_timing)
        data["derived"] = self.derived()
        return data
