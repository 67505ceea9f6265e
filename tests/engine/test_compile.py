"""What a first run compiles (docs/performance.md, "first run"): only the DRAM model it uses, and
every engine function once.

Run in a fresh process with an empty Numba cache, listening to Numba's compile events.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_RECORD = """
import json, sys
from collections import Counter
from numba.core import event
import simulator
seen = {}
class Listener(event.Listener):
    def on_start(self, e):
        f = e.data["dispatcher"].py_func
        seen.setdefault(sys.argv[2], Counter())[f.__module__ + "." + f.__qualname__] += 1
    def on_end(self, e):
        pass
event.register("numba:compile", Listener())
for model in ("bandwidth", "cycle"):
    sys.argv[2] = model
    simulator.simulate("teaching", "conv_micro", overrides={"memory.dram.model": model})
json.dump({m: dict(c) for m, c in seen.items()}, open(sys.argv[1], "w"))
"""

CYCLE_ONLY = ("simulator.engine.dram.", "simulator.engine.dram_frontend.", "simulator.engine.dram_cycle.")


def test_a_first_run_compiles_only_its_dram_model_and_each_function_once(tmp_path):
    out = tmp_path / "compiled.json"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-c", _RECORD, str(out), "model"], check=True, env=env, cwd=ROOT, timeout=600)
    compiled = json.loads(out.read_text())
    ours = {m: {f: n for f, n in c.items() if f.startswith("simulator.")} for m, c in compiled.items()}
    assert "simulator.engine.core.run_program" in ours["bandwidth"]
    assert not [f for f in ours["bandwidth"] if f.startswith(CYCLE_ONLY)], "bandwidth run compiled cycle-DRAM code"
    assert [f for f in ours["cycle"] if f.startswith(CYCLE_ONLY)], "cycle run compiled no cycle-DRAM code"
    # a constant argument (an event kind) must not make a second specialisation of a helper;
    # run_program is compiled once per DRAM model
    for model, funcs in ours.items():
        again = {f: n for f, n in funcs.items() if n > 1}
        assert not again, f"{model}: compiled more than once: {again}"
