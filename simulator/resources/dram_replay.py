"""Replay a DRAM request trace through one channel of the cycle-level model (`npusim dram replay`).

The trace format is DRAMSim3's: one request a line, `0xADDR READ|WRITE CYCLE` (the cycle in DRAM
clocks, non-decreasing; blank lines and lines starting with '#' are skipped). Requests are offered
in order, each at its cycle or, while the controller refuses it, every cycle after, at most one a
cycle (DRAMSim3's trace-driven front end). Latency counts from acceptance to the end of the data
burst, in DRAM cycles; writes are timed to the end of their data burst too.

`synthetic_stream` makes the six request streams of DRAMSim3's reference runs (docs/validation.md,
tests/fixtures/dramsim3/), so the controller can be compared with DRAMSim3's on equal terms.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from simulator.engine.dram import (FIELD_BA, FIELD_BG, FIELD_CO, ST_ACTS, ST_CONFLICTS, ST_HITS,
                                   ST_MISSES, ST_READS, ST_REFRESHES, ST_WRITES, replay_stream)
from simulator.errors import SpecError
from simulator.engine.dram_cmdq import cmdq_replay_stream
from simulator.resources.dram import cmdq_state_new_for, decode_many, dram_state_new, dram_tables

STREAMS = ("a_seq_rd", "b_seq_wr", "c_rw_4to1", "d_random", "e_row_miss", "f_pingpong")
INJECTIONS = ("sat", "fix")
# DRAMSim3's address mapping `rochrababgco` (one rank) in npusim's field names, MSB first
DRAMSIM3_MAPPING = "ro_ch_ba_bg_co"


def read_trace(path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(address, is_write, cycle) arrays of a DRAMSim3-format trace file; a SpecError names the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), "trace", f"cannot read the trace: {exc}") from None
    addr, write, cycle = [], [], []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        try:
            if len(parts) != 3 or parts[1].upper() not in ("READ", "WRITE"):
                raise ValueError
            a, c = int(parts[0], 0), int(parts[2])
        except ValueError:
            raise SpecError(str(path), f"line {n}", f"'{line}' is not a request; write '0xADDRESS READ|WRITE "
                                                    "CYCLE', e.g. '0x1f40 READ 120'") from None
        if a < 0 or c < 0 or (cycle and c < cycle[-1]):
            raise SpecError(str(path), f"line {n}", f"'{line}': addresses and cycles must be non-negative and "
                                                    f"cycles non-decreasing (the line before is at cycle {cycle[-1] if cycle else 0})")
        addr.append(a)
        write.append(parts[1].upper() == "WRITE")
        cycle.append(c)
    if not addr:
        raise SpecError(str(path), "trace", "the trace has no requests")
    return np.array(addr, np.int64), np.array(write, np.int64), np.array(cycle, np.int64)


def replay(dram_spec, addr, is_write, cycle) -> dict:
    """Replay requests through `dram_spec` (a DramSpec; its first channel): the figures of the run.

    Every request goes to channel 0 whatever its address bits say (the trace is one channel's).
    """
    tb = dram_tables(dram_spec, 10**9)
    ch, bank, row = decode_many(tb, addr)
    st = dram_state_new(tb)
    args = (np.ascontiguousarray(cycle, np.int64), np.zeros_like(ch), bank, row, np.ascontiguousarray(is_write, np.int64))
    if tb.cmd_queue_size:
        done, accepted = cmdq_replay_stream(tb, st, *cmdq_state_new_for(tb), *args)
    else:
        done, accepted = replay_stream(tb, st, *args)
    stats = st.stats.sum(axis=0)
    finish = int(done.max())
    reads = is_write == 0
    lat = done[reads] - accepted[reads]
    n = len(addr)
    return {
        "standard": dram_spec.standard, "grade": dram_spec.resolved_timing.speed_grade,
        "requests": n, "reads": int(stats[ST_READS]), "writes": int(stats[ST_WRITES]),
        "finish_cycles": finish,
        "bandwidth_gbs": n * tb.burst_bytes / (finish * tb.tck_ps * 1e-12) / 1e9 if finish else 0.0,
        "mean_read_latency_cycles": float(lat.mean()) if lat.size else None,
        "p99_read_latency_cycles": float(np.percentile(lat, 99, method="higher")) if lat.size else None,
        "max_read_latency_cycles": int(lat.max()) if lat.size else None,
        "row_hits": int(stats[ST_HITS]), "row_misses": int(stats[ST_MISSES]),
        "row_conflicts": int(stats[ST_CONFLICTS]), "activates": int(stats[ST_ACTS]),
        "refreshes": int(stats[ST_REFRESHES]), "request_bytes": int(tb.burst_bytes), "tck_ps": int(tb.tck_ps),
    }


def synthetic_stream(dram_spec, stream: str, injection: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(address, is_write, cycle) of one of DRAMSim3's reference streams (tests/fixtures/dramsim3/).

    Addresses assume DRAMSIM3_MAPPING (row | channel | bank | bank group | column above the
    request offset); one request is one burst.
    """
    if stream not in STREAMS or injection not in INJECTIONS:
        raise ValueError(f"stream {stream!r} / injection {injection!r}: streams {STREAMS}, injections {INJECTIONS}")
    tb = dram_tables(dram_spec, 10**9)
    B = tb.burst_bytes
    cols = int(tb.field_size[FIELD_CO])
    t = dram_spec.resolved_timing
    n = 20_000 if stream in ("e_row_miss", "f_pingpong") else 100_000
    i = np.arange(n, dtype=np.int64)
    write = np.zeros(n, np.int64)
    row_unit = cols * int(tb.field_size[FIELD_BG]) * int(tb.field_size[FIELD_BA])   # requests per row of all banks
    if stream in ("a_seq_rd", "b_seq_wr", "c_rw_4to1"):
        addr = i * B
        if stream == "b_seq_wr":
            write[:] = 1
        elif stream == "c_rw_4to1":
            write[4::5] = 1
    elif stream == "d_random":
        addr = np.random.default_rng(12345).integers(0, 2**30 // B, n).astype(np.int64) * B
    elif stream == "e_row_miss":
        addr = i * row_unit * B                              # bank 0, row i, column 0
    else:                                                    # f_pingpong: bank 0, two rows' columns in turn
        k = i // 2
        addr = ((2 * (k // cols) + i % 2) * row_unit + k % cols) * B
    gap = {"a_seq_rd": 2 * t.burst_cycles, "b_seq_wr": 2 * t.burst_cycles, "c_rw_4to1": 2 * t.burst_cycles,
           "d_random": 16, "e_row_miss": 2 * t.trc, "f_pingpong": t.trc}[stream]
    cycle = np.zeros(n, np.int64) if injection == "sat" else i * gap
    return addr, write, cycle
