"""A binary min-heap of events keyed by (time, sequence number), in parallel int64 arrays.

Sequence numbers make the order of simultaneous events deterministic (STYLE habit 8).
"""
import numpy as np
from numba import njit


@njit(cache=True)
def heap_new(capacity):
    return np.zeros((capacity, 4), dtype=np.int64)   # columns: time, seq, kind, id


@njit(cache=True)
def heap_push(heap, size, time, seq, kind, ident):
    """Push one event; returns the (possibly grown) heap array. Caller increments size."""
    if size >= heap.shape[0]:
        bigger = np.zeros((heap.shape[0] * 2, 4), dtype=np.int64)
        bigger[:size] = heap[:size]
        heap = bigger
    i = size
    heap[i, 0] = time
    heap[i, 1] = seq
    heap[i, 2] = kind
    heap[i, 3] = ident
    while i > 0:
        parent = (i - 1) >> 1
        if heap[parent, 0] < heap[i, 0] or (heap[parent, 0] == heap[i, 0] and heap[parent, 1] < heap[i, 1]):
            break
        for c in range(4):
            tmp = heap[parent, c]
            heap[parent, c] = heap[i, c]
            heap[i, c] = tmp
        i = parent
    return heap


@njit(cache=True)
def heap_pop(heap, size):
    """Remove the smallest event into row `size - 1` (caller reads it there and decrements size)."""
    last = size - 1
    for c in range(4):
        tmp = heap[0, c]
        heap[0, c] = heap[last, c]
        heap[last, c] = tmp
    i = 0
    n = last
    while True:
        left = 2 * i + 1
        if left >= n:
            break
        smallest = left
        right = left + 1
        if right < n and (heap[right, 0] < heap[left, 0] or
                          (heap[right, 0] == heap[left, 0] and heap[right, 1] < heap[left, 1])):
            smallest = right
        if heap[i, 0] < heap[smallest, 0] or (heap[i, 0] == heap[smallest, 0] and heap[i, 1] < heap[smallest, 1]):
            break
        for c in range(4):
            tmp = heap[smallest, c]
            heap[smallest, c] = heap[i, c]
            heap[i, c] = tmp
        i = smallest
