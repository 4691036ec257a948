"""The interface a ruff user expects (issue 17): no silent mistakes (pre-commit excludes,
unknown rule selectors, RP900-RP902 whatever the selection, command-line precedence,
``--config`` files and overrides, ``pipelint.toml``), output (colour, ``-q``/``-s``,
``--statistics``, ``--show-fixes``, plurals, ``--diff``), formats (``github`` paths,
``pipelint rule NAME``, ``--help``) and SARIF URIs in a monorepo.

Every test runs the real command (``python -m pipelint``) in a temporary project."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.packaging_support import git
from tests.test_cli import FLAGGED, WRITES

ROOT = Path(__file__).resolve().parents[1]

ANSI = "\x1b["


def pipelint(
    cwd: Path, *args: str, env: dict[str, str] | None = None, input: str = ""
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    for name in ("PIPELINT_OUTPUT_FORMAT", "NO_COLOR", "FORCE_COLOR"):
        if name not in (env or {}):
            full_env.pop(name, None)
    extra = ["--no-cache"] if args[:1] == ("check",) else []
    return subprocess.run(
        [sys.executable, "-m", "pipelint", *args, *extra],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "flagged.py").write_text(FLAGGED)
    return tmp_path


# ---------------------------------------------------------------- 1. --force-exclude


def test_force_exclude_applies_exclusions_to_named_files(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.pipelint]\nextend-exclude = ["migrations"]\n')
    (project / "migrations").mkdir()
    (project / "migrations" / "0001.py").write_text(FLAGGED)
    named = pipelint(project, "check", "migrations/0001.py")
    assert named.returncode == 1, named.stdout  # named: checked, as ruff without the flag
    forced = pipelint(project, "check", "--force-exclude", "migrations/0001.py", "app")
    assert forced.returncode == 1 and "migrations" not in forced.stdout
    assert "app/flagged.py" in forced.stdout
    alone = pipelint(project, "check", "--force-exclude", "migrations/0001.py")
    assert alone.returncode == 0, alone.stdout
    assert "No Python files found" in alone.stderr
    assert pipelint(project, "check", "--force-exclude", "migrations").returncode == 0
    fixed = pipelint(project, "check", "--fix", "--force-exclude", "migrations/0001.py")
    assert fixed.returncode == 0
    assert (project / "migrations" / "0001.py").read_text() == FLAGGED  # never rewritten
    (project / "pyproject.toml").write_text(
        '[tool.pipelint]\nextend-exclude = ["migrations"]\nforce-exclude = true\n'
    )
    assert pipelint(project, "check", "migrations/0001.py").returncode == 0
    back = pipelint(project, "check", "--no-force-exclude", "migrations/0001.py")
    assert back.returncode == 1


def test_force_exclude_with_stdin(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.pipelint]\nextend-exclude = ["migrations"]\n')
    args = ("check", "--force-exclude", "--stdin-filename", "migrations/x.py")
    res = pipelint(project, *args, "--fix", "-", input=FLAGGED)
    assert res.returncode == 0 and res.stdout == FLAGGED  # the buffer comes back as it was
    res = pipelint(project, *args, "-", input=FLAGGED)
    assert res.returncode == 0 and "All checks passed!" in res.stdout
    res = pipelint(project, "check", "--stdin-filename", "migrations/x.py", "-", input=FLAGGED)
    assert res.returncode == 1


# ----------------------------------------------------------- 2. unknown rule selectors


@pytest.mark.parametrize(
    ("args", "selector", "key"),
    [
        (("--select", "XYZ"), "XYZ", "--select"),
        (("--select", "RP101,RP999"), "RP999", "--select"),
        (("--extend-select", "RP99"), "RP99", "--extend-select"),
        (("--ignore", "rp42"), "RP42", "--ignore"),
    ],
)
def test_unknown_selector_on_the_command_line(
    project: Path, args: tuple[str, ...], selector: str, key: str
) -> None:
    res = pipelint(project, "check", *args, "app")
    assert res.returncode == 2, res.stdout
    assert f"unknown rule selector `{selector}` in `{key}` from the command line" in res.stderr
    assert "All checks passed" not in res.stdout


def test_unknown_selector_in_configuration(project: Path) -> None:
    for table in ('select = ["RP999"]', 'extend-select = ["RP1", "ABC1"]', 'ignore = ["RP5"]',
                  'per-file-ignores = { "tests/*" = ["RP9999"] }'):  # fmt: skip
        (project / "pyproject.toml").write_text(f"[tool.pipelint]\n{table}\n")
        res = pipelint(project, "check", "app")
        assert res.returncode == 2, table
        assert "unknown rule selector" in res.stderr
        assert str(project / "pyproject.toml") in res.stderr, res.stderr
    (project / "pyproject.toml").write_text("[tool.pipelint]\n")
    res = pipelint(project, "check", "--config", 'ignore = ["RP1O1"]', "app")
    assert res.returncode == 2
    assert "unknown rule selector `RP1O1` in `ignore` from --config" in res.stderr


def test_valid_selectors_are_accepted(project: Path) -> None:
    for selector in ("ALL", "RP", "RP1", "rp101", "RP9", "RP910"):
        res = pipelint(project, "check", "--select", selector, "app")
        assert res.returncode in (0, 1), (selector, res.stderr)


def test_selectors_are_checked_against_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule added to the registry is a valid selector at once (no hard-coded list)."""
    from pipelint import rules
    from pipelint.config import ConfigError, check_selectors

    with pytest.raises(ConfigError):
        check_selectors(("RP777",), "--select", "the command line")

    class NewRule(rules.Rule):
        code, name, summary = "RP777", "new-rule", "new"

    monkeypatch.setitem(rules.ALL_RULES, "RP777", NewRule)
    check_selectors(("RP777", "RP77", "RP7"), "--select", "the command line")


