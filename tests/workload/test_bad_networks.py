"""Bad network files and options: each is one SpecError naming the file, the key and the fix."""
from __future__ import annotations

import textwrap

import pytest

from simulator.errors import SpecError
from simulator.workload import load_network

HEADER = """\
name: bad
input: {channels: 8, size: [16, 16]}
layers:
"""


def _write(tmp_path, body: str, header: str = HEADER):
    path = tmp_path / "bad.yaml"
    path.write_text(header + textwrap.dedent(body))
    return path


def _error(path, *needles: str, **kwargs) -> SpecError:
    """Load `path`, expect a SpecError naming the file and every needle."""
    with pytest.raises(SpecError) as info:
        load_network(path, **kwargs)
    err = info.value
    text = str(err)
    assert str(path) in text and err.source == str(path)
    for needle in needles:
        assert needle in text, f"{needle!r} not in {text!r}"
    return err


def test_unknown_op_lists_the_allowed_ops(tmp_path):
    """An unknown op names the key, lists the allowed ops and suggests the closest."""
    path = _write(tmp_path, """\
      - {name: c0, op: conv2d, out_channels: 8, kernel: 3}
      - {name: c1, op: conv2, out_channels: 8, kernel: 3}
    """)
    err = _error(path, "layers[1].op", "'conv2'", "conv2d, fc, matmul", "did you mean 'conv2d'")
    assert err.key == "layers[1].op"
    assert "line 5" in str(err)


def test_missing_required_key(tmp_path):
    """A conv2d without out_channels is refused with the key it needs."""
    path = _write(tmp_path, "  - {name: c0, op: conv2d, kernel: 3}\n")
    _error(path, "layers[0].out_channels", "missing required key 'out_channels'", "c0")


def test_misspelt_key_suggests_the_closest(tmp_path):
    """A typo in a layer key ('kernal') suggests 'kernel' and lists the allowed keys."""
    path = _write(tmp_path, "  - {name: c0, op: conv2d, out_channels: 8, kernal: 3}\n")
    _error(path, "layers[0].kernal", "unknown key 'kernal'", "did you mean 'kernel'",
           "allowed keys")


def test_key_of_another_op_says_where_it_belongs(tmp_path):
    """A key valid for another op ('scale' on conv2d) says which op it belongs to."""
    path = _write(tmp_path, "  - {name: c0, op: conv2d, out_channels: 8, kernel: 3, scale: 2}\n")
    _error(path, "layers[0].scale", "belongs to op upsample")


@pytest.mark.parametrize("field, value", [("kernel", 0), ("out_channels", -4), ("stride", 0),
                                          ("kernel", "[3, 0]"), ("groups", 0),
                                          ("dilation", -1), ("kernel", 2.5)])
def test_non_positive_sizes_are_refused(tmp_path, field, value):
    """Zero, negative or fractional sizes name the key and say a positive integer is needed."""
    fields = {"out_channels": 8, "kernel": 3}
    fields[field] = value
    body = ", ".join(f"{k}: {v}" for k, v in fields.items())
    path = _write(tmp_path, f"  - {{name: c0, op: conv2d, {body}}}\n")
    _error(path, f"layers[0].{field}", "positive integer")


def test_negative_padding_is_refused(tmp_path):
    """Padding must be >= 0 or a known word."""
    path = _write(tmp_path, "  - {name: c0, op: conv2d, out_channels: 8, kernel: 3, "
                  "padding: -1}\n")
    _error(path, "layers[0].padding", ">= 0")
    path = _write(tmp_path, "  - {name: c0, op: conv2d, out_channels: 8, kernel: 3, "
                  "padding: full}\n")
    _error(path, "layers[0].padding", "'same' or 'valid'")


def test_duplicate_layer_name(tmp_path):
    """Two layers with one name: the second is refused, the first is cited."""
    path = _write(tmp_path, """\
      - {name: c0, op: conv2d, out_channels: 8, kernel: 3, padding: 1}
      - {name: c0, op: conv2d, out_channels: 8, kernel: 3, padding: 1}
    """)
    _error(path, "layers[1].name", "duplicate layer name 'c0'", "layers[0]")


