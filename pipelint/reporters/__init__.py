"""Reporters: turn the sorted diagnostics of a run into text, JSON, SARIF, ..."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from pipelint.checker.runner import RunResult

if TYPE_CHECKING:
    from pipelint.config import Config

__all__ = ["REPORTERS", "ReportOptions", "report", "rule_url"]


@dataclass(frozen=True)
class ReportOptions:
    """What a reporter may need besides the run's result."""

    #: the run's configuration: its root (SARIF URIs) and the enabled rules
    config: Config | None = None
    #: include suppressed findings (SARIF: with ``suppressions``)
    show_suppressed: bool = False
    #: the directory the diagnostics' paths are relative to (default: the cwd)
    cwd: Path = field(default_factory=Path.cwd)
    #: the text of reported files that are not (or not as checked) on disk, by their
    #: reported path: the source read from stdin (None: it could not be decoded)
    texts: Mapping[str, str | None] = field(default_factory=dict)
    #: text formats: colour (see ``style.colour_wanted``); no summary (``-q``); each
    #: fix as a diff and the fixes applied by ``--fix`` listed (``--show-fixes``)
    colour: bool = False
    quiet: bool = False
    show_fixes: bool = False


Reporter = Callable[[RunResult, TextIO, ReportOptions], None]


def rule_url(code: str) -> str:
    return f"https://github.com/pipelint/pipelint/blob/main/rules/{code}.md"


def _reporters() -> dict[str, Reporter]:
    from pipelint.reporters import github, json_, sarif, text

    return {
        "text": text.report_full,
        "full": text.report_full,
        "concise": text.report_concise,
        "json": json_.report,
        "sarif": sarif.report,
        "github": github.report,
    }


REPORTERS = ("text", "full", "concise", "json", "sarif", "github")


def report(fmt: str, result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    _reporters()[fmt](result, out, options if options is not None else ReportOptions())