# ------------------------------------------------- 3. RP900-RP902 whatever the selection


def test_syntax_errors_are_reported_whatever_the_selection(project: Path) -> None:
    (project / "app" / "bad.py").write_text("import redis\ndef f(:\n    pass\n")
    for args in (("--select", "RP1"), ("--select", "RP101"), ("--ignore", "ALL")):
        res = pipelint(project, "check", "--output-format", "concise", *args, "app/bad.py")
        assert res.returncode == 1, (args, res.stdout)
        assert "app/bad.py:2:7: RP900" in res.stdout
    (project / "pyproject.toml").write_text('[tool.pipelint]\nselect = ["RP101"]\n')
    res = pipelint(project, "check", "--output-format", "sarif", "app/bad.py")
    run = json.loads(res.stdout)["runs"][0]
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert [n["associatedRule"]["id"] for n in notes] == ["RP900"]
    assert [r["ruleId"] for r in run["results"]] == ["RP900"]
    # an ignore that names them still hides them (RP900.md: Options)
    res = pipelint(project, "check", "--ignore", "RP900", "app/bad.py")
    assert res.returncode == 0


def test_a_missing_path_says_no_such_file(project: Path) -> None:
    res = pipelint(project, "check", "--output-format", "concise", "--select", "RP1", "nope.py")
    assert res.returncode == 1
    assert res.stdout.startswith("nope.py:1:1: RP901 No such file or directory\n")


# ------------------------------------------------------------------------ 4. precedence


def test_the_command_line_wins_over_the_configuration(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.pipelint]\nignore = ["RP101"]\n')
    assert pipelint(project, "check", "app").returncode == 0
    assert pipelint(project, "check", "--select", "RP101", "app").returncode == 1
    assert pipelint(project, "check", "--select", "RP1", "app").returncode == 1
    assert pipelint(project, "check", "--extend-select", "RP101", "app").returncode == 1
    (project / "pyproject.toml").write_text('[tool.pipelint]\nselect = ["RP101"]\n')
    assert pipelint(project, "check", "--ignore", "RP1", "app").returncode == 0
    # --config overrides come after the file, the command line after them
    (project / "pyproject.toml").write_text('[tool.pipelint]\nignore = ["RP101"]\n')
    assert pipelint(project, "check", "--config", 'select = ["RP101"]', "app").returncode == 1
    args = ("--config", 'ignore = ["RP101"]', "--select", "RP101")
    assert pipelint(project, "check", *args, "app").returncode == 1
    args = ("--config", 'select = ["RP1"]', "--config", 'ignore = ["RP101"]')
    assert pipelint(project, "check", *args, "app").returncode == 0


