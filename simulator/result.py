"""Result: one simulated inference, frozen; summary figures, per-layer and per-unit breakdowns.

Every array cycle of the makespan is exactly one of: busy, or stalled on dependency, weights,
inputs, outputs (write-back slot), setup (per-layer fixed cost), or idle (no work left).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

STALL_CAUSES = ("dependency", "weights", "inputs", "outputs", "setup", "idle")
OWN_CAUSES = ("weights", "inputs", "outputs", "setup")     # a layer's own stalls; 'dependency' is its waiting

# The one definition of MAC utilization, used by the summary, JSON, plots, compare, sweep and the study.
MAC_UTILIZATION_DEFINITION = ("useful MACs / (chip MACs x cycles), at the clock the run used: "
                              "achieved TOPS / peak TOPS at that clock")


def spec_hash(resolved: dict) -> str:
    return hashlib.sha256(json.dumps(resolved, sort_keys=True).encode()).hexdigest()[:16]


class Timeline(NamedTuple):
    """Per-tile and per-transfer times of a run, for traces and plots (core cycles, int64).

    Stall columns of `tile_stalls` follow engine.constants ACC_* (dependency, weights, inputs,
    outputs, setup): the cycles before the tile's compute charged to each cause.
    """
    unit_names: tuple            # unit index -> 'array0', ..., 'vector0', ...
    tile_unit: np.ndarray
    tile_layer: np.ndarray
    tile_macs: np.ndarray
    tile_issue: np.ndarray       # loads issued
    tile_start: np.ndarray       # compute start (after setup)
    tile_end: np.ndarray         # compute end
    tile_done: np.ndarray        # write-back landed
    tile_setup: np.ndarray
    tile_stalls: np.ndarray      # [T, 5]
    xfer_tile: np.ndarray
    xfer_kind: np.ndarray
    xfer_dir: np.ndarray
    xfer_mem: np.ndarray         # 0 DRAM, 1 SRAM
    xfer_bytes: np.ndarray
    xfer_issue: np.ndarray       # loads: tile issue; stores: compute end
    xfer_done: np.ndarray


@dataclass(frozen=True)
class LayerResult:
    name: str
    op: str
    unit_kind: str               # 'array', 'vector' or 'none' (aliases)
    macs: int
    cycles: int                  # span: first compute start to last tile done
    start_cycle: int
    end_cycle: int
    busy_cycles: int             # compute cycles summed over the units that ran it
    stall_cycles: dict           # cause -> unit-cycles charged to this layer's tiles
    stall_by_resource: dict      # operand stalls by the resource that held the data back
    dram_read_bytes: int
    dram_write_bytes: int
    sram_read_bytes: int
    sram_write_bytes: int
    tiles: int
    mac_utilization: float       # macs / (chip MACs x span)
    latency_ms: float            # span at the chip clock
    dram_bandwidth_utilization: float   # DRAM bytes / (peak bytes per cycle x span)
    winograd: int = 0            # m when the layer ran Winograd F(m x m, 3 x 3) (then `macs` counts the MACs performed)
    # the mapper's choice and runner-up with their estimates (report/explain.py); None: no tiling
    # (vector and alias layers, --ideal-memory). In the JSON under `mappings`, not in the flat layer row.
    mapping: dict | None = field(default=None, compare=False)

    @property
    def own_cycles(self) -> int:
        """What the layer cost its units: busy + its own stalls (weights, inputs, outputs, setup), in
        unit-cycles; the time its tiles held a unit once the rows they read existed (docs/reports.md)."""
        return self.busy_cycles + sum(self.stall_cycles.get(c, 0) for c in OWN_CAUSES)

    @property
    def wait_cycles(self) -> int:
        """Unit-cycles its tiles waited for producer rows (the 'dependency' stall): what it waits for,
        not what it costs; a layer pipelined behind a slow producer waits long and costs little."""
        return self.stall_cycles.get("dependency", 0)

    def to_dict(self) -> dict:
        row = {k: v for k, v in self.__dict__.items() if k != "mapping"}
        return {**row, "own_cycles": self.own_cycles, "wait_cycles": self.wait_cycles}


@dataclass(frozen=True)
class Result:
    arch: str
    network: str
    input: tuple[int, int]
    batch: int
    ideal_memory: bool
    clock_hz: int
    cycles: int
    total_macs: int
    chip_macs: int
    peak_tops: float
    busy_cycles: int                     # summed over MAC arrays
    stall_cycles: dict                   # cause -> cycles summed over MAC arrays
    per_array: tuple[dict, ...]          # busy + each cause, per unit (arrays, then vector units)
    layers: tuple[LayerResult, ...]
    dram_read_bytes: int
    dram_write_bytes: int
    dram_peak_bytes_per_s: float
    sram_peak_bytes: int
    memory: dict                         # per-resource figures (DRAM channels, SRAM banks, interconnect)
    events: int
    resolved_spec: dict = field(repr=False)
    timeline: Timeline | None = field(default=None, repr=False, compare=False)
    energy: dict | None = field(default=None, repr=False)   # simulator/energy: totals, by component, by layer
    spec_hash: str = ""
    version: str = ""
    fused_groups: tuple[dict, ...] = ()   # depth-first fused groups (mapping/fusion.py), see fused_groups()

    @property
    def latency_s(self) -> float:
        return self.cycles / self.clock_hz

    @property
    def latency_ms(self) -> float:
        return 1e3 * self.latency_s

    @property
    def fps(self) -> float:
        return self.batch / self.latency_s if self.cycles else float("inf")

    @property
    def mac_utilization(self) -> float:
        """MAC_UTILIZATION_DEFINITION: equal to effective_tops / peak_tops_at_clock."""
        return self.total_macs / (self.chip_macs * self.cycles) if self.cycles else 0.0

    @property
    def peak_tops_at_clock(self) -> float:
        """2 x chip MACs x the clock the run used / 1e12: the peak the MAC utilization is measured against
        (below the data-sheet `peak_tops` when the chip runs throttled, below its boost clock)."""
        return 2 * self.chip_macs * self.clock_hz / 1e12

    @property
    def effective_tops(self) -> float:
        return 2 * self.total_macs / self.latency_s / 1e12 if self.cycles else 0.0

    @property
    def dram_bandwidth_utilization(self) -> float:
        if not self.cycles:
            return 0.0
        return (self.dram_read_bytes + self.dram_write_bytes) / (self.dram_peak_bytes_per_s * self.latency_s)

    @property
    def energy_j(self) -> float:
        """Energy of one inference (the whole batch), J."""
        return self.energy["energy_j"] if self.energy else 0.0

    @property
    def power_w(self) -> float:
        """Average power over the inference, W."""
        return self.energy["power_w"] if self.energy else 0.0

    @property
    def fps_per_watt(self) -> float:
        return self.energy["fps_per_watt"] if self.energy else 0.0

    @property
    def energy_by_component_j(self) -> dict:
        return dict(self.energy["energy_by_component_j"]) if self.energy else {}

    def to_dataframe(self):
        """The per-layer table as a pandas DataFrame (needs the optional pandas)."""
        from simulator.report.table_csv import to_dataframe
        return to_dataframe(self)

    def to_dict(self) -> dict:
        h, w = self.input
        return {
            "arch": self.arch, "network": self.network, "input": f"{h}x{w}", "batch": self.batch,
            "ideal_memory": self.ideal_memory, "cycles": self.cycles, "latency_ms": self.latency_ms,
            "fps": self.fps, "mac_utilization": self.mac_utilization, "peak_tops": self.peak_tops,
            "peak_tops_at_clock": self.peak_tops_at_clock, "clock_hz": self.clock_hz,
            "effective_tops": self.effective_tops, "total_macs": self.total_macs,
            "busy_cycles": self.busy_cycles, "stall_cycles": dict(self.stall_cycles),
            "per_unit": list(self.per_array),
            "dram_read_bytes": self.dram_read_bytes, "dram_write_bytes": self.dram_write_bytes,
            "dram_bandwidth_utilization": self.dram_bandwidth_utilization,
            "sram_peak_bytes": self.sram_peak_bytes, "stall_by_resource": dict(self.memory["stall_by_resource"]), "memory": self.memory,
            "events": self.events,
            "energy_j": self.energy_j, "power_w": self.power_w, "fps_per_watt": self.fps_per_watt,
            "energy_by_component_j": self.energy_by_component_j, "energy": self.energy,
            "fused_groups": [dict(g) for g in self.fused_groups],
            "layers": [layer.to_dict() for layer in self.layers],
            "mappings": {layer.name: layer.mapping for layer in self.layers if layer.mapping is not None},
            "spec": self.resolved_spec, "spec_hash": self.spec_hash, "version": self.version,
        }


def fused_groups(plan, layers) -> tuple[dict, ...]:
    """One dict per fused group of `plan` (mapping.fusion.FusionPlan): its layers, bands, SRAM rings
    and staged weights, the mapper's estimates fused and unfused (DRAM bytes saved: their
    difference) and the DRAM bytes its layers moved in this run."""
    by_name = {layer.name: layer for layer in layers}
    out = []
    for g in plan.groups:
        members = [by_name[n] for n in g.layers if n in by_name]
        out.append({
            "layers": list(g.layers), "bands": g.bands, "band_rows": g.band_rows[g.layers[-1]],
            "ring_bytes": sum(g.ring_bytes.values()), "staged_weight_bytes": g.weight_bytes,
            "est_cycles": g.est_cycles, "est_cycles_unfused": g.est_cycles_unfused,
            "est_dram_bytes": g.est_dram_bytes, "est_dram_bytes_unfused": g.est_dram_bytes_unfused,
            "est_dram_saved_bytes": g.est_dram_bytes_unfused - g.est_dram_bytes,
            "dram_read_bytes": sum(m.dram_read_bytes for m in members),
            "dram_write_bytes": sum(m.dram_write_bytes for m in members)})
    return tuple(out)
