"""Run SCALE-Sim 3.0.0 once and print one JSON line. Runs in SCALE-Sim's own venv, not npusim's.

    /tmp/scalesim-venv/bin/python benchmarks/scalesim/run_scalesim.py CFG TOPOLOGY_CSV LAYOUT_CSV

Called by benchmarks/vs_scalesim.py. Calls the class as shared/refs/scalesim.md says (the CLI
ignores -s and always writes traces). Output goes to a temporary folder that is removed after
COMPUTE_REPORT.csv is read. Reports wall and CPU seconds of run_scale (and of the whole process,
imports included), ru_maxrss and SCALE-Sim's per-layer 'Total Cycles'.
"""
import csv
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

t_proc = time.perf_counter()
from scalesim.scale_sim import scalesim  # noqa: E402

cfg, topo, layout = sys.argv[1:4]
out_parent = Path(tempfile.mkdtemp(prefix="scalesim-out-"))
out = out_parent / "out"
try:
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    s = scalesim(save_disk_space=True, verbose=False, config=cfg, topology=topo, layout=layout,
                 input_type_gemm=False)
    s.run_scale(top_path=str(out))
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    reports = list(out.glob("*/COMPUTE_REPORT.csv"))
    rows = []
    with open(reports[0]) as fh:
        rd = csv.reader(fh)
        header = [h.strip() for h in next(rd)]
        for row in rd:
            if row and row[0].strip():
                rows.append(dict(zip(header, (c.strip() for c in row))))
    print(json.dumps({
        "run_scale_wall_s": t1 - t0,
        "run_scale_cpu_s": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime),
        "process_wall_s": t1 - t_proc,
        "maxrss_kib": r1.ru_maxrss,
        "total_cycles": [int(float(r["Total Cycles"])) for r in rows],
        "util_pct": [float(r["Overall Util %"]) for r in rows],
    }))
finally:
    shutil.rmtree(out_parent, ignore_errors=True)
