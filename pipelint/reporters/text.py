"""Text output, ruff style: ``path:row:col: CODE [*] message`` and a summary."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from pipelint.checker.runner import RunResult
from pipelint.diagnostics import Diagnostic

__all__ = ["report_concise", "report_full", "summary", "statistics"]


def _line(d: Diagnostic, fixable: bool) -> str:
    mark = "[*] " if fixable else ""
    return f"{d.path}:{d.location.row}:{d.location.column}: {d.code} {mark}{d.message}"


def report_concise(result: RunResult, out: TextIO) -> None:
    for d in result.diagnostics:
        out.write(_line(d, result.is_fixable(d)) + "\n")
    summary(result, out)


def report_full(result: RunResult, out: TextIO) -> None:
    report_concise(result, out)


def summary(result: RunResult, out: TextIO) -> None:
    n = len(result.diagnostics)
    fixed = sum(result.fixed.values())
    if n == 0:
        if fixed:
            out.write(
                f"Found {fixed} error{'s' if fixed != 1 else ''} ({fixed} fixed, 0 remaining).\n"
            )
        else:
            out.write("All checks passed!\n")
        return
    if fixed:
        out.write(f"Found {n + fixed} errors ({fixed} fixed, {n} remaining).\n")
    else:
        out.write(f"Found {n} error{'s' if n != 1 else ''}.\n")
    fixable = sum(1 for d in result.diagnostics if result.is_fixable(d))
    hidden = sum(
        1
        for d in result.diagnostics
        if d.fix is not None and d.fix.applicability == "unsafe" and not result.unsafe_fixes
    )
    if fixable:
        out.write(f"[*] {fixable} fixable with the `--fix` option")
        if hidden:
            out.write(f" ({hidden} hidden fixes can be enabled with the `--unsafe-fixes` option)")
        out.write(".\n")
    elif hidden:
        out.write(
            f"No fixes available ({hidden} hidden fixes can be enabled with the `--unsafe-fixes` option).\n"
        )


def statistics(result: RunResult, out: TextIO) -> None:
    from pipelint.rules import get_rule

    counts = Counter(d.code for d in result.diagnostics)
    fixable = {d.code for d in result.diagnostics if result.is_fixable(d)}
    width = max((len(str(c)) for c in counts.values()), default=1)
    for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        rule = get_rule(code)
        name = rule.name if rule is not None else ""
        mark = "[*]" if code in fixable else "[ ]"
        out.write(f"{count:>{width}}\t{code}\t{mark} {name}\n")
