"""npusim's systolic timing in SCALE-Sim-compatible mode equals SCALE-Sim 3.0.0's stall-free cycles.

Reference values: shared/refs/scalesim.md, "Reference values (SCALE-Sim 3.0.0 runs, CALC mode)".
SCALE-Sim's 'Total Cycles' is the 0-based index of the last cycle, so it is npusim's count - 1
per layer; network figures are sums over layers of SCALE-Sim's per-layer 'Total Cycles'.
"""
import csv
from pathlib import Path

import pytest

from simulator.mapping.systolic import IS, OS, WS, gemm_cycles, scalesim_total_cycles

FIXTURES = Path(__file__).parent.parent / "fixtures" / "scalesim"

# (topology CSV, array side, dataflow, SCALE-Sim Total Cycles, Overall Util % or None)
REFERENCE = [
    ("tiny_conv_10x10x8_3x3x8x8.csv", 8, WS, 1547, 55.850),
    ("tiny_conv_10x10x8_3x3x8x8.csv", 8, OS, 1375, 62.836),
    ("tiny_conv_10x10x8_3x3x8x8.csv", 8, IS, 2447, 35.309),
    ("single_conv_56x56x64_3x3x64.csv", 8, WS, 1_819_007, 99.303),
    ("single_conv_56x56x64_3x3x64.csv", 8, OS, 1_850_239, None),
    ("single_conv_56x56x64_3x3x64.csv", 8, IS, 2_427_263, None),
    ("resnet50_scalesim_repo.csv", 32, WS, 5_753_486, 59.06),
    ("resnet50_scalesim_repo.csv", 128, WS, 876_832, 24.22),
    ("yolov3_608.csv", 64, WS, 20_476_833, 83.87),
]


def read_topology(name: str) -> list[list[int]]:
    rows = []
    with open(FIXTURES / name) as fh:
        for row in csv.reader(fh):
            if not row or row[0].startswith(("#", "Layer")) or not row[0].strip():
                continue
            rows.append([int(x) for x in row[1:8]])
    return rows


@pytest.mark.parametrize("topology, side, dataflow, total, util", REFERENCE)
def test_matches_scalesim_total_cycles(topology, side, dataflow, total, util):
    """Summed per-layer stall-free cycles equal SCALE-Sim's, and so does the utilization."""
    layers = read_topology(topology)
    cycles = sum(scalesim_total_cycles(dataflow, side, side, *layer) for layer in layers)
    assert cycles == total
    if util is not None:
        macs = 0
        for h, w, fh, fw, c, m, s in layers:
            macs += ((h - fh + s) // s) * ((w - fw + s) // s) * fh * fw * c * m
        # SCALE-Sim's network utilization is the mean of per-layer utilizations for multi-layer runs;
        # for single layers it is MACs / (cycles x PEs).
        if len(layers) == 1:
            assert round(100 * macs / (cycles * side * side), 3) == pytest.approx(util, abs=0.001)


def test_overlapped_preload_is_faster_by_the_hidden_preloads():
    """Normal mode hides every preload but the first: (folds - 1) x rows cycles fewer."""
    serial = gemm_cycles(WS, 8, 8, 576, 64, 3136, overlap_preload=False)
    overlapped = gemm_cycles(WS, 8, 8, 576, 64, 3136, overlap_preload=True)
    assert serial.cycles - overlapped.cycles == (serial.folds - 1) * 8


def test_macs_per_pe_shortens_the_stream():
    """Two MACs per PE halve the streamed dimension (rounded up)."""
    one = gemm_cycles(OS, 4, 4, 9, 4, 16, macs_per_pe=1)
    two = gemm_cycles(OS, 4, 4, 9, 4, 16, macs_per_pe=2)
    assert one.stream_cycles == 9 and two.stream_cycles == 5
