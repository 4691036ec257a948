"""Diagnostics, fixes and edits: the objects every stage after the rules shares."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Location", "Edit", "Fix", "Diagnostic", "FileResult"]


@dataclass(frozen=True, order=True)
class Location:
    """1-based row, 1-based column (in characters), as ruff reports them."""

    row: int
    column: int

    def to_json(self) -> dict[str, int]:
        return {"row": self.row, "column": self.column}


@dataclass(frozen=True)
class Edit:
    """Replace the source between ``start`` and ``end`` (offsets in characters)."""

    start: int
    end: int
    content: str
    location: Location
    end_location: Location

    def to_json(self) -> dict[str, Any]:
        return {
            "content": self.content,
            "location": self.location.to_json(),
            "end_location": self.end_location.to_json(),
        }


@dataclass(frozen=True)
class Fix:
    applicability: str  # "safe" | "unsafe" | "display-only"
    message: str
    edits: tuple[Edit, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "applicability": self.applicability,
            "message": self.message,
            "edits": [e.to_json() for e in self.edits],
        }


@dataclass
class Diagnostic:
    code: str
    message: str
    path: str  # as given / relative for display
    location: Location
    end_location: Location
    fix: Fix | None = None
    noqa_row: int | None = None
    suppressed: bool = False
    suppression: str | None = None  # the noqa comment text, when suppressed
    runtime: dict[str, Any] | None = None  # what a trace says it paid (pipelint.trace.join)
    #: rows besides ``location.row`` where a suppression comment counts (the rows of a
    #: loop finding's commands); None: every row from ``location`` to ``end_location``
    noqa_rows: tuple[int, ...] | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.location.row, self.location.column, self.code)


@dataclass
class FileResult:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    fixed_source: str | None = None  # set by --fix when the file changed
    diff: str | None = None  # set by --diff when fixes would change the file
    fixes_applied: dict[str, int] = field(default_factory=dict)
    parsed: bool = False
    lines: int = 0
    #: said on stderr, not findings, each ``"ROW: message"`` (the run prefixes the path):
    #: an unknown rule code in a noqa comment
    warnings: list[str] = field(default_factory=list)
