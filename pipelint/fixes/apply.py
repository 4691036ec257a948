"""Applying fixes to a file: non-overlapping edits, repeated until nothing changes
(bounded), the result must parse, then one atomic write (or a diff).

Never writes a broken or half-fixed file: if a round of fixes does not parse, the
file keeps the last good state (the original if it was the first round) and the
failure is reported as RP902 on that file.
"""

from __future__ import annotations

import difflib
import os
import tempfile
import tokenize
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from pipelint.diagnostics import Diagnostic, Edit, FileResult, Location

if TYPE_CHECKING:
    from pipelint.checker.runner import RunOptions
    from pipelint.clients.project import ProjectIndex
    from pipelint.config import Config

__all__ = ["fix_source", "fix_text", "apply_fixes", "write_atomic", "MAX_ROUNDS"]

MAX_ROUNDS = 10


def _applicable(d: Diagnostic, unsafe: bool) -> bool:
    if d.suppressed or d.fix is None:
        return False
    return d.fix.applicability == "safe" or (unsafe and d.fix.applicability == "unsafe")


def apply_fixes(
    source: str, diagnostics: list[Diagnostic], unsafe: bool
) -> tuple[str, Counter[str]]:
    """Apply every applicable fix whose edits do not overlap an earlier one. An edit
    identical to one already chosen (the same script defined by two fixes) is made once
    and is no conflict."""
    chosen: list[tuple[Diagnostic, tuple[Edit, ...]]] = []
    taken: list[tuple[int, int]] = []
    made: set[tuple[int, int, str]] = set()
    for d in sorted(diagnostics, key=lambda d: (d.location, d.code)):
        if not _applicable(d, unsafe):
            continue
        assert d.fix is not None
        edits = tuple(e for e in d.fix.edits if (e.start, e.end, e.content) not in made)
        if any(not (e.end <= a or e.start >= b) for e in edits for a, b in taken):
            continue
        chosen.append((d, edits))
        taken.extend((e.start, e.end) for e in edits)
        made.update((e.start, e.end, e.content) for e in edits)
    counts: Counter[str] = Counter()
    all_edits = sorted(
        (e for _, edits in chosen for e in edits), key=lambda e: e.start, reverse=True
    )
    out = source
    for e in all_edits:
        out = out[: e.start] + e.content + out[e.end :]
    for d, _ in chosen:
        counts[d.code] += 1
    return out, counts


def fix_text(
    path: Path,
    source: str,
    result: FileResult,
    config: Config,
    project: ProjectIndex | None,
    display: str,
    unsafe: bool,
) -> tuple[str, FileResult, Counter[str], str | None]:
    """Apply fixes in rounds until none applies. Returns the new text, the result of
    checking it, the fixes applied per code, and a failure message (text unchanged
    from the last good round) or None."""
    from pipelint.checker import check_source

    current = source
    applied: Counter[str] = Counter()
    failure: str | None = None
    for _round in range(MAX_ROUNDS):
        new, counts = apply_fixes(current, result.diagnostics, unsafe)
        if not counts or new == current:
            break
        try:
            cst.parse_module(new)
        except Exception as exc:  # noqa: BLE001 - any parse failure means: do not write
            failure = (
                f"fixes for {', '.join(sorted(counts))} produced code that does not parse "
                f"({exc.__class__.__name__}); those fixes were not applied"
            )
            break
        current = new
        applied.update(counts)
        result = check_source(path, current, config, project, display)
    else:
        failure = f"fixes did not converge after {MAX_ROUNDS} rounds; the last good state was kept"
    return current, result, applied, failure


def fix_source(
    path: Path,
    source: str,
    result: FileResult,
    config: Config,
    project: ProjectIndex | None,
    display: str,
    options: RunOptions,
) -> FileResult:
    current, result, applied, failure = fix_text(
        path, source, result, config, project, display, options.unsafe_fixes
    )
    result.fixes_applied = dict(applied)
    if failure is not None:
        loc = Location(1, 1)
        result.diagnostics.append(
            Diagnostic("RP902", f"internal error: {failure}", display, loc, loc, noqa_row=1)
        )
    if current == source:
        return result
    if options.diff:
        result.diff = "".join(
            difflib.unified_diff(
                source.splitlines(keepends=True),
                current.splitlines(keepends=True),
                fromfile=f"a/{display}",
                tofile=f"b/{display}",
            )
        )
        return result
    try:
        write_atomic(path, current)
        result.fixed_source = current
    except OSError as exc:
        loc = Location(1, 1)
        result.diagnostics.append(
            Diagnostic(
                "RP901",
                f"cannot write fixed file: {exc.strerror or exc}",
                display,
                loc,
                loc,
                noqa_row=1,
            )
        )
        result.fixes_applied = {}
    return result


def _encoding(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            encoding, _ = tokenize.detect_encoding(fh.readline)
            return encoding
    except (OSError, SyntaxError):
        return "utf-8"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` in the file's own encoding (BOM kept) via a temp file and rename,
    keeping the file's permissions. Newlines are written exactly as in ``text``."""
    encoding = _encoding(path)
    data = text.encode(encoding)
    st = path.stat()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".pipelint-tmp", dir=path.parent)
    try:
        with open(fd, "wb", closefd=True) as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, st.st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
