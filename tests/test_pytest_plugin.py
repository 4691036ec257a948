"""The pytest plugin (``pipelint.testing.plugin``, entry point ``pytest11``), run in a
pytest subprocess on a throw-away test project against the suite's private Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipelint.server import RedisServer

APP = """
import redis

def client():
    import os
    return redis.Redis.from_url(os.environ["PIPELINT_TEST_REDIS_URL"])

def load(r, ids):
    return [r.hgetall(f"user:{i}") for i in ids]  # app-load

def fetch(r, i):
    return r.get(f"n:{i}")  # app-fetch

def fetch_all(r, ids):
    out = []
    for i in ids:
        out.append(fetch(r, i))  # app-loop
    return out

def save(r):
    r.set("a", 1)  # app-save
    r.set("b", 2)
    r.set("c", 3)
"""


def _pytest(
    project: Path, server: RedisServer, *args: str, test: str
) -> subprocess.CompletedProcess[str]:
    (project / "app.py").write_text(APP)
    (project / "test_app.py").write_text(textwrap.dedent(test))
    env = {**os.environ, "PIPELINT_TEST_REDIS_URL": server.url, "PYTHONPATH": str(project)}
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _line(marker: str) -> int:
    for i, text in enumerate(APP.splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return i
    raise AssertionError(marker)


def test_marker_fails_a_test_that_pays_more(tmp_path: Path, redis_server: RedisServer) -> None:
    test = """
    import pytest, app

    @pytest.fixture()
    def r():
        c = app.client()
        c.flushdb()   # fixtures are not counted
        yield c
        c.close()

    @pytest.mark.max_round_trips(2)
    def test_three_users(r):
        app.load(r, [1, 2, 3])

    @pytest.mark.max_round_trips(3)
    def test_within_budget(r):
        app.load(r, [1, 2, 3])

    @pytest.mark.max_round_trips(1)
    def test_pipelined(r):
        with r.pipeline() as p:
            for i in range(50):
                p.get(str(i))
            p.execute()
    """
    proc = _pytest(tmp_path, redis_server, test=test)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "1 failed, 2 passed" in proc.stdout
    assert "3 Redis round trips, at most 2 allowed (@pytest.mark.max_round_trips(2))" in (
        proc.stdout
    )
    assert f"app.py:{_line('app-load')} load  HGETALL ×3 in 3 round trips" in proc.stdout


def test_fixture_gives_a_recorder(tmp_path: Path, redis_server: RedisServer) -> None:
    test = """
    import app

    def test_save(redis_round_trips):
        r = app.client()
        r.ping()
        redis_round_trips.clear()
        app.save(r)
        assert redis_round_trips.round_trips == 3, redis_round_trips.report()
        assert redis_round_trips.command_names == ["SET", "SET", "SET"]
    """
    proc = _pytest(tmp_path, redis_server, test=test)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_plugin_is_idle_unless_asked(tmp_path: Path, redis_server: RedisServer) -> None:
    test = """
    import sys

    def test_nothing_loaded():
        assert "pipelint.testing.plugin" in sys.modules  # registered ...
        assert "pipelint.testing.recorder" not in sys.modules  # ... and idle
        assert "redis" not in sys.modules
    """
    proc = _pytest(tmp_path, redis_server, test=test)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    off = """
    import sys

    def test_not_loaded():
        assert "pipelint.testing.plugin" not in sys.modules
    """
    proc = _pytest(tmp_path, redis_server, "-p", "no:pipelint", test=off)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_session_trace_per_call_site(tmp_path: Path, redis_server: RedisServer) -> None:
    test = """
    import app

    def test_loop():
        r = app.client()
        app.fetch_all(r, range(6))
        app.load(r, [1, 2])

    def test_save():
        r = app.client()
        app.save(r)
        app.save(r)
    """
    proc = _pytest(tmp_path, redis_server, "--pipelint-trace=out/trace.json", test=test)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pipelint: Redis round trips" in proc.stdout
    data = json.loads((tmp_path / "out" / "trace.json").read_text())
    assert data["format"] == "pipelint-trace" and data["version"] == 1
    assert data["tests"] == 2
    assert Path(data["root"]) == tmp_path.resolve()
    sites = {(s["path"], s["line"]): s for s in data["call_sites"]}
    fetch = sites[("app.py", _line("app-fetch"))]
    assert fetch["function"] == "fetch"
    assert fetch["round_trips"] == 6 and fetch["commands_by_name"] == {"GET": 6}
    assert fetch["back_to_back"] == 0 and fetch["repeated"] == 5
    assert fetch["repeated_by"] == [
        {"path": "app.py", "line": _line("app-loop"), "function": "fetch_all", "round_trips": 5}
    ]
    assert fetch["top_tests"] == [{"test": "test_app.py::test_loop", "round_trips": 6}]
    load = sites[("app.py", _line("app-load"))]
    assert load["round_trips"] == 2 and load["back_to_back"] == 1
    save = sites[("app.py", _line("app-save"))]
    assert save["round_trips"] == 2 and save["tests"] == 1
    totals = data["totals"]
    assert totals["round_trips"] == 6 + 2 + 6
    assert totals["housekeeping_round_trips"] >= 2  # CLIENT SETINFO on each new connection
    assert data["call_sites"][0]["round_trips"] >= data["call_sites"][-1]["round_trips"]


def test_trace_option_refuses_a_test_path(tmp_path: Path, redis_server: RedisServer) -> None:
    proc = _pytest(tmp_path, redis_server, "--pipelint-trace", "test_app.py", test="")
    assert proc.returncode == 4
    assert "write --pipelint-trace=FILE" in proc.stderr


def test_marker_needs_one_integer(tmp_path: Path, redis_server: RedisServer) -> None:
    test = """
    import pytest

    @pytest.mark.max_round_trips("two")
    def test_x():
        pass
    """
    proc = _pytest(tmp_path, redis_server, test=test)
    assert proc.returncode != 0
    assert "use @pytest.mark.max_round_trips(n) with one integer n >= 0" in (
        proc.stdout + proc.stderr
    )


@pytest.mark.parametrize("flag", ["--pipelint-trace=t.json"])
def test_setup_only_runs_still_write_a_trace(
    tmp_path: Path, redis_server: RedisServer, flag: str
) -> None:
    proc = _pytest(tmp_path, redis_server, flag, test="def test_x():\n    pass\n")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = json.loads((tmp_path / "t.json").read_text())
    assert data["call_sites"] == [] and data["tests"] == 1
