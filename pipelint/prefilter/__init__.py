"""Decide from raw bytes, before any parse, which files can contain a Redis client use.

A file is *relevant* (it is parsed and analysed) when

- it mentions a Redis client library as a word (``redis``, ``valkey``, ``aioredis``,
  ``django_redis``): every import that can bind a client constructor or annotation
  spells one of these names;
- it mentions the literal part of a configured ``client-names`` pattern (``_redis``
  for ``*_redis``; ``redis`` for ``self.redis``); a pattern without a literal part
  makes every file relevant;
- or it imports, directly or through other project modules, a project module that
  is relevant (``from app.conn import client``). Imports are read with a bytes
  regex; the reading over-approximates (text in strings and comments counts too),
  it never under-approximates the import forms the analysis resolves.

The project graph (modules, their imports, which ones reach a Redis module) is
built once per run over the discovered files, plus the modules their imports
resolve to under the import roots (the same roots the analysis uses). Nothing
here parses Python: one pass of regexes over each file's bytes.

Everything is conservative: a file rejected here cannot produce a finding, so
skipping it never changes results (a test runs the full analysis with and
without the prefilter and compares). See the README ("Speed") for the one
documented difference: syntax errors (RP900) are reported only for relevant files.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipelint.discovery.read import read_regular

__all__ = ["ProjectGraph", "client_name_literals", "mentions_redis", "module_name_for"]

_LIB_NAMES = (b"redis", b"valkey", b"aioredis", b"django_redis")
_NAME_ITEM = re.compile(rb"([\w\x80-\xff.]+)(?:\s+as\s+[\w\x80-\xff]+)?")
_STRIP = re.compile(rb"[\s\\()]+")
_IDENT = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") | frozenset(
    range(0x80, 0x100)
)


def _has_word(data: bytes, word: bytes) -> bool:
    """Does ``word`` occur in ``data`` as a whole identifier?"""
    n, w = len(data), len(word)
    i = data.find(word)
    while i >= 0:
        if (i == 0 or data[i - 1] not in _IDENT) and (i + w >= n or data[i + w] not in _IDENT):
            return True
        i = data.find(word, i + 1)
    return False


def mentions_redis(data: bytes) -> bool:
    """Does the text mention a Redis client library as a word?"""
    return any(_has_word(data, lib) for lib in _LIB_NAMES)


def client_name_literals(patterns: Sequence[str]) -> tuple[bytes, ...] | None:
    """For each ``client-names`` pattern, the literal a matching file must contain
    (the longest run of identifier characters outside wildcards, e.g. ``_redis`` for
    ``*_redis``, ``redis`` for ``self.redis``). None: some pattern has no literal, so
    every file is relevant."""
    out: list[bytes] = []
    for pattern in patterns:
        literal = re.sub(r"\[[^\]]*\]?", "*", pattern)
        parts = [p for p in re.split(r"[*?.\s]+", literal) if p]
        if not parts:
            return None
        out.append(max(parts, key=len).encode("utf-8"))
    return tuple(out)


_DIRS: dict[Path, tuple[str, Path]] = {}


def _package_of_dir(directory: Path) -> tuple[str, Path]:
    """(dotted package of a directory, its import root): walking up ``__init__.py``."""
    hit = _DIRS.get(directory)
    if hit is None:
        if directory.parent != directory and os.path.exists(directory / "__init__.py"):
            parent, root = _package_of_dir(directory.parent)
            hit = (f"{parent}.{directory.name}" if parent else directory.name, root)
        else:
            hit = ("", directory)
        _DIRS[directory] = hit
    return hit


def module_name_for(path: Path, resolved: bool = False) -> tuple[str, Path]:
    """As ``pipelint.clients.project.module_name_for`` (cached per directory, no libcst);
    ``resolved``: the path is already ``resolve()``d."""
    if not resolved:
        path = Path(os.path.realpath(path))
    package, root = _package_of_dir(path.parent)
    if path.stem == "__init__":
        return package, root
    return (f"{package}.{path.stem}" if package else path.stem), root


def import_roots(config_root: Path, files: Iterable[Path]) -> list[Path]:
    """The import roots of a run, in a deterministic order: the project root, its
    ``src``, then each file's import root in discovery order (``files`` resolved)."""
    roots: list[Path] = []

    def add(p: Path) -> None:
        p = Path(os.path.realpath(p))
        if p not in roots:
            roots.append(p)

    add(config_root)
    if os.path.isdir(config_root / "src"):
        add(config_root / "src")
    for f in files:
        root = module_name_for(f, resolved=True)[1]
        if root not in roots:
            add(root)
    return roots


