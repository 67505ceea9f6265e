"""A hash of the tile program (every column, and each layer's tiling with its runner-up) of ten
chip x network cases, and the time to build each: run it before and after a change to the mapper
that must not change any program (docs/performance.md, "How the first map went from 0.54 to 0.25 s").

    .venv/bin/python benchmarks/program_hash.py > before.txt   # ... change ...
    .venv/bin/python benchmarks/program_hash.py > after.txt; diff <(cut -c1-62 before.txt) <(cut -c1-62 after.txt)
"""
import hashlib
import time

import numpy as np

from simulator.mapping.program import build_program
from simulator.spec import load_arch
from simulator.workload import load_network

CASES = [("inferx_x1", "yolov3", (608, 608)), ("inferx_x1", "yolov3", (1088, 1920)), ("tpu_v1", "yolov3", (416, 416)),
         ("tpu_v1", "resnet50", None), ("blaize_el_cano", "yolov3", (416, 416)), ("eyeriss_v1", "alexnet", None),
         ("teaching", "resnet50", None), ("inferx_x1", "mobilenet_v2", None), ("xavier_nx", "ssd_mobilenet", None),
         ("blaize_el_cano", "resnet50", None)]


def program_hash(mapped) -> str:
    h = hashlib.sha256()
    for name, v in mapped.program._asdict().items():
        h.update(name.encode())
        h.update(np.ascontiguousarray(v).tobytes() if isinstance(v, np.ndarray) else repr(v).encode())
    h.update(repr(sorted((k, repr(v)) for k, v in (mapped.tilings or {}).items())).encode())
    return h.hexdigest()[:16]


def main() -> None:
    for arch, net, size in CASES:
        spec = load_arch(arch)
        network = load_network(net, input_size=size) if size else load_network(net)
        t = time.perf_counter()
        mapped = build_program(spec, network)
        dt = time.perf_counter() - t
        print(f"{arch:16s} {net:14s} {str(size):12s} {program_hash(mapped)} {dt * 1e3:7.0f} ms", flush=True)


if __name__ == "__main__":
    main()
