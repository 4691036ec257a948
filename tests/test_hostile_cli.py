"""The CLI under hostile use (issue 18): stdin mode, exit codes, options validated
before anything is written, interrupts. Real processes of ``python -m pipelint``."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hostile_support import FLAGGED, pipelint


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app").mkdir()
    return tmp_path


# ---- item 3: stdin mode ----------------------------------------------------------------
@pytest.mark.parametrize(
    "source",
    [
        b"import redis\nr = redis.Redis()\ndef f(:\n    r.get('a')\n",  # syntax error
        b"import redis\nx = '\xff\xfe'\n",  # not UTF-8
        b"# -*- coding: nonsense -*-\nimport redis\n",  # unknown encoding
    ],
    ids=["syntax-error", "invalid-utf8", "bad-cookie"],
)
def test_stdin_fix_keeps_stdout_for_the_source_only(project: Path, source: bytes) -> None:
    res = pipelint(project, "--fix", "--stdin-filename", "app/editor.py", input=source)
    assert res.stdout == source  # the editor's buffer is replaced by exactly what it sent
    assert res.returncode == 1
    assert b"app/editor.py:" in res.stderr and (b"RP900" in res.stderr or b"RP901" in res.stderr)


def test_stdin_fix_still_fixes_and_reports_on_stderr(project: Path) -> None:
    res = pipelint(project, "--fix", "--stdin-filename", "app/editor.py", input=FLAGGED.encode())
    assert res.returncode == 0, res.stderr
    assert b"pipe.execute(" in res.stdout and b"RP" not in res.stdout


def test_stdin_diff_of_a_file_that_does_not_parse_is_not_clean(project: Path) -> None:
    res = pipelint(project, "--diff", "--stdin-filename", "app/editor.py", input=b"x = (\n")
    assert res.returncode == 1
    assert res.stdout == b""
    assert b"app/editor.py:1:" in res.stderr and b"RP900" in res.stderr


def test_stdin_full_format_shows_the_stdin_text_not_the_file_on_disk(project: Path) -> None:
    (project / "app" / "editor.py").write_text("ON DISK 1\nON DISK 2\nON DISK 3\nON DISK 4\n" * 3)
    full = ("--output-format", "full")
    res = pipelint(project, "--stdin-filename", "app/editor.py", *full, input=FLAGGED.encode())
    assert res.returncode == 1
    out = res.stdout.decode()
    assert "ON DISK" not in out
    assert '7 |     r.get("a")' in out and "--> app/editor.py:7:5" in out
    # SARIF fingerprints hash the stdin text too: the same as for that text on disk
    sarif = ("--output-format", "sarif")
    res = pipelint(project, "--stdin-filename", "app/editor.py", *sarif, input=FLAGGED.encode())
    (project / "app" / "same.py").write_text(FLAGGED)
    on_disk = pipelint(project, *sarif, "app/same.py")

    def fingerprints(out: bytes) -> list[str]:
        results = json.loads(out)["runs"][0]["results"]
        return [r["partialFingerprints"]["primaryLocationLineHash"] for r in results]

    assert fingerprints(res.stdout) == fingerprints(on_disk.stdout) != []


# ---- item 9: silent skips and wrong exit codes -------------------------------------------
def test_diff_of_files_that_cannot_be_checked_is_not_clean(project: Path) -> None:
    (project / "app" / "broken.py").write_text("import redis\nx = (\n")
    (project / "app" / "latin.py").write_bytes(b"import redis\nx = '\xff'\n")
    res = pipelint(project, "--diff", "app/broken.py", "app/latin.py")
    assert res.returncode == 1
    assert res.stdout == b""
    assert b"app/broken.py:2:5: RP900" in res.stderr
    assert b"app/latin.py:2:6: RP901" in res.stderr


def test_stdin_filename_with_paths_says_they_are_ignored(project: Path) -> None:
    (project / "app" / "app.py").write_text(FLAGGED)
    res = pipelint(project, "--stdin-filename", "x.py", "app/app.py", input=b"x = 1\n")
    assert res.returncode == 0
    assert b"ignoring app/app.py" in res.stderr


def test_noqa_with_no_valid_code_silences_nothing() -> None:
    from pipelint.checker import check_source
    from pipelint.config import Config

    def suppressed(comment: str) -> list[bool]:
        source = FLAGGED.replace('r.get("a")', f'r.get("a")  {comment}')
        result = check_source(Path("x.py"), source, Config())
        return [d.suppressed for d in result.diagnostics if d.code == "RP101"]

    assert suppressed("# noqa: XYZ") == [False]
    assert suppressed("# noqa:") == [False]
    assert suppressed("# noqa: E501") == [False]
    assert suppressed("# noqa") == [True]
    assert suppressed("# noqa: RP101") == [True]
    assert suppressed("# NOQA:RP1") == [True]


def test_devices_and_fifos_named_are_reported_not_passed(project: Path) -> None:
    res = pipelint(project, "/dev/null")
    assert res.returncode == 1
    assert b"/dev/null:1:1: RP901 not a regular file (a character device)" in res.stdout
    assert b"All checks passed" not in res.stdout


def test_rp902_exits_2_as_documented(project: Path) -> None:
    (project / "app" / "a.py").write_text(FLAGGED)
    for extra in ([], ["--exit-zero"]):
        res = pipelint(project, "--max-file-size", "50", *extra, "app/a.py")
        assert res.returncode == 2, res.stdout
        assert b"RP902 not analysed: the file is" in res.stdout


# ---- item 11: options validated before anything is done --------------------------------
def test_jobs_must_not_be_negative(project: Path) -> None:
    (project / "app" / "a.py").write_text(FLAGGED)
    res = pipelint(project, "--jobs", "-1", "app")
    assert res.returncode == 2 and b"--jobs" in res.stderr


def test_workers_are_capped_at_the_cores_and_the_files(project: Path) -> None:
    from pipelint.checker.runner import RunOptions, default_jobs, run
    from pipelint.config import load_config

    for k in range(12):
        (project / "app" / f"m{k}.py").write_text(FLAGGED)
    config = load_config(project)
    cwd = os.getcwd()
    os.chdir(project)
    try:
        result = run([project / "app"], config, RunOptions(jobs=1000))
    finally:
        os.chdir(cwd)
    assert len(result.diagnostics) == 12
    assert result.jobs == min(default_jobs(), 12)


def test_output_file_is_checked_before_fix_writes_anything(project: Path) -> None:
    (project / "app" / "a.py").write_text(FLAGGED)
    res = pipelint(project, "--fix", "-o", "missing/dir/report.txt", "app")
    assert res.returncode == 2
    assert b"cannot write missing/dir/report.txt: No such file or directory" in res.stderr
    assert (project / "app" / "a.py").read_text() == FLAGGED  # nothing fixed
    (project / "reports").mkdir()
    res = pipelint(project, "--fix", "-o", "reports", "app")
    assert res.returncode == 2 and b"is a directory" in res.stderr
    assert (project / "app" / "a.py").read_text() == FLAGGED
    res = pipelint(project, "--fix", "-o", "reports/r.txt", "app")
    assert res.returncode == 0, res.stderr
    assert "pipe.execute(" in (project / "app" / "a.py").read_text()
    assert (project / "reports" / "r.txt").read_text().startswith("Found 1 error (1 fixed")
