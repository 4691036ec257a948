"""Reading the reported files again (code frames, SARIF fingerprints)."""

from __future__ import annotations

import re
from array import array
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import overload

from pipelint.diagnostics import Diagnostic

__all__ = ["LazyLines", "Sources", "repository_root", "relative_to_repository"]

#: texts at least this long are cut into lines on demand (LazyLines)
LAZY_ABOVE = 1_000_000

# the line boundaries of str.splitlines()
_BOUNDARY = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")


class LazyLines(Sequence[str]):
    """``text.splitlines()`` as a sequence that makes each line only when it is asked
    for: the offsets of the line starts take 8 bytes a line, where the list of a 20 MB
    file's lines took 200 MB."""

    def __init__(self, text: str) -> None:
        self._text = text
        starts = array("q", [0])
        ends = array("q")
        for m in _BOUNDARY.finditer(text):
            ends.append(m.start())
            starts.append(m.end())
        if starts[-1] < len(text):
            ends.append(len(text))
        else:
            starts.pop()  # a boundary at the very end starts no line
        self._starts, self._ends = starts, ends

    def __len__(self) -> int:
        return len(self._ends)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._text[self._starts[index] : self._ends[index]]


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
        self._lines: dict[str, Sequence[str] | None] = {}
        self._texts = texts or {}

    def path(self, d: Diagnostic) -> Path:
        path = Path(d.path)
        return path if path.is_absolute() else self.cwd / path

    def lines(self, d: Diagnostic) -> Sequence[str] | None:
        if d.path not in self._lines:
            text = self.text(d)
            if text is None:
                self._lines[d.path] = None
            elif len(text) < LAZY_ABOVE:
                self._lines[d.path] = text.splitlines()
            else:  # a code frame needs 5 lines, not a list of millions of them
                self._lines[d.path] = LazyLines(text)
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
