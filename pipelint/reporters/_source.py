"""Reading the reported files again (code frames, SARIF fingerprints)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipelint.diagnostics import Diagnostic

__all__ = ["Sources", "repository_root", "relative_to_repository"]


def repository_root(start: Path) -> Path | None:
    """The top level of the git work tree holding ``start`` (the nearest folder at or
    above it with a ``.git`` entry: a directory, or the file of a worktree or
    submodule), resolved; None outside a repository."""
    import os

    here = Path(os.path.realpath(start))
    for directory in (here, *here.parents):
        if os.path.lexists(directory / ".git"):
            return directory
    return None


def relative_to_repository(path: Path, start: Path) -> str | None:
    """``path`` relative to the repository root found from ``start`` (posix), as GitHub
    names files; None when there is no repository or ``path`` is outside it."""
    import os

    root = repository_root(start)
    if root is None:
        return None
    try:
        return Path(os.path.realpath(path)).relative_to(root).as_posix()
    except ValueError:
        return None


class Sources:
    """The lines of the reported files, read and decoded once each (None when the
    file cannot be read or decoded)."""

    def __init__(self, cwd: Path, texts: Mapping[str, str | None] | None = None) -> None:
        self.cwd = cwd
        self._text: dict[Path, str | None] = {}
        self._lines: dict[str, list[str] | None] = {}
        self._texts = texts or {}

    def path(self, d: Diagnostic) -> Path:
        path = Path(d.path)
        return path if path.is_absolute() else self.cwd / path

    def lines(self, d: Diagnostic) -> list[str] | None:
        if d.path not in self._lines:
            text = self.text(d)
            self._lines[d.path] = text.splitlines() if text is not None else None
        return self._lines[d.path]

    def text(self, d: Diagnostic) -> str | None:
        """The decoded text of ``d``'s file, as checked (the offsets of fixes are in it)."""
        if d.path in self._texts:  # the source came from stdin: never the file on disk
            return self._texts[d.path]
        path = self.path(d)
        if path not in self._text:
            from pipelint.checker import DecodeError, decode_source

            try:
                from pipelint.discovery.read import read_regular

                self._text[path] = decode_source(read_regular(path))
            except (OSError, DecodeError):
                self._text[path] = None
        return self._text[path]
