"""spec/load.py parses YAML with libyaml when installed and falls back to PyYAML's parser for errors."""
from pathlib import Path

import pytest
import yaml

from simulator.errors import SpecError
from simulator.spec import load as L
from simulator.workload import from_yaml as F

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([*ROOT.glob("archs/*.yaml"), *ROOT.glob("kernels/**/*.yaml")])
needs_libyaml = pytest.mark.skipif(not getattr(yaml, "__with_libyaml__", False), reason="no libyaml")


def _same(a, b, where):
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert list(a) == list(b) and getattr(a, "line", None) == getattr(b, "line", None), where
        for k in a:
            _same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, where


@needs_libyaml
@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_bundled_files_parse_the_same_with_libyaml(path):
    """Every bundled chip and network gives the same values (and mapping lines) from both parsers."""
    text = path.read_text()
    for loader in (L._StrictLoader, F._Loader):
        _same(L._compose_and_construct(text, loader, str(path)),
              L._compose_and_construct(text, L._with_libyaml(loader), str(path)), path.name)


@pytest.mark.parametrize("text", ["a: [1, 2\nb: 3\n", "a: 1\na: 2\n", "a: \x07\n", "a: " + "[" * 2000 + "]" * 2000])
def test_an_error_is_pyyamls_own(text):
    """A text libyaml refuses (or that PyYAML refuses for a character) fails exactly as with PyYAML."""
    def error(fn):
        try:
            fn()
        except (yaml.YAMLError, SpecError) as exc:
            return type(exc), str(exc)
        return None
    want = error(lambda: L._compose_and_construct(text, L._StrictLoader, "f.yaml"))
    assert want is not None
    assert error(lambda: L.load_yaml_text(text, L._StrictLoader, "f.yaml")) == want
