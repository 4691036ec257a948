"""`pipelint check` end to end: exit codes, output formats, configuration,
suppression, discovery, bad input, and fixes written to disk."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FLAGGED = """\
import redis

r = redis.Redis()


def load(uid):
    name = r.get(f"user:{uid}:name")
    email = r.get(f"user:{uid}:email")
    return name, email
"""

WRITES = """\
import redis

r = redis.Redis()


def save(uid):
    r.set(f"user:{uid}", 1)
    r.incr("users")
"""

CLEAN = """\
import redis

r = redis.Redis()


def load(uid):
    return r.get(f"user:{uid}:name")
"""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("PIPELINT_OUTPUT_FORMAT", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelint",
            *args,
            *(["--no-cache"] if args[:1] == ("check",) else []),
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "flagged.py").write_text(FLAGGED)
    (tmp_path / "app" / "clean.py").write_text(CLEAN)
    return tmp_path


def test_text_output_and_exit_code(project: Path) -> None:
    res = run("check", "--output-format", "concise", "app", cwd=project)
    assert res.returncode == 1, res.stderr
    assert (
        "app/flagged.py:7:5: RP101 [*] 2 sequential Redis commands on 'r' cost 2 round trips"
        in res.stdout
    )
    assert "Found 1 error." in res.stdout
    assert "Traceback" not in res.stderr


def test_plain_invocation_is_check(project: Path) -> None:
    res = run("app", cwd=project)
    assert res.returncode == 1
    assert "RP101" in res.stdout


def test_default_path_is_cwd(project: Path) -> None:
    res = run("check", cwd=project)
    assert res.returncode == 1
    assert "app/flagged.py" in res.stdout


def test_clean_exit_zero(project: Path) -> None:
    res = run("check", "app/clean.py", cwd=project)
    assert res.returncode == 0
    assert "All checks passed!" in res.stdout


def test_exit_zero_flag(project: Path) -> None:
    assert run("check", "--exit-zero", "app", cwd=project).returncode == 0


def test_usage_error_exit_two(project: Path) -> None:
    res = run("check", "--output-format", "nope", "app", cwd=project)
    assert res.returncode == 2


def _keys(item: object, prefix: str = "") -> set[str]:
    """Every key path of a JSON object (``fix.edits[].location.row``...)."""
    if isinstance(item, dict):
        out = set()
        for k, v in item.items():
            out |= {f"{prefix}{k}"} | _keys(v, f"{prefix}{k}.")
        return out
    if isinstance(item, list) and item:
        return _keys(item[0], prefix[:-1] + "[].")
    return set()


def test_json_has_exactly_ruffs_keys(project: Path) -> None:
    """The keys of ruff's current JSON, read from the installed ruff, in its order."""
    (project / "unused.py").write_text("import os\n")
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select",
         "F401", "--output-format", "json", "unused.py"],
        cwd=project, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    ruff_item = json.loads(ruff.stdout)[0]
    res = run("check", "--output-format", "json", "app", cwd=project)
    data = json.loads(res.stdout)
    assert len(data) == 1
    item = data[0]
    assert _keys(item) == _keys(ruff_item)
    assert list(item) == list(ruff_item)  # same order (sorted)
    assert item["cell"] is None
    assert item["name"] == "sequential-commands"
    assert item["severity"] == "warning"
    assert item["location"] == {"row": 7, "column": 5}
    assert item["end_location"] == {"row": 8, "column": 39}
    assert item["noqa_row"] == 7
    assert Path(item["filename"]).is_absolute()
    fix = item["fix"]
    assert fix["applicability"] == "safe"
    assert set(fix["edits"][0]) == {"content", "location", "end_location"}


def test_select_and_ignore(project: Path) -> None:
    assert run("check", "--ignore", "RP101", "app", cwd=project).returncode == 0
    assert run("check", "--select", "RP9", "app", cwd=project).returncode == 0
    assert run("check", "--select", "RP101", "app", cwd=project).returncode == 1


def test_statistics(project: Path) -> None:
    res = run("check", "--statistics", "app", cwd=project)
    assert res.returncode == 1
    lines = res.stdout.splitlines()  # as ruff 0.17: the counts, then the summary
    assert lines[0].split() == ["1", "RP101", "[*]", "sequential-commands"]
    assert lines[1:] == ["Found 1 error.", "[*] 1 fixable with `--fix`."]
    res = run("check", "--statistics", "-q", "app", cwd=project)
    assert res.stdout.splitlines() == [lines[0]]


def test_config_select_ignore_per_file_ignores(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.pipelint]\nper-file-ignores = { "app/flagged.py" = ["RP101"] }\n'
    )
    assert run("check", "app", cwd=project).returncode == 0
    (project / "pyproject.toml").write_text('[tool.pipelint]\nignore = ["RP1"]\n')
    assert run("check", "app", cwd=project).returncode == 0
    (project / "pyproject.toml").write_text('[tool.pipelint]\nselect = ["RP9"]\n')
    assert run("check", "app", cwd=project).returncode == 0


