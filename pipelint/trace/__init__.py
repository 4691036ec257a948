"""Runtime traces: the round trips a test session paid, per call site, as JSON.

Written by the pytest plugin (``pytest --pipelint-trace=FILE``), read by
``pipelint check --trace FILE``. This module is plain data: it imports neither
redis-py nor the recorder, so ``pipelint check`` can read a trace cheaply.

A trace (``"format": "pipelint-trace"``, ``"version": 1``)::

    {
      "format": "pipelint-trace", "version": 1,
      "root": "/abs/project",            # site paths are relative to it when inside
      "created": "2026-12-01T10:00:00+00:00", "redis_py": "8.1.0", "python": "3.11.9",
      "tests": 312,                      # tests run while recording
      "totals": {"round_trips": ..., "commands": ..., "back_to_back": ...,
                 "repeated": ..., "pipelined": ..., "wait_ms": ..., "housekeeping_round_trips": ...},
      "call_sites": [                    # most round trips first
        {"path": "rq/job.py", "line": 588, "function": "Job.refresh",
         "round_trips": 240, "commands": 240,
         "back_to_back": 0,              # followed one from the same invocation, same server
         "repeated": 230,                # ... from one invocation of a caller, same line
         "repeated_by": [{"path": "rq/registry.py", "line": 120,
                          "function": "get_jobs", "round_trips": 230}],
         "pipelined": 0, "wait_ms": 12.1,
         "commands_by_name": {"HGETALL": 240},
         "tests": 14, "top_tests": [{"test": "tests/test_job.py::test_x", "round_trips": 40}]}
      ]
    }
"""

from __future__ import annotations

import json
import os
import platform
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "TRACE_FORMAT",
    "TRACE_VERSION",
    "SiteKey",
    "SiteStats",
    "Trace",
    "TraceError",
    "load_trace",
    "load_traces",
    "write_trace",
]

TRACE_FORMAT = "pipelint-trace"
TRACE_VERSION = 1
#: callers and tests listed per call site
TOP = 5

SiteKey = tuple[str, int, str]
"""(absolute path, line, function)"""


class TraceError(ValueError):
    """A trace file that cannot be read or is not a pipelint trace."""


@dataclass
class SiteStats:
    """What one call site paid. ``path`` is absolute."""

    path: str
    line: int
    function: str
    round_trips: int = 0
    commands: int = 0
    back_to_back: int = 0
    repeated: int = 0
    pipelined: int = 0
    wait_s: float = 0.0
    by_name: Counter[str] = field(default_factory=Counter)
    repeated_by: Counter[SiteKey] = field(default_factory=Counter)
    tests: Counter[str] = field(default_factory=Counter)
    #: tests that paid here, when a loaded trace only lists the top ones
    test_count: int = 0

    @property
    def key(self) -> SiteKey:
        return (self.path, self.line, self.function)

    @property
    def n_tests(self) -> int:
        return max(self.test_count, len(self.tests))

    def merge(self, other: SiteStats) -> None:
        self.round_trips += other.round_trips
        self.commands += other.commands
        self.back_to_back += other.back_to_back
        self.repeated += other.repeated
        self.pipelined += other.pipelined
        self.wait_s += other.wait_s
        self.by_name.update(other.by_name)
        self.repeated_by.update(other.repeated_by)
        self.tests.update(other.tests)
        self.test_count += other.test_count

    def describe(
        self, cwd: Path | None = None, callers: list[tuple[SiteKey, int]] | None = None
    ) -> str:
        """``GET ×10 in 10 round trips (9 repeated by app.py:20 load), 0.5 ms waiting``;
        ``callers``: the repeating callers to name (default: the first)."""
        shown = self.by_name.most_common(4)
        names = ", ".join(f"{n} ×{c}" if c > 1 else n for n, c in shown)
        if len(self.by_name) > len(shown):
            names += ", ..."
        parts = []
        if self.pipelined:
            parts.append(f"{self.pipelined} pipelined")
        if self.back_to_back:
            parts.append(f"{self.back_to_back} back to back")
        for (path, line, function), n in (
            self.repeated_by.most_common(1) if callers is None else callers[:2]
        ):
            parts.append(f"{n} repeated by {_shown(path, cwd)}:{line} {function}")
        detail = f" ({'; '.join(parts)})" if parts else ""
        trips = f"{self.round_trips} round trip{'s' if self.round_trips != 1 else ''}"
        tests = self.n_tests
        in_tests = f", in {tests} test{'s' if tests != 1 else ''}" if tests else ""
        return f"{names} in {trips}{detail}, {self.wait_s * 1000:.2f} ms waiting{in_tests}"

    def where(self, cwd: Path | None = None) -> str:
        return f"{_shown(self.path, cwd)}:{self.line}"

    def to_json(self, root: Path) -> dict[str, Any]:
        return {
            "path": _relative(self.path, root),
            "line": self.line,
            "function": self.function,
            "round_trips": self.round_trips,
            "commands": self.commands,
            "back_to_back": self.back_to_back,
            "repeated": self.repeated,
            "repeated_by": [
                {"path": _relative(p, root), "line": ln, "function": fn, "round_trips": n}
                for (p, ln, fn), n in self.repeated_by.most_common(TOP)
            ],
            "pipelined": self.pipelined,
            "wait_ms": round(self.wait_s * 1000, 3),
            "commands_by_name": dict(self.by_name.most_common()),
            "tests": self.n_tests,
            "top_tests": [{"test": t, "round_trips": n} for t, n in self.tests.most_common(TOP)],
        }


