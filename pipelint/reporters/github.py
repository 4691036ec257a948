"""``--output-format github``: GitHub Actions workflow commands, one per finding.

``::warning file=app.py,line=3,col=5,endLine=4,endColumn=20,title=RP101::message``
makes an annotation on the pull request. GitHub resolves ``file`` from the repository
root, so the path is relative to the git top level, wherever pipelint runs from
(``cd svc && pipelint check`` reports ``svc/app/a.py``); outside a repository, relative
to the working directory. The data after ``::`` escapes ``%``, CR and LF; the
properties also escape ``:`` and ``,`` (``actions/toolkit``'s ``command.ts``).
"""

from __future__ import annotations

from typing import TextIO

from pipelint.checker.runner import RunResult
from pipelint.diagnostics import Diagnostic
from pipelint.reporters import ReportOptions
from pipelint.reporters._source import Sources, relative_to_repository
from pipelint.rules import get_rule

__all__ = ["report", "workflow_command", "escape_data", "escape_property"]


def escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(value: str) -> str:
    return escape_data(value).replace(":", "%3A").replace(",", "%2C")


def workflow_command(d: Diagnostic, file: str | None = None) -> str:
    """The command for ``d``; ``file``: its path as GitHub names it (default: as reported)."""
    rule = get_rule(d.code)
    level = "error" if rule is not None and rule.level == "error" else "warning"
    properties = {
        "file": file if file is not None else d.path,
        "line": str(d.location.row),
        "col": str(d.location.column),
        "endLine": str(d.end_location.row),
        "endColumn": str(d.end_location.column),
        "title": d.code,
    }
    props = ",".join(f"{k}={escape_property(v)}" for k, v in properties.items())
    return f"::{level} {props}::{escape_data(d.message)}"


def report(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    options = options if options is not None else ReportOptions()
    sources = Sources(options.cwd, options.texts)
    for d in result.diagnostics:
        file = (
            None
            if d.path in options.texts
            else relative_to_repository(sources.path(d), options.cwd)
        )
        out.write(workflow_command(d, file) + "\n")
