"""Suppression comments (issue 17, item 5): RP910 unused-noqa and its fix, file-level
``# pipelint: noqa``, unknown codes, comments only (never strings), ``--add-noqa``."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from pipelint.checker import check_source
from pipelint.checker.noqa import add_noqa
from pipelint.config import Config
from pipelint.fixes.apply import fix_text
from tests.fixture_support import fix_cases, fixed_text
from tests.test_ruff_conventions import pipelint

HEAD = "import redis\n\nr = redis.Redis()\n\n\n"
RUN = 'def f():\n    r.get("a"){a}\n    r.get("b"){b}\n'
ONE = 'def g():\n    return r.get("a"){a}\n'


def _check(source: str, config: Config | None = None) -> list[tuple[int, str, bool]]:
    config = config or Config(root=Path("."))
    result = check_source(Path("t.py"), source, config)
    return [(d.location.row, d.code, d.suppressed) for d in result.diagnostics]


def _fixed(source: str, config: Config | None = None) -> str:
    config = config or Config(root=Path("."))
    path = Path("t.py")
    result = check_source(path, source, config)
    text, after, _applied, failure = fix_text(path, source, result, config, None, "t.py", False)
    assert failure is None
    assert not [d for d in after.diagnostics if d.code == "RP910" and not d.suppressed]
    return text


# ---------------------------------------------------------------- the fixture fix cases

CASES = fix_cases("RP910")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fix_cases(case: Path) -> None:
    expected = case.with_name(case.stem + ".fixed.py").read_text(encoding="utf-8")
    fixed = fixed_text(case)
    assert fixed == expected
    cst.parse_module(fixed)
    assert fixed_text(case, fixed) == fixed  # idempotent


def test_there_are_fix_cases() -> None:
    assert len(CASES) >= 2


# ------------------------------------------------------------------- what is reported


def test_unused_noqa_is_reported_with_ruffs_message() -> None:
    source = HEAD + ONE.format(a="  # noqa: RP101")
    result = check_source(Path("t.py"), source, Config(root=Path(".")))
    (d,) = result.diagnostics
    assert (d.code, d.message) == ("RP910", "Unused `noqa` directive (unused: `RP101`)")
    assert (d.location.row, d.location.column, d.end_location.column) == (7, 24, 37)
    assert d.fix is not None and d.fix.applicability == "safe"


def test_used_noqa_is_not_reported() -> None:
    source = HEAD + RUN.format(a="  # noqa: RP101", b="")
    assert _check(source) == [(7, "RP101", True)]


def test_not_judged_when_the_rule_is_not_selected() -> None:
    source = HEAD + ONE.format(a="  # noqa: RP101")
    assert _check(source, Config(root=Path("."), select=("RP910",))) == []
    ignored = Config(root=Path("."), per_file_ignores=(("t.py", ("RP101",)),))
    assert _check(source, ignored) == []
    assert _check(source, Config(root=Path("."), ignore=("RP910",))) == []


def test_other_tools_codes_are_left_alone() -> None:
    for comment in ("  # noqa: E501", "  # noqa", "  # noqa: E501, F401", "  # type: ignore"):
        assert _check(HEAD + ONE.format(a=comment)) == [], comment
    # ruff's code on the same line survives the fix
    source = HEAD + ONE.format(a="  # noqa: E501, RP101")
    assert _fixed(source) == HEAD + ONE.format(a="  # noqa: E501")


def test_nothing_is_judged_when_a_rule_crashed(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelint.rules.rp101 import SequentialCommands

    def boom(self: object, ctx: object) -> object:
        raise RuntimeError("bug")

    monkeypatch.setattr(SequentialCommands, "check", boom)
    source = HEAD + ONE.format(a="  # noqa: RP101")
    assert [code for _row, code, _s in _check(source)] == ["RP902"]


def test_a_string_is_not_a_comment() -> None:
    source = HEAD + 'def f():\n    r.get("a  # noqa")\n    r.get("b")\n'
    assert _check(source) == [(7, "RP101", False)]
    source = HEAD + 'def f():\n    r.get("""\n# pipelint: noqa\n""")\n    r.get("b")\n'
    assert _check(source) == [(7, "RP101", False)]


