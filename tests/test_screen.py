"""The ast screen before LibCST and the ast project facts: findings never change."""

from __future__ import annotations

import os
import shutil
import textwrap
from pathlib import Path

import pytest

from pipelint.bench.gen_tree import generate
from pipelint.checker import SPEEDUPS, check_source
from pipelint.checker.runner import RunOptions, RunResult, run
from pipelint.clients.project import ProjectIndex
from pipelint.config import Config, load_config
from pipelint.project import ProjectFacts
from pipelint.rules import MODEL_RULES
from pipelint.rules.base import Rule
from tests.fixture_support import FIXTURES


def _findings(result: RunResult) -> list[tuple[object, ...]]:
    return sorted(
        (d.path, d.location, d.end_location, d.code, d.message, d.suppressed, repr(d.fix))
        for d in [*result.diagnostics, *result.suppressed]
    )


def _every_speedup(
    paths: list[Path], config: Config, monkeypatch: pytest.MonkeyPatch, jobs: int = 1
) -> tuple[RunResult, RunResult]:
    """(all speed-ups on, all off: no prefilter, no screen, no project facts)."""
    on = run(paths, config, RunOptions(jobs=jobs, prefilter=True))
    for name in SPEEDUPS:
        monkeypatch.setitem(SPEEDUPS, name, False)
    off = run(paths, config, RunOptions(jobs=jobs, prefilter=False))
    for name in SPEEDUPS:
        monkeypatch.setitem(SPEEDUPS, name, True)
    return on, off


def _same(on: RunResult, off: RunResult, root: Path) -> None:
    assert on.files == off.files
    assert on.parsed <= off.parsed
    # the prefilter's one documented difference: no RP900 for files that cannot use Redis
    expected = [f for f in _findings(off) if f[3] != "RP900" or f in _findings(on)]
    for f in _findings(off):
        if f not in expected:
            assert "redis" not in (root / str(f[0])).read_text(errors="replace")
    assert _findings(on) == expected


def test_every_rule_declares_its_needs() -> None:
    from pipelint.project.screen import NEEDS

    for rule in MODEL_RULES:
        assert rule.needs is not None and rule.needs <= NEEDS, rule.code
    assert Rule.needs is None  # a rule that says nothing is always run