def _base(package: str, level: int, mod: str) -> str:
    """``Builder.import_from_base`` of the scope model, on strings."""
    if level == 0:
        return mod
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return mod
    base = ".".join(parts[: len(parts) - (level - 1)] if level > 1 else parts)
    if mod:
        return f"{base}.{mod}" if base else mod
    return base


def _line_start(data: bytes, pos: int) -> int:
    """Start of the logical line holding ``pos`` (following backslash continuations)."""
    start = data.rfind(b"\n", 0, pos) + 1
    while start >= 2 and (
        data[start - 2 : start] == b"\\\n" or data[start - 3 : start] == b"\\\r\n"
    ):
        start = data.rfind(b"\n", 0, start - 2) + 1
    return start


def _line_end(data: bytes, pos: int) -> int:
    end = data.find(b"\n", pos)
    while end > 0 and (data[end - 1 : end] == b"\\" or data[end - 2 : end] == b"\\\r"):
        end = data.find(b"\n", end + 1)
    return len(data) if end < 0 else end


def _statements(data: bytes) -> Iterator[tuple[bytes | None, bytes]]:
    """(from-source or None, imported names text) of every ``import`` keyword."""
    pos = data.find(b"import")
    n = len(data)
    while pos >= 0:
        after = pos + 6
        if (pos == 0 or data[pos - 1] not in _IDENT) and (after >= n or data[after] not in _IDENT):
            head = data[_line_start(data, pos) : pos]
            head = head[head.rfind(b";") + 1 :]
            src: bytes | None = None
            i = head.rfind(b"from")
            while i >= 0:
                if (i == 0 or head[i - 1] not in _IDENT) and (
                    i + 4 >= len(head) or head[i + 4] not in _IDENT
                ):
                    src = head[i + 4 :]
                    break
                i = head.rfind(b"from", 0, i)
            rest = after
            while rest < n and data[rest] in b" \t\f\\\r\n" and data[rest] != 10:
                rest += 1
            if rest < n and data[rest] == 40:  # "("
                close = data.find(b")", rest)
                end = n if close < 0 else close
            else:
                end = _line_end(data, after)
            names = data[after:end]
            for stop in (b";", b"#"):
                cut = names.find(stop)
                if cut >= 0 and data[rest] != 40:
                    names = names[:cut]
            yield src, names
            pos = data.find(b"import", after)
        else:
            pos = data.find(b"import", after)


def imported_names(data: bytes, package: str) -> set[str]:
    """Absolute dotted names the imports of a file can bind (over-approximated)."""
    out: set[str] = set()
    if b"import" not in data:
        return out
    for src_raw, names in _statements(data):
        items = [
            im.group(1).decode("utf-8", "replace").strip(".")
            for im in (_NAME_ITEM.search(item) for item in names.split(b","))
            if im is not None
        ]
        if src_raw is None:
            for name in items:
                if not name:
                    continue
                # ``import a.b`` binds ``a``: anything under ``a`` may be used
                out.add(name)
                out.add(name.split(".")[0])
            continue
        src = _STRIP.sub(b"", src_raw).decode("utf-8", "replace")
        level = len(src) - len(src.lstrip("."))
        base = _base(package, level, src[level:])
        if base:
            out.add(base)
        for name in items:
            if name:
                out.add(f"{base}.{name}" if base else name)
    out.discard("")
    return out


Key = tuple[str, str]  # (file path, dotted module name)


@dataclass
class _Node:
    path: str
    module: str
    data: bytes | None
    seed: bool
    edges: list[Key] = field(default_factory=list)
    # (package __init__.py, package name): modules below it may be used
    deferred: list[Key] = field(default_factory=list)