def test_file_level_directives() -> None:
    run = RUN.format(a="", b="")
    assert _check("# pipelint: noqa\n" + HEAD + run) == [(8, "RP101", True)]
    assert _check(HEAD + "# pipelint: noqa: RP101\n" + run) == [(8, "RP101", True)]
    assert _check(HEAD + "# pipelint: NOQA:RP1\n" + run) == [(8, "RP101", True)]
    assert _check(HEAD + "# pipelint: noqa: E501\n" + run) == [(8, "RP101", False)]
    # a colon and no code: neither a file-level nor a line's blanket directive
    assert _check(HEAD + "# pipelint: noqa: XYZ\n" + run) == [(8, "RP101", False)]
    # a file-level directive is not also a line's noqa (it names RP101 for the file)
    stale = HEAD + ONE.format(a="") + "# pipelint: noqa: RP101\n"
    assert _check(stale) == [(8, "RP910", False)]
    assert _fixed(stale) == HEAD + ONE.format(a="")


# ------------------------------------------------------------------------ the fix edits


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("  # noqa: RP101", ""),
        ("  # noqa:RP101,RP1", ""),
        ("  # NOQA: RP101 E501", "  # NOQA: E501"),
        ("  # pipelint: ignore[RP101]", ""),
        ("  # pipelint: ignore", ""),
        ("  # pipelint: ignore[RP101, E501]", "  # pipelint: ignore[E501]"),
        ("  # noqa: RP101  # type: ignore", "  # type: ignore"),
        ("  # type: ignore  # noqa: RP101", "  # type: ignore"),
        ("  # noqa: RP101 why: measured", "  # why: measured"),
        ("\t# noqa: RP101", ""),
    ],
)
def test_fix_edits(before: str, after: str) -> None:
    assert _fixed(HEAD + ONE.format(a=before)) == HEAD + ONE.format(a=after)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_fix_removes_a_line_that_held_only_the_directive(newline: str) -> None:
    body = HEAD + ONE.format(a="")
    source = ("# pipelint: noqa: RP101\n" + body).replace("\n", newline)
    assert _fixed(source) == body.replace("\n", newline)
    last = body + "# pipelint: noqa: RP101"  # the last line, without a newline
    assert _fixed(last.replace("\n", newline)) == body.rstrip("\n").replace("\n", newline)


# --------------------------------------------------------------- unknown codes: warnings


def test_unknown_codes_of_ours_are_warned_about() -> None:
    source = HEAD + RUN.format(a="  # noqa: RP999, E999", b="  # pipelint: ignore[RP42]")
    result = check_source(Path("t.py"), source, Config(root=Path(".")))
    assert result.warnings == [
        "7: unknown rule code `RP999` in `# noqa: RP999, E999` (it suppresses nothing; "
        "`pipelint rule --all` lists the rules)",
        "8: unknown rule code `RP42` in `# pipelint: ignore[RP42]` (it suppresses nothing; "
        "`pipelint rule --all` lists the rules)",
    ]
    assert [d.code for d in result.diagnostics if not d.suppressed] == ["RP101"]


def test_unknown_code_warning_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pipelint]\n")
    (tmp_path / "a.py").write_text(HEAD + ONE.format(a="  # noqa: RP1O1, E501"))
    for cache in ((), ("--cache-dir", str(tmp_path / "cache"))):
        for _ in range(2):  # the second run with a cache is answered by it
            res = pipelint(tmp_path, "check", *cache, "a.py")
            assert res.returncode == 0, res.stdout
            assert res.stderr == (
                "pipelint: warning: a.py:7: unknown rule code `RP1O1` in "
                "`# noqa: RP1O1` (it suppresses nothing; `pipelint rule --all` lists "
                "the rules)\n"
            )
    assert pipelint(tmp_path, "check", "-q", "a.py").stderr == ""


# ---------------------------------------------------------------------------- --add-noqa

ADD = HEAD + (
    'def f():\n    a = r.get("""\nx""")  # keep\n    b = r.get("y")\n    return a, b\n\n\n'
    'def g():\n    r.get("a")  # noqa: E501\n    r.get("b")\n'
)
ADDED = HEAD + (
    'def f():\n    a = r.get("""\nx""")  # keep  # noqa: RP101\n    b = r.get("y")\n'
    "    return a, b\n\n\n"
    'def g():\n    r.get("a")  # noqa: E501, RP101\n    r.get("b")\n'
)


