"""``--output-format github`` (workflow commands), ``concise`` and ``full`` (code frames)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelint.checker.runner import RunResult
from pipelint.cli import cli
from pipelint.diagnostics import Diagnostic, Edit, Fix, Location
from pipelint.reporters import ReportOptions, report
from pipelint.reporters.github import escape_data, escape_property, workflow_command
from pipelint.reporters.text import code_frame

APP = """\
import redis

r = redis.Redis()


def load(uid):
    name = r.get(f"user:{uid}:name")  # a comment
    email = r.get(f"user:{uid}:email")
    return name, email
"""

#: ::level key=value,...::message
COMMAND = re.compile(r"^::(?P<level>warning|error|notice) (?P<props>[^:]*)::(?P<message>.*)$")


def _run(project: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.chdir(project)
    res = CliRunner().invoke(cli, ["check", "--no-cache", *args])
    return res.exit_code, res.stdout


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.pipelint]\n", encoding="utf-8")
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    (tmp_path / "broken.py").write_text("import redis\ndef f(:\n    pass\n", encoding="utf-8")
    return tmp_path


def test_escaping_follows_the_workflow_command_spec() -> None:
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_data("a:b,c") == "a:b,c"
    assert escape_property("dir,x/a:b.py") == "dir%2Cx/a%3Ab.py"
    assert escape_property("100%\n") == "100%25%0A"


def test_github_format(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _run(project, "--output-format", "github", monkeypatch=monkeypatch)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2, out  # workflow commands only, no summary
    first = COMMAND.match(lines[0])
    assert first is not None, lines[0]
    assert first["level"] == "warning"
    assert first["props"] == "file=app.py,line=7,col=5,endLine=8,endColumn=39,title=RP101"
    assert first["message"].startswith("2 sequential Redis commands on 'r'")
    second = COMMAND.match(lines[1])
    assert second is not None, lines[1]
    assert second["level"] == "error"  # RP9xx: the file was not analysed
    assert "file=broken.py," in second["props"] and second["props"].endswith(",title=RP900")


def test_github_command_escapes_message_and_properties() -> None:
    d = Diagnostic(
        "RP101",
        "100% of\nthe calls: a, b",
        "dir,1/a:b.py",
        Location(3, 1),
        Location(4, 2),
    )
    assert workflow_command(d) == (
        "::warning file=dir%2C1/a%3Ab.py,line=3,col=1,endLine=4,endColumn=2,title=RP101"
        "::100%25 of%0Athe calls: a, b"
    )


def test_github_clean_run_prints_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pipelint]\n", encoding="utf-8")
    (tmp_path / "ok.py").write_text("x = 1\n", encoding="utf-8")
    code, out = _run(tmp_path, "--output-format", "github", monkeypatch=monkeypatch)
    assert (code, out) == (0, "")


def test_concise_is_one_line_per_finding(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = _run(project, "--output-format", "concise", "app.py", monkeypatch=monkeypatch)
    assert code == 1
    lines = out.splitlines()
    assert re.fullmatch(r"app\.py:7:5: RP101 (\[\*\] )?2 sequential Redis commands .*", lines[0])
    assert lines[1:] == [line for line in lines[1:] if not line.startswith("app.py")]
    assert "Found 1 error." in lines


def test_full_is_the_default_and_text_its_alias(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, default = _run(project, "app.py", monkeypatch=monkeypatch)
    _, full = _run(project, "--output-format", "full", "app.py", monkeypatch=monkeypatch)
    _, text = _run(project, "--output-format", "text", "app.py", monkeypatch=monkeypatch)
    assert default == full == text
    lines = full.splitlines()
    assert re.fullmatch(r"RP101 (\[\*\] )?2 sequential Redis commands on 'r' .*", lines[0])
    frame = "\n".join(lines[1:9])
    assert frame == (
        " --> app.py:7:5\n"
        "  |\n"
        "6 | def load(uid):\n"
        '7 |     name = r.get(f"user:{uid}:name")  # a comment\n'
        "  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        '8 |     email = r.get(f"user:{uid}:email")\n'
        "  |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n"
        "9 |     return name, email"
    )
    assert lines[9] == "  |"
    assert "Found 1 error." in lines


def _fixable(applicability: str) -> Diagnostic:
    edit = Edit(0, 0, "x", Location(7, 5), Location(8, 39))
    return Diagnostic(
        "RP101",
        "2 sequential Redis commands",
        "app.py",
        Location(7, 5),
        Location(8, 39),
        fix=Fix(applicability, "Rewrite the 2 commands as one pipeline", (edit,)),
    )


@pytest.mark.parametrize(("applicability", "mark"), [("safe", True), ("unsafe", False)])
def test_full_shows_fix_availability(tmp_path: Path, applicability: str, mark: bool) -> None:
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    result = RunResult(diagnostics=[_fixable(applicability)], files=1, parsed=1)
    out = io.StringIO()
    report("full", result, out, ReportOptions(cwd=tmp_path))
    lines = out.getvalue().splitlines()
    assert lines[0] == f"RP101 {'[*] ' if mark else ''}2 sequential Redis commands"
    assert "help: Rewrite the 2 commands as one pipeline" in lines
    if mark:  # ruff 0.17's words
        assert "[*] 1 fixable with `--fix`." in lines
    else:  # "1 unsafe fix", not "1 hidden fixes"
        assert "1 unsafe fix available with `--fix --unsafe-fixes`." in lines


def test_code_frame_edge_cases() -> None:
    lines = [f"x{i} = {i}" for i in range(1, 21)]
    # zero-width (RP9xx): one caret
    point = Diagnostic("RP900", "m", "a.py", Location(3, 1), Location(3, 1))
    assert code_frame(point, lines) == [
        "  |",
        "2 | x2 = 2",
        "3 | x3 = 3",
        "  | ^",
        "4 | x4 = 4",
        "  |",
    ]
    # a long span shows its first and last lines only
    span = Diagnostic("RP101", "m", "a.py", Location(2, 1), Location(15, 8))
    frame = code_frame(span, lines)
    assert ".." in frame
    shown = [m[1] for row in frame if (m := re.match(r"^ *(\d+) \| ", row))]
    assert shown == ["1", "2", "3", "4", "13", "14", "15", "16"]
    # beyond the end of the file (a file that changed since): no frame
    gone = Diagnostic("RP101", "m", "a.py", Location(40, 1), Location(41, 1))
    assert code_frame(gone, lines) == []
    # tabs are expanded under the markers too
    tab = Diagnostic("RP101", "m", "a.py", Location(1, 2), Location(1, 3))
    assert code_frame(tab, ["\tr.get()"])[1:3] == ["1 |     r.get()", "  |     ^"]


def test_full_without_readable_source(tmp_path: Path) -> None:
    d = Diagnostic("RP901", "cannot read file", "gone.py", Location(1, 1), Location(1, 1))
    out = io.StringIO()
    report("full", RunResult(diagnostics=[d], files=1), out, ReportOptions(cwd=tmp_path))
    assert out.getvalue().splitlines()[:3] == [
        "RP901 cannot read file",
        " --> gone.py:1:1",
        "",
    ]