def test_input_is_a_reserved_name(tmp_path):
    """'input' names the graph input and cannot name a layer."""
    path = _write(tmp_path, "  - {name: input, op: conv2d, out_channels: 8, kernel: 1}\n")
    _error(path, "layers[0].name", "graph input")


def test_dangling_input_names_near_matches(tmp_path):
    """A reference to a missing layer names it and suggests near matches."""
    path = _write(tmp_path, """\
      - {name: conv1, op: conv2d, out_channels: 8, kernel: 3, padding: 1}
      - {name: conv2, op: conv2d, out_channels: 8, kernel: 3, padding: 1}
      - {name: sum, op: add, inputs: [conv1, covn2]}
    """)
    _error(path, "layers[2].inputs", "'covn2'", "did you mean", "'conv2'")


def test_cycle_is_refused(tmp_path):
    """Layers that read each other form a cycle; the message spells it out."""
    path = _write(tmp_path, """\
      - {name: a, op: conv2d, inputs: [c], out_channels: 8, kernel: 1}
      - {name: b, op: conv2d, out_channels: 8, kernel: 1}
      - {name: c, op: add, inputs: [b, input]}
    """)
    _error(path, "layers[0].inputs", "cycle", "a -> b -> c -> a")


def test_self_reference_is_a_cycle(tmp_path):
    """A layer that reads itself is a cycle too."""
    path = _write(tmp_path, "  - {name: a, op: add, inputs: [input, a]}\n")
    _error(path, "layers[0].inputs", "cycle")


def test_kernel_larger_than_padded_input(tmp_path):
    """A 5x5 window on a 3x3 padded input is refused with both sizes and the layer."""
    path = _write(tmp_path, "  - {name: big, op: conv2d, out_channels: 8, kernel: 5}\n",
                  header=HEADER.replace("[16, 16]", "[3, 3]"))
    _error(path, "layers[0].kernel", "layer 'big'", "5x5", "padded input 3x3", "<= 0")


def test_output_size_not_positive_at_a_small_input_size():
    """conv_micro at 2x2: the tiny layer's 3x3 valid conv cannot fit, at 'layers[0].kernel'."""
    with pytest.raises(SpecError) as info:
        load_network("conv_micro", input_size=(2, 2))
    text = str(info.value)
    assert "conv_micro.yaml" in text and "layers[0].kernel" in text
    assert "layer 'tiny'" in text and "network input 2x2" in text and "8x2x2" in text


def test_yolov3_at_a_size_not_divisible_by_32():
    """YOLOv3 at 610: the upsampled 40x40 map cannot be concatenated with the 39x39 route."""
    with pytest.raises(SpecError) as info:
        load_network("yolov3", input_size=610)
    text = str(info.value)
    assert "yolov3.yaml" in text and "route86" in text and ".inputs" in text
    assert "256x40x40" in text and "512x39x39" in text and "610x610" in text


def test_concat_with_mismatched_sizes(tmp_path):
    """Concat needs equal H and W on all inputs."""
    path = _write(tmp_path, """\
      - {name: half, op: conv2d, out_channels: 8, kernel: 3, stride: 2, padding: 1}
      - {name: cat, op: concat, inputs: [half, input]}
    """)
    _error(path, "layers[1].inputs", "concat", "half 8x8x8", "input 8x16x16")


def test_add_with_mismatched_shapes(tmp_path):
    """Add needs identical shapes; channel counts differ here."""
    path = _write(tmp_path, """\
      - {name: wide, op: conv2d, out_channels: 16, kernel: 1}
      - {name: sum, op: add, inputs: [wide, input]}
    """)
    _error(path, "layers[1].inputs", "identical shape", "wide 16x16x16", "input 8x16x16")


