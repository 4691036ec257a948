"""One file must not sink the run (issue 18, items 5 and 6): generated deep and large
files, a real parser crash in a worker, real CLI runs in the pool and in-process."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pipelint.checker import check_source
from pipelint.config import Config
from tests.hostile_support import FLAGGED, findings, pipelint


def deep(kind: str, n: int) -> str:
    """A module using Redis whose line 3 is an expression ``n`` levels deep."""
    expr = {
        "and": " and ".join(["a"] * n),
        "plus": "+".join(["a"] * n),
        "neg": "-" * n + "a",
        "not": "not " * n + "a",
        "list": "[" * n + "]" * n,
        "paren": "(" * n + "a" + ")" * n,
        "attr": "a" + ".b" * n,
        "subscript": "a" + "[0]" * n,
        "strings": "(" + " ".join(["'a'"] * n) + ")",
    }[kind]
    return f"import redis\nr = redis.Redis()\nx = {expr}\n"


def codes(source: str, config: Config | None = None) -> list[tuple[str, int, str]]:
    result = check_source(Path("x.py"), source, config or Config())
    return [(d.code, d.location.row, d.message) for d in result.diagnostics]


@pytest.mark.parametrize(
    ("kind", "n"),
    [
        ("and", 100_000),  # Python compiles it; LibCST's parser segfaulted
        ("plus", 4000),  # 20 KB: LibCST took seconds, quadratic
        ("plus", 10_000),
        ("neg", 10_000),
        ("not", 10_000),
        ("attr", 5000),
        ("subscript", 5000),  # 46 s in LibCST
        ("strings", 100_000),  # was a false RP900 (a RecursionError in LibCST)
    ],
)
def test_deep_expressions_are_reported_not_parsed(kind: str, n: int) -> None:
    (found,) = codes(deep(kind, n))
    assert found[0] == "RP902" and found[1] == 3, found
    assert "max-nesting (500)" in found[2]


@pytest.mark.parametrize("kind", ["list", "paren"])
def test_nesting_python_rejects_is_a_syntax_error(kind: str) -> None:
    # CPython: "too many nested parentheses" (it would not import the file either)
    for n in (1000, 5000):
        (found,) = codes(deep(kind, n))
        assert found[0] == "RP900" and found[1] == 3, found
        assert "too many nested parentheses" in found[2]


def test_below_the_limit_is_analysed_and_the_limit_is_a_setting() -> None:
    source = deep("plus", 300) + FLAGGED
    assert [c for c, *_ in codes(source)] == ["RP101"]
    (found,) = codes(source, Config(max_nesting=200))
    assert found[0] == "RP902" and "max-nesting (200)" in found[2]
    # implicitly joined strings count one level each, as LibCST nests them
    assert [c for c, *_ in codes(deep("strings", 400) + FLAGGED)] == ["RP101"]


def test_null_byte_is_reported_at_its_line() -> None:
    ((code, row, message),) = codes("import redis\n\nx = 1\ny = '\0'\n")
    assert (code, row) == ("RP900", 4) and "null byte" in message


def test_file_size_limit() -> None:
    big = FLAGGED + "x = 1\n" * 2000
    assert [c for c, *_ in codes(big)] == ["RP101"]
    ((code, row, message),) = codes(big, Config(max_file_size=10_000))
    assert code == "RP902" and "max-file-size (10,000 bytes)" in message


# ---- end to end ---------------------------------------------------------------------
@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    app = tmp_path / "app"
    app.mkdir()
    for i in range(10):  # enough files for the pool
        (app / f"m{i}.py").write_text(FLAGGED)
    return tmp_path


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_deep_file_does_not_sink_the_run(project: Path, jobs: str) -> None:
    (project / "app" / "deep.py").write_text(deep("and", 100_000))
    (project / "app" / "chain.py").write_text(deep("plus", 10_000))
    res = pipelint(project, "--jobs", jobs, "app", timeout=60)
    assert res.returncode == 2, res.stderr  # RP902: pipelint could not analyse
    found = findings(res.stdout)
    assert found.pop("app/deep.py") == {"RP902"}
    assert found.pop("app/chain.py") == {"RP902"}
    assert found == {f"app/m{i}.py": {"RP101"} for i in range(10)}


def test_a_worker_that_dies_is_replaced_and_the_file_reported(project: Path) -> None:
    """Without the screen, LibCST's parser really segfaults on this file: the worker
    dies, the file is reported, every other file's findings are kept."""
    (project / "app" / "crash.py").write_text(deep("and", 100_000))
    (project / "app" / "crash2.py").write_text(deep("and", 100_000))
    no_screen = textwrap.dedent(
        """
        import pipelint.checker.limits as limits
        limits.screen = lambda source, *limits_: (None, None)
        """
    )
    res = pipelint(project, "--jobs", "2", "app", prelude=no_screen, timeout=60)
    assert res.returncode == 2, res.stderr
    found = findings(res.stdout)
    for name in ("app/crash.py", "app/crash2.py"):
        assert found.pop(name) == {"RP902"}
    assert b"worker process died on this file (killed by SIGSEGV)" in res.stdout
    assert found == {f"app/m{i}.py": {"RP101"} for i in range(10)}


def test_a_deep_project_module_cannot_crash_the_index(project: Path) -> None:
    # app/m0.py imports its client from a module LibCST cannot parse: the project
    # index, which reads it on the side, must skip it rather than crash
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "conn.py").write_text(
        "import redis\nclient = redis.Redis()\nx = " + " and ".join(["a"] * 100_000) + "\n"
    )
    (project / "app" / "use.py").write_text(
        "from app.conn import client\n\n\ndef f():\n    client.get('a')\n    client.get('b')\n"
    )
    res = pipelint(project, "--jobs", "1", "app/use.py", "app/m0.py", timeout=60)
    assert res.returncode == 1, res.stderr
    assert findings(res.stdout) == {"app/m0.py": {"RP101"}}


def test_limits_from_pyproject_and_the_command_line(project: Path) -> None:
    (project / "app" / "big.py").write_text(FLAGGED + "x = 1\n" * 5000)
    res = pipelint(project, "--max-file-size", "20KB", "app/big.py")
    assert res.returncode == 2 and b"RP902 not analysed: the file is" in res.stdout
    (project / "pyproject.toml").write_text('[tool.pipelint]\nmax-file-size = "20KB"\n')
    res = pipelint(project, "app/big.py")
    assert res.returncode == 2 and b"max-file-size (20,000 bytes)" in res.stdout
    res = pipelint(project, "--max-file-size", "1MB", "app/big.py")
    assert res.returncode == 1 and b"RP101" in res.stdout
    (project / "pyproject.toml").write_text("[tool.pipelint]\nmax-nesting = 5000\n")
    res = pipelint(project, "app/big.py")
    assert res.returncode == 2 and b"max-nesting must be between 1 and 1000" in res.stderr
    res = pipelint(project, "--max-nesting", "0", "app/m1.py")
    assert res.returncode == 2 and b"--max-nesting" in res.stderr