def test_screen_equivalence_fixtures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "fx"
    shutil.copytree(FIXTURES, root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(root)
    config = Config(root=root, select=("RP",), client_names=("*_redis", "self.cache"))
    on, off = _every_speedup([root], config, monkeypatch)
    _same(on, off, root)
    assert on.parsed < off.parsed  # some fixture files were screened out


def test_screen_equivalence_generated_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "t"
    generate(tree, lines=3000, extras=True)
    monkeypatch.chdir(tree)
    config = load_config(tree)
    config = Config(root=config.root, select=("RP",))
    on, off = _every_speedup([tree], config, monkeypatch, jobs=2)
    _same(on, off, tree)
    assert on.parsed < off.parsed


@pytest.mark.skipif(not os.environ.get("PIPELINT_CORPUS"), reason="set PIPELINT_CORPUS=DIR")
def test_screen_equivalence_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real projects (``PIPELINT_CORPUS=/work/corpus/src/rq-3.0.0:...``, slow)."""
    paths = [Path(p).resolve() for p in os.environ["PIPELINT_CORPUS"].split(os.pathsep)]
    monkeypatch.chdir(paths[0].parent)
    config = Config(root=paths[0].parent, select=("RP",))
    on, off = _every_speedup(paths, config, monkeypatch, jobs=2)
    _same(on, off, paths[0].parent)


# ---- what is screened out, and what is not --------------------------------------------
def _check(tmp_path: Path, source: str, name: str = "m.py", **config: object) -> object:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(source)
    path.write_text(text)
    project = ProjectIndex()
    project.add_root(tmp_path)
    cfg = Config(root=tmp_path, select=("RP",), **config)  # type: ignore[arg-type]
    return check_source(path, text, cfg, project)


def test_one_client_call_is_not_parsed(tmp_path: Path) -> None:
    result = _check(
        tmp_path,
        """
        import redis
        r = redis.Redis()
        def f(d):
            d.get("a"); d.get("b")  # not a client
            return r.get("k")
        """,
    )
    assert not result.parsed and not result.diagnostics  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "source",
    [
        # two commands in one function
        "import redis\nr = redis.Redis()\ndef f():\n    r.get('a')\n    r.get('b')\n",
        # a command in a loop
        "import redis\nr = redis.Redis()\nfor k in 'ab':\n    r.get(k)\n",
        # a pipeline created
        "import redis\ndef f(r: redis.Redis):\n    p = r.pipeline()\n",
        # a helper that sends a command, called twice
        "import redis\nr = redis.Redis()\ndef h():\n    return r.get('a')\ndef f():\n    h()\n    h()\n",
        # a parameter every call site passes a client to
        "import redis\ndef f(c):\n    c.get('a')\n    c.get('b')\nf(redis.Redis())\n",
        # a client from a context manager
        "import contextlib, redis\n@contextlib.contextmanager\ndef cm():\n    yield redis.Redis()\n"
        "def f():\n    with cm() as c:\n        c.get('a'); c.get('b')\n",
        # a suppression comment of ours (RP910 and the unknown-code warnings read it)
        "x = 1  # noqa: RP101\n",
        "x = 1  # pipelint: ignore\n",
    ],
)
def test_files_that_can_hold_a_finding_are_parsed(tmp_path: Path, source: str) -> None:
    assert _check(tmp_path, source).parsed  # type: ignore[attr-defined]


def test_unused_noqa_is_still_reported(tmp_path: Path) -> None:
    result = _check(tmp_path, "import redis\nx = 1  # noqa: RP101\n")
    assert [d.code for d in result.diagnostics] == ["RP910"]  # type: ignore[attr-defined]


def test_syntax_errors_are_still_reported(tmp_path: Path) -> None:
    result = _check(tmp_path, "import redis\ndef f(:\n")
    assert [d.code for d in result.diagnostics] == ["RP900"]  # type: ignore[attr-defined]


def test_client_names_patterns_count(tmp_path: Path) -> None:
    source = "def f(self):\n    self.cache.get('a')\n    self.cache.get('b')\n"
    assert not _check(tmp_path, source).parsed  # type: ignore[attr-defined]
    assert _check(tmp_path, source, client_names=("self.cache",)).parsed  # type: ignore[attr-defined]


def test_project_clients_and_inherited_attributes(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("from .base import Base\n")
    (tmp_path / "app" / "conn.py").write_text(
        "import redis\nclient = redis.Redis()\nother = 1\n"
        "def factory():\n    return redis.Redis()\n"
    )
    (tmp_path / "app" / "base.py").write_text(
        "import redis\nclass Base:\n    def __init__(self):\n        self.db = redis.Redis()\n"
    )
    two = "    {0}.get('a')\n    {0}.get('b')\n"
    cases = {
        "from app.conn import client\ndef f():\n" + two.format("client"): True,
        "from app import conn\ndef f():\n" + two.format("conn.client"): True,
        "import app.conn\ndef f():\n" + two.format("app.conn.client"): True,
        "from app.conn import factory\ndef f():\n    c = factory()\n" + two.format("c"): True,
        "from app import Base\nclass S(Base):\n    def f(self):\n"
        + two.format("    self.db"): True,
        "from app.conn import other\ndef f():\n" + two.format("other"): False,
        "from app import Base\nclass S(Base):\n    def f(self):\n"
        + two.format("    self.x"): False,
    }
    for k, (source, parsed) in enumerate(cases.items()):
        result = _check(tmp_path, source, name=f"use{k}.py")
        assert result.parsed == parsed, source  # type: ignore[attr-defined]


def test_project_index_skips_modules_that_export_no_client(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "util.py").write_text("import redis\nimport json\nloads = json.loads\n")
    (tmp_path / "app" / "conn.py").write_text("import redis\nclient = redis.Redis()\n")
    project = ProjectIndex()
    project.add_root(tmp_path)
    assert project.lookup("app.util.loads", "value") is None
    assert project.lookup("app.conn.client", "value") is not None
    loaded = {p.name for p in project._modules}
    assert loaded == {"conn.py"}  # util.py was never parsed by LibCST


def test_project_facts_are_read_once_per_module(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import redis\nr = redis.Redis()\n")
    (tmp_path / "b.py").write_text("from a import r\ns = r\n")
    project = ProjectIndex()
    project.add_root(tmp_path)
    facts: ProjectFacts = project.facts
    assert facts.may_be_client("b.s") and facts.may_be_client("a.r")
    assert not facts.may_be_client("a.redis_") and facts.parsed == 2
    assert facts.may_be_client("b.s") and facts.parsed == 2


def test_a_checked_files_facts_serve_its_importers(tmp_path: Path) -> None:
    a = "import redis\nr = redis.Redis()\ndef f():\n    r.get('a')\n    r.get('b')\n"
    b = "from a import r\ndef g():\n    r.set('x', 1)\n    r.set('y', 2)\n"
    (tmp_path / "a.py").write_text(a)
    (tmp_path / "b.py").write_text(b)
    cfg = Config(root=tmp_path, select=("RP",))
    parsed = []
    for a_text in (a, a + "s = r\n"):  # the file's content, then another (an editor's)
        project = ProjectIndex()
        project.add_root(tmp_path)
        result_a = check_source(tmp_path / "a.py", a_text, cfg, project)
        result_b = check_source(tmp_path / "b.py", b, cfg, project)
        assert result_a.diagnostics and result_b.diagnostics
        assert project.facts.may_be_client("a.r")
        parsed.append(project.facts.parsed)
    # the same content: a.py's facts come from its own screen, never read again;
    # another content: the module is read from its file
    assert parsed == [0, 1]


def test_a_module_the_index_parsed_is_not_parsed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import libcst

    conn = (
        "import redis\nclient = redis.Redis()\ndef f():\n    client.get('a')\n    client.get('b')\n"
    )
    (tmp_path / "conn.py").write_text(conn)
    cfg = Config(root=tmp_path, select=("RP",))
    parses: list[object] = []
    parse = libcst.parse_module

    def counting(source: str | bytes, *args: object, **kwargs: object) -> libcst.Module:
        parses.append(source)
        return parse(source, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(libcst, "parse_module", counting)
    for text, expected in ((conn, 1), (conn + "x = 1\n", 2)):  # another content: parsed
        parses.clear()
        project = ProjectIndex()
        project.add_root(tmp_path)
        assert project.lookup("conn.client", "value") is not None  # the index reads it
        result = check_source(tmp_path / "conn.py", text, cfg, project)
        assert result.parsed and [d.code for d in result.diagnostics] == ["RP101"]
        assert len(parses) == expected


# ---- gen_tree from an installed package -------------------------------------------------
def test_gen_tree_without_fixtures_says_what_it_needs(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipelint.bench.gen_tree import FixturesMissing, main

    with pytest.raises(FixturesMissing, match="--fixtures"):
        generate(tmp_path / "out", lines=10, fixtures=tmp_path / "nowhere")
    result = CliRunner().invoke(main, [str(tmp_path / "out"), "--fixtures", str(tmp_path)])
    assert result.exit_code == 2
    assert "does not ship" in result.output and "Traceback" not in result.output
    ok = CliRunner().invoke(
        main, [str(tmp_path / "out"), "--lines", "50", "--fixtures", str(FIXTURES)]
    )
    assert ok.exit_code == 0, ok.output


def test_a_failing_screen_keeps_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pipelint.project.screen as screen

    def broken(*args: object, **kwargs: object) -> bool:
        raise RuntimeError("a bug in the screen")

    monkeypatch.setattr(screen, "needs_libcst", broken)
    result = _check(tmp_path, "import redis\nr = redis.Redis()\nr.get('a')\n")
    assert result.parsed and not result.diagnostics  # type: ignore[attr-defined]