class ProjectGraph:
    """Relevance of the files of one run (see the module docstring)."""

    def __init__(
        self,
        roots: Sequence[Path],
        client_names: Sequence[str] = (),
        read: dict[str, bytes] | None = None,
    ) -> None:
        self.roots = list(roots)
        self.literals = client_name_literals(client_names)
        self._read = read if read is not None else {}
        self._resolved: dict[str, str | None] = {}
        self._listings: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._root_strs = [str(r) for r in self.roots]
        self._nodes: dict[Key, _Node] = {}
        self._under: dict[tuple[str, str], dict[bytes, list[Key]]] = {}
        self._relevant: set[Key] | None = None
        self._pending: list[Key] = []

    # ---- resolution ----------------------------------------------------------------
    def _listing(self, directory: str) -> tuple[frozenset[str], frozenset[str]]:
        """(files, directories) in a directory, listed once per run."""
        hit = self._listings.get(directory)
        if hit is None:
            files: set[str] = set()
            dirs: set[str] = set()
            try:
                with os.scandir(directory) as it:
                    for entry in it:
                        try:
                            if entry.is_file():
                                files.add(entry.name)
                            elif entry.is_dir():
                                dirs.add(entry.name)
                        except OSError:
                            continue
            except OSError:
                pass
            hit = self._listings[directory] = (frozenset(files), frozenset(dirs))
        return hit

    def resolve(self, module: str) -> str | None:
        """``ProjectIndex.module_path``: the file of a dotted module under the roots."""
        if module in self._resolved:
            return self._resolved[module]
        found: str | None = None
        parts = module.split(".")
        if all(p.isidentifier() for p in parts):
            for root in self._root_strs:
                directory = root
                for part in parts[:-1]:
                    if part not in self._listing(directory)[1]:
                        directory = ""
                        break
                    directory = os.path.join(directory, part)
                if not directory:
                    continue
                files, dirs = self._listing(directory)
                leaf = parts[-1]
                if leaf + ".py" in files:
                    found = os.path.join(directory, leaf + ".py")
                elif (
                    leaf in dirs
                    and "__init__.py" in self._listing(os.path.join(directory, leaf))[0]
                ):
                    found = os.path.join(directory, leaf, "__init__.py")
                if found is not None:
                    break
        self._resolved[module] = found
        return found

    def _modules_under(self, package_init: str, package: str) -> dict[bytes, list[Key]]:
        """Modules below a package, by their last name."""
        hit = self._under.get((package_init, package))
        if hit is None:
            hit = {}
            top = os.path.dirname(package_init)
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames[:] = sorted(
                    d for d in dirnames if os.path.isfile(os.path.join(dirpath, d, "__init__.py"))
                )
                rel = os.path.relpath(dirpath, top)
                prefix = package if rel == "." else f"{package}.{rel.replace(os.sep, '.')}"
                for f in sorted(filenames):
                    if not f.endswith(".py"):
                        continue
                    if f == "__init__.py":
                        if rel != ".":
                            sub = prefix
                        else:
                            continue
                    else:
                        sub = f"{prefix}.{f[:-3]}"
                    leaf = sub.rpartition(".")[2].encode("utf-8", "surrogateescape")
                    hit.setdefault(leaf, []).append((os.path.join(dirpath, f), sub))
            self._under[(package_init, package)] = hit
        return hit

    # ---- nodes ---------------------------------------------------------------------
    def _data(self, path: str) -> bytes | None:
        data = self._read.get(path)
        if data is None:
            try:
                data = read_regular(path)  # never a FIFO: it would block the run
            except OSError:
                return None
            self._read[path] = data
        return data

    def _seed(self, data: bytes) -> bool:
        if mentions_redis(data):
            return True
        if self.literals is None:
            return True
        return any(lit in data for lit in self.literals)

    def _node(self, path: str, module: str) -> _Node:
        key = (path, module)
        node = self._nodes.get(key)
        if node is not None:
            return node
        data = self._data(path)
        node = _Node(path, module, data, seed=data is not None and self._seed(data))
        self._nodes[key] = node
        if data is not None and not node.seed:
            init = os.path.basename(path) == "__init__.py"
            package = module if init else module.rpartition(".")[0]
            node.edges, node.deferred = self._edges(data, package)
        self._relevant = None
        return node

    def _edges(self, data: bytes, package: str) -> tuple[list[Key], list[Key]]:
        edges: set[Key] = set()
        deferred: set[Key] = set()
        for name in imported_names(data, package):
            parts = name.split(".")
            target: str | None = None
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i]) if i < len(parts) else name
                target = self.resolve(prefix)
                if target is not None:
                    edges.add((target, prefix))
            if target is not None and target.endswith("__init__.py"):
                # ``import app`` then ``app.conn.client``: modules below a package,
                # when their last name appears in the file as a word (decided in
                # ``relevant_set``, only for the relevant ones)
                deferred.add((target, name))
        return sorted(edges), sorted(deferred)

    def add_file(self, path: Path, data: bytes | None = None, resolved: bool = False) -> Key:
        if not resolved:
            path = Path(os.path.realpath(path))
        spath = str(path)
        if data is not None:
            self._read.setdefault(spath, data)
        module = module_name_for(path, resolved=True)[0]
        self._node(spath, module)
        key = (spath, module)
        self._pending.append(key)
        return key

    def _explore(self) -> None:
        stack = list(self._pending)
        self._pending = []
        seen: set[Key] = set()
        while stack:
            key = stack.pop()
            if key in seen:
                continue
            seen.add(key)
            node = self._node(*key)
            stack.extend(e for e in node.edges if e not in seen)
            for init, package in node.deferred:
                for subs in self._modules_under(init, package).values():
                    stack.extend(e for e in subs if e not in seen)

    def relevant_set(self) -> set[Key]:
        """Nodes from which a seed is reachable (seeds included)."""
        if self._pending:
            self._explore()
        while self._relevant is None:
            reverse: dict[Key, list[Key]] = {}
            stack: list[Key] = []
            for key, node in self._nodes.items():
                if node.seed:
                    stack.append(key)
                for e in node.edges:
                    reverse.setdefault(e, []).append(key)
            relevant: set[Key] = set()
            while stack:
                key = stack.pop()
                if key in relevant:
                    continue
                relevant.add(key)
                stack.extend(reverse.get(key, ()))
            # modules below an imported package: an edge when relevant and named
            changed = False
            for key, node in self._nodes.items():
                if key in relevant or not node.deferred or node.data is None:
                    continue
                for init, package in node.deferred:
                    for leaf, subs in self._modules_under(init, package).items():
                        hits = [e for e in subs if e in relevant and e not in node.edges]
                        if hits and _has_word(node.data, leaf):
                            node.edges.extend(hits)
                            changed = True
            if not changed:
                self._relevant = relevant
        return self._relevant

    def verdicts(self) -> tuple[frozenset[str], frozenset[str]]:
        """(paths of every module read, paths of the relevant ones)."""
        relevant = self.relevant_set()
        return frozenset(k[0] for k in self._nodes), frozenset(k[0] for k in relevant)

    def is_relevant(self, key: Key) -> bool:
        return key in self.relevant_set()

    def digest(self) -> str:
        """Hash of what the analysis of one file can read from other project files:
        the import roots and the content of every relevant module that some project
        file imports (the modules that can define clients for others)."""
        relevant = self.relevant_set()
        targets = sorted(
            {e for key in relevant for e in self._nodes[key].edges if e in relevant},
            key=lambda k: (k[0], k[1]),
        )
        h = hashlib.blake2b(digest_size=16)
        for root in self.roots:
            h.update(b"root\0" + str(root).encode("utf-8", "surrogateescape") + b"\0")
        for path, module in targets:
            data = self._nodes[(path, module)].data or b""
            h.update(path.encode("utf-8", "surrogateescape") + b"\0" + module.encode())
            h.update(b"\0" + hashlib.blake2b(data, digest_size=16).digest())
        return h.hexdigest()
