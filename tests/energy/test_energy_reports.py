"""Energy in the reports: compare columns, HTML section, summary lines and sweep metrics."""
from __future__ import annotations

import pytest

import simulator
from simulator.report.compare import COLUMNS, compare_row
from simulator.report.energy import energy_rows
from simulator.report.html import render_html
from simulator.sweep.summary import BEST_METRICS, METRIC_LABELS, PARETO_FRONTS, pareto_front
from simulator.sweep.execute import RESULT_COLUMNS


@pytest.fixture(scope="module")
def run():
    """One small run on the teaching chip."""
    return simulator.simulate("teaching", "conv_micro")


def test_compare_row_has_energy_columns(run):
    """The compare row carries energy per frame, power and fps per watt from the Result."""
    row = compare_row(run)
    assert {"energy_mj_per_frame", "power_w", "fps_per_watt"} <= set(COLUMNS) <= set(row)
    assert row["fps_per_watt"] == pytest.approx(run.fps / run.power_w)
    assert row["energy_mj_per_frame"] == pytest.approx(1e3 * run.energy_j)


def test_html_and_summary_show_energy(run):
    """The HTML page has an energy table; the summary lines name energy, power and efficiency."""
    page = render_html(run, bins=20)
    assert 'id="energy"' in page and "local buffers" in page
    labels = [k for k, _ in energy_rows(run)]
    assert labels[:3] == ["energy", "power", "efficiency"]


def test_sweep_has_energy_metric_and_pareto_axis():
    """Sweeps record energy_j, power_w and fps_per_watt and keep the fps-vs-energy Pareto front."""
    assert {"energy_j", "power_w", "fps_per_watt"} <= set(RESULT_COLUMNS)
    assert "fps_per_watt" in BEST_METRICS and "energy_j" in METRIC_LABELS
    assert ("energy_j", "energy per inference") in PARETO_FRONTS
    rows = [{"point": i, "status": "ok", "fps": f, "energy_j": e}
            for i, (f, e) in enumerate([(10, 1.0), (8, 2.0), (12, 3.0), (12, 4.0)])]
    assert [r["point"] for r in pareto_front(rows, "energy_j")] == [0, 2]
