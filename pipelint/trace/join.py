"""``pipelint check --trace FILE``: static findings joined with what a test run paid.

* A finding whose lines paid round trips at runtime says so: its message gets
  ``[runtime: N round trips, M calls, W ms waiting]`` and its ``runtime`` field
  (JSON ``runtime``, SARIF ``properties.runtime``) holds ``calls``, ``roundTrips``,
  ``backToBack``, ``repeated``, ``waitMs``. A finding's lines are its range; the
  round trips counted are those sent from a line in it, plus those repeated by a
  call on one of its lines (a loop there calling a helper that sends).
* ``--trace-only-report`` lists, instead of the findings, the runtime hot spots no
  rule found: call sites in the checked paths, that no finding (reported or
  suppressed) covers, whose round trips came back to back or were repeated by a
  caller in the checked paths that no finding covers either; most round trips first.
"""

from __future__ import annotations

import dataclasses
import io
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pipelint.checker.runner import RunResult
from pipelint.diagnostics import Diagnostic
from pipelint.trace import SiteKey, SiteStats, Trace, TraceError, load_traces

__all__ = [
    "RuntimeCost",
    "HotSpot",
    "annotate",
    "hot_spots",
    "join_trace",
    "load_for_cli",
    "write_hot_spots",
]


@dataclass
class RuntimeCost:
    calls: int = 0
    round_trips: int = 0
    back_to_back: int = 0
    repeated: int = 0
    wait_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "roundTrips": self.round_trips,
            "backToBack": self.back_to_back,
            "repeated": self.repeated,
            "waitMs": round(self.wait_s * 1000, 3),
        }

    def describe(self) -> str:
        return (
            f"[runtime: {self.round_trips} round trip{'s' if self.round_trips != 1 else ''}, "
            f"{self.calls} call{'s' if self.calls != 1 else ''}, "
            f"{self.wait_s * 1000:.1f} ms waiting]"
        )


class _Index:
    """Trace sites by resolved file, and callers' lines by resolved file."""

    def __init__(self, trace: Trace) -> None:
        self.sites: dict[str, list[SiteStats]] = defaultdict(list)
        #: resolved caller file -> [(caller line, site stats, round trips repeated by it)]
        self.callers: dict[str, list[tuple[int, SiteStats, int]]] = defaultdict(list)
        for s in trace.sites.values():
            self.sites[_resolved(s.path)].append(s)
            for (path, line, _fn), n in s.repeated_by.items():
                self.callers[_resolved(path)].append((line, s, n))


def _resolved(path: str) -> str:
    if path.startswith("<"):
        return path
    try:
        return str(Path(path).resolve())
    except OSError:
        return path


def _diag_file(d: Diagnostic, cwd: Path) -> str:
    p = Path(d.path)
    return _resolved(str(p if p.is_absolute() else cwd / p))


def _cost(index: _Index, file: str, first: int, last: int) -> RuntimeCost:
    cost = RuntimeCost()
    direct: set[int] = set()
    for s in index.sites.get(file, ()):
        if first <= s.line <= last:
            direct.add(id(s))
            cost.calls += s.commands
            cost.round_trips += s.round_trips
            cost.back_to_back += s.back_to_back
            cost.repeated += s.repeated
            cost.wait_s += s.wait_s
    for line, s, n in index.callers.get(file, ()):
        if first <= line <= last and id(s) not in direct and s.round_trips:
            share = n / s.round_trips
            cost.calls += round(s.commands * share)
            cost.round_trips += n
            cost.repeated += n
            cost.wait_s += s.wait_s * share
    return cost


def annotate(result: RunResult, trace: Trace, cwd: Path | None = None) -> int:
    """Add the runtime cost to every finding whose lines paid round trips; returns
    how many findings were annotated."""
    base = cwd or Path.cwd()
    index = _Index(trace)
    annotated = 0
    for bucket in (result.diagnostics, result.suppressed):
        for i, d in enumerate(bucket):
            if d.code.startswith("RP9"):
                continue
            cost = _cost(index, _diag_file(d, base), d.location.row, d.end_location.row)
            if cost.round_trips == 0:
                continue
            bucket[i] = dataclasses.replace(
                d, message=f"{d.message} {cost.describe()}", runtime=cost.to_json()
            )
            annotated += 1
    return annotated


