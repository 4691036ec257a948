"""Text output, ruff style.

``concise``: one ``path:row:col: CODE [*] message`` line per finding. ``full`` (the
default, alias ``text``): each finding with a code frame (the flagged lines under a
``-->`` location header, a line-number gutter and ``^`` markers) and its fix; with
``--show-fixes`` the fix as a diff, and a note when it is unsafe. Both end with the
fixes applied (``--fix --show-fixes``) and the summary lines (not with ``-q``), in
ruff's words; colour as ruff's (``style.py``).
"""

from __future__ import annotations

import difflib
import io
import json
import tokenize
from collections import Counter
from typing import Any, TextIO

from pipelint.checker.runner import RunResult
from pipelint.diagnostics import Diagnostic, Fix
from pipelint.reporters import ReportOptions
from pipelint.reporters._source import Sources
from pipelint.reporters.style import Style

__all__ = [
    "report_concise",
    "report_full",
    "code_frame",
    "fix_diff",
    "summary",
    "statistics",
    "statistics_json",
    "plural",
]


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 error``, ``2 errors``; ``plural(1, "fix", "fixes")``."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


#: lines of context shown above and below the flagged lines
CONTEXT = 1
#: a span longer than this shows its first and last lines only
MAX_SPAN = 6
TAB = 4


def _line(d: Diagnostic, fixable: bool, style: Style | None = None) -> str:
    style = style or Style()
    colon = style(":", "cyan")
    mark = f"[{style('*', 'cyan')}] " if fixable else ""
    where = f"{style(d.path, 'bold')}{colon}{d.location.row}{colon}{d.location.column}{colon}"
    return f"{where} {style(d.code, 'bold', 'red')} {mark}{d.message}"