def test_rule_selection_layers() -> None:
    from pipelint.config import Config, RuleSelection

    def enabled(config: Config) -> list[str]:
        return [c for c in ("RP101", "RP900", "RP910") if config.enabled(c)]

    base = Config()
    assert enabled(base) == ["RP101", "RP900", "RP910"]
    assert enabled(Config(select=("RP101",))) == ["RP101", "RP900"]
    assert enabled(Config(select=("RP1",), ignore=("RP101",))) == ["RP900"]
    assert enabled(Config(select=("RP101",), ignore=("RP1",))) == ["RP101", "RP900"]
    assert enabled(Config(select=("ALL",), ignore=("ALL",))) == ["RP900"]
    cli = (RuleSelection(select=("RP101",)),)
    assert enabled(Config(ignore=("RP101",), layers=cli)) == ["RP101", "RP900"]
    extend = (RuleSelection(extend_select=("RP101",)),)
    assert enabled(Config(select=("RP9",), layers=extend)) == ["RP101", "RP900", "RP910"]
    ignore = (RuleSelection(ignore=("RP90",)),)
    assert enabled(Config(layers=ignore)) == ["RP101", "RP910"]
    pfi = Config(per_file_ignores=(("*", ("ALL",)),))
    assert [c for c in ("RP101", "RP900") if pfi.enabled(c, Path("a.py"))] == ["RP900"]


def test_config_files(project: Path) -> None:
    (project / "other.toml").write_text('ignore = ["RP101"]\n')  # top-level keys, as ruff.toml
    assert pipelint(project, "check", "--config", "other.toml", "app").returncode == 0
    (project / "elsewhere").mkdir()
    (project / "elsewhere" / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    res = pipelint(project, "check", "--config", "elsewhere/pyproject.toml", "app")
    assert res.returncode == 2 and "configures nothing" in res.stderr
    (project / "empty.toml").write_text("")
    res = pipelint(project, "check", "--config", "empty.toml", "app")
    assert res.returncode == 2 and "configures nothing" in res.stderr
    (project / "wrong.toml").write_text('[tool.pipelint]\nignore = ["RP101"]\n')
    res = pipelint(project, "check", "--config", "wrong.toml", "app")
    assert res.returncode == 2 and "unknown keys: tool" in res.stderr
    res = pipelint(project, "check", "--config", "missing.toml", "app")
    assert res.returncode == 2 and "No such file or directory" in res.stderr
    res = pipelint(project, "check", "--config", "nonsense", "app")
    assert res.returncode == 2 and "`key = value`" in res.stderr
    res = pipelint(project, "check", "--config", "max-nesting = 0", "app")
    assert res.returncode == 2 and "max-nesting" in res.stderr
    res = pipelint(project, "check", "--config", "other.toml", "--config", "empty.toml", "app")
    assert res.returncode == 2 and "only one configuration file" in res.stderr


def test_pipelint_toml_is_found(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.pipelint]\n")
    (project / "app" / "pipelint.toml").write_text('ignore = ["RP101"]\n')
    assert pipelint(project, "check", "app").returncode == 0
    (project / "app" / ".pipelint.toml").write_text('select = ["RP1"]\n')  # first in a folder
    assert pipelint(project, "check", "app").returncode == 1
    (project / "app" / ".pipelint.toml").write_text("[tool.pipelint]\n")
    res = pipelint(project, "check", "app")
    assert res.returncode == 2 and ".pipelint.toml: unknown keys: tool" in res.stderr


# ---------------------------------------------------------------------------- 6. output


def test_colour(project: Path) -> None:
    args = ("check", "--output-format", "concise", "app")
    assert ANSI not in pipelint(project, *args).stdout  # not a terminal
    assert ANSI in pipelint(project, *args, env={"FORCE_COLOR": "1"}).stdout
    assert ANSI not in pipelint(project, *args, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}).stdout
    assert ANSI in pipelint(project, "--color", "always", *args[1:], env={"NO_COLOR": "1"}).stdout
    never = pipelint(project, *args, "--color", "never", env={"FORCE_COLOR": "1"})
    assert ANSI not in never.stdout
    coloured = pipelint(project, *args, env={"FORCE_COLOR": "1"}).stdout
    assert "\x1b[1m\x1b[31mRP101\x1b[0m" in coloured  # the code in bold red, as ruff
    for fmt in ("json", "sarif", "github"):
        res = pipelint(project, "check", "--output-format", fmt, "app", env={"FORCE_COLOR": "1"})
        assert ANSI not in res.stdout, fmt
    out = project / "report.txt"
    pipelint(project, *args, "-o", str(out), env={"FORCE_COLOR": "1"})
    assert ANSI not in out.read_text()