def test_add_noqa(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.pipelint]\n")
    (tmp_path / "a.py").write_text(ADD)
    (tmp_path / "b.py").write_bytes(RUN.format(a="", b="").replace("\n", "\r\n").encode())
    (tmp_path / "b.py").write_bytes(
        HEAD.replace("\n", "\r\n").encode() + (tmp_path / "b.py").read_bytes()
    )
    res = pipelint(tmp_path, "check", "--add-noqa", ".")
    assert (res.returncode, res.stdout, res.stderr) == (0, "", "Added 3 noqa directives.\n")
    assert (tmp_path / "a.py").read_text() == ADDED
    assert (tmp_path / "b.py").read_bytes() == (
        HEAD + RUN.format(a="  # noqa: RP101", b="")
    ).replace("\n", "\r\n").encode()
    again = pipelint(tmp_path, "check", "--add-noqa", ".")
    assert (again.returncode, again.stderr) == (0, "")
    clean = pipelint(tmp_path, "check", ".")
    assert clean.returncode == 0, clean.stdout  # suppressed, and none of them unused


def test_add_noqa_with_fix_or_diff_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(ADD)
    for flag in ("--fix", "--diff"):
        res = pipelint(tmp_path, "check", "--add-noqa", flag, "a.py")
        assert res.returncode == 2 and f"--add-noqa cannot be used with {flag}" in res.stderr
    assert (tmp_path / "a.py").read_text() == ADD


def test_fix_removes_unused_noqa_end_to_end(tmp_path: Path) -> None:
    source = HEAD + ONE.format(a="  # noqa: RP101, E501")
    (tmp_path / "a.py").write_text(source)
    res = pipelint(tmp_path, "check", "--output-format", "concise", "a.py")
    assert res.returncode == 1
    assert "a.py:7:24: RP910 [*] Unused `noqa` directive (unused: `RP101`)" in res.stdout
    assert pipelint(tmp_path, "check", "--fix", "a.py").returncode == 0
    assert (tmp_path / "a.py").read_text() == HEAD + ONE.format(a="  # noqa: E501")


# ------------------------------------------- suppressions of findings that span a loop

LOOP = (
    "def f(ids):\n"
    "    out = []\n"
    "    for i in ids:{head}\n"
    '        label = "a very long label for item number %s of the list" % i{body}\n'
    '        out.append(r.hgetall(f"user:{{i}}"){cmd}\n'
    "        )\n"
    "    return out\n"
)


def _loop(head: str = "", body: str = "", cmd: str = "") -> list[tuple[int, str, bool]]:
    found = _check(HEAD + LOOP.format(head=head, body=body, cmd=cmd))
    return [(row, code, sup) for row, code, sup in found if code == "RP102"]


def test_a_noqa_for_another_line_of_the_loop_body_does_not_silence_the_loop() -> None:
    assert _loop() == [(8, "RP102", False)]
    # a bare noqa (or another tool's code) on an unrelated line of the body is about
    # that line: the loop finding stays
    assert _loop(body="  # noqa") == [(8, "RP102", False)]
    assert _loop(body="  # noqa: RP102") == [(8, "RP102", False)]


def test_a_loop_finding_is_suppressed_on_its_first_line_or_on_a_command() -> None:
    assert _loop(head="  # noqa: RP102") == [(8, "RP102", True)]
    assert _loop(head="  # noqa") == [(8, "RP102", True)]
    assert _loop(cmd="  # noqa: RP102") == [(8, "RP102", True)]
    assert _loop(cmd="  # pipelint: ignore[RP102]") == [(8, "RP102", True)]


def test_a_suppression_on_a_line_that_cannot_cover_the_loop_is_unused() -> None:
    found = _check(HEAD + LOOP.format(head="", body="  # noqa: RP102", cmd=""))
    assert (9, "RP910", False) in found


def test_add_noqa_puts_the_code_where_it_suppresses_a_loop_finding() -> None:
    source = HEAD + LOOP.format(head="", body="", cmd="")
    config = Config(root=Path("."))
    result = check_source(Path("t.py"), source, config)
    new, changed = add_noqa(source, result.diagnostics)
    assert changed == 1
    assert "for i in ids:  # noqa: RP102" in new
    assert _check(new, config) == [
        (row, code, True) for row, code, _ in _check(source, config) if code == "RP102"
    ]
