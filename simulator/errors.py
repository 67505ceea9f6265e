"""Errors a user can cause: bad spec files, bad options, layers that cannot be mapped.

Every such error names the file and the dotted key so that the CLI can print one paragraph
and exit with code 2 instead of a traceback.
"""
from __future__ import annotations


class SpecError(ValueError):
    """A spec (arch, network, ONNX, sweep, --set) that cannot be accepted.

    `source` is the file (or '--set', '<python>'), `key` the dotted key path
    (``memory.sram.banks``) or a layer name, `message` what is wrong and what is allowed.
    """

    def __init__(self, source: str, key: str, message: str):
        self.source = str(source)
        self.key = key
        self.message = message
        super().__init__(self.__str__())

    def __reduce__(self):
        # keep the three fields when the error crosses a process boundary (sweeps, Dask)
        return (type(self), (self.source, self.key, self.message))

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        at = f"at '{self.key}': " if self.key else ""
        return f"{where}{at}{self.message}"


class MappingError(SpecError):
    """A layer that the described chip cannot execute (a tile that cannot fit, say)."""


class SpecWarning(UserWarning):
    """A spec that is accepted but says something the run will not do (a key the chosen model
    ignores). The CLI prints it as one line, "npusim: warning: ..."."""
