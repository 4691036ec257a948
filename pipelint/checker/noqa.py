"""Suppression comments: reading them, matching findings, finding the unused ones
(RP910), and adding them (``--add-noqa``).

- ``# noqa`` (every code), ``# noqa: RP101, RP102`` (commas or spaces), and
  ``# pipelint: ignore[RP101]`` on any line of a finding suppress it (a finding that
  spans a loop: on its first line or a line of one of its commands, see
  ``suppression_rows``);
- ``# pipelint: noqa`` anywhere in a file suppresses every finding of the file,
  ``# pipelint: noqa: RP101`` those codes (as ruff's ``# ruff: noqa``).

Only real comments count: they are found with Python's tokenizer, so ``"# noqa"`` inside
a string is text. A code is written as a prefix (``RP1`` covers RP101).

A directive is *unused* (RP910) when one of pipelint's own codes in it suppressed
nothing. Codes that pipelint does not own (``E501``, a bare ``# noqa``) belong to other
tools and are never judged, nor codes of rules that are not selected for the file (a
narrower run, ``--select RP1``, must not call a suppression of another rule unused and
remove it); nor is a directive that names RP910 itself.
"""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipelint.diagnostics import Diagnostic, Location

__all__ = [
    "Directive",
    "Directives",
    "read_directives",
    "suppress",
    "unused",
    "unknown_code_warnings",
    "add_noqa",
    "add_noqa_to_files",
    "UNUSED_NOQA",
]

UNUSED_NOQA = "RP910"

_CODE = r"[A-Za-z]+[0-9]+\b"
_CODES = rf"(?P<codes>{_CODE}(?:\s*,\s*{_CODE}|\s+[A-Z]+[0-9]+\b)*)"
#: a code-like word right after a directive's codes that is not a code (``RP1O1``)
_JOINED = re.compile(r"[\s,]*([A-Za-z]+[0-9]\w*)")
_LOOKS_OURS = re.compile(r"RP\w*", re.IGNORECASE)
_NOQA = re.compile(rf"#\s*(?i:noqa)(?P<colon>\s*:\s*{_CODES}?)?")
_IGNORE = re.compile(r"#\s*pipelint:\s*ignore(?:\[(?P<codes>[^\]]*)\])?")
_FILE = re.compile(rf"#\s*pipelint\s*:\s*(?i:noqa)(?P<colon>\s*:\s*{_CODES}?)?")
_OURS = re.compile(r"RP[0-9]+")
_SPLIT = re.compile(r"[,\s]+")


@dataclass
class Directive:
    """One suppression comment (or the suppression part of a comment)."""

    kind: str  # "noqa" | "ignore" | "file"
    codes: tuple[str, ...] | None  # as written, upper-cased; None: every code
    text: str  # the directive as written (with its "#")
    start: int  # offsets in the source: the directive ...
    end: int
    comment_start: int  # ... and the whole comment it is in (to the end of the line)
    comment_end: int
    codes_start: int  # where the codes are written (empty span when there are none)
    codes_end: int
    location: Location
    end_location: Location
    #: the codes (as written; "*" for every code) that suppressed a finding
    used: set[str] = field(default_factory=set)

    def matching(self, code: str) -> str | None:
        """The code of this directive that covers ``code`` ("*" for every code)."""
        if self.codes is None:
            return "*"
        for c in self.codes:
            if code.startswith(c):
                return c
        return None

    @property
    def label(self) -> str:
        return {"noqa": "noqa", "ignore": "pipelint: ignore", "file": "pipelint: noqa"}[self.kind]


@dataclass
class Directives:
    by_row: dict[int, list[Directive]] = field(default_factory=dict)
    file: list[Directive] = field(default_factory=list)
    #: (row, directive text, word): a word that looks like one of our codes but is not
    #: one, written where a code goes (RP1O1 after a colon): it suppresses nothing
    malformed: list[tuple[int, str, str]] = field(default_factory=list)
    #: found with the tokenizer (only then are they judged or added to)
    reliable: bool = True

    def __iter__(self) -> Iterator[Directive]:
        for row in sorted(self.by_row):
            yield from self.by_row[row]
        yield from self.file

    def __bool__(self) -> bool:
        return bool(self.by_row or self.file or self.malformed)


def _split_codes(raw: str | None) -> tuple[str, ...] | None:
    if raw is None:
        return None
    return tuple(c.upper() for c in _SPLIT.split(raw) if c)


def _comments(source: str) -> Iterator[tuple[int, int]] | None:
    """(start, end) offsets of every comment, or None when the source does not tokenize."""
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", source))
    out: list[tuple[int, int]] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                (row, col), (erow, ecol) = tok.start, tok.end
                out.append((starts[row - 1] + col, starts[erow - 1] + ecol))
    except (tokenize.TokenError, SyntaxError, IndexError):
        return None
    return iter(out)