@dataclass
class HotSpot:
    site: SiteStats
    file: str  # resolved
    callers: list[tuple[SiteKey, int]] = field(default_factory=list)

    def to_json(self, cwd: Path) -> dict[str, Any]:
        s = self.site
        return {
            "filename": self.file,
            "path": _display(self.file, cwd),
            "line": s.line,
            "function": s.function,
            "round_trips": s.round_trips,
            "calls": s.commands,
            "back_to_back": s.back_to_back,
            "repeated": s.repeated,
            "repeated_by": [
                {"path": _display(_resolved(p), cwd), "line": ln, "function": fn, "round_trips": n}
                for (p, ln, fn), n in self.callers
            ],
            "wait_ms": round(s.wait_s * 1000, 3),
            "commands_by_name": dict(s.by_name.most_common()),
            "tests": s.n_tests,
        }

    def describe(self, cwd: Path) -> str:
        s = self.site
        return f"{s.where(cwd)}: {s.function}: {s.describe(cwd, self.callers)}"


def _display(file: str, cwd: Path) -> str:
    try:
        return Path(file).relative_to(cwd.resolve()).as_posix()
    except ValueError:
        return file


def _inside(file: str, roots: list[Path]) -> bool:
    if file.startswith("<"):
        return False
    p = Path(file)
    return any(p == r or r in p.parents for r in roots)


def hot_spots(
    result: RunResult, trace: Trace, paths: list[Path], cwd: Path | None = None
) -> list[HotSpot]:
    """Call sites under ``paths`` whose round trips came back to back or repeated,
    that no finding covers; most round trips first."""
    base = cwd or Path.cwd()
    roots = [Path(_resolved(str(p if p.is_absolute() else base / p))) for p in paths or [base]]
    covered: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for d in [*result.diagnostics, *result.suppressed]:
        if not d.code.startswith("RP9"):
            covered[_diag_file(d, base)].append((d.location.row, d.end_location.row))

    def is_covered(path: str, line: int) -> bool:
        return any(a <= line <= b for a, b in covered.get(_resolved(path), ()))

    spots: list[HotSpot] = []
    for s in trace.sites.values():
        file = _resolved(s.path)
        if not _inside(file, roots) or (s.back_to_back == 0 and s.repeated == 0):
            continue
        if is_covered(file, s.line):
            continue
        # callers in the checked paths that no finding covers (a test's own loop, or a
        # loop already flagged, is not something the analysis of these paths missed)
        callers = [
            (k, n)
            for k, n in s.repeated_by.most_common()
            if _inside(_resolved(k[0]), roots) and not is_covered(k[0], k[1])
        ]
        if s.back_to_back == 0 and not callers:
            continue
        spots.append(HotSpot(s, file, callers))
    spots.sort(key=lambda h: (-h.site.round_trips, h.file, h.site.line))
    return spots


def write_hot_spots(spots: list[HotSpot], fmt: str, out: TextIO, cwd: Path | None = None) -> None:
    base = cwd or Path.cwd()
    if fmt == "json":
        json.dump([h.to_json(base) for h in spots], out, indent=2)
        out.write("\n")
        return
    if not spots:
        out.write("No runtime hot spots outside the findings.\n")
        return
    for h in spots:
        out.write(h.describe(base) + "\n")
    total = sum(h.site.round_trips for h in spots)
    out.write(
        f"{len(spots)} runtime hot spot{'s' if len(spots) != 1 else ''} no rule found "
        f"({total} round trips), most round trips first.\n"
    )


def load_for_cli(traces: list[Path]) -> Trace | int:
    """The traces given to ``pipelint check``, merged; or exit code 2 after a message
    on stderr (no trace, or one that cannot be read)."""
    if not traces:
        print("pipelint: error: --trace-only-report needs --trace FILE", file=sys.stderr)
        return 2
    try:
        return load_traces(traces)
    except TraceError as exc:
        print(f"pipelint: error: {exc}", file=sys.stderr)
        return 2


def join_trace(
    result: RunResult, trace: Trace, paths: list[Path], fmt: str, report: bool
) -> str | None:
    """The ``--trace`` step of ``pipelint check``: annotate ``result`` in place (None),
    or with ``report`` (``--trace-only-report``) return the hot-spot report to print."""
    if not report:
        annotate(result, trace)
        return None
    buf = io.StringIO()
    write_hot_spots(hot_spots(result, trace, paths), "json" if fmt == "json" else "text", buf)
    return buf.getvalue()
