"""``.pre-commit-hooks.yaml``: the real ``pre-commit try-repo`` against a temporary
git repository.

``try-repo`` on the checkout itself would snapshot only tracked files and make a new
snapshot (so a new hook environment) per call. The session fixture makes that snapshot
once: a git repository with this checkout's files (tracked and new), committed. Every
test then runs ``try-repo <snapshot> <hook> --ref <commit>``, so pre-commit installs
the hook's virtual environment once (``PRE_COMMIT_HOME`` is a temporary directory) and
both hooks share it.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pipelint.fixes import has_fix
from tests.packaging_support import ROOT, clean_env, copy_checkout, git

FINDINGS = """\
import redis

r = redis.Redis()


def load(uid):
    name = r.get(f"user:{uid}:name")
    email = r.get(f"user:{uid}:email")
    return name, email
"""

CLEAN = """\
import redis

r = redis.Redis()


def load(uid):
    return r.get(f"user:{uid}:name")
"""


@dataclass(frozen=True)
class HookRepo:
    path: Path
    ref: str
    home: Path


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> HookRepo:
    base = tmp_path_factory.mktemp("precommit")
    repo = copy_checkout(base / "hook-repo")
    git("init", "-q", cwd=repo)
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "snapshot", cwd=repo)
    return HookRepo(repo, git("rev-parse", "HEAD", cwd=repo).strip(), base / "home")


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    git("init", "-q", cwd=project)
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    git("add", ".", cwd=project)
    return project


def try_repo(hook_repo: HookRepo, hook: str, project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo.path), hook,
         "--ref", hook_repo.ref, "--all-files", "--color", "never"],
        cwd=project, capture_output=True, text=True, timeout=600,
        env=clean_env(PRE_COMMIT_HOME=str(hook_repo.home)),
    )  # fmt: skip


def test_hooks_file() -> None:
    hooks = {h["id"]: h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"pipelint", "pipelint-fix"}
    # pre-commit names every file: without --force-exclude, `exclude` would not apply
    assert hooks["pipelint"]["entry"] == "pipelint check --force-exclude"
    assert hooks["pipelint-fix"]["entry"] == "pipelint check --fix --force-exclude"
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "pyi"]
        assert hook["require_serial"] is True


def test_check_hook_fails_on_findings(hook_repo: HookRepo, tmp_path: Path) -> None:
    project = _project(tmp_path, {"app.py": FINDINGS, "clean.py": CLEAN, "notes.md": FINDINGS})
    res = try_repo(hook_repo, "pipelint", project)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "pipelint" in out and "Failed" in out
    assert "app.py:7:5" in out and "RP101" in out
    assert "notes.md" not in out  # only python files are passed
    assert (project / "app.py").read_text(encoding="utf-8") == FINDINGS  # untouched


def test_check_hook_passes_on_clean_files(hook_repo: HookRepo, tmp_path: Path) -> None:
    project = _project(tmp_path, {"clean.py": CLEAN, "stubs.pyi": "def f() -> int: ...\n"})
    res = try_repo(hook_repo, "pipelint", project)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Passed" in out


@pytest.mark.xfail(
    not has_fix("RP101"),
    reason="RP101 has no fix yet (pipelint.fixes.has_fix('RP101') is False)",
    strict=True,
)
def test_fix_hook_rewrites_the_file(hook_repo: HookRepo, tmp_path: Path) -> None:
    project = _project(tmp_path, {"app.py": FINDINGS})
    res = try_repo(hook_repo, "pipelint-fix", project)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in out
    fixed = (project / "app.py").read_text(encoding="utf-8")
    assert fixed != FINDINGS
    assert "pipeline(" in fixed
    compile(fixed, "app.py", "exec")
    # and now the check hook is happy
    res = try_repo(hook_repo, "pipelint", project)
    assert res.returncode == 0, res.stdout + res.stderr


def test_hooks_honour_extend_exclude(hook_repo: HookRepo, tmp_path: Path) -> None:
    """pre-commit passes `migrations/0001.py` by name: the hooks must still exclude it."""
    project = _project(tmp_path, {"app.py": CLEAN})
    (project / "pyproject.toml").write_text('[tool.pipelint]\nextend-exclude = ["migrations"]\n')
    (project / "migrations").mkdir()
    (project / "migrations" / "0001.py").write_text(FINDINGS, encoding="utf-8")
    git("add", ".", cwd=project)
    res = try_repo(hook_repo, "pipelint-fix", project)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (project / "migrations" / "0001.py").read_text(encoding="utf-8") == FINDINGS
    res = try_repo(hook_repo, "pipelint", project)
    assert res.returncode == 0, res.stdout + res.stderr
