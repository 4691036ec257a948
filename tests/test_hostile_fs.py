"""Odd file-system objects and bad configuration never abort nor hang the run (issue 18,
items 7 to 9): each is a diagnostic about that one path, or a clear configuration
error, and every other file is checked. Real links, FIFOs, devices, permissions."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.hostile_support import FLAGGED, findings, pipelint


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "ok.py").write_text(FLAGGED)
    return tmp_path


OK = {"pkg/ok.py": {"RP101"}}


# ---- item 7: aborts of the whole run ----------------------------------------------------
def test_symlink_loop_walked_and_named(project: Path) -> None:
    (project / "pkg" / "loop1.py").symlink_to("loop2.py")
    (project / "pkg" / "loop2.py").symlink_to("loop1.py")
    res = pipelint(project, "pkg")
    assert res.returncode == 1, res.stderr
    assert findings(res.stdout) == {**OK, "pkg/loop1.py": {"RP901"}, "pkg/loop2.py": {"RP901"}}
    assert b"Too many levels of symbolic links" in res.stdout
    res = pipelint(project, "pkg/loop1.py", "pkg/ok.py")
    assert res.returncode == 1, res.stderr
    assert findings(res.stdout) == {**OK, "pkg/loop1.py": {"RP901"}}
    res = pipelint(project, "--output-format", "sarif", "pkg/loop1.py", "pkg/ok.py")
    assert res.returncode == 1, res.stderr
    assert json.loads(res.stdout)["version"] == "2.1.0"


def test_gitignore_lines_git_accepts_do_not_abort(project: Path) -> None:
    (project / "pkg" / "skipme.py").write_text(FLAGGED)
    (project / ".gitignore").write_text("!\n\\\n[z-a].py\nskipme.py\n!foo\n")
    (project / "pkg" / "sub").mkdir()
    (project / "pkg" / "sub" / "deep.py").write_text(FLAGGED)
    (project / "pkg" / "sub" / ".gitignore").write_text("[z-a]\n\\\n")
    res = pipelint(project, ".")
    assert res.returncode == 1, res.stderr
    # the good lines still apply: skipme.py is ignored
    assert findings(res.stdout) == {**OK, "pkg/sub/deep.py": {"RP101"}}


def test_unreadable_file_named_and_walked(project: Path) -> None:
    secret = project / "pkg" / "secret.py"
    secret.write_text(FLAGGED)
    secret.chmod(0)
    for args in (["pkg/secret.py", "pkg/ok.py"], ["pkg"]):
        res = pipelint(project, *args, as_user=True)
        assert res.returncode == 1, res.stdout + res.stderr
        assert findings(res.stdout) == {**OK, "pkg/secret.py": {"RP901"}}
        assert b"cannot read file: Permission denied" in res.stdout


def test_unreadable_directory_named_walked_and_inside(project: Path) -> None:
    locked = project / "pkg" / "locked"
    locked.mkdir()
    (locked / "in.py").write_text(FLAGGED)
    locked.chmod(0)
    try:
        # a file inside it, named: that file is reported
        res = pipelint(project, "pkg/locked/in.py", "pkg/ok.py", as_user=True)
        assert findings(res.stdout) == {**OK, "pkg/locked/in.py": {"RP901"}}, res.stderr
        # walked, or named itself: the directory is reported, never skipped silently
        for args in (["pkg"], ["pkg/locked", "pkg/ok.py"]):
            res = pipelint(project, *args, as_user=True)
            assert res.returncode == 1, res.stdout + res.stderr
            assert findings(res.stdout) == {**OK, "pkg/locked": {"RP901"}}
            assert b"cannot read directory: Permission denied" in res.stdout
    finally:
        locked.chmod(0o755)


def test_unusable_cache_directory_means_no_cache(project: Path) -> None:
    closed = project / "closed"
    closed.mkdir()
    closed.chmod(0)
    try:
        res = pipelint(project, "--cache-dir", "closed", "pkg", as_user=True, cache=True)
        assert res.returncode == 1, res.stdout + res.stderr
        assert findings(res.stdout) == OK
    finally:
        closed.chmod(0o755)
    (project / "afile").write_text("not a folder")
    res = pipelint(project, "--cache-dir", "afile", "pkg", cache=True)
    assert res.returncode == 1, res.stdout + res.stderr
    assert findings(res.stdout) == OK
    assert (project / "afile").read_text() == "not a folder"


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ("tool = 5\n", b"tool must be a table"),
        ("[tool]\npipelint = 'x'\n", b"[tool.pipelint] must be a table"),
        ("[tool.pipelint]\nselect = 5\n", b"select must be a list of strings"),
        ('[tool.pipelint]\nmax-file-size = "huge"\n', b"max-file-size must be a size"),
    ],
)
def test_bad_pyproject_is_a_clear_configuration_error(
    project: Path, toml: str, says: bytes
) -> None:
    (project / "pyproject.toml").write_text(toml)
    res = pipelint(project, "pkg")
    assert res.returncode == 2
    assert says in res.stderr and b"Traceback" not in res.stderr
    assert b"AttributeError" not in res.stderr


def test_symlink_to_dev_zero(project: Path) -> None:
    (project / "pkg" / "zero.py").symlink_to("/dev/zero")
    res = pipelint(project, "pkg", timeout=30)  # walked: not a source file, skipped
    assert res.returncode == 1, res.stderr
    assert findings(res.stdout) == OK
    res = pipelint(project, "pkg/zero.py", "pkg/ok.py", timeout=30)  # named: reported
    assert res.returncode == 1, res.stderr
    assert findings(res.stdout) == {**OK, "pkg/zero.py": {"RP901"}}
    assert b"not a regular file (a character device)" in res.stdout


def test_file_names_that_are_not_utf8(project: Path) -> None:
    name = os.fsdecode(b"caf\xe9.py")
    (project / "pkg" / name).write_text(FLAGGED)
    res = pipelint(project, "--output-format", "sarif", "pkg")
    assert res.returncode == 1, res.stderr
    sarif = json.loads(res.stdout.decode("utf-8"))  # valid UTF-8 JSON
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in sarif["runs"][0]["results"]
    }
    assert uris == {"pkg/ok.py", "pkg/caf%E9.py"}
    out = project / "report.txt"
    res = pipelint(project, "-o", "report.txt", "pkg")
    assert res.returncode == 1, res.stderr
    assert b"pkg/caf\xe9.py:7:5: RP101" in out.read_bytes()  # the name's own bytes
    res = pipelint(project, "pkg")
    assert b"pkg/caf\xe9.py:7:5: RP101" in res.stdout
    res = pipelint(project, "--output-format", "json", "pkg")
    assert len(json.loads(res.stdout)) == 2


# ---- item 8: hangs ----------------------------------------------------------------------
def test_fifo_is_never_read(project: Path) -> None:
    os.mkfifo(project / "pkg" / "pipe.py")
    res = pipelint(project, "pkg", timeout=30)  # walked: skipped
    assert res.returncode == 1, res.stderr
    assert findings(res.stdout) == OK
    res = pipelint(project, "pkg/pipe.py", "pkg/ok.py", timeout=30)  # named: reported
    assert findings(res.stdout) == {**OK, "pkg/pipe.py": {"RP901"}}
    assert b"not a regular file (a FIFO)" in res.stdout


def test_named_file_is_reported_whatever_the_order_of_the_arguments(project: Path) -> None:
    """A file named after a directory that holds it is still the named file: a FIFO, a
    device or a link loop is reported once, never dropped by the directory's walk."""
    os.mkfifo(project / "pkg" / "pipe.py")
    (project / "pkg" / "zero.py").symlink_to("/dev/zero")
    (project / "pkg" / "loop.py").symlink_to("loop.py")
    for args in (("pkg", "pkg/pipe.py"), ("pkg/pipe.py", "pkg"), (".", "pkg/pipe.py")):
        res = pipelint(project, *args, timeout=30)
        assert res.returncode == 1, res.stderr
        assert findings(res.stdout) == {**OK, "pkg/pipe.py": {"RP901"}, "pkg/loop.py": {"RP901"}}
        assert res.stdout.count(b"pkg/pipe.py") == 1, res.stdout
        assert res.stdout.count(b"pkg/loop.py") == 1, res.stdout
    res = pipelint(project, "pkg", "pkg/zero.py", timeout=30)
    assert findings(res.stdout) == {**OK, "pkg/zero.py": {"RP901"}, "pkg/loop.py": {"RP901"}}


def test_fifo_behind_an_import_is_never_read(project: Path) -> None:
    # the prefilter and the project index read the modules imports lead to
    (project / "pkg" / "__init__.py").write_text("")
    os.mkfifo(project / "pkg" / "conn.py")
    (project / "pkg" / "use.py").write_text(
        "from pkg.conn import client\n\n\ndef f():\n    client.get('a')\n    client.get('b')\n"
    )
    res = pipelint(project, "pkg/use.py", "pkg/ok.py", timeout=30)
    assert res.returncode == 1, res.stderr
    assert findings(res.stdout) == OK
