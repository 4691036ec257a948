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
    resolved: Path | None = None  # path.resolve(), when discovery computed it


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
        self._git: dict[Path, bool] = {}
        # directory -> the specs that apply below it, nearest first (None: not computed)
        self._chain: dict[Path, list[tuple[Path, pathspec.PathSpec]]] = {}

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

    def _specs_for(self, directory: Path) -> list[tuple[Path, pathspec.PathSpec]]:
        """The (directory, spec) pairs that apply to entries of ``directory``, nearest
        first: up to ``stop``, the filesystem root or a repository root (``.git``)."""
        chain = self._chain.get(directory)
        if chain is None:
            spec = self._spec(directory)
            chain = [(directory, spec)] if spec is not None else []
            if not (directory == self.stop or directory.parent == directory):
                is_repo = self._git.get(directory)
                if is_repo is None:
                    is_repo = self._git[directory] = (directory / ".git").exists()
                if not is_repo:
                    chain = chain + self._specs_for(directory.parent)
            self._chain[directory] = chain
        return chain

    def ignored(self, path: Path, is_dir: bool) -> bool:
        for directory, spec in self._specs_for(path.parent):
            rel = path.relative_to(directory).as_posix()
            if spec.match_file(rel + "/" if is_dir else rel):
                return True
        return False


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
                yield Discovered(given, True, resolved=resolved)
            continue
        start = given.resolve()
        stop = root if start == root or root in start.parents else start
        ignores = _GitIgnores(stop)
        # resolved directory of each walked directory: files and subdirectories that
        # are not symlinks resolve to it / name (one lstat instead of a realpath each)
        resolved_dirs: dict[str, Path] = {}

        def _resolve(
            base: Path, dirpath: str, name: str, dirs: dict[str, Path] = resolved_dirs
        ) -> Path:
            full = base / name
            if os.path.islink(full):
                return full.resolve()
            parent = dirs.get(dirpath)
            if parent is None:
                parent = dirs[dirpath] = base.resolve()
            return parent / name

        def _relative(resolved: Path, full: Path) -> str:
            try:
                return resolved.relative_to(root).as_posix()
            except ValueError:
                return full.as_posix()

        for dirpath, dirnames, filenames in os.walk(given):
            base = Path(dirpath)
            keep = []
            for d in sorted(dirnames):
                full = base / d
                resolved = _resolve(base, dirpath, d)
                resolved_dirs[os.path.join(dirpath, d)] = resolved
                rel = _relative(resolved, full)
                if _excluded(rel, d, patterns) or ignores.ignored(resolved, True):
                    continue
                keep.append(d)
            dirnames[:] = keep
            for f in sorted(filenames):
                if not f.endswith(SUFFIXES):
                    continue
                full = base / f
                resolved = _resolve(base, dirpath, f)
                rel = _relative(resolved, full)
                if _excluded(rel, f, patterns):
                    continue
                if ignores.ignored(resolved, False) or resolved in seen:
                    continue
                seen.add(resolved)
                yield Discovered(full, False, resolved=resolved)
