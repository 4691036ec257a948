"""Reading the reported files again (code frames, SARIF fingerprints)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipelint.diagnostics import Diagnostic

__all__ = ["Sources"]


class Sources:
    """The lines of the reported files, read and decoded once each (None when the
    file cannot be read or decoded)."""

    def __init__(self, cwd: Path, texts: Mapping[str, str | None] | None = None) -> None:
        self.cwd = cwd
        self._lines: dict[Path, list[str] | None] = {}
        self._texts = texts or {}

    def path(self, d: Diagnostic) -> Path:
        path = Path(d.path)
        return path if path.is_absolute() else self.cwd / path

    def lines(self, d: Diagnostic) -> list[str] | None:
        if d.path in self._texts:  # the source came from stdin: never the file on disk
            text = self._texts[d.path]
            return text.splitlines() if text is not None else None
        path = self.path(d)
        if path not in self._lines:
            from pipelint.checker import DecodeError, decode_source

            try:
                from pipelint.discovery.read import read_regular

                self._lines[path] = decode_source(read_regular(path)).splitlines()
            except (OSError, DecodeError):
                self._lines[path] = None
        return self._lines[path]
