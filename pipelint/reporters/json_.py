"""``--output-format json``: an array of objects with ruff's JSON keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from pipelint.checker.runner import RunResult
from pipelint.diagnostics import Diagnostic
from pipelint.reporters import ReportOptions

__all__ = ["report", "diagnostic_json"]


def diagnostic_json(d: Diagnostic, cwd: Path | None = None) -> dict[str, Any]:
    from pipelint.reporters import rule_url

    filename = str((cwd or Path.cwd()) / d.path) if not Path(d.path).is_absolute() else d.path
    data = {
        "code": d.code,
        "message": d.message,
        "filename": filename,
        "location": d.location.to_json(),
        "end_location": d.end_location.to_json(),
        "fix": d.fix.to_json() if d.fix is not None else None,
        "url": rule_url(d.code),
        "noqa_row": d.noqa_row,
    }
    if d.runtime:  # pipelint check --trace
        data["runtime"] = d.runtime
    return data


def report(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    cwd = options.cwd if options is not None else None
    data = [diagnostic_json(d, cwd) for d in result.diagnostics]
    json.dump(data, out, indent=2)
    out.write("\n")
