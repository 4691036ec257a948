"""Adversarial RP101 programs as runnable differential cases (issue 16).

Each program in tests/data/rp101_adversarial/ says what it tries to break and the fix it
must get (``# fix: safe|unsafe|display-only|none``). What plain ``--fix`` writes must
behave exactly as the original against a real Redis (return value, exception type and
message, printed and logged output, module globals, keyspace), including when a command
gets an error reply in the middle of the run; every fix, safe or not, must parse and be
idempotent.
"""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst
import pytest

from pipelint.checker import check_source
from pipelint.server import RedisServer
from tests.differential import observe
from tests.fixture_support import fixed_text, fixture_config, project_for

CASES = sorted((Path(__file__).parent / "data" / "rp101_adversarial").glob("*.py"))
_RANK = {"none": 0, "display-only": 1, "unsafe": 2, "safe": 3}


def _expected(source: str) -> str:
    m = re.search(r"^# fix: (safe|unsafe|display-only|none)$", source, re.M)
    assert m, "each case says which fix it must get"
    return m.group(1)


def _best_fix(path: Path, source: str) -> str:
    config = fixture_config(path, source)
    result = check_source(path, source, config, project_for(config), str(path))
    best = "none"
    for d in result.diagnostics:
        if d.code == "RP101" and d.fix is not None and d.fix.edits:
            if _RANK[d.fix.applicability] > _RANK[best]:
                best = d.fix.applicability
    return best


def test_enough_cases() -> None:
    kinds = [_expected(p.read_text()) for p in CASES]
    assert len(CASES) >= 40
    assert {"safe", "unsafe", "display-only", "none"} <= set(kinds)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_applicability(case: Path) -> None:
    source = case.read_text()
    assert _best_fix(case, source) == _expected(source)


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_every_fix_parses_and_is_idempotent(case: Path) -> None:
    for unsafe in (False, True):
        fixed = fixed_text(case, unsafe=unsafe)
        cst.parse_module(fixed)
        compile(fixed, str(case), "exec")
        assert fixed_text(case, fixed, unsafe=unsafe) == fixed


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_safe_fix_keeps_behaviour(case: Path, redis_server: RedisServer) -> None:
    original = case.read_text()
    fixed = fixed_text(case, unsafe=False)
    if _expected(original) == "safe":
        assert fixed != original, "the safe fix was not applied"
    if fixed == original:
        return
    assert observe(fixed, case, redis_server) == observe(original, case, redis_server)
