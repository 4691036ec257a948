"""Which files to check: walk directories, honour ``.gitignore`` and ``exclude``.

Files named on the command line are always checked (as ruff does without
``--force-exclude``); directories are walked recursively for ``*.py``/``*.pyi``.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from pipelint.config import Config

__all__ = ["discover", "Discovered"]

SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class Discovered:
    path: Path
    explicit: bool  # named on the command line
    missing: bool = False


def _excluded(rel: str, name: str, patterns: tuple[str, ...]) -> bool:
    for pattern in patterns:
        p = pattern.rstrip("/")
        if "/" in p:
            if fnmatch.fnmatchcase(rel, p) or rel.startswith(p + "/"):
                return True
        elif fnmatch.fnmatchcase(name, p):
            return True
    return False


class _GitIgnores:
    """The .gitignore files that apply to a directory (its own and its ancestors')."""

    def __init__(self, stop: Path) -> None:
        self.stop = stop
        self._specs: dict[Path, pathspec.PathSpec | None] = {}

    def _spec(self, directory: Path) -> pathspec.PathSpec | None:
        if directory not in self._specs:
            spec = None
            gi = directory / ".gitignore"
            try:
                if gi.is_file():
                    lines = gi.read_text(encoding="utf-8", errors="replace").splitlines()
                    spec = pathspec.PathSpec.from_lines("gitwildmatch", lines)
            except OSError:
                spec = None
            self._specs[directory] = spec
        return self._specs[directory]

    def ignored(self, path: Path, is_dir: bool) -> bool:
        directory = path.parent
        while True:
            spec = self._spec(directory)
            if spec is not None:
                rel = path.relative_to(directory).as_posix()
                if spec.match_file(rel + "/" if is_dir else rel):
                    return True
            if directory == self.stop or directory.parent == directory:
                return False
            if (directory / ".git").exists():
                return False
            directory = directory.parent


def discover(paths: list[Path], config: Config) -> Iterator[Discovered]:
    root = config.root.resolve()
    patterns = config.exclude + config.extend_exclude
    seen: set[Path] = set()
    for given in paths:
        if not given.exists():
            yield Discovered(given, True, missing=True)
            continue
        if given.is_file():
            resolved = given.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield Discovered(given, True)
            continue
        start = given.resolve()
        stop = root if start == root or root in start.parents else start
        ignores = _GitIgnores(stop)
        for dirpath, dirnames, filenames in os.walk(given):
            base = Path(dirpath)
            keep = []
            for d in sorted(dirnames):
                full = base / d
                rel = config.relative(full)
                if _excluded(rel, d, patterns) or ignores.ignored(full.resolve(), True):
                    continue
                keep.append(d)
            dirnames[:] = keep
            for f in sorted(filenames):
                if not f.endswith(SUFFIXES):
                    continue
                full = base / f
                rel = config.relative(full)
                if _excluded(rel, f, patterns):
                    continue
                resolved = full.resolve()
                if ignores.ignored(resolved, False) or resolved in seen:
                    continue
                seen.add(resolved)
                yield Discovered(full, False)
