"""The per-layer CSV and DataFrame, and the self-contained HTML page (checked in headless Chromium if present)."""
import csv
import re
import shutil
import subprocess
import sys

import pytest

from simulator.pipeline import simulate
from simulator.report.table_csv import to_dataframe, write_csv

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-headless-shell",
                             shutil.which("chromium") or "", shutil.which("chromium-headless-shell") or "")
                 if p and shutil.os.path.exists(p)), None)


@pytest.fixture(scope="module")
def micro():
    return simulate("teaching", "conv_micro")


@pytest.fixture(scope="module")
def page(micro, tmp_path_factory):
    pytest.importorskip("matplotlib")
    from simulator.report.html import write_html
    path = tmp_path_factory.mktemp("html") / "report.html"
    write_html(micro, path)
    return path


def _flat(layer: dict) -> dict:
    """The JSON layer with stall_cycles replaced, in place, by one stall_<cause> key per cause."""
    out = {}
    for k, v in layer.items():
        if k == "stall_cycles":
            out.update({f"stall_{c}": n for c, n in v.items()})
        elif k == "stall_by_resource":
            out.update({f"stall_by_{c}": n for c, n in v.items()})
        else:
            out[k] = v
    return out


def test_csv_matches_the_json_per_layer(micro, tmp_path):
    """Each CSV row equals the JSON layer (stall_cycles flattened), values parsed back exactly."""
    path = tmp_path / "layers.csv"
    write_csv(micro, path)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    layers = micro.to_dict()["layers"]
    assert len(rows) == len(layers)
    for row, layer in zip(rows, layers):
        want = _flat(layer)
        assert list(row) == list(want)
        for k, v in want.items():
            assert type(v)(row[k]) == v, k


def test_to_dataframe_needs_pandas_and_says_so(micro, monkeypatch):
    """Without pandas, to_dataframe raises ImportError naming pandas; with it, one row per layer."""
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match="pip install pandas"):
        to_dataframe(micro)
    monkeypatch.undo()
    try:
        import pandas  # noqa: F401
    except ImportError:
        return
    df = to_dataframe(micro)
    assert len(df) == len(micro.layers) and "stall_inputs" in df.columns


def test_html_is_self_contained(micro, page):
    """The page holds the summary, the per-layer table and two PNG data URIs, and no http(s) reference."""
    text = page.read_text()
    assert '<table class="layers"' in text
    assert all(f"<td>{l.name}</td>" in text for l in micro.layers)
    assert len(re.findall(r'src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', text)) == 2
    assert not re.search(r"https?://", text)
    assert "<script" not in text and "<link" not in text


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium (/usr/bin/chromium or chromium-headless-shell)")
def test_html_renders_in_headless_chromium(micro, page, tmp_path):
    """Headless Chromium loads the page offline: the DOM has the table and images, the console has no errors."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--dump-dom", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert 'id="layers"' in dom and micro.layers[-1].name in dom
    assert dom.count("data:image/png;base64,") == 2
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
