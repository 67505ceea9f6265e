"""Speed of the cycle-level DRAM controller alone: 1 M sequential read bursts on inferx_x1's channel.

    .venv/bin/python benchmarks/dram_stream.py            # prints us per request
    perf record -g .venv/bin/python benchmarks/dram_stream.py && perf report --no-children
"""
import time

import numpy as np

import simulator
from simulator.engine import dram as D
from simulator.resources.dram import decode_many, dram_state_new, dram_tables


def main(n: int = 1_000_000) -> None:
    tb = dram_tables(simulator.load_arch("inferx_x1"))
    addr = np.arange(n, dtype=np.int64) * tb.burst_bytes
    ch, bank, row = decode_many(tb, addr)
    arrival = np.zeros(n, np.int64)
    is_write = np.zeros(n, np.int64)
    D.simulate_stream(tb, dram_state_new(tb), arrival[:10], ch[:10], bank[:10], row[:10], is_write[:10])  # compile
    st = dram_state_new(tb)
    t = time.perf_counter()
    D.simulate_stream(tb, st, arrival, ch, bank, row, is_write)
    elapsed = time.perf_counter() - t
    print(f"{n:,} sequential bursts: {elapsed:.2f} s, {elapsed / n * 1e6:.2f} us per request, "
          f"{int(st.stats[0, D.ST_READS]):,} reads, {int(st.stats[0, D.ST_REFRESHES])} refreshes")


if __name__ == "__main__":
    main()
