"""pipelint's own verdict on the reference queue: naive.py has findings, pipelined.py none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

QUEUE_DIR = Path(__file__).resolve().parents[1] / "pipelint" / "queue"


def _findings(report: Any) -> list[dict[str, Any]]:
    assert isinstance(report, list), f"unrecognised JSON report: {str(report)[:500]}"
    return report


def _check(path: Path) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "pipelint", "check", "--output-format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=QUEUE_DIR.parents[1],
    )
    assert proc.returncode in (0, 1), proc.stderr
    return _findings(json.loads(proc.stdout))


def _rule(finding: dict[str, Any]) -> str:
    return str(finding["code"])


def test_naive_queue_has_findings() -> None:
    findings = _check(QUEUE_DIR / "naive.py")
    assert len(findings) >= 5, findings
    assert any(_rule(f) == "RP101" for f in findings), [_rule(f) for f in findings]


def test_pipelined_queue_is_clean() -> None:
    assert _check(QUEUE_DIR / "pipelined.py") == []