def test_colour_on_a_terminal(project: Path) -> None:
    import pty

    def on_tty(*extra: str, env: dict[str, str] | None = None) -> str:
        main, child = pty.openpty()
        full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        full_env.pop("NO_COLOR", None)
        full_env.pop("FORCE_COLOR", None)
        full_env.update(env or {})
        cmd = [sys.executable, "-m", "pipelint", "check", "--no-cache", *extra, "app"]
        proc = subprocess.run(cmd, cwd=project, env=full_env, stdout=child, timeout=120)
        os.close(child)
        chunks = []
        while True:
            try:
                data = os.read(main, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        os.close(main)
        assert proc.returncode == 1
        return b"".join(chunks).decode()

    assert ANSI in on_tty()
    assert ANSI not in on_tty(env={"NO_COLOR": "1"})
    assert ANSI not in on_tty("--color", "never")


def test_quiet_keeps_the_format_and_silent_prints_nothing(project: Path) -> None:
    full = pipelint(project, "check", "-q", "app")
    assert full.returncode == 1
    assert " --> app/flagged.py:7:5" in full.stdout  # still the full format
    assert "Found" not in full.stdout and "fixable" not in full.stdout
    concise = pipelint(project, "check", "-q", "--output-format", "concise", "app")
    assert concise.stdout.splitlines() == [
        "app/flagged.py:7:5: RP101 [*] 2 sequential Redis commands on 'r' cost 2 round trips;"
        " one pipeline needs 1"
    ]
    data = json.loads(pipelint(project, "check", "-q", "--output-format", "json", "app").stdout)
    assert [d["code"] for d in data] == ["RP101"]
    silent = pipelint(project, "check", "-s", "app")
    assert (silent.returncode, silent.stdout, silent.stderr) == (1, "", "")
    silent_fix = pipelint(project, "check", "-s", "--diff", "app")
    assert (silent_fix.returncode, silent_fix.stdout, silent_fix.stderr) == (1, "", "")
    error = pipelint(project, "check", "-s", "--select", "XYZ", "app")
    assert error.returncode == 2 and "XYZ" in error.stderr  # errors are still said


def test_statistics_json_has_ruffs_keys(project: Path) -> None:
    (project / "unused.py").write_text("import os\n")
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", "--select", "F401",
         "--statistics", "--output-format", "json", "unused.py"],
        cwd=project, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    ruff_keys = list(json.loads(ruff.stdout)[0])
    res = pipelint(project, "check", "--statistics", "--output-format", "json", "app")
    assert res.returncode == 1
    assert json.loads(res.stdout) == [
        {"code": "RP101", "name": "sequential-commands", "count": 1, "fixable": True,
         "fixable_count": 1}
    ]  # fmt: skip
    assert list(json.loads(res.stdout)[0]) == ruff_keys
    res = pipelint(project, "check", "--statistics", "--output-format", "sarif", "app")
    assert res.returncode == 2 and "--statistics" in res.stderr


def test_show_fixes_shows_the_fix_as_a_diff(project: Path) -> None:
    (project / "app" / "writes.py").write_text(WRITES)
    plain = pipelint(project, "check", "app")
    assert "+ " not in plain.stdout and "note:" not in plain.stdout
    res = pipelint(project, "check", "--show-fixes", "app")
    lines = res.stdout.splitlines()
    assert '   -     name = r.get(f"user:{uid}:name")' in lines
    assert " 7 +     with r.pipeline(transaction=False) as pipe:" in lines
    assert "10 +         name, email = pipe.execute(raise_on_error=False)" in lines
    assert lines.count("note: This is an unsafe fix and may change runtime behavior") == 1
    i = lines.index("note: This is an unsafe fix and may change runtime behavior")
    assert "raise result" in lines[i - 2]  # after the writes' diff (its last line)


def test_fix_show_fixes_lists_what_was_fixed(project: Path) -> None:
    res = pipelint(project, "check", "--fix", "--show-fixes", "--output-format", "concise", "app")
    assert res.returncode == 0
    assert res.stdout == (
        "\nFixed 1 error:\n- app/flagged.py:\n    1 × RP101 (sequential-commands)\n\n"
        "Found 1 error (1 fixed, 0 remaining).\n"
    )


def test_plurals_and_unsafe_fixes(project: Path) -> None:
    (project / "app" / "flagged.py").unlink()
    (project / "app" / "writes.py").write_text(WRITES)
    one = pipelint(project, "check", "--output-format", "concise", "app")
    assert one.stdout.splitlines()[-2:] == [
        "Found 1 error.",
        "1 unsafe fix available with `--fix --unsafe-fixes`.",
    ]
    diff = pipelint(project, "check", "--diff", "app")
    assert (diff.returncode, diff.stdout) == (0, "")
    assert diff.stderr == "No errors would be fixed (1 fix available with `--unsafe-fixes`).\n"
    (project / "app" / "more.py").write_text(WRITES)
    (project / "app" / "reads.py").write_text(FLAGGED)
    two = pipelint(project, "check", "--output-format", "concise", "app")
    assert two.stdout.splitlines()[-2:] == [
        "Found 3 errors.",
        "[*] 1 fixable with `--fix` (2 unsafe fixes available with `--fix --unsafe-fixes`).",
    ]
    diff = pipelint(project, "check", "--diff", "app")
    assert diff.returncode == 1 and "+++ b/app/reads.py" in diff.stdout
    assert diff.stderr == (
        "Would fix 1 error (2 additional fixes available with `--unsafe-fixes`).\n"
    )
    assert pipelint(project, "check", "--diff", "--unsafe-fixes", "app").stderr == (
        "Would fix 3 errors.\n"
    )


