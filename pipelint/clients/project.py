"""Clients defined in other modules of the checked project.

``from app.conn import client`` makes ``client`` a Redis client when
``app/conn.py`` (under one of the import roots) binds ``client`` at module level
to a client, or defines ``client`` as a function returning one. Other modules
are parsed on demand, once per process, and only when their bytes mention a
Redis library at all.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from pipelint.clients.resolve import ClientInfo, Resolver
from pipelint.clients.scopes import build_scopes

if TYPE_CHECKING:
    from pipelint.project import ProjectFacts

__all__ = ["ProjectIndex", "module_name_for", "REDIS_IMPORT_RE"]

#: Does a source mention a Redis client library in an import?
REDIS_IMPORT_RE = re.compile(rb"\b(?:import|from)\s+(?:redis|valkey|aioredis|django_redis)\b")


def module_name_for(path: Path) -> tuple[str, Path]:
    """(dotted module name, import root) of a file, walking up ``__init__.py`` packages."""
    path = Path(os.path.abspath(path))  # no symlink resolution: no system calls
    package, root = _package_of(path.parent)
    parts = [*package, path.stem] if path.stem != "__init__" else list(package)
    return ".".join(parts), root


@functools.lru_cache(maxsize=4096)
def _package_of(directory: Path) -> tuple[tuple[str, ...], Path]:
    """(package parts, import root) of a directory; memoised, one stat per directory."""
    if not os.path.exists(directory / "__init__.py") or directory.parent == directory:
        return (), directory
    parent_parts, root = _package_of(directory.parent)
    return (*parent_parts, directory.name), root


@dataclass
class _Module:
    resolver: Resolver | None


@dataclass
class ProjectIndex:
    """Lazily parsed project modules; one instance per process and configuration."""

    roots: list[Path] = field(default_factory=list)
    client_names: tuple[str, ...] = ()
    _modules: dict[Path, _Module] = field(default_factory=dict)
    _active: set[tuple[Path, str]] = field(default_factory=set)
    _seen_roots: set[Path] = field(default_factory=set)
    _facts: ProjectFacts | None = None
    _paths: dict[tuple[str, int], Path | None] = field(default_factory=dict)
    #: real path -> (content, LibCST module) of the modules read: a checked file that
    #: was read here first is not parsed again (``parsed``)
    _trees: dict[str, tuple[bytes, cst.Module]] = field(default_factory=dict)

    @property
    def facts(self) -> ProjectFacts:
        """What each project module may export of clients, read with ``ast``
        (``pipelint.project``): the screen before LibCST reads it, and ``_load`` skips
        the modules that export nothing a lookup could find."""
        if self._facts is None:
            from pipelint.project import ProjectFacts

            self._facts = ProjectFacts(self.module_path, self.roots)
        return self._facts

    def new_run(self) -> None:
        """Forget what was read of the project's modules (they may have changed)."""
        self._modules.clear()
        self._paths.clear()
        self._trees.clear()
        self._facts = None

    def add_root(self, root: Path) -> None:
        if root in self._seen_roots:
            return
        self._seen_roots.add(root)
        resolved = Path(os.path.realpath(root))
        if resolved not in self.roots:
            self.roots.append(resolved)

    def parsed(self, path: Path, source: str) -> cst.Module | None:
        """The LibCST module of ``path`` if it was read here with this very content
        (utf-8, as the checker parses it), else None: no file is parsed twice."""
        hit = self._trees.get(os.path.realpath(path))
        if hit is None or hit[1].encoding != "utf-8":
            return None
        data, tree = hit
        if data != source.encode("utf-8", "surrogatepass"):
            return None
        return tree

    def module_path(self, module: str) -> Path | None:
        key = (module, len(self.roots))  # a new root may find a module not found before
        if key in self._paths:
            return self._paths[key]
        found = None
        rel = Path(*module.split("."))
        for root in self.roots:
            for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
                if os.path.isfile(candidate):
                    found = candidate
                    break
            if found is not None:
                break
        self._paths[key] = found
        return found

    def lookup(self, qualname: str, mode: str) -> ClientInfo | None:
        """Resolve ``qualname`` (``app.conn.client``) in another project module.

        mode: "value" (a module-level client), "call" (a function returning a client,
        or a client subclass being instantiated), "type" (a client subclass),
        "attr:NAME" (the client attribute NAME of a class, for inherited attributes).
        """
        parts = qualname.split(".")
        if len(parts) < 2 or parts[0] in ("redis", "valkey", "aioredis", "django_redis"):
            return None
        module, attr = ".".join(parts[:-1]), parts[-1]
        path = self.module_path(module)
        if path is None:
            return None
        key = (path, f"{attr}:{mode}")
        if key in self._active:
            return None
        from pipelint.checker import SPEEDUPS

        if SPEEDUPS["project_facts"] and not self._may_export(module, attr, mode):
            return None  # its ast facts say no: no LibCST parse of that module
        self._active.add(key)
        try:
            return self._export(path, module, attr, mode)
        finally:
            self._active.discard(key)

    def _may_export(self, module: str, attr: str, mode: str) -> bool:
        facts = self.facts.module(module)
        if facts is None or facts.everything:
            return True
        if mode.startswith("attr:"):
            return mode[5:] in facts.attrs or mode[5:] in facts.methods
        return attr in facts.names

    def _export(self, path: Path, module: str, attr: str, mode: str) -> ClientInfo | None:
        mod = self._modules.get(path)
        if mod is None:
            mod = self._load(path, module)
            self._modules[path] = mod
        if mod.resolver is None:
            return None
        resolver = mod.resolver
        scope = resolver.index.module
        binds = scope.bindings.get(attr)
        if not binds:
            return None
        if mode == "value":
            info = resolver.name(attr, scope)
            if info is None:
                return None
            return ClientInfo(info.is_async, info.cluster, f"imported from {module}")
        if mode == "type" and len(binds) == 1 and binds[0].kind in ("assign", "class"):
            # a client subclass, or a type alias (`Client: TypeAlias = Redis | RedisCluster`)
            return resolver.annotation(cst.Name(attr), scope)
        if len(binds) != 1:
            return None
        node_scope = resolver.index.by_node.get(binds[0].node)  # type: ignore[arg-type]
        if node_scope is None:
            # re-exported: `from .client import Redis` in a package __init__
            if binds[0].kind == "import" and binds[0].qualname:
                return self.lookup(binds[0].qualname, mode)
            return None
        if binds[0].kind == "class":
            if mode.startswith("attr:"):
                return resolver.class_attribute(node_scope, mode[5:])
            return resolver.class_is_client(node_scope)
        if mode == "call" and binds[0].kind == "def" and not node_scope.is_async:
            return resolver.function_returns(node_scope)
        return None

    def _load(self, path: Path, module: str) -> _Module:
        from pipelint.discovery.read import read_regular

        try:
            data = read_regular(path)  # never a FIFO: it would block the run
        except OSError:
            return _Module(None)
        if not REDIS_IMPORT_RE.search(data) and b"from ." not in data and b"import " not in data:
            return _Module(None)

        from pipelint.checker.limits import parseable

        if not parseable(data):  # too big or too deep for LibCST: it could crash the run
            return _Module(None)
        try:
            tree = cst.parse_module(data)
        except Exception:  # noqa: BLE001 - an unparseable module defines nothing we trust
            return _Module(None)
        self._trees[os.path.realpath(path)] = (data, tree)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        index = build_scopes(tree, package, walrus=b":=" in data)
        return _Module(Resolver(index, self.client_names, self.lookup))
