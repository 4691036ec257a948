"""Applying fixes to a file: non-overlapping edits, repeated until nothing changes
(bounded), the result must parse, then one atomic write (or a diff).

Never writes a broken or half-fixed file: if a round of fixes does not parse, the
file keeps the last good state (the original if it was the first round) and the
failure is reported as RP902 on that file.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
import signal
import stat
import tempfile
import threading
import tokenize
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import libcst as cst

from pipelint.diagnostics import Diagnostic, Edit, FileResult, Location

if TYPE_CHECKING:
    from pipelint.checker.runner import RunOptions
    from pipelint.clients.project import ProjectIndex
    from pipelint.config import Config

__all__ = [
    "fix_source",
    "fix_text",
    "apply_fixes",
    "write_atomic",
    "NotWritableError",
    "MAX_ROUNDS",
]

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
    original = result
    current, result, applied, failure = fix_text(
        path, source, result, config, project, display, options.unsafe_fixes
    )
    result.fixes_applied = dict(applied)
    failures: list[Diagnostic] = []
    if failure is not None:
        loc = Location(1, 1)
        failures.append(
            Diagnostic("RP902", f"internal error: {failure}", display, loc, loc, noqa_row=1)
        )
    result.diagnostics.extend(failures)
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
    except (OSError, UnicodeError, NotWritableError) as exc:
        # nothing was written: the findings of the file as it is are still there
        n = sum(applied.values())
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        loc = Location(1, 1)
        message = f"cannot write fixed file: {reason}; {n} fix{'es' if n != 1 else ''} not applied"
        kept = FileResult(
            original.path,
            [*original.diagnostics, *failures],
            parsed=original.parsed,
            lines=original.lines,
        )
        kept.diagnostics.append(Diagnostic("RP901", message, display, loc, loc, noqa_row=1))
        return kept
    result.fixed_source = current
    return result


class NotWritableError(Exception):
    """The file must not be written (read-only); nothing was changed."""


def _encoding(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            encoding, _ = tokenize.detect_encoding(fh.readline)
            return encoding
    except (OSError, SyntaxError):
        return "utf-8"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` over the file ``path`` without ever leaving it half-written.

    - A symbolic link is followed: the file it points to is fixed, the link stays.
    - A read-only file (no write permission bit, or not writable by us) is not
      written: ``NotWritableError``.
    - A file with one name is written to a temporary file beside it and renamed over
      it (atomic), keeping its permissions and, where allowed, its owner.
    - A file with several hard links is rewritten in place, so that every name sees
      the fix (a rename would give this name a new file and leave the others): the
      space is reserved first, and interrupts are held back until the write is done.

    The text is encoded in the file's own encoding (BOM kept); newlines are written
    exactly as in ``text``."""
    target = Path(os.path.realpath(path))
    st = target.stat()
    if not stat.S_ISREG(st.st_mode):
        raise NotWritableError("not a regular file")
    if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise NotWritableError(f"file is read-only (mode {stat.S_IMODE(st.st_mode):o})")
    data = text.encode(_encoding(target))
    if st.st_nlink > 1:
        _write_in_place(target, data)
        return
    # an interrupt waits until the file is replaced (or the temporary file removed):
    # a temporary file is never left behind by Ctrl-C or the parent's SIGTERM
    with _signals_held():
        fd, tmp = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".pipelint-tmp", dir=target.parent
        )
        try:
            with open(fd, "wb", closefd=True) as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if hasattr(os, "chown"):
                try:
                    os.chown(tmp, st.st_uid, st.st_gid)
                except OSError:
                    pass  # not allowed to give it away: it stays ours
            os.chmod(tmp, st.st_mode & 0o7777)  # after chown, which may clear set-id bits
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise


def _write_in_place(target: Path, data: bytes) -> None:
    with _signals_held(), open(target, "r+b") as fh:
        if len(data) > os.fstat(fh.fileno()).st_size and hasattr(os, "posix_fallocate"):
            try:  # a full disk fails here, before a byte of the file changed
                os.posix_fallocate(fh.fileno(), 0, len(data))
            except OSError as exc:
                if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP):
                    raise
        fh.write(data)
        fh.truncate()
        fh.flush()
        os.fsync(fh.fileno())


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back (delivered on exit) while a file is being rewritten."""
    held = {signal.SIGINT, signal.SIGTERM}
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