def test_bad_config_is_usage_error(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.pipelint]\ntarget = "galaxy"\n')
    res = run("check", "app", cwd=project)
    assert res.returncode == 2
    assert "target" in res.stderr
    (project / "pyproject.toml").write_text("[tool.pipelint]\nbogus-key = 1\n")
    assert run("check", "app", cwd=project).returncode == 2


def test_client_names_config(project: Path) -> None:
    (project / "app" / "injected.py").write_text(
        "def f(cache_redis):\n    cache_redis.get('a')\n    cache_redis.get('b')\n"
    )
    assert run("check", "app/injected.py", cwd=project).returncode == 0
    (project / "pyproject.toml").write_text('[tool.pipelint]\nclient-names = ["*_redis"]\n')
    res = run("check", "app/injected.py", cwd=project)
    assert res.returncode == 1
    assert "on 'cache_redis'" in res.stdout


def test_exclude_and_gitignore(project: Path) -> None:
    (project / "build_out").mkdir()
    (project / "build_out" / "gen.py").write_text(FLAGGED)
    (project / "vendored").mkdir()
    (project / "vendored" / "lib.py").write_text(FLAGGED)
    (project / ".gitignore").write_text("build_out/\n")
    (project / "pyproject.toml").write_text('[tool.pipelint]\nextend-exclude = ["vendored"]\n')
    res = run("check", "--output-format", "json", ".", cwd=project)
    files = {Path(d["filename"]).relative_to(project).as_posix() for d in json.loads(res.stdout)}
    assert files == {"app/flagged.py"}
    # a file named on the command line is always checked
    res = run("check", "vendored/lib.py", cwd=project)
    assert res.returncode == 1


def test_noqa_variants(project: Path) -> None:
    for comment in ("# noqa: RP101", "# noqa", "# pipelint: ignore[RP101]", "# NOQA:RP101"):
        src = FLAGGED.replace('email")\n', f'email")  {comment}\n')
        (project / "app" / "flagged.py").write_text(src)
        assert run("check", "app", cwd=project).returncode == 0, comment
    src = FLAGGED.replace('email")\n', 'email")  # noqa: E501\n')
    (project / "app" / "flagged.py").write_text(src)
    assert run("check", "app", cwd=project).returncode == 1


def test_bad_input_is_reported_and_run_goes_on(project: Path) -> None:
    (project / "app" / "broken.py").write_text("import redis\n\ndef f(:\n    pass\n")
    (project / "app" / "latin.py").write_bytes(b"x = '\xe9\xe9'\n")
    (project / "app" / "dir.py").mkdir()
    unreadable = project / "app" / "secret.py"
    unreadable.write_text(FLAGGED)
    unreadable.chmod(0)
    try:
        res = run("check", "--output-format", "json", "app", "app/missing.py", cwd=project)
    finally:
        unreadable.chmod(0o644)
    assert res.returncode == 1
    assert "Traceback" not in res.stderr
    by_file = {(Path(d["filename"]).name, d["code"]) for d in json.loads(res.stdout)}
    assert ("broken.py", "RP900") in by_file
    assert ("latin.py", "RP901") in by_file
    assert ("missing.py", "RP901") in by_file
    assert ("flagged.py", "RP101") in by_file  # the other files were still checked
    if os.geteuid() != 0:  # root reads anything
        assert ("secret.py", "RP901") in by_file


def test_syntax_error_location(project: Path) -> None:
    (project / "app" / "broken.py").write_text("x = 1\ny = (\n")
    res = run("check", "app/broken.py", cwd=project)
    assert res.returncode == 1
    assert "app/broken.py:" in res.stdout and "RP900" in res.stdout


def test_fix_writes_safe_fixes_only_without_unsafe(project: Path) -> None:
    (project / "app" / "writes.py").write_text(WRITES)
    res = run("check", "--fix", "app", cwd=project)
    assert res.returncode == 1  # the unsafe one remains
    assert "pipe.execute(" in (project / "app" / "flagged.py").read_text()
    assert (project / "app" / "writes.py").read_text() == WRITES
    res = run("check", "--fix", "--unsafe-fixes", "app", cwd=project)
    assert res.returncode == 0, res.stdout
    assert "pipe.execute(" in (project / "app" / "writes.py").read_text()
    # idempotent: nothing left to change
    before = (project / "app" / "writes.py").read_text()
    run("check", "--fix", "--unsafe-fixes", "app", cwd=project)
    assert (project / "app" / "writes.py").read_text() == before


def test_fix_keeps_newlines_encoding_and_permissions(project: Path) -> None:
    path = project / "app" / "flagged.py"
    data = ("# -*- coding: latin-1 -*-\n" + FLAGGED.replace("uid}:name", "uid}:n\xe9")).replace(
        "\n", "\r\n"
    )
    path.write_bytes(data.encode("latin-1"))
    path.chmod(0o640)
    res = run("check", "--fix", "app/flagged.py", cwd=project)
    assert res.returncode == 0, res.stdout + res.stderr
    raw = path.read_bytes()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    text = raw.decode("latin-1")
    assert "n\xe9" in text and "pipe.execute(" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert not [p for p in path.parent.iterdir() if "pipelint-tmp" in p.name]


