"""``--output-format github``: GitHub Actions workflow commands, one per finding.

``::warning file=app.py,line=3,col=5,endLine=4,endColumn=20,title=RP101::message``
makes an annotation on the pull request. The data after ``::`` escapes ``%``, CR and
LF; the properties also escape ``:`` and ``,`` (``actions/toolkit``'s ``command.ts``).
"""

from __future__ import annotations

from typing import TextIO

from pipelint.checker.runner import RunResult
from pipelint.diagnostics import Diagnostic
from pipelint.reporters import ReportOptions
from pipelint.rules import get_rule

__all__ = ["report", "workflow_command", "escape_data", "escape_property"]


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workflow_command(d: Diagnostic) -> str:
    rule = get_rule(d.code)
    level = "error" if rule is not None and rule.level == "error" else "warning"
    properties = {
        "file": d.path,
        "line": str(d.location.row),
        "col": str(d.location.column),
        "endLine": str(d.end_location.row),
        "endColumn": str(d.end_location.column),
        "title": d.code,
    }
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items())
    return f"::{level} {props}::{escape_data(d.message)}"


def report(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    for d in result.diagnostics:
        out.write(workflow_command(d) + "\n")
