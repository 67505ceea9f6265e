"""Energy and power of a run: counts from the simulation times per-event energies (docs/energy.md)."""
from simulator.energy.model import EnergyTable, energy_table, estimate_energy

__all__ = ["EnergyTable", "energy_table", "estimate_energy"]
