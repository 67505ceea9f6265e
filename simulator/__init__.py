"""npusim: cycle-level simulation of neural-network inference accelerators.

    load_arch -> load_network -> simulate -> Result

Peak TOPS do not predict throughput; moving data does. `simulate` runs one inference of a
network on a described chip and accounts for every MAC cycle.
"""
import gc as _gc

# Importing makes hundreds of thousands of long-lived objects (pydantic models, networkx, numpy; numba
# in simulator.pipeline), and the cyclic collector's passes over them would cost about 40 ms of a
# fresh process (docs/performance.md): it is paused while the package imports, then restored.
_gc_was_on = _gc.isenabled()
_gc.disable()
try:
    from simulator.errors import MappingError, SpecError
    from simulator.spec import ArchSpec, load_arch
    from simulator.workload import Network, load_network
finally:
    if _gc_was_on:
        _gc.enable()

__version__ = "0.1.0"

__all__ = ["ArchSpec", "MappingError", "Network", "Result", "SpecError", "load_arch", "load_network",
           "simulate", "__version__"]


def __getattr__(name: str):
    # simulate and Result pull in numba: import them on first use so that `npusim --help` is instant.
    if name == "simulate":
        from simulator.pipeline import simulate
        return simulate
    if name == "Result":
        from simulator.result import Result
        return Result
    raise AttributeError(f"module 'simulator' has no attribute {name!r}")
