"""What the user wrote, validated then frozen: the chip (arch), DRAM standards as data."""
from simulator.spec.arch import ArchSpec
from simulator.spec.load import load_arch

__all__ = ["ArchSpec", "load_arch"]
