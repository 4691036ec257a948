"""The cache only ever deletes what it created and can prove it created (issue 18, item 1).

Real directories, real runs: a cache folder given with ``--cache-dir`` that holds the
user's own data keeps every byte of it, whatever the cleaning does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pipelint
from pipelint.cache import MARKER, MARKER_NAME, Cache

SOURCE = "import redis\n\nr = redis.Redis()\n\n\ndef f():\n    r.get('a')\n    r.get('b')\n"


def _tree_snapshot(root: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        out[rel] = p.read_bytes() if p.is_file() else None
    return out


def _pipelint(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pipelint", "check", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _user_data(folder: Path) -> None:
    (folder / "important_dir" / "deep").mkdir(parents=True)
    (folder / "important_dir" / "deep" / "thesis.txt").write_text("years of work")
    (folder / "v1.0").mkdir()  # looks like a version folder, but is the user's
    (folder / "v1.0" / "notes.txt").write_text("mine")
    (folder / "ab").mkdir()
    (folder / "ab" / ("0" * 40)).write_text("looks like an entry, is not ours")


def _force_clean(cache_dir: Path) -> None:
    # the CLI cleans at most once a day: force it, for this and an older version
    Cache(cache_dir, "x").clean(force=True)
    Cache(cache_dir, "x", version="0.0.1").clean(force=True)


def test_cache_dir_with_user_data_is_never_cleaned(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    (project / "app.py").write_text(SOURCE)
    mydata = project / "mydata"
    mydata.mkdir()
    _user_data(mydata)
    before = _tree_snapshot(mydata)
    res = _pipelint(project, "--cache-dir", "mydata", ".")
    assert res.returncode == 1, res.stderr
    _force_clean(mydata)
    after = _tree_snapshot(mydata)
    for rel, content in before.items():
        assert after.get(rel, "missing") == content, rel
    # no cache-folder markers were written into a folder that is not the cache's own
    assert not (mydata / ".gitignore").exists()
    assert not (mydata / "CACHEDIR.TAG").exists()


def test_cache_dir_dot_keeps_the_project(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    (project / "pkg" / "sub").mkdir(parents=True)
    (project / ".git" / "objects").mkdir(parents=True)
    (project / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / "pkg" / "__init__.py").write_text("")
    (project / "pkg" / "sub" / "mod.py").write_text(SOURCE)
    (project / "app.py").write_text(SOURCE)
    before = _tree_snapshot(project)
    for _ in range(2):
        res = _pipelint(project, "--cache-dir", ".", ".")
        assert res.returncode == 1, res.stderr
        _force_clean(project)
    after = _tree_snapshot(project)
    for rel, content in before.items():
        assert after.get(rel, "missing") == content, rel
    assert not (project / ".gitignore").exists()  # would hide the project from git
    # and the cache still works there: the second run was answered from it
    version_dir = project / ("v" + pipelint.__version__)
    assert (version_dir / MARKER_NAME).read_bytes() == MARKER


def test_old_versions_are_cleaned_only_when_marked(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    old = Cache(cache_dir, "x", version="0.0.1")
    assert old._prepare()
    (old.dir / "ab").mkdir()
    (old.dir / "ab" / ("a" * 40)).write_text("entry")
    unmarked = cache_dir / "v0.0.2"  # a version-like folder without our marker
    unmarked.mkdir()
    (unmarked / "keep.txt").write_text("keep")
    symlinked = tmp_path / "elsewhere"
    symlinked.mkdir()
    (symlinked / MARKER_NAME).write_bytes(MARKER)
    (symlinked / "keep.txt").write_text("keep")
    (cache_dir / "v0.0.3").symlink_to(symlinked, target_is_directory=True)
    current = Cache(cache_dir, "x")
    assert current._prepare()
    current.clean(force=True)
    assert not old.dir.exists()  # ours, provably: gone
    assert (unmarked / "keep.txt").read_text() == "keep"
    assert (symlinked / "keep.txt").read_text() == "keep"
    assert (cache_dir / "v0.0.3").is_symlink()


def test_existing_foreign_version_folder_is_not_adopted(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    theirs = folder / ("v" + pipelint.__version__)
    theirs.mkdir()
    (theirs / "report.txt").write_text("theirs")
    cache = Cache(folder, "x")
    assert not cache._prepare()
    cache.clean(force=True)
    assert (theirs / "report.txt").read_text() == "theirs"
    assert not (theirs / MARKER_NAME).exists()


def test_cache_goes_to_the_cwd_project_root_never_beside_checked_paths(tmp_path: Path) -> None:
    """Issue 18, item 4: no pyproject anywhere; checking ``../other/pkg/a.py`` must not
    write into ``../other``. The cache goes where ruff puts its own: the working
    directory's project root."""
    work = tmp_path / "work"
    work.mkdir()
    other = tmp_path / "other" / "pkg"
    other.mkdir(parents=True)
    (other / "a.py").write_text(SOURCE)
    before = _tree_snapshot(tmp_path / "other")
    res = _pipelint(work, "../other/pkg/a.py")
    assert res.returncode == 1, res.stderr
    assert _tree_snapshot(tmp_path / "other") == before
    assert (work / ".pipelint_cache" / ("v" + pipelint.__version__) / MARKER_NAME).exists()
    # from a subfolder of a project: the project's root, not the subfolder
    project = tmp_path / "proj"
    (project / "sub").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    res = _pipelint(project / "sub", str(other / "a.py"))
    assert res.returncode == 1, res.stderr
    assert (project / ".pipelint_cache").is_dir()
    assert not (project / "sub" / ".pipelint_cache").exists()
    assert _tree_snapshot(tmp_path / "other") == before
