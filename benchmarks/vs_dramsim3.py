"""npusim's cycle-level DRAM against DRAMSim3 on its reference streams (docs/validation.md quotes this).

    .venv/bin/python benchmarks/vs_dramsim3.py [--set KEY=VALUE ...]

Replays the six streams x two injections of tests/fixtures/dramsim3/dramsim3_runs.csv through one
channel of each preset (DDR4-3200, LPDDR4-2400) with DRAMSim3's address mapping, with the default
controller and with the `dramsim3` controller preset, and prints a markdown table: DRAMSim3's
figure, npusim's under each controller and the errors, for finish cycles, bandwidth, mean read
latency, activates and refreshes. `--set` changes a DramSpec key of the default controller's
column (queue_depth=64, controller.write_buffer=32); `--one` prints the older one-controller table.
"""
from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FIXTURE = ROOT / "tests" / "fixtures" / "dramsim3" / "dramsim3_runs.csv"


def reference_rows() -> list[dict]:
    lines = [ln for ln in FIXTURE.read_text().splitlines() if not ln.startswith("#")]
    return list(csv.DictReader(lines))


def compare(fields: dict) -> list[dict]:
    from simulator.resources.dram import preset_spec
    from simulator.resources.dram_replay import DRAMSIM3_MAPPING, replay, synthetic_stream
    out = []
    for ref in reference_rows():
        spec = preset_spec(ref["grade"], address_mapping=DRAMSIM3_MAPPING, **fields)
        got = replay(spec, *synthetic_stream(spec, ref["stream"], ref["injection"]))
        out.append({"ref": ref, "got": got})
    return out


def _err(got, want) -> str:
    return f"{100 * (got - want) / want:+.1f}%" if want else "-"


def side_by_side(default: list[dict], preset: list[dict]) -> str:
    """The default controller's and the dramsim3 preset's errors against DRAMSim3, row by row."""
    lines = ["| grade | stream | inj. | DRAMSim3 finish / mean read lat. | default: finish / GB/s / read lat. error "
             "| dramsim3 preset: finish / GB/s / read lat. error | ACTs: DRAMSim3 / default / preset "
             "| REFs: DRAMSim3 / default / preset |",
             "|---|---|---|---|---|---|---|---|"]
    for a, b in zip(default, preset):
        ref = a["ref"]
        lat_ref = ref["mean_read_latency_cycles"]

        def errs(got):
            lat = "-" if lat_ref == "-" else _err(got["mean_read_latency_cycles"], float(lat_ref))
            return (f"{_err(got['finish_cycles'], int(ref['finish_cycles']))} / "
                    f"{_err(got['bandwidth_gbs'], float(ref['bandwidth_gbs']))} / {lat}")
        lines.append(f"| {ref['grade']} | {ref['stream']} | {ref['injection']} | {int(ref['finish_cycles']):,} / "
                     f"{lat_ref} | {errs(a['got'])} | {errs(b['got'])} | {int(ref['activates']):,} / "
                     f"{a['got']['activates']:,} / {b['got']['activates']:,} | {ref['refreshes']} / "
                     f"{a['got']['refreshes']} / {b['got']['refreshes']} |")
    return "\n".join(lines)


def table(rows: list[dict]) -> str:
    lines = ["| grade | stream | inj. | finish: DRAMSim3 / npusim / error | GB/s error | mean read latency: "
             "DRAMSim3 / npusim / error | ACTs: DRAMSim3 / npusim | REFs: DRAMSim3 / npusim |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ref, got = r["ref"], r["got"]
        fin, want_fin = got["finish_cycles"], int(ref["finish_cycles"])
        gbs = got["bandwidth_gbs"]
        lat_ref = ref["mean_read_latency_cycles"]
        lat = got["mean_read_latency_cycles"]
        lat_cell = "- / - / -" if lat_ref == "-" else f"{float(lat_ref):.1f} / {lat:.1f} / {_err(lat, float(lat_ref))}"
        lines.append(f"| {ref['grade']} | {ref['stream']} | {ref['injection']} | {want_fin:,} / {fin:,} / "
                     f"{_err(fin, want_fin)} | {_err(gbs, float(ref['bandwidth_gbs']))} | {lat_cell} | "
                     f"{int(ref['activates']):,} / {got['activates']:,} | {ref['refreshes']} / {got['refreshes']} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--one", action="store_true", help="one controller (the default, with --set) only")
    a = ap.parse_args()
    fields: dict = {}
    for kv in a.sets:                          # e.g. queue_depth=64, controller.write_buffer=32
        k, v = kv.split("=", 1)
        value = int(v) if v.lstrip("-").isdigit() else float(v) if v.replace(".", "", 1).isdigit() else v
        *parents, leaf = k.split(".")
        node = fields
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    if a.one:
        print(table(compare(fields)))
    else:
        print(side_by_side(compare(fields), compare({"controller": {"preset": "dramsim3"}})))


if __name__ == "__main__":
    main()
