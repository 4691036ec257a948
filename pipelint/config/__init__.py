"""Configuration: ``[tool.pipelint]`` in the nearest ``pyproject.toml``.

Keys (kebab-case as in ruff, snake_case accepted): ``select``, ``ignore``,
``extend-select``, ``per-file-ignores``, ``exclude``, ``extend-exclude``,
``client-names``, ``target`` ("standalone" | "cluster"), ``max-file-size`` (bytes, or
a string such as "5MB"), ``max-nesting`` (see ``pipelint.checker.limits``),
``redis-version`` (the oldest Redis server the code must run on: fixes only use
commands it has).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "Config",
    "ConfigError",
    "load_config",
    "find_pyproject",
    "parse_size",
    "parse_nesting",
    "version_tuple",
    "DEFAULT_EXCLUDE",
    "DEFAULT_REDIS_VERSION",
]

DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".mypy_cache", ".nox",
    ".pants.d", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv", "__pypackages__",
    "_build", "buck-out", "dist", "node_modules", "site-packages", "venv",
    ".pipelint_cache", ".pytest_cache", "__pycache__",
)  # fmt: skip

_KEYS = {
    "select", "ignore", "extend-select", "per-file-ignores", "exclude", "extend-exclude",
    "client-names", "target", "preview", "max-file-size", "max-nesting", "redis-version",
}  # fmt: skip

#: Files larger than this are reported (RP902), not parsed: LibCST needs about 350
#: times a file's size in memory (2 MB: some 700 MB).
DEFAULT_MAX_FILE_SIZE = 2_000_000
#: Expressions nested deeper than this are reported (RP902), not parsed; real code
#: stays under 30 (56 projects on Redis); LibCST's time grows with its square.
DEFAULT_MAX_NESTING = 500
MAX_NESTING_CEILING = 1000
_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2,
          "gib": 1024**3}  # fmt: skip


#: the oldest Redis that redis-py (>= 6) still supports
DEFAULT_REDIS_VERSION = "7.2"


def version_tuple(version: str) -> tuple[int, ...]:
    """``"6.2"`` -> ``(6, 2)``; raises ValueError on anything else."""
    parts = version.strip().split(".")
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(version)
    return tuple(int(p) for p in parts)


class ConfigError(Exception):
    """Invalid configuration: reported as a usage error (exit 2)."""


@dataclass(frozen=True)
class Config:
    root: Path = field(default_factory=Path.cwd)
    source: Path | None = None  # the pyproject.toml it came from
    select: tuple[str, ...] = ("RP1", "RP2", "RP3", "RP9")
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    client_names: tuple[str, ...] = ()
    target: str = "standalone"
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_nesting: int = DEFAULT_MAX_NESTING
    redis_version: str = DEFAULT_REDIS_VERSION
    # not a setting: whether fixes need their edits (False when nothing reads them:
    # text output without --fix/--diff), which saves building them
    fix_edits: bool = True

    def enabled(self, code: str, path: Path | None = None) -> bool:
        """Is ``code`` selected (longest matching prefix wins, as in ruff)?"""
        best_sel = max(
            (len(p) for p in self.select if code.startswith(p) or p == "ALL"), default=-1
        )
        best_ign = max(
            (len(p) for p in self.ignore if code.startswith(p) or p == "ALL"), default=-1
        )
        if best_sel < 0 or best_ign >= best_sel:
            return False
        if path is not None and self.per_file_ignores:
            rel = self.relative(path)
            for pattern, codes in self.per_file_ignores:
                if _match_path(rel, pattern) and any(
                    code.startswith(c) or c == "ALL" for c in codes
                ):
                    return False
        return True

    def relative(self, path: Path) -> str:
        try:
            real = Path(os.path.realpath(path))
            return real.relative_to(os.path.realpath(self.root)).as_posix()
        except ValueError:
            return path.as_posix()

    def fingerprint(self) -> str:
        """Stable hash of everything that can change results (for the cache)."""
        data = {
            "select": self.select,
            "ignore": self.ignore,
            "per_file_ignores": self.per_file_ignores,
            "client_names": self.client_names,
            "target": self.target,
            "redis_version": self.redis_version,
            "fix_edits": self.fix_edits,
            "max_file_size": self.max_file_size,
            "max_nesting": self.max_nesting,
        }
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def with_overrides(self, **changes: Any) -> Config:
        return replace(self, **changes)


def _match_path(rel: str, pattern: str) -> bool:
    if fnmatch.fnmatchcase(rel, pattern):
        return True
    name = rel.rsplit("/", 1)[-1]
    if "/" not in pattern and fnmatch.fnmatchcase(name, pattern):
        return True
    return rel.startswith(pattern.rstrip("/") + "/")


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` that has ``[tool.pipelint]``,
    else the nearest pyproject.toml at all."""
    start = Path(os.path.realpath(start))  # never raises on a link loop
    if not os.path.isdir(start):
        start = start.parent
    nearest: Path | None = None
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if os.path.isfile(candidate):  # False, not an error, where it cannot be seen
            nearest = nearest or candidate
            try:
                if b"[tool.pipelint" in candidate.read_bytes():
                    return candidate
            except OSError:
                continue
    return nearest