def _line_comments(source: str) -> Iterator[tuple[int, int]]:
    """The fallback: from each line's first ``#`` to its end (strings not told apart)."""
    for m in re.finditer(r"#[^\r\n]*", source):
        yield m.start(), m.end()


def read_directives(source: str, location: Callable[[int], Location]) -> Directives:
    """Every suppression comment of ``source``; ``location`` maps an offset to a
    1-based row and column with the checker's newline rule."""
    lowered = source.lower()
    if "noqa" not in lowered and "pipelint" not in lowered:
        return Directives()
    comments = _comments(source)
    out = Directives(reliable=comments is not None)
    for c_start, c_end in comments if comments is not None else _line_comments(source):
        comment = source[c_start:c_end]
        for kind, pattern in (("file", _FILE), ("noqa", _NOQA), ("ignore", _IGNORE)):
            m = pattern.search(comment)
            if m is None:
                continue
            raw = m.group("codes")
            joined = _JOINED.match(comment, m.end()) if kind != "ignore" else None
            if joined is not None and _LOOKS_OURS.fullmatch(joined.group(1)):
                row = location(c_start + m.start()).row
                out.malformed.append((row, comment[m.start() : joined.end()], joined.group(1)))
            if kind != "ignore" and raw is None and m.group("colon"):
                if kind == "file":
                    break
                continue  # a colon but no valid code after it (XYZ): not a blanket one
            codes = _split_codes(raw)
            if codes == ():
                codes = None  # `# pipelint: ignore[]`: as `# pipelint: ignore`
            start, end = c_start + m.start(), c_start + m.end()
            if raw is not None:
                codes_start, codes_end = c_start + m.start("codes"), c_start + m.end("codes")
            else:
                codes_start = codes_end = end
            directive = Directive(
                kind,
                codes,
                m.group(0),
                start,
                end,
                c_start,
                c_end,
                codes_start,
                codes_end,
                location(start),
                location(end),
            )
            if kind == "file":
                out.file.append(directive)
                break  # a file-level directive is not also a line's noqa
            out.by_row.setdefault(directive.location.row, []).append(directive)
    return out


def suppress(diag: Diagnostic, directives: Directives, about: Directive | None = None) -> None:
    """Suppress ``diag`` if a directive on one of its lines, or a file-level one, covers
    its code. Every directive that covers it counts as used (so none of them is ever
    called unused while it would suppress the finding). ``about``: the directive an
    RP910 finding reports, which cannot suppress its own report."""
    matches: list[Directive] = []
    for row in suppression_rows(diag):
        matches.extend(d for d in directives.by_row.get(row, ()) if d.matching(diag.code))
    matches.extend(d for d in directives.file if d.matching(diag.code))
    matches = [d for d in matches if d is not about]
    for directive in matches:
        # every code of it that covers the finding (`RP101, RP1`: both) is used
        directive.used.update(
            c for c in directive.codes or ("*",) if c == "*" or diag.code.startswith(c)
        )
        if not diag.suppressed:
            diag.suppressed = True
            diag.suppression = directive.text


def suppression_rows(diag: Diagnostic) -> list[int]:
    """The rows where a suppression comment covers ``diag``: every row of it, or, for a
    finding that spans a loop, its first row and the rows of its commands (a ``# noqa``
    for another tool somewhere in the loop's body does not silence it)."""
    if diag.noqa_rows is None:
        return list(range(diag.location.row, diag.end_location.row + 1))
    return sorted({diag.location.row, *diag.noqa_rows})


def _ours(code: str) -> bool:
    return _OURS.fullmatch(code) is not None


def unused(
    directives: Directives, judged: Callable[[str], bool]
) -> Iterator[tuple[Directive, tuple[str, ...]]]:
    """The directives with unused codes of pipelint's own, and those codes (``()`` for
    a blanket ``# pipelint: ignore`` that suppressed nothing). ``judged(code)``: does
    ``code`` cover a rule selected for this file that could have been suppressed?"""
    if not directives.reliable:
        return
    for directive in directives:
        if directive.codes is None:
            # a bare noqa may be another tool's, a bare file-level one silences
            # RP910 too: only a blanket `# pipelint: ignore` is judged
            if directive.kind == "ignore" and not directive.used and judged("RP"):
                yield directive, ()
            continue
        if any(_ours(c) and UNUSED_NOQA.startswith(c) for c in directive.codes):
            continue  # it names RP910: left alone
        stale = tuple(
            c for c in directive.codes if c not in directive.used and _ours(c) and judged(c)
        )
        if stale:
            yield directive, stale


