"""The event queue: a binary min-heap of (time, seq, kind, id) rows, keyed by (time, seq).

Sequence numbers make the order of simultaneous events deterministic (STYLE habit 8): among
events at one time, the one pushed first runs first. The queue's scalars live in `ev`
(EV_SIZE; the core keeps its loop scalars there too). `queue_push` never allocates: the core's
loop makes room (`queue_reserve`) before each event for the most any handler can push.
"""
import numpy as np

from simulator.engine.jit import helper, kernel

# ev: int64[EV_SIZE]
EV_N = 0             # events in the heap
EV_SEQ = 1           # next sequence number
EV_COUNT = 2         # events handled so far (reported as `events`)
EV_NOW = 3           # time of the event being handled
EV_DRAM_SCHED = 4    # time of the earliest pending DRAM wake-up, -1 none (core.py, D5)
EV_DRAM_CUT = 5      # >= 0: the DRAM look-ahead stopped at this time (core.py, D5)
EV_SIZE = 6
# heap row columns
H_TIME = 0
H_SEQ = 1
H_KIND = 2
H_ID = 3


@helper
def queue_new(capacity):
    """(heap, ev) for at least `capacity` pending events."""
    ev = np.zeros(EV_SIZE, np.int64)
    ev[EV_DRAM_SCHED] = -1
    ev[EV_DRAM_CUT] = -1
    return np.zeros((max(capacity, 16), 4), np.int64), ev


@helper
def queue_reserve(heap, ev, room):
    """The heap, grown if fewer than `room` rows are free (the only place it allocates)."""
    n = ev[EV_N]
    if n + room <= heap.shape[0]:
        return heap
    bigger = np.zeros((max(2 * heap.shape[0], n + room), 4), np.int64)
    for i in range(n):          # a loop: a slice copy would compile Numba's shape-error path (2 s)
        for c in range(4):
            bigger[i, c] = heap[i, c]
    return bigger


@kernel
def queue_push(heap, ev, time, kind, ident):
    """Push one event (the caller has reserved room).

    Sift up by moving a hole (each parent that comes later moves down one row; the event is written
    once where the hole stops) rather than by swapping rows: the same heap, half the writes.
    """
    seq = ev[EV_SEQ]
    i = ev[EV_N]
    ev[EV_N] = i + 1
    ev[EV_SEQ] = seq + 1
    while i > 0:
        parent = (i - 1) >> 1
        pt = heap[parent, H_TIME]
        if pt < time or (pt == time and heap[parent, H_SEQ] < seq):
            break
        for c in range(4):
            heap[i, c] = heap[parent, c]
        i = parent
    heap[i, H_TIME] = time
    heap[i, H_SEQ] = seq
    heap[i, H_KIND] = kind
    heap[i, H_ID] = ident


@kernel
def queue_pop(heap, ev):
    """Remove the earliest event; returns (time, kind, id).

    The last row fills the root's hole by sifting down (the earlier child moves up one row).
    """
    time, kind, ident = heap[0, H_TIME], heap[0, H_KIND], heap[0, H_ID]
    last = ev[EV_N] - 1
    ev[EV_N] = last
    lt, ls = heap[last, H_TIME], heap[last, H_SEQ]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= last:
            break
        right = child + 1
        if right < last and (heap[right, H_TIME] < heap[child, H_TIME] or (
                heap[right, H_TIME] == heap[child, H_TIME] and heap[right, H_SEQ] < heap[child, H_SEQ])):
            child = right
        ct = heap[child, H_TIME]
        if lt < ct or (lt == ct and ls < heap[child, H_SEQ]):
            break
        for c in range(4):
            heap[i, c] = heap[child, c]
        i = child
    if i != last:
        for c in range(4):
            heap[i, c] = heap[last, c]
    return time, kind, ident


@kernel
def queue_next_time(heap, ev, never):
    """Time of the earliest pending event, `never` if none."""
    return heap[0, H_TIME] if ev[EV_N] > 0 else never