def test_groups_must_divide_channels(tmp_path):
    """groups=3 does not divide 8 input channels."""
    path = _write(tmp_path, "  - {name: g, op: conv2d, out_channels: 9, kernel: 3, groups: 3}\n")
    _error(path, "layers[0].groups", "groups=3", "8 input channels")
    path = _write(tmp_path, "  - {name: g, op: conv2d, out_channels: 6, kernel: 3, groups: 4}\n")
    _error(path, "layers[0].groups", "out_channels=6")


def test_wrong_number_of_inputs(tmp_path):
    """A conv reads one input; an add or concat needs two or more."""
    path = _write(tmp_path, "  - {name: c, op: conv2d, inputs: [input, input], "
                  "out_channels: 8, kernel: 1}\n")
    _error(path, "layers[0].inputs", "exactly one input")
    path = _write(tmp_path, "  - {name: s, op: add}\n")
    _error(path, "layers[0].inputs", "at least 2 inputs")


def test_unknown_activation_suggests(tmp_path):
    """An unknown activation lists the allowed ones and suggests the closest."""
    path = _write(tmp_path, "  - {name: c, op: conv2d, out_channels: 8, kernel: 1, "
                  "activation: leaky}\n")
    _error(path, "layers[0].activation", "relu6", "did you mean 'leaky_relu'")


@pytest.mark.parametrize("size", [0, -3, (16, 0), "0x16", "axb", (1, 2, 3), 2.5])
def test_bad_input_size(size):
    """A non-positive or malformed --input size is a SpecError at 'input_size'."""
    with pytest.raises(SpecError) as info:
        load_network("conv_micro", input_size=size)
    assert info.value.key == "input_size" and "conv_micro.yaml" in str(info.value)


def test_bad_batch():
    """Batch must be a positive integer."""
    with pytest.raises(SpecError) as info:
        load_network("conv_micro", batch=0)
    assert info.value.key == "batch"


def test_bad_default_input_in_file(tmp_path):
    """The file's input size and channels are checked where they are written."""
    path = _write(tmp_path, "  - {name: c, op: conv2d, out_channels: 8, kernel: 1}\n",
                  header=HEADER.replace("[16, 16]", "[0, 16]"))
    _error(path, "input.size", "positive integer")
    path = _write(tmp_path, "  - {name: c, op: conv2d, out_channels: 8, kernel: 1}\n",
                  header=HEADER.replace("channels: 8", "chanels: 8"))
    _error(path, "input.chanels", "did you mean 'channels'")


def test_yaml_syntax_error_has_a_line_number(tmp_path):
    """Broken YAML becomes a SpecError with the line."""
    path = _write(tmp_path, "  - {name: c, op: conv2d, out_channels: 8, kernel: [1, 1}\n")
    _error(path, "line 4", "invalid YAML")


def test_duplicate_yaml_key_is_refused(tmp_path):
    """The same key twice in one layer is an error, not a silent override."""
    path = _write(tmp_path, "  - {name: c, op: conv2d, out_channels: 8, kernel: 1, kernel: 3}\n")
    _error(path, "duplicate key 'kernel'", "line 4")


def test_unknown_top_level_key_and_missing_layers(tmp_path):
    """Top-level typos are suggested; an empty layer list is refused."""
    path = _write(tmp_path, "", header=HEADER.replace("layers:", "layer:\n  - {name: c}"))
    _error(path, "unknown key 'layer'", "did you mean 'layers'")
    path = _write(tmp_path, "", header=HEADER)
    _error(path, "'layers'", "missing or empty")


def test_unknown_bundled_name_lists_the_bundled_networks():
    """An unknown network name suggests close names and lists the bundled ones."""
    with pytest.raises(SpecError) as info:
        load_network("yolo3")
    text = str(info.value)
    assert "did you mean yolov3" in text and "resnet50" in text


def test_missing_file_is_a_spec_error(tmp_path):
    """A path that does not exist is a SpecError naming it."""
    with pytest.raises(SpecError) as info:
        load_network(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)
