"""Energy in the reports: the summary lines, the component table and per-layer energy, from a Result."""
from __future__ import annotations

from simulator.result import Result

COMPONENT_LABELS = {
    "mac": "MACs", "vector": "vector units", "local_buffers": "local buffers", "sram": "SRAM",
    "interconnect": "interconnect", "dram_act_pre": "DRAM ACT/PRE", "dram_read": "DRAM RD",
    "dram_write": "DRAM WR", "dram_refresh": "DRAM REF", "dram_background": "DRAM background",
    "static": "static (leakage)",
}


def _j(v: float) -> str:
    for scale, unit in ((1.0, "J"), (1e-3, "mJ"), (1e-6, "uJ"), (1e-9, "nJ")):
        if abs(v) >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v:.3g} J"


def energy_rows(r: Result) -> list[tuple[str, str]]:
    """(label, text) lines: energy, power, efficiency and where the energy goes."""
    e = r.energy
    if not e:
        return []
    t = e["table"]
    limit = e["power_limit_w"]
    power = f"{e['power_w']:.3g} W average"
    if limit:
        power += f" (limit {limit:g} W{', EXCEEDED' if e['over_power_limit'] else ''})"
    eff = f"{e['fps_per_watt']:.3g} fps/W, {e['achieved_tops_per_w']:.3g} TOPS/W achieved"
    if e["datasheet_tops_per_w"]:
        eff += f" vs {e['datasheet_tops_per_w']:.3g} data-sheet (peak TOPS / power limit)"
    total = e["energy_j"] or 1.0
    parts = sorted(e["energy_by_component_j"].items(), key=lambda kv: -kv[1])
    return [
        ("energy", f"{_j(e['energy_j'])} per inference ({t['process_nm']} nm, {t['vdd_v']:.2f} V; "
                   f"DRAM commands from the {e['dram_commands']['counted_by']})"),
        ("power", power),
        ("efficiency", eff),
        ("energy by component", "  ".join(f"{COMPONENT_LABELS[k]} {100 * v / total:.1f}%" for k, v in parts if v)),
    ]


def component_table(r: Result) -> list[tuple[str, float, float]]:
    """(component label, J, share) for every component, in COMPONENT_LABELS order."""
    e = r.energy or {"energy_by_component_j": {}, "energy_j": 0.0}
    total = e["energy_j"] or 1.0
    return [(COMPONENT_LABELS[k], v, v / total) for k, v in e["energy_by_component_j"].items()]
