"""Configuration: the nearest ``.pipelint.toml`` or ``pipelint.toml`` (top-level keys,
like ``ruff.toml``) or ``pyproject.toml`` with ``[tool.pipelint]``, in that order in each
directory from the checked path up; ``--config FILE`` names one, ``--config 'key = value'``
overrides one setting.

Keys (kebab-case as in ruff, snake_case accepted): ``select``, ``ignore``,
``extend-select``, ``per-file-ignores``, ``exclude``, ``extend-exclude``,
``force-exclude``, ``client-names``, ``target`` ("standalone" | "cluster"),
``max-file-size`` (bytes, or a string such as "5MB"), ``max-nesting`` (see
``pipelint.checker.limits``), ``redis-version`` (the oldest Redis server the code must
run on: fixes only use commands it has).

Rule selection is layered as in ruff: the file's ``select``/``ignore``, then each
``--config`` override, then the command line (``RuleSelection``). Every selector must
match a rule of the registry (``pipelint.rules``): an unknown one is an error, never a
selection of nothing.
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
    "find_config",
    "find_pyproject",
    "RuleSelection",
    "check_selectors",
    "parse_config_option",
    "NOT_ANALYSED",
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
    "force-exclude", "client-names", "target", "preview", "max-file-size", "max-nesting",
    "redis-version",
}  # fmt: skip
_SELECTION_KEYS = ("select", "extend-select", "ignore")
#: Configuration files, in the order they are looked for in each directory (as ruff:
#: ``.ruff.toml``, ``ruff.toml``, ``pyproject.toml``); the first two hold top-level keys.
CONFIG_FILES = (".pipelint.toml", "pipelint.toml")

#: Codes reported whatever the selection: files that could not be analysed (RP900-RP902),
#: as ruff reports syntax errors whatever is selected. Only an ``ignore`` (or
#: ``per-file-ignores``) selector that names them (``RP9``, ``RP90``, ``RP900``) hides them.
NOT_ANALYSED = "RP90"

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


def _specificity(selector: str) -> int:
    return 0 if selector == "ALL" else len(selector)


def _matches(code: str, selector: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


@dataclass(frozen=True)
class RuleSelection:
    """One layer of rule selection. Layers apply in order (the configuration file, each
    ``--config`` override, the command line), as in ruff: a layer with ``select`` starts
    afresh, one without only adds (``extend-select``) to and removes (``ignore``) from
    what the layers before it enabled; within a layer the more specific selector wins
    (``RP101`` over ``RP1`` over ``ALL``), ``ignore`` on a tie. So ``--select RP101``
    reports RP101 even when the configuration ignores it.

    The codes that say a file was not analysed (``NOT_ANALYSED``) are reported whatever
    is selected: only selectors that name them (starting with ``RP9``) change them."""

    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    def apply(self, code: str, before: bool) -> bool:
        always = code.startswith(NOT_ANALYSED)
        best, verdict = -1, None
        for selector in (*(self.select or ()), *self.extend_select):
            if always and not selector.startswith("RP9"):
                continue
            if _matches(code, selector) and _specificity(selector) > best:
                best, verdict = _specificity(selector), True
        for selector in self.ignore:
            if always and not selector.startswith("RP9"):
                continue
            if _matches(code, selector) and _specificity(selector) >= best:
                best, verdict = _specificity(selector), False
        if verdict is not None:
            return verdict
        return False if self.select is not None and not always else before


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
    #: selections applied after ``select``/``ignore`` (``--config`` overrides, the CLI)
    layers: tuple[RuleSelection, ...] = ()
    #: apply ``exclude``/``extend-exclude`` to paths named on the command line too
    force_exclude: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_nesting: int = DEFAULT_MAX_NESTING
    redis_version: str = DEFAULT_REDIS_VERSION
    # not a setting: whether fixes need their edits (False when nothing reads them:
    # text output without --fix/--diff), which saves building them
    fix_edits: bool = True

    def enabled(self, code: str, path: Path | None = None) -> bool:
        """Is ``code`` selected (see ``RuleSelection``), and not ignored for ``path``?"""
        always = code.startswith(NOT_ANALYSED)
        state = RuleSelection(self.select, (), self.ignore).apply(code, always)
        for layer in self.layers:
            state = layer.apply(code, state)
        if not state:
            return False
        if path is not None and self.per_file_ignores:
            rel = self.relative(path)
            for pattern, codes in self.per_file_ignores:
                if _match_path(rel, pattern) and any(
                    _matches(code, c) and (not always or c.startswith("RP9")) for c in codes
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
            "layers": [(x.select, x.extend_select, x.ignore) for x in self.layers],
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


def find_config(start: Path) -> Path | None:
    """The configuration for ``start``: in each directory from ``start`` up, the first of
    ``.pipelint.toml``, ``pipelint.toml``, and a ``pyproject.toml`` with
    ``[tool.pipelint]``; else the nearest ``pyproject.toml`` at all (it only gives the
    project root)."""
    start = Path(os.path.realpath(start))  # never raises on a link loop
    if not os.path.isdir(start):
        start = start.parent
    nearest: Path | None = None
    for directory in (start, *start.parents):
        for name in CONFIG_FILES:
            if os.path.isfile(directory / name):
                return directory / name
        candidate = directory / "pyproject.toml"
        if os.path.isfile(candidate):  # False, not an error, where it cannot be seen
            nearest = nearest or candidate
            try:
                if b"[tool.pipelint" in candidate.read_bytes():
                    return candidate
            except OSError:
                continue
    return nearest


#: The project root of the cache: the folder of the configuration (as ruff's).
find_pyproject = find_config


def _codes(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    codes = tuple(v.strip().upper() for v in value)
    check_selectors(codes, key, where)
    return codes


def _rule_codes() -> list[str]:
    from pipelint.rules import ALL_RULES  # the registry: new rules are valid at once

    return sorted(ALL_RULES)


def check_selectors(selectors: tuple[str, ...], key: str, origin: str) -> None:
    """Every selector must be ``ALL`` or a prefix of a registered rule's code: a typo
    (``RP999``, ``XYZ``) is an error naming it and where it came from, never a
    selection of nothing."""
    codes = _rule_codes()
    for selector in selectors:
        if selector == "ALL" or (selector and any(c.startswith(selector) for c in codes)):
            continue
        raise ConfigError(
            f"unknown rule selector `{selector}` in `{key}` from {origin} "
            "(`pipelint rule --all` lists the rules)"
        )


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


def _is_pyproject(path: Path) -> bool:
    return path.name == "pyproject.toml"


def _read_toml(path: Path) -> dict[str, Any]:
    from pipelint.discovery.read import read_regular

    try:
        return tomllib.loads(read_regular(path).decode("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _file_table(path: Path, data: dict[str, Any], explicit: bool) -> dict[str, Any]:
    """The settings of a configuration file: ``[tool.pipelint]`` of a ``pyproject.toml``,
    the top-level keys of any other file (``pipelint.toml``, as ``ruff.toml``). A file
    named with ``--config`` that configures nothing is an error, not ignored."""
    if _is_pyproject(path):
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: tool must be a table ([tool]), not {type(tool).__name__}")
        if explicit and "pipelint" not in tool:
            raise ConfigError(
                f"--config {path}: it has no [tool.pipelint] table, so it configures nothing"
            )
        table = tool.get("pipelint", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.pipelint] must be a table")
        return table
    if explicit and not data:
        raise ConfigError(f"--config {path}: the file sets nothing, so it configures nothing")
    return data


def load_config(
    start: Path,
    explicit: Path | None = None,
    overrides: tuple[tuple[str, dict[str, Any]], ...] = (),
) -> Config:
    """The configuration for ``start`` (or the file ``explicit``), then the ``--config
    'key = value'`` overrides, each ``(text, table)``, in order."""
    path = explicit if explicit is not None else find_config(start)
    if path is None:
        real = Path(os.path.realpath(start))
        cfg = Config(root=real if os.path.isdir(real) else real.parent)
    else:
        table = _file_table(path, _read_toml(path), explicit is not None)
        section = "[tool.pipelint] keys" if _is_pyproject(path) else "keys"
        cfg = Config(root=path.parent.resolve(), source=path)
        cfg = _apply(cfg, table, str(path), section, layer=False)
    for text, table in overrides:
        cfg = _apply(cfg, table, f"--config {text!r}", "keys", layer=True)
    return cfg


def parse_config_option(value: str) -> dict[str, Any] | None:
    """A ``--config`` value that is a TOML ``key = value`` pair: its table; None when it
    is no TOML (then it is meant as a file)."""
    try:
        table = tomllib.loads(value)
    except tomllib.TOMLDecodeError:
        return None
    return table or None


def _apply(cfg: Config, table: dict[str, Any], where: str, section: str, layer: bool) -> Config:
    """``cfg`` with the settings of ``table`` (from ``where``). ``layer``: an override
    (``--config``): its selectors form a new selection layer, ``extend-exclude`` adds to
    the file's; otherwise the table is the file's own settings."""
    table = {k.replace("_", "-"): v for k, v in table.items()}
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown {section}: {', '.join(unknown)}")
    changes: dict[str, Any] = {}
    select = _codes(table["select"], "select", where) if "select" in table else None
    extend = (
        _codes(table["extend-select"], "extend-select", where) if "extend-select" in table else ()
    )
    ignore = _codes(table["ignore"], "ignore", where) if "ignore" in table else None
    if layer:
        if select is not None or extend or ignore is not None:
            changes["layers"] = (*cfg.layers, RuleSelection(select, extend, ignore or ()))
    else:
        if select is not None or extend:
            changes["select"] = (select if select is not None else cfg.select) + extend
        if ignore is not None:
            changes["ignore"] = ignore
    if "per-file-ignores" in table:
        pfi = table["per-file-ignores"]
        if not isinstance(pfi, dict):
            raise ConfigError(f"{where}: per-file-ignores must be a table of pattern = [codes]")
        changes["per_file_ignores"] = tuple(
            (str(k), _codes(v, f"per-file-ignores.{k}", where)) for k, v in sorted(pfi.items())
        )
    for key, attr in (("exclude", "exclude"), ("extend-exclude", "extend_exclude")):
        if key in table:
            value = table[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}: {key} must be a list of strings")
            extra = tuple(value)
            changes[attr] = (
                cfg.extend_exclude + extra if layer and key == "extend-exclude" else extra
            )
    if "force-exclude" in table:
        if not isinstance(table["force-exclude"], bool):
            raise ConfigError(f"{where}: force-exclude must be true or false")
        changes["force_exclude"] = table["force-exclude"]
    if "client-names" in table:
        value = table["client-names"]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: client-names must be a list of strings")
        changes["client_names"] = tuple(value)
    if "target" in table:
        if table["target"] not in ("standalone", "cluster"):
            raise ConfigError(f'{where}: target must be "standalone" or "cluster"')
        changes["target"] = table["target"]
    if "max-file-size" in table:
        changes["max_file_size"] = _at(where, parse_size, table["max-file-size"])
    if "max-nesting" in table:
        changes["max_nesting"] = _at(where, parse_nesting, table["max-nesting"])
    if "redis-version" in table:
        value = table["redis-version"]
        try:
            version_tuple(str(value))
        except ValueError:
            raise ConfigError(f'{where}: redis-version must look like "6.2" or "7.0.15"') from None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConfigError(f'{where}: redis-version must look like "6.2" or "7.0.15"')
        changes["redis_version"] = str(value)
    return replace(cfg, **changes)


def _at(where: str, parse: Any, value: object) -> Any:
    try:
        return parse(value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
