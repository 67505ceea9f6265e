"""A GPU's L2 as a cache in front of the DRAM, decided at mapping time (mapping/gpu.py).

The L2 is `memory.sram`; every tensor and every weight lives in DRAM, and whether a thread
block's operand bytes come from the L2 (a hit) or from the DRAM (a miss) depends on what is
resident when the block runs, not on a placement of whole tensors.

Policy: least recently used over the whole capacity (NVIDIA does not publish its L2's replacement
policy; LRU is the textbook stand-in), write-allocate and write-back. Residency is tracked per
`SEGMENT_BYTES` of the DRAM address space (the engine's transfer chunk; the L2's own 128-byte
lines would cost 16 times the bookkeeping for the same decisions on streams of whole rows).

Time runs in *waves*: the blocks one kernel has resident at once on all SMs touch their
footprints together (the order of blocks within a wave is not modelled). A wave's reads are
decided against the L2 as the previous waves left it: a segment hits iff fewer than `capacity`
distinct segments were touched since it was last touched (LRU stack distance). Then the wave's
reads and writes become the most recent, and whatever the capacity no longer holds is evicted;
an evicted dirty segment is written back to the DRAM, unless its tensor is dead (no layer reads
it again: the inference runtime reuses that memory, so the next write to it overwrites the line
in the L2). A missed segment's DRAM bytes are charged to the first block of the wave that reads
it; write-backs to the wave's blocks evenly.

The stack distance is counted with one histogram of last-touch times, so a wave costs numpy
operations over its own footprint and the number of waves so far, never a scan of the cache.
"""
from __future__ import annotations

import numpy as np

from simulator.engine.constants import CHUNK_BYTES

SEGMENT_BYTES = CHUNK_BYTES


def segments_of(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Segments covering byte ranges [lo, hi): (segment ids, index of the range each came from)."""
    lo = np.asarray(lo, np.int64)
    hi = np.asarray(hi, np.int64)
    first = lo // SEGMENT_BYTES
    count = np.where(hi > lo, (hi - 1) // SEGMENT_BYTES - first + 1, 0)
    owner = np.repeat(np.arange(len(lo), dtype=np.int64), count)
    starts = np.repeat(first - np.concatenate(([0], np.cumsum(count)[:-1])), count)
    return starts + np.arange(int(count.sum()), dtype=np.int64), owner


class L2Cache:
    """LRU residency of DRAM segments; one `wave` call per wave of thread blocks (module docstring)."""

    def __init__(self, capacity_bytes: int, address_space_bytes: int, segment_tensor: np.ndarray):
        self.capacity = max(capacity_bytes // SEGMENT_BYTES, 0)
        n = address_space_bytes // SEGMENT_BYTES + 1
        self.last = np.full(n, -1, np.int64)          # wave of the last touch, -1: never (or evicted)
        self.dirty = np.zeros(n, bool)
        self.tensor = segment_tensor                  # tensor id per segment, -1 for weights
        self.dead = np.zeros(int(segment_tensor.max(initial=0)) + 2, bool)
        self.hist = np.zeros(1024, np.int64)          # segments whose last touch is wave t
        self.now = 0
        self.evicted_upto = -1                        # every segment last touched at or before: evicted
        self.touched_at: list[np.ndarray] = []        # segments touched per wave (for eviction)

    def kill(self, tensor: int) -> None:
        """No later layer reads `tensor`: its dirty segments are dropped, not written back."""
        if 0 <= tensor + 1 < len(self.dead):
            self.dead[tensor + 1] = True

    def wave(self, reads: np.ndarray, read_owner: np.ndarray, n_blocks: int,
             writes: np.ndarray) -> tuple[np.ndarray, int]:
        """One wave: segments read (with the block reading each) and written.

        Returns (missed read segments per block: int64[n_blocks], segments written back).
        """
        t = self.now
        if t >= len(self.hist):
            self.hist = np.concatenate((self.hist, np.zeros(len(self.hist), np.int64)))
        # first reader of each distinct segment in the wave
        uniq, first = np.unique(reads, return_index=True)
        owner = read_owner[first]
        last = self.last[uniq]
        newer = self._newer(t)
        hit = (last > self.evicted_upto) & (newer[np.maximum(last, -1) + 1] < self.capacity)
        missed = np.bincount(owner[~hit], minlength=n_blocks).astype(np.int64)
        touched = np.union1d(uniq, writes)
        old = self.last[touched]
        np.subtract.at(self.hist, old[old >= 0], 1)
        self.hist[t] += len(touched)
        self.last[touched] = t
        if len(writes):
            self.dirty[writes] = True
        self.touched_at.append(touched)
        written_back = self._evict(t)
        self.now += 1
        return missed, written_back

    def _newer(self, t: int) -> np.ndarray:
        """newer[x]: segments last touched at wave >= x (x = 0 .. t + 1)."""
        return np.concatenate((np.cumsum(self.hist[:t + 1][::-1])[::-1], [0]))

    def _evict(self, t: int) -> int:
        """Evict the waves wholly outside the newest `capacity` segments (a wave partly inside stays
        whole); dirty segments of live tensors are written back. Returns the segments written back."""
        newer = self._newer(t)
        out = np.nonzero(newer[1:t + 1] >= self.capacity)[0]     # wave w: segments newer than it >= capacity
        if not len(out):
            return 0
        upto = int(out[-1])
        written = 0
        for w in range(self.evicted_upto + 1, upto + 1):
            segs = self.touched_at[w]
            if segs is None:
                continue
            segs = segs[self.last[segs] == w]
            if len(segs):
                d = segs[self.dirty[segs]]
                if len(d):
                    live = ~self.dead[self.tensor[d] + 1]
                    written += int(live.sum())
                    self.dirty[d] = False
                self.hist[w] -= len(segs)
                self.last[segs] = -1
            self.touched_at[w] = None
        self.evicted_upto = max(self.evicted_upto, upto)
        return written