def _relative(path: str, root: Path) -> str:
    if path.startswith("<"):
        return path
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def _shown(path: str, cwd: Path | None) -> str:
    """``path`` relative to ``cwd`` (default: the current directory) when inside it."""
    return _relative(path, (cwd or Path.cwd()).resolve())


def _absolute(path: str, root: Path) -> str:
    if path.startswith("<") or os.path.isabs(path):
        return path
    return str(root / path)


@dataclass
class Trace:
    """A session's round trips per call site (being built, or loaded)."""

    root: Path
    sites: dict[SiteKey, SiteStats] = field(default_factory=dict)
    tests: int = 0
    housekeeping_round_trips: int = 0
    #: the test being run, charged for what is recorded now
    current_test: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # -- building ------------------------------------------------------------------

    def add(
        self,
        site: SiteKey,
        names: tuple[str, ...],
        *,
        pipelined: bool,
        back_to_back: bool,
        repeated_by: SiteKey | None,
        wait_s: float,
    ) -> SiteStats:
        """Count one round trip at ``site``; returns its stats (to add wait later)."""
        stats = self.sites.get(site)
        if stats is None:
            stats = self.sites[site] = SiteStats(*site)
        stats.round_trips += 1
        stats.commands += len(names)
        by_name = stats.by_name
        for name in names:
            by_name[name] += 1
        stats.pipelined += pipelined
        stats.back_to_back += back_to_back
        if repeated_by is not None:
            stats.repeated += 1
            stats.repeated_by[repeated_by] += 1
        stats.wait_s += wait_s
        if self.current_test is not None:
            stats.tests[self.current_test] += 1
        return stats

    def merge(self, other: Trace) -> None:
        for key, stats in other.sites.items():
            mine = self.sites.get(key)
            if mine is None:
                self.sites[key] = mine = SiteStats(*key)
            mine.merge(stats)
        self.tests += other.tests
        self.housekeeping_round_trips += other.housekeeping_round_trips

    # -- reading -------------------------------------------------------------------

    def ranked(self) -> list[SiteStats]:
        """Call sites, most round trips first."""
        return sorted(self.sites.values(), key=lambda s: (-s.round_trips, s.path, s.line))

    def totals(self) -> dict[str, Any]:
        sites = self.sites.values()
        return {
            "round_trips": sum(s.round_trips for s in sites),
            "commands": sum(s.commands for s in sites),
            "back_to_back": sum(s.back_to_back for s in sites),
            "repeated": sum(s.repeated for s in sites),
            "pipelined": sum(s.pipelined for s in sites),
            "wait_ms": round(sum(s.wait_s for s in sites) * 1000, 3),
            "housekeeping_round_trips": self.housekeeping_round_trips,
            "call_sites": len(self.sites),
        }

    def to_json(self) -> dict[str, Any]:
        root = self.root.resolve()
        return {
            "format": TRACE_FORMAT,
            "version": TRACE_VERSION,
            "root": str(root),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "python": platform.python_version(),
            **self.meta,
            "tests": self.tests,
            "totals": self.totals(),
            "call_sites": [s.to_json(root) for s in self.ranked()],
        }


