"""DRAM energy per command from datasheet currents (Micron TN-40-07's method, as DRAMSim3 applies it).

For each supply rail (voltage V, currents in mA, times in ns, so V x mA x ns = pJ):
  ACT + PRE pair   E = V x (IDD0 x tRC - (IDD3N x tRAS + IDD2N x (tRC - tRAS)))
  RD burst         E = V x (IDD4R - IDD3N) x t_burst      (per byte: (IDD4R - IDD3N) x V / device bytes/s)
  WR burst         E = V x (IDD4W - IDD3N) x t_burst
  REF (all bank)   E = V x (IDD5 - IDD3N) x tRFC           (per-bank REF: that / banks, an assumption)
  background       P = V x IDD3N (open page: a row is kept open) or V x IDD2N (close page)
summed over the rails, times the devices on a channel. tRC and tRAS are the preset's (the
datasheet's test conditions), not a user's override of the clock. Burst energy is taken per byte
at the data rate the currents were measured at, so a burst costs the same per byte at any grade.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from simulator.spec import dram_standards


@dataclass(frozen=True)
class DramCommandEnergy:
    """Per-channel energies of one DRAM configuration, pJ (and background power per channel, W)."""
    act_pre_pj: float
    read_pj_per_byte: float
    write_pj_per_byte: float
    refresh_pj: float            # one REF command of the configured refresh mode
    background_w: float          # per channel
    burst_bytes: int
    row_bytes: int               # one row across the channel (a sequential stream opens each once)
    devices_per_channel: int
    currents: str                # the part the currents come from
    source: str


def command_energy(dram_spec) -> DramCommandEnergy:
    """The per-command energies of a `DramSpec` (spec.arch.DramSpec)."""
    base = dram_standards.find_preset(dram_spec.standard, dram_spec.data_rate_mtps)   # datasheet conditions
    currents = dram_standards.DRAM_CURRENTS[base.speed_grade]
    t = dram_spec.resolved_timing
    tck_ns = base.tck_ps / 1e3
    tras_ns, trc_ns = base.tras * tck_ns, base.trc * tck_ns
    devices = max(1, math.ceil(dram_spec.channel_width_bits / currents.device_width_bits))
    device_bytes_per_ns = currents.measured_data_rate_mtps * 1e-3 * currents.device_width_bits / 8
    per_bank = dram_spec.refresh == "per_bank"
    trfc_ns = base.trfc * tck_ns
    banks = base.bank_groups * base.banks_per_group
    act = rd = wr = ref = bg = 0.0
    for s in currents.supplies:
        act += s.vdd_v * (s.idd0_ma * trc_ns - (s.idd3n_ma * tras_ns + s.idd2n_ma * (trc_ns - tras_ns)))
        # mW / (bytes per ns) = pJ per byte
        rd += s.vdd_v * (s.idd4r_ma - s.idd3n_ma) / device_bytes_per_ns
        wr += s.vdd_v * (s.idd4w_ma - s.idd3n_ma) / device_bytes_per_ns
        ref += s.vdd_v * (s.idd5_ma - s.idd3n_ma) * trfc_ns
        bg += s.vdd_v * (s.idd3n_ma if dram_spec.page_policy == "open" else s.idd2n_ma) * 1e-3
    if per_bank:
        ref /= banks     # assumption: a per-bank REF costs one bank's share of an all-bank REF
    # the row and burst size of the channel as simulated (resolved organisation)
    row_bytes = t.columns * dram_spec.channel_width_bits // 8
    return DramCommandEnergy(
        act_pre_pj=act * devices, read_pj_per_byte=rd, write_pj_per_byte=wr, refresh_pj=ref * devices,
        background_w=bg * devices, burst_bytes=dram_standards.burst_bytes(t, dram_spec.channel_width_bits),
        row_bytes=row_bytes, devices_per_channel=devices, currents=currents.part, source=currents.source)


@dataclass(frozen=True)
class DramCommands:
    """Command counts summed over channels, and where they come from."""
    acts: int
    reads: int                   # bursts
    writes: int
    refreshes: int
    read_bytes: int
    write_bytes: int
    counted_by: str              # 'cycle model' or 'bandwidth model estimate'


def commands_from_cycle_stats(channel_rows: list[dict], burst_bytes: int) -> DramCommands:
    """The cycle-level DRAM's own counts (resources.dram.channel_stats rows: acts, reads and writes
    in bursts, refreshes)."""
    reads, writes = sum(r["reads"] for r in channel_rows), sum(r["writes"] for r in channel_rows)
    return DramCommands(acts=sum(r["activates"] for r in channel_rows), reads=reads, writes=writes,
                        refreshes=sum(r["refreshes"] for r in channel_rows), read_bytes=reads * burst_bytes,
                        write_bytes=writes * burst_bytes, counted_by="cycle model")


def commands_from_bytes(dram_spec, energy: DramCommandEnergy, read_bytes: int, write_bytes: int,
                        elapsed_s: float, row_hit_rate: float | None) -> DramCommands:
    """Counts the bandwidth model implies: bursts from bytes; one ACT per row of a sequential stream
    (or per miss at `row_hit_rate`); one REF per tREFI per channel over the run."""
    bb = energy.burst_bytes
    reads, writes = -(-read_bytes // bb), -(-write_bytes // bb)
    if row_hit_rate is None:
        acts = -(-(read_bytes + write_bytes) // energy.row_bytes)
    else:
        acts = round((1.0 - row_hit_rate) * (reads + writes))
    t = dram_spec.resolved_timing
    interval_ps = (t.trefi_pb if dram_spec.refresh == "per_bank" else t.trefi) * t.tck_ps
    refreshes = dram_spec.channels * int(elapsed_s * 1e12 // interval_ps) if interval_ps else 0
    return DramCommands(acts=acts, reads=reads, writes=writes, refreshes=refreshes, read_bytes=read_bytes,
                        write_bytes=write_bytes, counted_by="bandwidth model estimate")


def dram_energy_j(dram_spec, energy: DramCommandEnergy, cmds: DramCommands, elapsed_s: float) -> dict:
    """DRAM energy by command kind, J."""
    return {"dram_act_pre": cmds.acts * energy.act_pre_pj * 1e-12,
            "dram_read": cmds.read_bytes * energy.read_pj_per_byte * 1e-12,
            "dram_write": cmds.write_bytes * energy.write_pj_per_byte * 1e-12,
            "dram_refresh": cmds.refreshes * energy.refresh_pj * 1e-12,
            "dram_background": energy.background_w * dram_spec.channels * elapsed_s}
