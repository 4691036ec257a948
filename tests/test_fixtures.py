"""Every fixture: findings exactly where `# error: CODE` says, nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelint.checker import check_source
from tests.fixture_support import (
    FIXTURES,
    count_cases,
    expected,
    fixture_config,
    fixture_files,
    project_for,
)

FILES = fixture_files()


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(FIXTURES)) for p in FILES])
def test_fixture(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    config = fixture_config(path, source)
    result = check_source(path, source, config, project_for(config), str(path))
    actual = {(d.location.row, d.code) for d in result.diagnostics if not d.suppressed}
    want = expected(source)
    missing = sorted(want - actual)
    extra = sorted(actual - want)
    messages = {(d.location.row, d.code): d.message for d in result.diagnostics}
    assert not missing and not extra, (
        f"missing findings (line, code): {missing}\n"
        f"unexpected findings: {[(k, messages.get(k)) for k in extra]}"
    )


def test_fixture_counts() -> None:
    pos = neg = 0
    for path in fixture_files("RP101"):
        p, n = count_cases(path.read_text(encoding="utf-8"))
        pos += p
        neg += n
    assert pos >= 30, pos
    assert neg >= 30, neg


@pytest.mark.parametrize(
    ("rule", "positives", "negatives"), [("RP102", 40, 30), ("RP103", 40, 10), ("RP104", 5, 6)]
)
def test_loop_fixture_counts(rule: str, positives: int, negatives: int) -> None:
    pos = neg = 0
    for path in fixture_files(rule):
        p, n = count_cases(path.read_text(encoding="utf-8"))
        pos += p
        neg += n
    assert pos >= positives, pos
    assert neg >= negatives, neg
