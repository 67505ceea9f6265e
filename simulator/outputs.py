"""Output files: checked before the work, written atomically after it.

Every file an npusim command writes (--json, --trace, --plot, --csv, --report, sweep --out, -o)
is checked before anything is simulated, so a typo in a folder name costs nothing: the folder
must exist, the path must not be a folder, and the folder must be writable. The file is then
written to a temporary file next to it and renamed over the target, so an interrupted or failed
write never leaves half a file. A target that is not a regular file (/dev/stdout, a pipe) is
written in place. Every failure is a SpecError naming the option and the path (exit code 2).

The format follows the file name's extension (`FORMATS`: a plot may be .png, .svg or .pdf; a
JSON output must end in .json): any other extension is refused before the work, never written
in the wrong format under a misleading name. Two options naming the same file are refused.
Every file written is announced on stderr with its path and size (`npusim: wrote PATH (SIZE)`).
"""
from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Iterator

from simulator.errors import SpecError


def _is_special(path: Path) -> bool:
    """A device, pipe or socket: written in place, never replaced by a rename."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_output(path: str | os.PathLike | None, option: str) -> None:
    """Refuse, before any work, an output path that cannot be written. None and '-' pass."""
    if path is None or str(path) == "-":
        return
    target = Path(path)
    if str(path).strip() == "":
        raise SpecError(option, option, "the output path is empty")
    if target.is_dir():
        raise SpecError(option, str(path), "is a folder; give a file name inside it")
    if _is_special(target):
        if not os.access(target, os.W_OK):
            raise SpecError(option, str(path), "cannot be written (permission denied)")
        return
    folder = target.parent
    if not folder.exists():
        raise SpecError(option, str(path), f"the folder '{folder}' does not exist; create it first")
    if not folder.is_dir():
        raise SpecError(option, str(path), f"'{folder}' is not a folder")
    # the real test: can a file be created there (a read-only mount, /proc, permissions)?
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".check", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SpecError(option, str(path), f"cannot write in the folder '{folder}': "
                                           f"{exc.strerror or exc}") from None
    if target.exists() and not os.access(target, os.W_OK):
        raise SpecError(option, str(path), "the file exists and cannot be overwritten (permission denied)")


# option -> the extensions it can write (the first is the one suggested). An option not listed takes any name.
FORMATS = {
    "--json": (".json",), "--trace": (".json",), "--csv": (".csv",), "--report": (".html", ".htm"),
    "--plot": (".png", ".svg", ".pdf"), "--plot-layers": (".png", ".svg", ".pdf"),
    "--out": (".csv", ".parquet"), "--output": (".onnx",),
}


def check_format(path: str | os.PathLike | None, option: str) -> None:
    """Refuse a file name whose extension is not a format `option` writes (see FORMATS).

    None, '-' and special files (/dev/stdout, a pipe) pass: they have no extension to follow.
    """
    allowed = FORMATS.get(option)
    if path is None or str(path) == "-" or allowed is None or _is_special(Path(path)):
        return
    suffix = Path(path).suffix.lower()
    if suffix not in allowed:
        said = f"the extension '{suffix}'" if suffix else "no extension"
        raise SpecError(option, str(path), f"has {said}, but {option} writes {' or '.join(allowed)} "
                                           f"(the format follows the extension); name the file e.g. "
                                           f"'{Path(path).with_suffix(allowed[0]).name}'")


def check_outputs(**options: str | None) -> None:
    """check_output and check_format for each option=path given, e.g. check_outputs(json=..., trace=...);
    two options naming the same file are refused (one would overwrite the other)."""
    seen: dict[str, str] = {}
    for name, path in options.items():
        option = "--" + name.replace("_", "-")
        check_output(path, option)
        check_format(path, option)
        if path is None or str(path) == "-" or _is_special(Path(path)):
            continue
        key = os.path.realpath(path)
        if key in seen:
            raise SpecError(option, str(path), f"is also the file of {seen[key]}; one would overwrite the "
                                               "other, so give each output its own file")
        seen[key] = option


def image_format(path) -> str:
    """The matplotlib format of a figure file from its extension: 'png', 'svg' or 'pdf' (else 'png')."""
    suffix = Path(str(path)).suffix.lower().lstrip(".")
    return suffix if suffix in ("png", "svg", "pdf") else "png"


def announce(path: str | os.PathLike) -> None:
    """`npusim: wrote PATH (SIZE)` on stderr, for a regular file just written."""
    from simulator.units import format_bytes
    try:
        size = os.path.getsize(path)
    except OSError:
        return
    print(f"npusim: wrote {path} ({format_bytes(size)})", file=sys.stderr)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, option: str, quiet: bool = False) -> Iterator[str]:
    """Yield a temporary path next to `path`; on success it replaces `path` and is announced
    on stderr (unless `quiet`), else it is removed.

    An OSError (disk full, the folder removed meanwhile) becomes a SpecError naming the option.
    """
    target = Path(path)
    if _is_special(target):
        try:
            yield str(target)
        except OSError as exc:
            raise _write_error(option, path, exc) from None
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix, dir=target.parent or ".")
        os.close(fd)
    except OSError as exc:
        raise _write_error(option, path, exc) from None
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
        if not quiet:
            announce(target)
    except OSError as exc:
        raise _write_error(option, path, exc) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _write_error(option: str, path, exc: OSError) -> SpecError:
    reason = "the device is full" if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
    return SpecError(option, str(path), f"could not write the file: {reason}")


def write_text(path: str | os.PathLike, text: str, option: str) -> None:
    """Write `text` to `path` atomically (UTF-8)."""
    with atomic_path(path, option) as tmp:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)


def finite(data: object) -> object:
    """A copy of JSON-like data with NaN and +-Infinity as null (strict JSON has neither)."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: finite(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [finite(v) for v in data]
    return data


def json_text(data: dict) -> str:
    """Strict JSON (no NaN or Infinity: they are written as null)."""
    return json.dumps(finite(data), indent=2, allow_nan=False)