def report_concise(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    options = options if options is not None else ReportOptions()
    style = Style(options.colour)
    for d in result.diagnostics:
        out.write(_line(d, result.is_fixable(d), style) + "\n")
    _ending(result, out, options, style)


def _ending(result: RunResult, out: TextIO, options: ReportOptions, style: Style) -> None:
    """What follows the findings: the fixes applied (``--show-fixes``), the summary."""
    if options.show_fixes and result.fixed_files:
        fixed_list(result, out)
    if not options.quiet:
        summary(result, out, style)


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


def _fix_note(fix: Fix) -> str | None:
    if fix.applicability == "unsafe":
        return "note: This is an unsafe fix and may change runtime behavior"
    if fix.applicability == "display-only":
        return "note: This is a display-only fix and is likely to be incorrect"
    return None


def fix_diff(text: str, fix: Fix, style: Style | None = None) -> list[str]:
    """The lines ``fix`` changes in ``text``, as ruff shows them under ``help:``: one line
    of context, removed lines marked ``-`` and added ones ``+`` with their new number."""
    style = style or Style()
    new = text
    for e in sorted(fix.edits, key=lambda e: e.start, reverse=True):
        new = new[: e.start] + e.content + new[e.end :]
    old_lines, new_lines = text.splitlines(), new.splitlines()
    groups = list(difflib.SequenceMatcher(None, old_lines, new_lines).get_grouped_opcodes(1))
    if not groups:
        return []
    last = max(j2 for group in groups for *_, j2 in group)
    width = len(str(max(last, 1)))
    bar = style("|", "bold", "bright_blue")
    rows = [f"{' ' * width} {bar}"]
    for n, group in enumerate(groups):
        if n:
            rows.append(style("." * width, "bold", "bright_blue"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for k in range(j1, j2):
                    number = style(f"{k + 1:>{width}}", "bold", "bright_blue")
                    rows.append(f"{number} {bar} {new_lines[k]}".rstrip())
                continue
            for k in range(i1, i2):
                line = style(old_lines[k], "red")
                rows.append(f"{' ' * width} {style('-', 'bold', 'red')} {line}".rstrip())
            for k in range(j1, j2):
                number = style(f"{k + 1:>{width}}", "bold", "bright_blue")
                line = style(new_lines[k], "green")
                rows.append(f"{number} {style('+', 'bold', 'green')} {line}".rstrip())
    rows.append(f"{' ' * width} {bar}")
    return rows


def report_full(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    options = options if options is not None else ReportOptions()
    style = Style(options.colour)
    sources = Sources(options.cwd, options.texts)
    for d in result.diagnostics:
        mark = f"[{style('*', 'bold', 'bright_cyan')}] " if result.is_fixable(d) else ""
        lines = sources.lines(d)
        frame = code_frame(d, lines) if lines is not None else []
        width = len(frame[0]) - 2 if frame else 1
        code = style(d.code, "bold", "bright_red")
        out.write(f"{code} {mark}{style(d.message, 'bold')}\n")
        arrow = style("-->", "bold", "bright_blue")
        out.write(f"{' ' * width}{arrow} {d.path}:{d.location.row}:{d.location.column}\n")
        for row in frame:
            out.write(_paint_frame(row, style) + "\n")
        if d.fix is not None and d.fix.message:
            out.write(
                f"{style('help', 'bold', 'bright_cyan')}{style(': ' + d.fix.message, 'bold')}\n"
            )
        if options.show_fixes and d.fix is not None:
            text = sources.text(d) if d.fix.edits else None
            for row in fix_diff(text, d.fix, style) if text is not None else []:
                out.write(row + "\n")
            note = _fix_note(d.fix)
            if note is not None:
                out.write(note + "\n")
        out.write("\n")
    _ending(result, out, options, style)


def _paint_frame(row: str, style: Style) -> str:
    """A code-frame row with the gutter (numbers, ``|``) and the ``^`` markers coloured."""
    if not style.enabled:
        return row
    head, sep, rest = row.partition(" |")
    if not sep:  # the ``...`` separator of a long span
        return style(row, "bold", "bright_blue")
    gutter = style(head, "bold", "bright_blue") + style(" |", "bold", "bright_blue")
    if rest.strip() and set(rest.strip()) == {"^"}:
        lead = len(rest) - len(rest.lstrip())
        return gutter + rest[:lead] + style(rest.strip(), "bold", "bright_red")
    return gutter + rest


def fixed_list(result: RunResult, out: TextIO) -> None:
    """``--fix --show-fixes``: the fixes applied, per file, as ruff lists them."""
    from pipelint.rules import get_rule

    total = sum(result.fixed.values())
    out.write(f"\nFixed {plural(total, 'error')}:\n")
    for path, counts in sorted(result.fixed_files.items()):
        out.write(f"- {path}:\n")
        for code, n in sorted(counts.items()):
            rule = get_rule(code)
            name = f" ({rule.name})" if rule is not None else ""
            out.write(f"    {n} × {code}{name}\n")
    out.write("\n")


def _hidden(result: RunResult) -> int:
    """Fixes that ``--unsafe-fixes`` would apply (or show)."""
    return sum(
        1
        for d in result.diagnostics
        if d.fix is not None and d.fix.applicability == "unsafe" and not result.unsafe_fixes
    )


def summary(result: RunResult, out: TextIO, style: Style | None = None) -> None:
    style = style or Style()
    n = len(result.diagnostics)
    fixed = sum(result.fixed.values())
    if n == 0:
        if fixed:
            out.write(f"Found {plural(fixed, 'error')} ({fixed} fixed, 0 remaining).\n")
        else:
            out.write("All checks passed!\n")
        return
    if fixed:
        out.write(f"Found {plural(n + fixed, 'error')} ({fixed} fixed, {n} remaining).\n")
    else:
        out.write(f"Found {plural(n, 'error')}.\n")
    fixable = sum(1 for d in result.diagnostics if result.is_fixable(d))
    hidden = _hidden(result)
    unsafe = f"{plural(hidden, 'unsafe fix', 'unsafe fixes')} available with `--fix --unsafe-fixes`"
    if fixable:
        out.write(f"[{style('*', 'cyan')}] {fixable} fixable with `--fix`")
        if hidden:
            out.write(f" ({unsafe})")
        out.write(".\n")
    elif hidden:
        out.write(f"{unsafe}.\n")


def _statistics(result: RunResult) -> list[dict[str, Any]]:
    from pipelint.rules import get_rule

    counts = Counter(d.code for d in result.diagnostics)
    fixable = Counter(d.code for d in result.diagnostics if result.is_fixable(d))
    rows = []
    for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        rule = get_rule(code)
        rows.append(
            {
                "code": code,
                "name": rule.name if rule is not None else None,
                "count": count,
                "fixable": fixable[code] > 0,
                "fixable_count": fixable[code],
            }
        )
    return rows


def statistics(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    """``--statistics``: findings per rule, most frequent first, then the summary."""
    options = options if options is not None else ReportOptions()
    rows = _statistics(result)
    width = max((len(str(r["count"])) for r in rows), default=1)
    code_width = max((len(r["code"]) for r in rows), default=1)
    for r in rows:
        mark = "[*]" if r["fixable"] else "[ ]"
        out.write(f"{r['count']:>{width}}\t{r['code']:<{code_width}}\t{mark} {r['name'] or ''}\n")
    if not options.quiet and rows:
        summary(result, out, Style(options.colour))


def statistics_json(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    """``--statistics --output-format json``: ruff's keys (code, name, count, fixable,
    fixable_count), most frequent first."""
    json.dump(_statistics(result), out, indent=2)
    out.write("\n")
