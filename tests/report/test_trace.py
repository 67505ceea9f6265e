"""The Chrome trace export: valid Trace Event JSON, exact cycle accounting per unit track, bounded size."""
import json

import numpy as np
import pytest

from simulator.pipeline import simulate
from simulator.report.trace import PID_UNITS, spread, unit_segments, write_trace

CAUSES = ("dependency", "weights", "inputs", "outputs", "setup")


@pytest.fixture(scope="module")
def micro():
    return simulate("teaching", "conv_micro")


@pytest.fixture(scope="module")
def yolo416():
    return simulate("inferx_x1", "yolov3", input=(416, 416))


def _load(result, tmp_path, **kw):
    path = tmp_path / "trace.json"
    stats = write_trace(result, path, **kw)
    return json.loads(path.read_text()), stats


def _unit_tracks(doc):
    tracks = {}
    for ev in doc["traceEvents"]:
        if ev["ph"] == "X" and ev["pid"] == PID_UNITS:
            tracks.setdefault(ev["tid"], []).append(ev)
    return tracks


def _account(events):
    """Busy and per-cause cycles of one unit track, from the slices' args."""
    acc = dict.fromkeys(("busy", *CAUSES, "idle"), 0)
    for ev in events:
        a = ev["args"]
        if ev["cat"] == "tile":
            acc["busy"] += a["cycles"]
        elif ev["cat"] == "tiles":
            acc["busy"] += a["busy_cycles"]
            for c in CAUSES:
                acc[c] += a[f"stall_{c}"]
        elif ev["cat"] == "stall":
            acc[ev["name"].removeprefix("stall: ")] += a["cycles"]
        else:
            acc[ev["cat"]] += a["cycles"]
    return acc


def _check_tracks(result, doc):
    names = {ev["tid"]: ev["args"]["name"] for ev in doc["traceEvents"]
             if ev["ph"] == "M" and ev["name"] == "thread_name" and ev["pid"] == PID_UNITS}
    per_unit = {row["unit"]: row for row in result.per_array}
    tracks = _unit_tracks(doc)
    assert set(names[t] for t in tracks) == set(per_unit)
    for tid, events in tracks.items():
        events.sort(key=lambda e: e["ts"])
        for a, b in zip(events, events[1:]):
            assert a["ts"] + a["dur"] <= b["ts"] + 1e-6, (a, b)
        assert sum(e["args"]["cycles"] for e in events) == result.cycles
        acc = _account(events)
        row = per_unit[names[tid]]
        assert acc == {k: row[k] for k in acc}, names[tid]
        end = events[-1]["ts"] + events[-1]["dur"]
        assert end == pytest.approx(result.cycles / result.clock_hz * 1e6, abs=1e-3)


def test_trace_has_the_required_fields(micro, tmp_path):
    """The file is Trace Event JSON: traceEvents with ph/ts/pid/tid/name, and dur on X events."""
    doc, _ = _load(micro, tmp_path)
    assert doc["displayTimeUnit"] in ("ms", "ns")
    evs = doc["traceEvents"]
    assert evs
    for ev in evs:
        assert {"ph", "pid", "tid", "name"} <= ev.keys()
        if ev["ph"] != "M":
            assert isinstance(ev["ts"], (int, float)) and ev["ts"] >= 0
        if ev["ph"] == "X":
            assert ev["dur"] >= 0
    kinds = {ev.get("cat") for ev in evs if ev["ph"] == "X"}
    assert {"tile", "layer", "dram"} <= kinds
    assert any(ev["ph"] == "C" for ev in evs)
    assert any(ev["name"].startswith("stall: ") for ev in evs)


def test_unit_tracks_do_not_overlap_and_sum_to_the_makespan(micro, tmp_path):
    """On every unit track slices are disjoint and busy + stalls + idle == makespan, cause by cause."""
    doc, stats = _load(micro, tmp_path)
    assert not stats["merged_tracks"]
    _check_tracks(micro, doc)


def test_merging_bounds_the_slice_count_and_keeps_the_accounting(micro, yolo416, tmp_path):
    """With a small limit every track stays under it and the summed cycles in args stay exact."""
    for result, limit in ((micro, 40), (yolo416, 300)):
        doc, stats = _load(result, tmp_path, max_slices_per_track=limit)
        assert stats["merged_tracks"]
        for events in _unit_tracks(doc).values():
            assert len(events) <= limit
        assert stats["dram_slices"] <= limit
        _check_tracks(result, doc)
        tiles = sum(e["args"].get("tiles", 1) for evs in _unit_tracks(doc).values() for e in evs
                    if e["cat"] in ("tile", "tiles"))
        assert tiles == len(result.timeline.tile_unit)


def test_segments_match_the_engine_accounting(yolo416):
    """Each tile's gap splits into dependency, operand cause and setup exactly as tile_stalls says."""
    seg = unit_segments(yolo416)
    st = yolo416.timeline.tile_stalls[seg.tile]
    assert np.array_equal(seg.dep_end - seg.gap_start, st[:, 0])
    assert np.array_equal(seg.setup_start - seg.dep_end, st[:, 1:4].sum(axis=1))
    assert np.array_equal(seg.start - seg.setup_start, st[:, 4])
    assert (seg.gap_start <= seg.dep_end).all() and (seg.end >= seg.start).all()


def test_layer_lanes_and_dram_busy_do_not_overlap(yolo416, tmp_path):
    """Layer slices are packed into non-overlapping lanes; DRAM busy slices are disjoint and cover the bytes."""
    doc, _ = _load(yolo416, tmp_path)
    lanes, dram = {}, []
    for ev in doc["traceEvents"]:
        if ev["ph"] == "X" and ev["cat"] == "layer":
            lanes.setdefault(ev["tid"], []).append(ev)
        elif ev["ph"] == "X" and ev["cat"] == "dram":
            dram.append(ev)
    assert sum(len(v) for v in lanes.values()) == sum(1 for l in yolo416.layers if l.unit_kind != "none")
    for evs in [*lanes.values(), dram]:
        evs.sort(key=lambda e: e["ts"])
        for a, b in zip(evs, evs[1:]):
            assert a["ts"] + a["dur"] <= b["ts"] + 1e-6
    assert sum(e["args"]["bytes"] for e in dram) == yolo416.dram_read_bytes + yolo416.dram_write_bytes
    busy = sum(e["args"]["busy_cycles"] for e in dram)
    assert busy <= yolo416.cycles
    if "server_busy_cycles" in yolo416.memory["dram"]:      # the bandwidth model: one server's busy time
        assert yolo416.memory["dram"]["server_busy_cycles"] <= busy


def test_spread_conserves_amounts():
    """Spreading intervals over bins keeps each amount and splits it in proportion to overlap."""
    edges = np.array([0.0, 10.0, 20.0, 30.0])
    out = spread([5, 12, 25], [15, 12, 30], [100, 7, 50], edges)
    assert out == pytest.approx([50, 57, 50])


def test_yolov3_608_trace_stays_small(tmp_path):
    """The YOLOv3-608 trace on inferx_x1 stays well under 50 MB."""
    path = tmp_path / "y.json"
    write_trace(simulate("inferx_x1", "yolov3", input=(608, 608)), path)
    assert path.stat().st_size < 50e6
