"""npusim: cycle-level simulation of neural-network inference accelerators.

    load_arch -> load_network -> simulate -> Result

Peak TOPS do not predict throughput; moving data does. `simulate` runs one inference of a
network on a described chip and accounts for every MAC cycle.
"""
import contextlib as _contextlib
import gc as _gc


@_contextlib.contextmanager
def _imports_without_cyclic_gc():
    """Import heavy modules with Python's cyclic garbage collector paused.

    Importing numpy, networkx and pydantic (and building the spec models) here, and numba in
    engine/jit.py (which does the same for it), makes hundreds of thousands of long-lived objects;
    the collector would scan them again and again as they are made, about 60 ms of a fresh
    process's CPU (docs/performance.md). They are moved straight to the oldest
    generation instead (freeze + unfreeze: two list splices, nothing scanned), where the next full
    collection finds them, as it would have. Skipped if the caller froze objects itself (unfreeze
    would release them).
    """
    was_on = _gc.isenabled()
    _gc.disable()
    try:
        yield
    finally:
        if not _gc.get_freeze_count():
            _gc.freeze()
            _gc.unfreeze()
        if was_on:
            _gc.enable()


with _imports_without_cyclic_gc():
    from simulator.errors import MappingError, SpecError
    from simulator.spec import ArchSpec, load_arch
    from simulator.workload import Network, load_network

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
