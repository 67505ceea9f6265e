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

# (topology CSV, rows (None: all, else row names), array side, dataflow, Total Cycles, Overall Util %, source)
# source "run": a SCALE-Sim 3.0.0 run; "formula": the stall-free formula's value, which SCALE-Sim
# was not run for (all 75 YOLOv3 convs would take it about an hour and ~100 GB); the formula is
# itself checked against every run above it.
YOLO_LAST_PAIR = ("L53_h19_0_1x1", "L54_h19_0_3x3")
REFERENCE = [
    ("tiny_conv_10x10x8_3x3x8x8.csv", None, 8, WS, 1547, 55.850, "run"),
    ("tiny_conv_10x10x8_3x3x8x8.csv", None, 8, OS, 1375, 62.836, "run"),
    ("tiny_conv_10x10x8_3x3x8x8.csv", None, 8, IS, 2447, 35.309, "run"),
    ("single_conv_56x56x64_3x3x64.csv", None, 8, WS, 1_819_007, 99.303, "run"),
    ("single_conv_56x56x64_3x3x64.csv", None, 8, OS, 1_850_239, 97.627, "run"),
    ("single_conv_56x56x64_3x3x64.csv", None, 8, IS, 2_427_263, 74.419, "run"),
    ("resnet50_scalesim_repo.csv", None, 32, WS, 5_753_486, 59.06, "run"),
    ("resnet50_scalesim_repo.csv", None, 128, WS, 876_832, 24.22, "run"),
    ("yolov3_608.csv", 4, 64, WS, 1_388_516, 68.85, "run"),
    ("yolov3_608.csv", YOLO_LAST_PAIR, 64, WS, 705_278, 65.52, "run"),
    ("yolov3_608.csv", None, 64, WS, 20_476_833, 83.87, "formula"),
]


def read_topology(name: str, rows=None) -> list[list[int]]:
    """The layers of a SCALE-Sim topology CSV: all, the first `rows`, or the rows named in `rows`."""
    out = []
    with open(FIXTURES / name) as fh:
        for row in csv.reader(fh):
            if not row or row[0].startswith(("#", "Layer")) or not row[0].strip():
                continue
            if isinstance(rows, tuple) and row[0].strip() not in rows:
                continue
            out.append([int(x) for x in row[1:8]])
    return out[:rows] if isinstance(rows, int) else out


@pytest.mark.parametrize("topology, rows, side, dataflow, total, util, source", REFERENCE,
                         ids=[f"{r[0].split('_')[0]}-{r[1] or 'all'}-{r[2]}-{r[3][:2]}-{r[6]}" for r in REFERENCE])
def test_matches_scalesim_total_cycles_and_utilization(topology, rows, side, dataflow, total, util, source):
    """Summed per-layer stall-free cycles equal SCALE-Sim's, and so does its Overall Util: the
    layers' MACs over (summed Total Cycles x PEs), with SCALE-Sim's ceil'd output size."""
    layers = read_topology(topology, rows)
    cycles = sum(scalesim_total_cycles(dataflow, side, side, *layer) for layer in layers)
    assert cycles == total
    macs = sum(-(-(h - fh + s) // s) * -(-(w - fw + s) // s) * fh * fw * c * m for h, w, fh, fw, c, m, s in layers)
    digits = len(str(util).split(".")[1])             # as many decimals as the reference gives
    assert round(100 * macs / (cycles * side * side), digits) == pytest.approx(util, abs=10 ** -digits / 2)


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
