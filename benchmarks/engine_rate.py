"""Engine events per second, per DRAM model: the rate behind `ENGINE_EVENTS_PER_S`
(simulator/resources/memory.py), which turns a program's estimated events into the time left that
`npusim run` shows on a terminal.

    PYTHONPATH=. python benchmarks/engine_rate.py

For each case: build the program, then time `run_program` alone (warm cache, best of 3) and divide
`estimated_events(program)` by the seconds.
"""
from __future__ import annotations

import time

from simulator.engine.core import run_program
from simulator.mapping.program import build_program
from simulator.resources.memory import dram_record, estimated_events, memory_tables
from simulator.spec import load_arch
from simulator.workload import load_network

CASES = [("inferx_x1", "yolov3", 608), ("inferx_x1", "yolov3", 416), ("xavier_nx", "resnet50", 224),
         ("tesla_t4", "mobilenet_v2", 224), ("teaching", "conv_micro", None)]


def main() -> None:
    for model in ("bandwidth", "cycle"):
        for arch, net, size in CASES:
            spec = load_arch(arch, [f"memory.dram.model={model}"])
            program = build_program(spec, load_network(net, input_size=size), source=arch).program
            events = estimated_events(program)
            best = float("inf")
            for _ in range(3):
                dram = dram_record(spec, program)
                t0 = time.perf_counter()
                run_program(program, memory_tables(spec), dram)
                best = min(best, time.perf_counter() - t0)
            print(f"{model:9} {arch:10} {net:12} {size}  {events:>10,} events  {best:.3f} s  "
                  f"{events / best / 1e6:.2f} M events/s", flush=True)


if __name__ == "__main__":
    main()
