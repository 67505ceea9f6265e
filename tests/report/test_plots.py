"""The PNG figures: produced at the expected size, not blank, and drawable again from the JSON summary."""
import json

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from simulator.pipeline import simulate  # noqa: E402
from simulator.report.plots import CAUSES, plot_from_dict, plot_layers, plot_timeline, timeline_summary  # noqa: E402


@pytest.fixture(scope="module")
def micro():
    return simulate("teaching", "conv_micro")


def _image(path):
    from matplotlib.image import imread
    return imread(path)


def _not_blank(img):
    h, w = img.shape[:2]
    centre = img[h // 4: 3 * h // 4, w // 4: 3 * w // 4, :3]
    assert centre.var() > 0


def test_timeline_png_has_the_expected_size_and_content(micro, tmp_path):
    """plot_timeline writes a 1200x900 PNG whose plot area is not blank."""
    path = tmp_path / "timeline.png"
    plot_timeline(micro, path)
    img = _image(path)
    assert img.shape[:2] == (900, 1200)
    _not_blank(img)


def test_layers_png_grows_with_the_layer_count(micro, tmp_path):
    """plot_layers writes a PNG 1100 px wide, at least 400 px high, not blank."""
    path = tmp_path / "layers.png"
    plot_layers(micro, path)
    img = _image(path)
    assert img.shape[1] == 1300 and img.shape[0] >= 400
    _not_blank(img)


def test_summary_is_json_and_conserves_array_time(micro):
    """The summary survives a JSON round trip; array-time fractions sum to 1 per bin; MACs are conserved."""
    data = json.loads(json.dumps(timeline_summary(micro, bins=50)))
    assert data["bins"] == 50 and set(data["array_time"]) == set(CAUSES)
    total = np.sum([data["array_time"][c] for c in CAUSES], axis=0)
    assert total == pytest.approx(np.ones(50), abs=1e-3)
    macs = np.sum(data["mac_utilization"]) * micro.chip_macs * data["bin_cycles"]
    assert macs == pytest.approx(micro.total_macs, rel=1e-3)
    dram = (np.sum(data["dram_read_gbps"]) + np.sum(data["dram_write_gbps"])) * 1e9 * data["bin_cycles"] / micro.clock_hz
    assert dram == pytest.approx(micro.dram_read_bytes + micro.dram_write_bytes, rel=1e-3)


def test_plot_from_saved_dict_matches_the_direct_plot(micro, tmp_path):
    """A summary loaded from JSON re-plots to the same image as plotting the Result directly."""
    direct, again = tmp_path / "a.png", tmp_path / "b.png"
    plot_timeline(micro, direct, bins=100)
    data = json.loads(json.dumps(timeline_summary(micro, bins=100)))
    plot_from_dict(data, again)
    assert np.array_equal(_image(direct), _image(again))
    with pytest.raises(ValueError):
        plot_from_dict(data, again, kind="pie")
