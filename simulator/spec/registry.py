"""Where bundled specs live, and how a name or a path becomes a file.

`inferx_x1` means archs/inferx_x1.yaml; `./my_chip.yaml` means that file. The folders can be
moved with NPUSIM_ARCHS_DIR / NPUSIM_KERNELS_DIR (for a non-editable install).
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from simulator.errors import SpecError

_ROOT = Path(__file__).resolve().parent.parent.parent


def archs_dir() -> Path:
    return Path(os.environ.get("NPUSIM_ARCHS_DIR", _ROOT / "archs"))


def bundled_archs() -> dict[str, Path]:
    """Bundled chip name -> YAML path, sorted by name."""
    return {p.stem: p for p in sorted(archs_dir().glob("*.yaml"))}


def resolve(name_or_path: str | os.PathLike, bundled: dict[str, Path], kind: str) -> Path:
    """A bundled name or an existing file; otherwise a SpecError listing the bundled names."""
    text = str(name_or_path)
    if text in bundled:
        return bundled[text]
    path = Path(text)
    if path.is_file():
        return path
    near = difflib.get_close_matches(text, list(bundled), n=3)
    hint = f" Did you mean {', '.join(near)}?" if near else ""
    raise SpecError(text, "", f"no such {kind} file and no bundled {kind} of that name; "
                              f"bundled: {', '.join(bundled) or 'none'}.{hint}")
