"""The Python API takes a network as a dict with a YAML file's keys, as it takes an arch dict."""
import pytest

import simulator
from simulator.errors import SpecError

TINY = {"name": "tiny", "input": {"channels": 3, "size": [16, 16]},
        "layers": [{"name": "c1", "op": "conv2d", "out_channels": 8, "kernel": 3, "padding": 1}]}


def test_a_network_dict_simulates_like_its_yaml(tmp_path):
    """The same mapping as a dict and as a YAML file gives the same cycles."""
    import yaml
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY))
    assert simulator.simulate("teaching", TINY).cycles == simulator.simulate("teaching", str(path)).cycles


@pytest.mark.parametrize("bad", [42, {"name": "x", "layers": [], "bogus": 1}, "/" + "x" * 5000])
def test_a_bad_network_argument_is_a_spec_error(bad):
    """Not a name, path or mapping, an unknown key, a name too long for the file system: SpecError."""
    with pytest.raises(SpecError):
        simulator.simulate("teaching", bad)
