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
results = {}
for model in ("bandwidth", "cycle"):
    sys.argv[2] = model
    r = simulator.simulate("teaching", "conv_micro", overrides={"memory.dram.model": model})
    results[model] = [r.cycles, r.events, r.to_dict()]
json.dump({"compiled": {m: dict(c) for m, c in seen.items()}, "results": results}, open(sys.argv[1], "w"))
"""

CYCLE_ONLY = ("simulator.engine.dram.", "simulator.engine.dram_frontend.", "simulator.engine.dram_cycle.")


def test_a_first_run_compiles_only_its_dram_model_and_each_function_once_and_the_next_loads_it(tmp_path):
    """Cold cache: each engine function compiled once, only the DRAM model used; a second process
    compiles nothing and gives the same results."""
    out = tmp_path / "compiled.json"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    subprocess.run([sys.executable, "-c", _RECORD, str(out), "model"], check=True, env=env, cwd=ROOT, timeout=600)
    first = json.loads(out.read_text())
    compiled = first["compiled"]
    ours = {m: {f: n for f, n in c.items() if f.startswith("simulator.")} for m, c in compiled.items()}
    assert "simulator.engine.core.run_program" in ours["bandwidth"]
    assert not [f for f in ours["bandwidth"] if f.startswith(CYCLE_ONLY)], "bandwidth run compiled cycle-DRAM code"
    assert [f for f in ours["cycle"] if f.startswith(CYCLE_ONLY)], "cycle run compiled no cycle-DRAM code"
    # a constant argument (an event kind) must not make a second specialisation of a helper;
    # run_program is compiled once per DRAM model
    for model, funcs in ours.items():
        again = {f: n for f, n in funcs.items() if n > 1}
        assert not again, f"{model}: compiled more than once: {again}"

    # a second process loads both models from the cache (engine/jit.py: no target-context refresh,
    # the library's symbol names instead of its bitcode), compiles nothing and gives the same results
    subprocess.run([sys.executable, "-c", _RECORD, str(out), "model"], check=True, env=env, cwd=ROOT, timeout=600)
    second = json.loads(out.read_text())
    assert not [f for c in second["compiled"].values() for f in c if f.startswith("simulator.")], second["compiled"]
    assert second["results"] == first["results"]