def _codes(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"[tool.pipelint] {key} must be a list of strings")
    return tuple(v.strip().upper() for v in value)


def parse_size(value: object, key: str = "max-file-size") -> int:
    """A size in bytes: an integer, or a string such as "5MB", "500KB", "2MiB"."""
    if isinstance(value, bool):
        raise ConfigError(f'{key} must be a size in bytes or a string such as "5MB"')
    if isinstance(value, int):
        n = value
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*", value)
        if m is None or m.group(2).lower() not in _UNITS:
            raise ConfigError(f'{key} must be a size such as 2000000, "500KB" or "5MB": {value!r}')
        n = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    else:
        raise ConfigError(f'{key} must be a size such as 2000000, "500KB" or "5MB"')
    if n <= 0:
        raise ConfigError(f"{key} must be positive")
    return n


def parse_nesting(value: object, key: str = "max-nesting") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key} must be an integer")
    if not 1 <= value <= MAX_NESTING_CEILING:
        raise ConfigError(
            f"{key} must be between 1 and {MAX_NESTING_CEILING} (deeper expressions crash "
            f"LibCST's parser): {value}"
        )
    return value


def load_config(start: Path, explicit: Path | None = None) -> Config:
    path = explicit if explicit is not None else find_pyproject(start)
    if path is None:
        real = Path(os.path.realpath(start))
        return Config(root=real if os.path.isdir(real) else real.parent)
    from pipelint.discovery.read import read_regular

    try:
        data = tomllib.loads(read_regular(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{path}: tool must be a table ([tool]), not {type(tool).__name__}")
    table = tool.get("pipelint", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.pipelint] must be a table")
    table = {k.replace("_", "-"): v for k, v in table.items()}
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown [tool.pipelint] keys: {', '.join(unknown)}")
    cfg = Config(root=path.parent.resolve(), source=path)
    changes: dict[str, Any] = {}
    if "select" in table:
        changes["select"] = _codes(table["select"], "select")
    if "extend-select" in table:
        changes["select"] = changes.get("select", cfg.select) + _codes(
            table["extend-select"], "extend-select"
        )
    if "ignore" in table:
        changes["ignore"] = _codes(table["ignore"], "ignore")
    if "per-file-ignores" in table:
        pfi = table["per-file-ignores"]
        if not isinstance(pfi, dict):
            raise ConfigError(f"{path}: per-file-ignores must be a table of pattern = [codes]")
        changes["per_file_ignores"] = tuple(
            (str(k), _codes(v, f"per-file-ignores.{k}")) for k, v in sorted(pfi.items())
        )
    for key, attr in (("exclude", "exclude"), ("extend-exclude", "extend_exclude")):
        if key in table:
            value = table[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{path}: {key} must be a list of strings")
            changes[attr] = tuple(value)
    if "client-names" in table:
        value = table["client-names"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: client-names must be a list of strings")
        changes["client_names"] = tuple(value)
    if "target" in table:
        if table["target"] not in ("standalone", "cluster"):
            raise ConfigError(f'{path}: target must be "standalone" or "cluster"')
        changes["target"] = table["target"]
    if "max-file-size" in table:
        changes["max_file_size"] = _at(path, parse_size, table["max-file-size"])
    if "max-nesting" in table:
        changes["max_nesting"] = _at(path, parse_nesting, table["max-nesting"])
    if "redis-version" in table:
        value = table["redis-version"]
        try:
            version_tuple(str(value))
        except ValueError:
            raise ConfigError(f'{path}: redis-version must look like "6.2" or "7.0.15"') from None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f'{path}: redis-version must look like "6.2" or "7.0.15"')
        changes["redis_version"] = str(value)
    return replace(cfg, **changes)


def _at(path: Path, parse: Any, value: object) -> Any:
    try:
        return parse(value)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
