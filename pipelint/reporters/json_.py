"""``--output-format json``: an array of objects with the keys of ruff's current JSON
(``ruff check --output-format json``, 0.17), in ruff's order (sorted): ``cell`` (always
null: pipelint reads no notebooks), ``code``, ``end_location``, ``filename`` (absolute),
``fix``, ``location``, ``message``, ``name`` (the rule's name), ``noqa_row``,
``severity`` (the rule's level: ``warning``, or ``error`` for RP900-RP902), ``url``."""

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
    from pipelint.rules import get_rule

    rule = get_rule(d.code)
    filename = str((cwd or Path.cwd()) / d.path) if not Path(d.path).is_absolute() else d.path
    data = {
        "cell": None,
        "code": d.code,
        "end_location": d.end_location.to_json(),
        "filename": filename,
        "fix": d.fix.to_json() if d.fix is not None else None,
        "location": d.location.to_json(),
        "message": d.message,
        "name": rule.name if rule is not None else None,
        "noqa_row": d.noqa_row,
        "severity": rule.level if rule is not None else "warning",
        "url": rule_url(d.code),
    }
    if d.runtime:  # pipelint check --trace
        data["runtime"] = d.runtime
    return data


def report(result: RunResult, out: TextIO, options: ReportOptions | None = None) -> None:
    cwd = options.cwd if options is not None else None
    data = [diagnostic_json(d, cwd) for d in result.diagnostics]
    json.dump(data, out, indent=2, sort_keys=True)
    out.write("\n")
