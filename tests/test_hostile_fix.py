"""``--fix`` on odd file-system objects (issue 18, item 2): real symlinks, hard links,
read-only files and directories, through the CLI."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.hostile_support import FLAGGED, pipelint


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "pkg").mkdir()
    return tmp_path


def test_fix_through_a_symlink_fixes_the_target_and_keeps_the_link(project: Path) -> None:
    target = project / "pkg" / "target.py"
    target.write_text(FLAGGED)
    link = project / "pkg" / "link.py"
    link.symlink_to("target.py")
    res = pipelint(project, "--fix", "pkg/link.py")
    assert res.returncode == 0, res.stderr
    assert link.is_symlink() and os.readlink(link) == "target.py"
    assert "pipe.execute(" in target.read_text()
    assert not [p for p in (project / "pkg").iterdir() if "pipelint-tmp" in p.name]


def test_fix_through_a_symlink_into_another_directory(project: Path) -> None:
    elsewhere = project / "shared"
    elsewhere.mkdir()
    (elsewhere / "real.py").write_text(FLAGGED)
    link = project / "pkg" / "mod.py"
    link.symlink_to(elsewhere / "real.py")
    res = pipelint(project, "--fix", "pkg")
    assert res.returncode == 0, res.stderr
    assert link.is_symlink()
    assert "pipe.execute(" in (elsewhere / "real.py").read_text()


def test_fix_keeps_hard_links(project: Path) -> None:
    a = project / "pkg" / "a.py"
    a.write_text(FLAGGED)
    b = project / "pkg" / "b.py"
    os.link(a, b)
    inode = a.stat().st_ino
    res = pipelint(project, "--fix", "pkg/a.py")
    assert res.returncode == 0, res.stderr
    assert a.stat().st_ino == inode == b.stat().st_ino
    assert a.stat().st_nlink == 2
    assert "pipe.execute(" in b.read_text()


def test_fix_respects_read_only_files_and_keeps_the_finding(project: Path) -> None:
    # the mode bits say read-only: not written, even by root (who could)
    path = project / "pkg" / "ro.py"
    path.write_text(FLAGGED)
    path.chmod(0o444)
    res = pipelint(project, "--fix", "pkg/ro.py")
    assert res.returncode == 1
    assert path.read_text() == FLAGGED
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert b"RP901 cannot write fixed file: file is read-only" in res.stdout
    assert b"pkg/ro.py:7:5: RP101" in res.stdout  # not fixed, so still reported
    assert b"Found 2 errors." in res.stdout  # and none counted as fixed


def test_fix_in_a_read_only_directory_keeps_the_finding(project: Path) -> None:
    path = project / "pkg" / "a.py"
    path.write_text(FLAGGED)
    (project / "pkg").chmod(0o555)
    try:
        res = pipelint(project, "--fix", "pkg/a.py", as_user=True)
    finally:
        (project / "pkg").chmod(0o755)
    assert res.returncode == 1
    assert path.read_text() == FLAGGED
    assert b"RP901 cannot write fixed file: Permission denied" in res.stdout
    assert b"pkg/a.py:7:5: RP101" in res.stdout
    assert not [p for p in (project / "pkg").iterdir() if "pipelint-tmp" in p.name]


def test_fix_keeps_owner_and_mode(project: Path) -> None:
    path = project / "pkg" / "a.py"
    path.write_text(FLAGGED)
    path.chmod(0o640)
    st = path.stat()
    if os.geteuid() == 0:  # give the file to another user: the fix must not take it
        os.chown(path, 12345, 23456)
        st = path.stat()
    res = pipelint(project, "--fix", "pkg/a.py")
    assert res.returncode == 0, res.stderr
    after = path.stat()
    assert (after.st_uid, after.st_gid) == (st.st_uid, st.st_gid)
    assert stat.S_IMODE(after.st_mode) == 0o640
