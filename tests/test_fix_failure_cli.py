"""A fix that fails is never "nothing to fix": ``--diff`` (paths and stdin) and stdin
``--fix`` report it and exit 2 (issue 16)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelint import fixes
from pipelint.cli import cli as main
from pipelint.diagnostics import Edit, Fix

SOURCE = """\
import redis

r = redis.Redis()


def load(uid):
    name = r.get(f"user:{uid}:name")
    email = r.get(f"user:{uid}:email")
    return name, email
"""


@pytest.fixture()
def broken_rp101() -> Iterator[None]:
    fixes._load()
    original = fixes._BUILDERS["RP101"]

    def broken(ctx: object, subject: object) -> Fix | None:
        fix = original(ctx, subject)  # type: ignore[arg-type]
        assert fix is not None
        (edit,) = fix.edits
        return Fix(
            fix.applicability,
            fix.message,
            (Edit(edit.start, edit.end, "def (:", edit.location, edit.end_location),),
        )

    fixes._BUILDERS["RP101"] = broken
    yield
    fixes._BUILDERS["RP101"] = original


def test_diff_reports_a_failed_fix_and_exits_2(tmp_path: Path, broken_rp101: None) -> None:
    path = tmp_path / "app.py"
    path.write_text(SOURCE)
    res = CliRunner().invoke(main, ["check", "--diff", "--no-cache", "-j", "1", str(path)])
    assert res.exit_code == 2, res.output
    assert "RP902" in res.stderr
    assert "No errors would be fixed" not in res.stderr
    assert "Fixes failed or files were not analysed (1 file" in res.stderr
    assert path.read_text() == SOURCE


def test_stdin_diff_and_fix_report_a_failed_fix_and_exit_2(broken_rp101: None) -> None:
    for mode in ("--diff", "--fix"):
        res = CliRunner().invoke(
            main, ["check", mode, "--no-cache", "--stdin-filename", "app.py", "-"], input=SOURCE
        )
        assert res.exit_code == 2, (mode, res.output)
        assert "does not parse" in res.stderr


def test_a_working_fix_still_exits_1_with_diff(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text(SOURCE)
    res = CliRunner().invoke(main, ["check", "--diff", "--no-cache", "-j", "1", str(path)])
    assert res.exit_code == 1, res.output
    assert "Would fix 1 error" in res.stderr