def write_trace(path: Path, trace: Trace) -> None:
    """Write ``trace`` as JSON, atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(trace.to_json(), indent=1) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _int(d: dict[str, Any], key: str) -> int:
    value = d.get(key, 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TraceError(f"{key!r} must be a non-negative integer, got {value!r}")
    return value


def _site_from_json(d: Any, root: Path) -> SiteStats:
    if not isinstance(d, dict):
        raise TraceError("a call site must be an object")
    path, line, function = d.get("path"), d.get("line"), d.get("function", "?")
    if not isinstance(path, str) or not isinstance(line, int) or not isinstance(function, str):
        raise TraceError(f"a call site needs a string 'path' and an integer 'line': {d!r}")
    stats = SiteStats(
        _absolute(path, root),
        line,
        function,
        round_trips=_int(d, "round_trips"),
        commands=_int(d, "commands"),
        back_to_back=_int(d, "back_to_back"),
        repeated=_int(d, "repeated"),
        pipelined=_int(d, "pipelined"),
        wait_s=float(d.get("wait_ms", 0.0)) / 1000,
        test_count=_int(d, "tests"),
    )
    stats.by_name.update({str(k): int(v) for k, v in (d.get("commands_by_name") or {}).items()})
    for caller in d.get("repeated_by") or ():
        key = (_absolute(str(caller["path"]), root), int(caller["line"]), str(caller["function"]))
        stats.repeated_by[key] += int(caller["round_trips"])
    for t in d.get("top_tests") or ():
        stats.tests[str(t["test"])] += int(t["round_trips"])
    return stats


def load_trace(path: Path) -> Trace:
    """Read a trace file; raise :class:`TraceError` with a clear message on bad input."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"cannot read trace {path}: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TraceError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != TRACE_FORMAT:
        raise TraceError(f'{path} is not a pipelint trace (no "format": "{TRACE_FORMAT}")')
    if data.get("version") != TRACE_VERSION:
        raise TraceError(
            f"{path}: trace version {data.get('version')!r} is not supported "
            f"(this pipelint reads version {TRACE_VERSION})"
        )
    root_text = data.get("root")
    root = Path(root_text) if isinstance(root_text, str) else Path(path).resolve().parent
    trace = Trace(root=root, tests=_int(data, "tests"))
    totals = data.get("totals") or {}
    trace.housekeeping_round_trips = (
        _int(totals, "housekeeping_round_trips") if isinstance(totals, dict) else 0
    )
    sites = data.get("call_sites")
    if not isinstance(sites, list):
        raise TraceError(f"{path}: 'call_sites' must be a list")
    try:
        for raw in sites:
            stats = _site_from_json(raw, root)
            if stats.key in trace.sites:
                trace.sites[stats.key].merge(stats)
            else:
                trace.sites[stats.key] = stats
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, TraceError):
            raise TraceError(f"{path}: {exc}") from exc
        raise TraceError(f"{path}: malformed call site: {exc}") from exc
    return trace


def load_traces(paths: list[Path]) -> Trace:
    """Several traces (e.g. one per pytest-xdist worker) merged into one."""
    if not paths:
        raise TraceError("no trace given")
    merged = load_trace(paths[0])
    for p in paths[1:]:
        merged.merge(load_trace(p))
    return merged