# --------------------------------------------------------------------------- 7. formats


def test_github_paths_are_relative_to_the_repository_root(project: Path) -> None:
    git("init", "-q", cwd=project)
    svc = project / "svc"
    (project / "app").rename(project / "svc_app")
    svc.mkdir()
    (project / "svc_app").rename(svc / "app")
    (svc / "pyproject.toml").write_text("[tool.pipelint]\n")
    for cwd, arg in ((svc, "app"), (svc / "app", "flagged.py"), (project, "svc/app")):
        res = pipelint(cwd, "check", "--output-format", "github", arg)
        assert res.stdout.startswith("::warning file=svc/app/flagged.py,line=7,col=5,"), cwd


def test_rule_by_name(project: Path) -> None:
    by_code = pipelint(project, "rule", "RP101")
    by_name = pipelint(project, "rule", "sequential-commands")
    assert by_name.returncode == 0 and by_name.stdout == by_code.stdout
    data = json.loads(pipelint(project, "rule", "unused-noqa", "--output-format", "json").stdout)
    assert data["code"] == "RP910"
    assert pipelint(project, "rule", "no-such-rule").returncode == 2


def _commands(group: click.Group, ctx: click.Context) -> list[tuple[str, click.Command]]:
    out = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        out.append((name, command))
        if isinstance(command, click.Group):
            out.extend((f"{name} {n}", c) for n, c in _commands(command, ctx))
    return out


def test_help_is_complete_and_not_cut_off() -> None:
    from click.testing import CliRunner

    from pipelint.cli import cli

    ctx = click.Context(cli)
    commands = _commands(cli, ctx)
    assert {"check", "rule", "bench", "bench patterns", "bench queue"} <= {n for n, _ in commands}
    for name, command in commands:
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                assert param.help, f"pipelint {name} {param.opts[0]} has no help"
    for args in ([], ["bench"]):
        out = CliRunner().invoke(cli, [*args, "--help"], terminal_width=80).stdout
        listed = out.split("Commands:")[1]
        assert "..." not in listed, listed
        assert "(e.g.\n" not in listed


def test_readme_usage_lists_every_option() -> None:
    from pipelint.cli import cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    usage = readme.split("## Usage", 1)[1].split("```", 2)[1]
    for name in ("check", "rule"):
        for param in cli.commands[name].params:
            if isinstance(param, click.Option) and not param.hidden:
                for opt in (o for o in param.opts + param.secondary_opts if o.startswith("--")):
                    if opt != "--help":
                        assert opt in usage, f"README's usage does not mention {name} {opt}"


# ----------------------------------------------------------------- 8. SARIF in a monorepo


def test_sarif_uris_are_relative_to_the_repository_root(tmp_path: Path) -> None:
    git("init", "-q", cwd=tmp_path)
    svc = tmp_path / "svc"
    (svc / "app").mkdir(parents=True)
    (svc / "pyproject.toml").write_text("[tool.pipelint]\n")
    (svc / "app" / "a.py").write_text(FLAGGED)
    (svc / "app" / "bad.py").write_text("import redis\ndef f(:\n")
    for cwd, arg in ((svc, "app"), (tmp_path, "svc/app")):
        res = pipelint(cwd, "check", "--output-format", "sarif", arg)
        run = json.loads(res.stdout)["runs"][0]
        base = run["originalUriBaseIds"]["%SRCROOT%"]
        assert base["uri"] == tmp_path.resolve().as_uri() + "/"
        assert "repository root" in base["description"]["text"]
        uris = [
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]
        ]
        assert uris == ["svc/app/a.py", "svc/app/bad.py"], cwd
        note = run["invocations"][0]["toolExecutionNotifications"][0]
        location = note["locations"][0]["physicalLocation"]["artifactLocation"]
        assert location == {"uri": "svc/app/bad.py", "uriBaseId": "%SRCROOT%"}
