"""Two small figures of docs/performance.md: the map stage, and what Python's cyclic GC costs a run.

    .venv/bin/python benchmarks/map_and_gc.py

- map: `build_program` for YOLOv3-608 on inferx_x1, best of 5 in a warm process, each with the
  mapper's table cache emptied (a search from scratch) and, second figure, with it kept.
- gc: the first simulate() in a fresh process (where the collector's full passes scan every
  object the imports made) with the collector paused, as simulate() does, against the same run
  with it on (`simulate.__wrapped__`), best of 3 fresh processes each.
"""
import subprocess
import sys
import time

from simulator.mapping import tiling
from simulator.mapping.program import build_program
from simulator.spec import load_arch
from simulator.workload import load_network


def best(fn, n):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    spec, net = load_arch("inferx_x1"), load_network("yolov3", input_size=(608, 608))
    build_program(spec, net)
    fresh = best(lambda: (tiling._TABLES.clear(), build_program(spec, net)), 5)
    print(f"map (build_program, YOLOv3-608 on inferx_x1): {1e3 * fresh:.0f} ms searching, "
          f"{1e3 * best(lambda: build_program(spec, net), 5):.0f} ms with the candidate tables cached")
    times = {}
    for name, call in (("paused", "simulator.simulate"), ("on", "simulator.simulate.__wrapped__")):
        code = (f"import time, simulator; t = time.perf_counter(); {call}('inferx_x1', 'yolov3', input=(608, 608)); "
                "print(time.perf_counter() - t)")
        times[name] = min(float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                               check=True).stdout) for _ in range(3))
    print(f"first simulate() in a fresh process: {1e3 * times['paused']:.0f} ms with the cyclic GC paused, "
          f"{1e3 * times['on']:.0f} ms with it on")


if __name__ == "__main__":
    main()
