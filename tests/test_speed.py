"""Speed machinery keeps results identical: prefilter, workers, cache, bench lint."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import pipelint
from pipelint.bench.gen_tree import generate
from pipelint.cache import Cache, result_from_json, result_to_json
from pipelint.checker.runner import RunOptions, RunResult, run
from pipelint.config import Config, load_config
from pipelint.diagnostics import Diagnostic, Edit, FileResult, Fix, Location
from pipelint.prefilter import ProjectGraph, client_name_literals, imported_names
from pipelint.reporters import report
from tests.fixture_support import FIXTURES


def _findings(result: RunResult) -> list[tuple[object, ...]]:
    return [
        (d.path, d.location, d.end_location, d.code, d.message, d.suppressed, d.fix)
        for d in [*result.diagnostics, *result.suppressed]
    ]


def _json(result: RunResult) -> str:
    buf = io.StringIO()
    report("json", result, buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tree") / "t"
    generate(out, lines=3000, extras=True)
    return out


@pytest.fixture()
def chdir(monkeypatch: pytest.MonkeyPatch) -> object:
    def go(path: Path) -> None:
        monkeypatch.chdir(path)

    return go


def _fixtures_copy(tmp_path: Path) -> tuple[Path, Config]:
    root = tmp_path / "fx"
    shutil.copytree(FIXTURES, root, ignore=shutil.ignore_patterns("__pycache__"))
    return root, Config(root=root, select=("RP",), client_names=("*_redis", "self.cache"))


# ---- prefilter ------------------------------------------------------------------------
def _equivalent(paths: list[Path], config: Config) -> None:
    on = run(paths, config, RunOptions(jobs=1, prefilter=True))
    off = run(paths, config, RunOptions(jobs=1, prefilter=False))
    assert on.files == off.files
    assert on.relevant <= off.relevant
    # the one documented difference: no RP900 for files that cannot use Redis
    off_kept = [f for f in _findings(off) if f[3] != "RP900" or f in _findings(on)]
    dropped = [f for f in _findings(off) if f not in off_kept]
    assert _findings(on) == off_kept
    for f in dropped:
        assert "redis" not in (config.root / str(f[0])).read_text(errors="replace")


def test_prefilter_equivalence_fixtures(tmp_path: Path, chdir: object) -> None:
    root, config = _fixtures_copy(tmp_path)
    chdir(root)  # type: ignore[operator]
    _equivalent([root], config)


def test_prefilter_equivalence_generated_tree(tree: Path, chdir: object) -> None:
    chdir(tree)  # type: ignore[operator]
    config = load_config(tree)
    on = run([tree], config, RunOptions(jobs=1))
    assert on.relevant < on.files  # the plain files were not parsed
    assert any(d.code == "RP900" for d in on.diagnostics)  # broken_redis.py
    assert any(d.code == "RP901" for d in on.diagnostics)  # latin1.py, for every file
    assert any(d.path.endswith("uses_app.py") and d.code == "RP101" for d in on.diagnostics)
    _equivalent([tree], config)


def test_prefilter_follows_project_imports(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "conn.py").write_text("import redis\nclient = redis.Redis()\n")
    (tmp_path / "app" / "reexport.py").write_text("from .conn import client\n")
    files = {
        "a.py": "from app.reexport import client\n",
        "b.py": "import app\napp.conn.client.get('x')\n",
        "c.py": "from app import (\n    reexport,\n)\n",
        "d.py": "import json\n",
        "e.py": "from app import other\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    graph = ProjectGraph([tmp_path])
    keys = {n: graph.add_file(tmp_path / n) for n in files}
    relevant = graph.relevant_set()
    assert {n for n, k in keys.items() if k in relevant} == {"a.py", "b.py", "c.py"}


def test_imported_names_and_literals() -> None:
    src = b"import os, a.b as c\nfrom . import x\nfrom ..m import (y,\n z)\nif t: import q; from r import s\n"
    names = imported_names(src, "top.sub")
    assert {"os", "a.b", "top.sub.x", "top.m.y", "top.m.z", "q", "r.s"} <= names
    assert client_name_literals(["*_redis", "self.redis", "r?"]) == (b"_redis", b"redis", b"r")
    assert client_name_literals(["*"]) is None


# ---- workers --------------------------------------------------------------------------
def test_parallel_output_is_deterministic(tree: Path, chdir: object) -> None:
    chdir(tree)  # type: ignore[operator]
    config = load_config(tree)
    one = run([tree], config, RunOptions(jobs=1))
    two = run([tree], config, RunOptions(jobs=2))
    assert one.jobs == 1 and two.jobs == 2
    assert _json(one) == _json(two)
    assert one.diagnostics


# ---- cache ----------------------------------------------------------------------------
def test_cache_round_trips_fixes() -> None:
    loc = Location(3, 5)
    edit = Edit(10, 20, "with r.pipeline() as p:\n    p.get('a')", loc, Location(4, 1))
    d = Diagnostic(
        "RP101", "msg", "a.py", loc, Location(4, 9), Fix("unsafe", "m", (edit,)), 3, True, "# noqa"
    )
    res = FileResult("a.py", [d], parsed=True, lines=7)
    back = result_from_json(json.loads(json.dumps(result_to_json(res))), "a.py")
    assert back == res


def _cached_run(tree: Path, config: Config, cache_dir: Path) -> RunResult:
    return run([tree], config, RunOptions(jobs=1, cache=True, cache_dir=cache_dir))


def test_cache_invalidation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "t"
    generate(tree, lines=600)
    monkeypatch.chdir(tree)
    config = load_config(tree)
    cache_dir = tmp_path / "cache"
    first = _cached_run(tree, config, cache_dir)
    assert first.cache_hits == 0 and first.analysed == first.relevant > 0
    second = _cached_run(tree, config, cache_dir)
    assert second.cache_hits == second.relevant and second.analysed == 0
    assert _findings(second) == _findings(first)

    # content: only the edited file is analysed again
    victim = sorted(tree.glob("pkg000/*_0.py"))[0]
    victim.write_text(
        victim.read_text() + "\n\nimport redis as rmod\n\n\ndef extra_fn(r: rmod.Redis):\n"
        "    r.get('a')\n    r.get('b')\n"
    )
    third = _cached_run(tree, config, cache_dir)
    assert third.analysed == 1
    assert len(third.diagnostics) == len(first.diagnostics) + 1

    # a module that defines clients for others: everything again
    conn = next(tree.rglob("app/conn.py"))
    conn.write_text(conn.read_text() + "\nother = redis.Redis()\n")
    assert _cached_run(tree, config, cache_dir).cache_hits == 0

    # configuration
    cfg2 = replace(config, client_names=(*config.client_names, "extra_name"))
    assert _cached_run(tree, cfg2, cache_dir).cache_hits == 0
    assert _cached_run(tree, cfg2, cache_dir).analysed == 0

    # version (and old versions' directories are cleaned away)
    monkeypatch.setattr(pipelint, "__version__", "99.0")
    again = _cached_run(tree, config, cache_dir)
    assert again.cache_hits == 0
    Cache(cache_dir, "x").clean(force=True)
    assert [p.name for p in cache_dir.iterdir() if p.is_dir()] == ["v99.0"]


def test_corrupted_cache_entries_are_ignored(tree: Path, tmp_path: Path, chdir: object) -> None:
    chdir(tree)  # type: ignore[operator]
    config = load_config(tree)
    cache_dir = tmp_path / "cache"
    first = _cached_run(tree, config, cache_dir)
    entries = sorted(p for p in cache_dir.rglob("*") if p.is_file() and len(p.name) == 40)
    assert (
        len(entries) == first.relevant - sum(1 for d in first.diagnostics if d.code == "RP901")
        or entries
    )
    # an entry with a finding gets its content changed under an intact checksum; two
    # others are truncated and overwritten with garbage
    with_finding = next(p for p in entries if b'"RP101"' in p.read_bytes())
    others = [p for p in entries if p != with_finding]
    others[0].write_bytes(others[0].read_bytes()[:25])  # truncated
    others[1].write_bytes(b"\x00garbage" * 10)
    raw = with_finding.read_bytes()
    with_finding.write_bytes(raw.replace(b'"RP101"', b'"RP999"'))  # checksum no longer matches
    second = _cached_run(tree, config, cache_dir)
    assert second.analysed == 3
    assert _findings(second) == _findings(first)


def test_concurrent_runs_share_a_cache(tree: Path, tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    cmd = [sys.executable, "-m", "pipelint", "check", "--output-format", "json", "--exit-zero"]
    env = {**os.environ, "CI": "1"}
    ref = subprocess.run(
        [*cmd, "--no-cache", "-j", "1", str(tree)], capture_output=True, env=env, cwd=tree
    ).stdout
    procs = [
        subprocess.Popen(
            [*cmd, "--cache-dir", str(cache_dir), "-j", "1", str(tree)],
            stdout=subprocess.PIPE,
            env=env,
            cwd=tree,
        )
        for _ in range(2)
    ]
    outs = [p.communicate()[0] for p in procs]
    assert outs == [ref, ref]
    third = subprocess.run(
        [*cmd, "--cache-dir", str(cache_dir), str(tree)], capture_output=True, env=env, cwd=tree
    ).stdout
    assert third == ref
    assert not list(cache_dir.rglob(".tmp-*"))


# ---- bench lint -----------------------------------------------------------------------
def test_bench_lint_smoke(tmp_path: Path) -> None:
    from pipelint.cli import cli

    tree = tmp_path / "small"
    generate(tree, lines=400)
    out = tmp_path / "figures.json"
    result = CliRunner().invoke(
        cli, ["bench", "lint", str(tree), "--json", str(out), "--baseline-parse", "-j", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "files found" in result.output
    figures = json.loads(out.read_text())
    for key in ("files", "files_parsed", "lines", "wall_s", "lines_per_s", "stages_s",
                "parse_cpu_s", "analysis_cpu_s", "peak_rss_mb", "baseline_parse_s", "cli"):  # fmt: skip
        assert key in figures
    assert figures["files_parsed"] > 0
