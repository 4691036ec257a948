"""Text output, ruff style.

``concise``: one ``path:row:col: CODE [*] message`` line per finding. ``full`` (the
default, alias ``text``): each finding with a code frame (the flagged lines under a
``-->`` location header, a line-number gutter and ``^`` markers) and its fix. Both end
with the summary lines.
"""

from __future__ import annotations

import io
import tokenize
from collections import Counter
from typing import TextIO

from pipelint.checker.runner import RunResult
from pipelint.diagnostics import Diagnostic
from pipelint.reporters import ReportOptions
from pipelint.reporters._source import Sources

__all__ = ["report_concise", "report_full", "code_frame", "summary", "statistics"]

#: lines of context shown above and below the flagged lines
CONTEXT = 1
#: a span longer than this shows its first and last lines only
MAX_SPAN = 6
TAB = 4


def _line(d: Diagnostic, fixable: bool) -> str:
    mark = "[*] " if fixable else ""
    return f"{d.path}:{d.location.row}:{d.location.column}: {d.code} {mark}{d.message}"


def report_concise(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    for d in result.diagnostics:
        out.write(_line(d, result.is_fixable(d)) + "\n")
    summary(result, out)


def _code_end(line: str) -> int:
    """Where the code of ``line`` ends: before a trailing comment and whitespace."""
    end = len(line.rstrip())
    if "#" not in line:
        return end
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line.lstrip() + "\n").readline):
            if tok.type == tokenize.COMMENT:
                indent = len(line) - len(line.lstrip())
                return len(line[: indent + tok.start[1]].rstrip())
    except (tokenize.TokenError, SyntaxError):
        pass
    return end


def _width(text: str) -> int:
    return len(text.expandtabs(TAB))


def _marker(line: str, start: int, end: int) -> tuple[int, int]:
    """Display offset and length of the ``^`` run under ``line[start:end]``."""
    offset = _width(line[:start])
    length = _width(line[:end]) - offset
    return offset, max(length, 1)


def code_frame(d: Diagnostic, lines: list[str]) -> list[str]:
    """The flagged lines of ``d`` with context, a gutter and ``^`` markers."""
    first, last = d.location.row, max(d.end_location.row, d.location.row)
    if first < 1 or first > len(lines):
        return []
    last = min(last, len(lines))
    shown = list(range(max(1, first - CONTEXT), min(len(lines), last + CONTEXT) + 1))
    if last - first + 1 > MAX_SPAN:
        keep_head = set(range(first, first + MAX_SPAN // 2))
        keep_tail = set(range(last - MAX_SPAN // 2 + 1, last + 1))
        shown = [n for n in shown if not (first <= n <= last) or n in keep_head | keep_tail]
    width = len(str(shown[-1]))
    gutter = " " * width + " |"
    out = [gutter]
    previous = None
    for n in shown:
        if previous is not None and n != previous + 1:
            out.append("." * width)
        previous = n
        text = lines[n - 1]
        out.append(f"{n:>{width}} | {text.expandtabs(TAB)}".rstrip())
        if not first <= n <= last:
            continue
        body_start = len(text) - len(text.lstrip())
        start = d.location.column - 1 if n == first else body_start
        end = d.end_location.column - 1 if n == last else _code_end(text)
        if n == first == last and end <= start:
            end = start + 1
        if end <= start:
            continue
        offset, length = _marker(text, start, end)
        out.append(f"{gutter} {' ' * offset}{'^' * length}")
    out.append(gutter)
    return out


def report_full(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    options = options if options is not None else ReportOptions()
    sources = Sources(options.cwd, options.texts)
    for d in result.diagnostics:
        mark = "[*] " if result.is_fixable(d) else ""
        lines = sources.lines(d)
        frame = code_frame(d, lines) if lines is not None else []
        width = len(frame[0]) - 2 if frame else 1
        out.write(f"{d.code} {mark}{d.message}\n")
        out.write(f"{' ' * width}--> {d.path}:{d.location.row}:{d.location.column}\n")
        for row in frame:
            out.write(row + "\n")
        if d.fix is not None and d.fix.message:
            out.write(f"help: {d.fix.message}\n")
        out.write("\n")
    summary(result, out)


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