def unknown_code_warnings(directives: Directives, known: Iterable[str]) -> list[str]:
    """``"ROW: message"`` for every code that looks like pipelint's (``RP...``) but
    names no rule; other tools' codes are theirs."""
    codes = sorted(known)
    found = [
        (d.location.row, d.text, c)
        for d in directives
        for c in d.codes or ()
        if _LOOKS_OURS.fullmatch(c) and not any(k.startswith(c) for k in codes)
    ]
    return [
        f"{row}: unknown rule code `{code.upper()}` in `{text}` (it suppresses nothing; "
        "`pipelint rule --all` lists the rules)"
        for row, text, code in sorted([*found, *directives.malformed])
    ]


# --------------------------------------------------------------------------- --add-noqa


def _commentable_rows(source: str) -> set[int] | None:
    """Rows (tokenizer numbering) whose end can take a comment: not inside a string
    that spans lines, not continued with a backslash. None: the source does not
    tokenize."""
    lines = source.split("\n")
    inside: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.start[0] != tok.end[0] and tok.type not in (tokenize.NL, tokenize.NEWLINE):
                inside.update(range(tok.start[0], tok.end[0]))
    except (tokenize.TokenError, SyntaxError, IndexError):
        return None
    rows = set()
    for n, line in enumerate(lines, 1):
        if n in inside or line.rstrip("\r").rstrip().endswith("\\"):
            continue
        rows.add(n)
    return rows


def add_noqa(source: str, diagnostics: Iterable[Diagnostic]) -> tuple[str, int]:
    """``source`` with a ``# noqa: CODE`` for each finding, on the first line of the
    finding that can take a comment; codes are added to a ``# noqa: ...`` already there
    (``# noqa: E501`` becomes ``# noqa: E501, RP101``). Returns the text and the number
    of lines changed. Rows are counted at ``\\n`` (the tokenizer's rule)."""
    rows = _commentable_rows(source) if not re.search("\r(?!\n)", source) else None
    if rows is None:  # rows would not be counted as the checker counts them: leave it
        return source, 0
    starts = [0]
    starts.extend(m.end() for m in re.finditer("\n", source))

    def location(offset: int) -> Location:
        import bisect

        row = bisect.bisect_right(starts, offset)
        return Location(row, offset - starts[row - 1] + 1)

    directives = read_directives(source, location)
    wanted: dict[int, set[str]] = {}
    for d in diagnostics:
        row = next((r for r in suppression_rows(d) if r in rows), None)
        if row is not None:
            wanted.setdefault(row, set()).add(d.code)
    edits: list[tuple[int, int, str]] = []
    for row, codes in wanted.items():
        noqa = next((x for x in directives.by_row.get(row, ()) if x.kind == "noqa"), None)
        if noqa is not None and noqa.codes is None:
            continue  # a bare noqa already covers everything
        if noqa is not None:
            new = sorted(c for c in codes if noqa.matching(c) is None)
            if new:
                edits.append((noqa.codes_end, noqa.codes_end, ", " + ", ".join(new)))
            continue
        line_start = starts[row - 1]
        line_end = starts[row] - 1 if row < len(starts) else len(source)
        if source[line_start:line_end].endswith("\r"):
            line_end -= 1
        body_end = line_start + len(source[line_start:line_end].rstrip())
        edits.append((body_end, line_end, f"  # noqa: {', '.join(sorted(codes))}"))
    for start, end, text in sorted(edits, reverse=True):
        source = source[:start] + text + source[end:]
    return source, len(edits)


def add_noqa_to_files(
    diagnostics: Iterable[Diagnostic], cwd: Path | None = None
) -> tuple[int, list[str]]:
    """``--add-noqa``: add the directives to the files of ``diagnostics`` (findings
    left after suppression; not RP900-RP902, the files that were not analysed, nor
    RP910), each file written atomically and only if it still parses. Returns the
    directives added and the failures."""
    import libcst as cst

    from pipelint.checker import DecodeError, decode_source
    from pipelint.discovery.read import read_regular
    from pipelint.fixes.apply import NotWritableError, write_atomic

    by_file: dict[str, list[Diagnostic]] = {}
    for d in diagnostics:
        if not d.suppressed and not d.code.startswith("RP90") and d.code != UNUSED_NOQA:
            by_file.setdefault(d.path, []).append(d)
    added = 0
    failures: list[str] = []
    for display, diags in sorted(by_file.items()):
        path = Path(display) if cwd is None else cwd / display
        try:
            source = decode_source(read_regular(path))
        except (OSError, DecodeError) as exc:
            failures.append(f"{display}: cannot add noqa directives: {exc}")
            continue
        new, n = add_noqa(source, diags)
        if not n:
            continue
        try:
            cst.parse_module(new)
        except Exception as exc:  # noqa: BLE001 - any parse failure means: do not write
            failures.append(f"{display}: noqa directives not added ({type(exc).__name__})")
            continue
        try:
            write_atomic(path, new)
        except (OSError, UnicodeError, NotWritableError) as exc:
            failures.append(f"{display}: cannot write: {exc}")
            continue
        added += n
    return added, failures
