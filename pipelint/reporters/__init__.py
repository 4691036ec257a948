"""Reporters: turn the sorted diagnostics of a run into text, JSON, SARIF, ..."""

from __future__ import annotations

from collections.abc import Callable
from typing import TextIO

from pipelint.checker.runner import RunResult

__all__ = ["REPORTERS", "report", "rule_url"]

Reporter = Callable[[RunResult, TextIO], None]


def rule_url(code: str) -> str:
    return f"https://github.com/pipelint/pipelint/blob/main/rules/{code}.md"


def _reporters() -> dict[str, Reporter]:
    from pipelint.reporters import json_, text

    return {
        "text": text.report_full,
        "full": text.report_full,
        "concise": text.report_concise,
        "json": json_.report,
    }


REPORTERS = ("text", "full", "concise", "json")


def report(fmt: str, result: RunResult, out: TextIO) -> None:
    _reporters()[fmt](result, out)
