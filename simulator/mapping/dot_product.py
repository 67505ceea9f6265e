"""Dot-product-array timing: one input vector broadcast to K dot-product units (NVDLA-style).

Each cycle the array takes one input vector of `width` channels at one output pixel and one
kernel position (r, s), and broadcasts it to `units` dot-product units; each unit holds the
weights of one output channel in its cells, multiplies the `width` pairs and sums them in an
adder tree. So the array does width x units MACs a cycle, the reduction over input channels is
cut into ceil(C / width) passes, the output channels into ceil(K / units) groups, and the
kernel window and the output pixels run in time:

    cycles = groups x ceil(C / width) x ceil(K / units) x P x Q x R x S + pipeline latency

per tile. Unlike a systolic array there is no skew to fill or drain per fold: the next pass's
weights are loaded into shadow registers in the cells while the current pass runs (weights
double-buffered in the cells), so the only fixed cost is the adder tree's pipeline latency,
paid once per tile. A layer with fewer input channels than `width` (an RGB first layer) leaves
most of each dot product idle; that is the array's real cost, not a modelling artefact.
"""
from __future__ import annotations

import numpy as np


def dot_product_cycles(width: int, units: int, channels, filters, positions, latency_cycles: int, groups=1):
    """Compute cycles of `groups` x (channels -> filters) over `positions` on a width x units array.

    `positions` is the number of (output pixel, kernel position) steps each pass streams: P x Q x
    R x S for a direct convolution, tiles x (m+2)^2 for Winograd. numpy-friendly (int64).
    """
    if not any(isinstance(v, np.ndarray) for v in (channels, filters, positions, groups)):
        # scalars (the mapper's search calls this per candidate): plain ints, no numpy overhead
        return int(groups) * (-(-int(channels) // width)) * (-(-int(filters) // units)) * int(positions) + latency_cycles
    passes = (-(-np.asarray(channels, np.int64) // width)) * (-(-np.asarray(filters, np.int64) // units))
    return np.asarray(groups, np.int64) * passes * np.asarray(positions, np.int64) + latency_cycles