def test_diff_writes_nothing(project: Path) -> None:
    res = run("check", "--diff", "app", cwd=project)
    assert res.returncode == 1
    assert "+    with r.pipeline(transaction=False) as pipe:" in res.stdout
    assert (project / "app" / "flagged.py").read_text() == FLAGGED
    assert run("check", "--diff", "app/clean.py", cwd=project).returncode == 0


def test_exit_non_zero_on_fix_and_show_fixes(project: Path) -> None:
    res = run("check", "--fix", "--exit-non-zero-on-fix", "--show-fixes", "app", cwd=project)
    assert res.returncode == 1
    assert "Fixed" in res.stdout and "RP101" in res.stdout


def test_fix_never_writes_code_that_does_not_parse(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelint.checker import check_source
    from pipelint.checker.runner import RunOptions
    from pipelint.config import Config
    from pipelint.diagnostics import Edit, Fix
    from pipelint.fixes.apply import fix_source

    path = project / "app" / "flagged.py"
    config = Config(root=project)
    result = check_source(path, FLAGGED, config, None, "app/flagged.py")
    (diag,) = result.diagnostics
    bad = Edit(0, 5, "def (:", diag.location, diag.location)
    diag.fix = Fix("safe", "broken on purpose", (bad,))
    out = fix_source(path, FLAGGED, result, config, None, "app/flagged.py", RunOptions(fix=True))
    assert path.read_text() == FLAGGED
    assert any(d.code == "RP902" and "does not parse" in d.message for d in out.diagnostics)


def test_rule_command(project: Path) -> None:
    res = run("rule", "RP101", cwd=project)
    assert res.returncode == 0
    assert "## Fix safety" in res.stdout
    assert run("rule", "XX999", cwd=project).returncode == 2


def test_version(project: Path) -> None:
    res = run("--version", cwd=project)
    assert res.returncode == 0 and "pipelint" in res.stdout


def test_a_rule_crash_is_reported_for_that_file_only(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelint.checker.runner import RunOptions
    from pipelint.checker.runner import run as run_files
    from pipelint.config import Config
    from pipelint.rules.rp101 import SequentialCommands

    calls = {"n": 0}
    original = SequentialCommands.check

    def flaky(self, ctx):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if ctx.path.name == "flagged.py":
            raise RuntimeError("boom")
        return original(self, ctx)

    monkeypatch.setattr(SequentialCommands, "check", flaky)
    (project / "app" / "second.py").write_text(FLAGGED)
    result = run_files([project / "app"], Config(root=project), RunOptions(jobs=1))
    codes = {(Path(d.path).name, d.code) for d in result.diagnostics}
    assert ("flagged.py", "RP902") in codes
    assert ("second.py", "RP101") in codes
    assert any("boom" in d.message for d in result.diagnostics)


def test_syntax_errors_are_reported_where_redis_may_be_used(project: Path) -> None:
    """Documented choice (README, "Speed"): in a directory walk, files that cannot use
    Redis are not parsed, so their syntax errors are left to Python and other linters;
    a file named on the command line is always parsed."""
    (project / "app" / "unrelated_broken.py").write_text("def g(:\n")
    res = run("check", "--output-format", "json", "app", cwd=project)
    files = {(Path(d["filename"]).name, d["code"]) for d in json.loads(res.stdout)}
    assert ("unrelated_broken.py", "RP900") not in files
    res = run("check", "--output-format", "json", "app/unrelated_broken.py", cwd=project)
    assert [d["code"] for d in json.loads(res.stdout)] == ["RP900"]


def test_stdin_check_fix_and_diff(project: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}

    def stdin_run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipelint", "check", "--no-cache", *args],
            input=FLAGGED,
            cwd=project,
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
        )

    res = stdin_run("--output-format", "concise", "--stdin-filename", "app/editor.py")
    assert res.returncode == 1
    assert res.stdout.startswith("app/editor.py:7:5: RP101")
    res = stdin_run("--fix", "--stdin-filename", "app/editor.py", "-")
    assert res.returncode == 0
    assert "name, email = pipe.execute(raise_on_error=False)" in res.stdout
    assert not (project / "app" / "editor.py").exists()
    res = stdin_run("--diff", "-")
    assert res.returncode == 1 and res.stdout.startswith("--- a/-")


def test_noqa_rows_agree_with_positions_after_a_form_feed() -> None:
    """str.splitlines() also breaks at a form feed; the noqa lookup must not shift."""
    from pipelint.checker import check_source
    from pipelint.config import Config

    src = "import redis\n\x0c\nr = redis.Redis()\ns = 'a\x0cb'\nr.get('a')  # noqa: RP101\nr.get('b')\n"
    res = check_source(Path("t.py"), src, Config(root=Path(".")))
    (d,) = res.diagnostics
    assert d.location.row == 5 and d.suppressed
