"""Importing npusim leaves Python's cyclic garbage collector as it found it (simulator/__init__.py
pauses it while the heavy modules import)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)


def test_import_leaves_the_collector_on():
    """After `import simulator.pipeline` the collector is enabled, as it was before."""
    _run("import gc, simulator.pipeline; assert gc.isenabled()")


def test_import_leaves_a_paused_collector_paused_and_frozen_objects_frozen():
    """A caller that paused the collector or froze objects (gc.freeze) finds both as they were: the
    frozen objects are not released, and the imported ones are not frozen with them (a frozen object
    freed by reference counting leaves the count, so it may only shrink)."""
    _run("import gc; gc.disable(); gc.freeze(); n = gc.get_freeze_count(); assert n > 0\n"
         "import simulator.pipeline\n"
         "assert not gc.isenabled() and 0.9 * n <= gc.get_freeze_count() <= n, (n, gc.get_freeze_count())")
