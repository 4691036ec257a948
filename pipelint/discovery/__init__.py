"""Which files to check: walk directories, honour ``.gitignore`` and ``exclude``.

Files named on the command line are always checked, unless ``--force-exclude``
(``force-exclude = true``) applies ``exclude``/``extend-exclude`` to them too, as ruff
does (pre-commit names every file, so its hooks use it); directories are walked
recursively for ``*.py``/``*.pyi``.

Nothing on the file system stops the walk: a path that cannot be examined (a link
loop, a directory that cannot be listed, a name inside an unreadable directory, a
FIFO or device named on the command line) becomes a ``Discovered`` with a
``problem``, reported for that path (RP901); a FIFO or device met while walking is
skipped (only regular files are read, see ``read.py``); ``.gitignore`` lines that
do not compile are ignored, as git ignores them.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pathspec

from pipelint.config import Config
from pipelint.discovery.read import kind, read_regular

__all__ = ["discover", "Discovered", "excluded"]

SUFFIXES = (".py", ".pyi")


@dataclass(frozen=True)
class Discovered:
    path: Path
    explicit: bool  # named on the command line
    missing: bool = False
    resolved: Path | None = None  # path.resolve(), when discovery computed it
    problem: str | None = None  # why it cannot be read (reported, not read)


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
                    data = read_regular(gi)
                    spec = _gitignore_spec(data.decode("utf-8", "replace").splitlines())
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
                    is_repo = self._git[directory] = os.path.lexists(directory / ".git")
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


def _gitignore_spec(lines: list[str]) -> pathspec.PathSpec | None:
    """The patterns of a ``.gitignore``; a line that does not compile (``[z-a]``, a
    trailing ``\\``) is skipped, as git skips it, instead of failing the run."""
    try:
        return pathspec.PathSpec.from_lines("gitwildmatch", lines)
    except Exception:  # noqa: BLE001 - pathspec raises several kinds: find the bad lines
        good = []
        for line in lines:
            try:
                pathspec.PathSpec.from_lines("gitwildmatch", [line])
            except Exception:  # noqa: BLE001,S112 - a line git would not use either
                continue
            good.append(line)
        try:
            return pathspec.PathSpec.from_lines("gitwildmatch", good)
        except Exception:  # noqa: BLE001 - never: each line compiled alone
            return None


def _realpath(path: Path) -> Path:
    """``path`` with its symbolic links resolved; never raises on a link loop (where
    ``Path.resolve`` raises ``RuntimeError``), the loop is then left in the path."""
    return Path(os.path.realpath(path))


def _problem(exc: OSError) -> str:
    return f"cannot read file: {exc.strerror or exc}"


def excluded(path: Path, config: Config) -> bool:
    """Is ``path``, named on the command line, excluded by ``exclude``/``extend-exclude``:
    itself or one of its folders (below the project root; the whole path when it is
    outside it)? Used with ``--force-exclude``; the path need not exist (stdin)."""
    patterns = config.exclude + config.extend_exclude
    full = _realpath(Path(os.path.abspath(path)))
    try:
        parts = full.relative_to(_realpath(config.root)).parts
    except ValueError:
        parts = full.parts[1:]
    return any(_excluded("/".join(parts[: i + 1]), parts[i], patterns) for i in range(len(parts)))


def discover(paths: list[Path], config: Config) -> Iterator[Discovered]:
    root = _realpath(config.root)
    patterns = config.exclude + config.extend_exclude
    seen: set[Path] = set()
    directories: list[Path] = []
    # named files first, whatever the order of the arguments: a file named explicitly
    # is always checked (or reported, a FIFO, a device, a link loop) as named, never
    # merged into the walk of a directory named before it that holds it (which skips
    # what is not a regular file)
    for given in paths:
        if config.force_exclude and excluded(given, config):
            continue
        try:
            st = given.stat()
        except FileNotFoundError:
            if os.path.islink(given):  # a dangling link: say so
                yield Discovered(given, True, problem="cannot read file: broken symbolic link")
            else:
                yield Discovered(given, True, missing=True, problem="No such file or directory")
            continue
        except OSError as exc:  # a link loop, a name inside an unreadable directory...
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                seen.add(_realpath(given))  # reported once, not again by a walk
            yield Discovered(given, True, problem=_problem(exc))
            continue
        if stat.S_ISDIR(st.st_mode):
            directories.append(given)
            continue
        problem = None if stat.S_ISREG(st.st_mode) else f"not a regular file ({kind(st.st_mode)})"
        resolved = _realpath(given)
        if resolved not in seen:
            seen.add(resolved)
            yield Discovered(given, True, resolved=resolved, problem=problem)
    for given in directories:
        yield from _walk(given, root, patterns, seen)


def _walk(
    given: Path, root: Path, patterns: tuple[str, ...], seen: set[Path]
) -> Iterator[Discovered]:
    start = _realpath(given)
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
            return _realpath(full)
        parent = dirs.get(dirpath)
        if parent is None:
            parent = dirs[dirpath] = _realpath(base)
        return parent / name

    def _relative(resolved: Path, full: Path) -> str:
        try:
            return resolved.relative_to(root).as_posix()
        except ValueError:
            return full.as_posix()

    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(given, onerror=errors.append):
        yield from _unlistable(errors)
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
    yield from _unlistable(errors)


def _unlistable(errors: list[OSError]) -> Iterator[Discovered]:
    """Directories ``os.walk`` could not list: reported, never skipped silently."""
    while errors:
        exc = errors.pop(0)
        name = Path(exc.filename) if exc.filename else Path(".")
        yield Discovered(name, False, problem=f"cannot read directory: {exc.strerror or exc}")
