"""``pipelint check --trace FILE`` and ``--trace-only-report``: a real trace (a pytest
run of a small project with ``--pipelint-trace``, against the suite's private Redis)
joined with the static findings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipelint.cli import cli
from pipelint.server import RedisServer

APP = """\
import os

import redis


def client() -> redis.Redis:
    return redis.Redis.from_url(os.environ["PIPELINT_TEST_REDIS_URL"])


def save(r: redis.Redis) -> None:
    r.set("a", 1)  # save-first
    r.set("b", 2)
    r.set("c", 3)  # save-last


def fetch(r, i):
    return r.get(f"n:{i}")  # fetch


def fetch_all(r, ids):
    return [fetch(r, i) for i in ids]  # fetch-all


def counters(r):
    for name in ("x", "y", "z", "w"):
        r.incr(name)  # counters


def touch(r):
    return r.exists("t")  # touch
"""

TEST = """\
import app


def test_app():
    r = app.client()
    app.save(r)
    app.save(r)
    app.fetch_all(r, range(10))
    app.counters(r)
    for _ in range(3):
        app.touch(r)  # repeated by the test's own loop
"""


def _sarif_validator() -> Any:
    import jsonschema

    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    return jsonschema.validators.validator_for(schema)(schema)


def _line(marker: str) -> int:
    for i, text in enumerate(APP.splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return i
    raise AssertionError(marker)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer) -> Path:
    root = tmp_path_factory.mktemp("traced")
    (root / "app.py").write_text(APP)
    (root / "test_app.py").write_text(TEST)
    env = {**os.environ, "PIPELINT_TEST_REDIS_URL": redis_server.url, "PYTHONPATH": str(root)}
    env.pop("PYTEST_ADDOPTS", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         "--pipelint-trace=trace.json"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return root


@pytest.fixture()
def in_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(project)
    yield project


def _check(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["check", "--no-cache", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_finding_says_what_its_lines_paid(in_project: Path) -> None:
    code, out, _err = _check("--output-format", "concise", "--trace", "trace.json", "app.py")
    assert code == 1
    # the three SETs: one finding (RP103, one MSET, since the loop rules landed)
    line = next(ln for ln in out.splitlines() if ln.startswith(f"app.py:{_line('save-first')}:"))
    assert " RP101 " in line or " RP103 " in line
    assert line.endswith("[runtime: 6 round trips, 6 calls, " + line.split(", ")[-1])
    assert "ms waiting]" in line
    # without the trace: the plain message
    code, out, _err = _check("--output-format", "concise", "app.py")
    assert "[runtime:" not in out


def test_several_traces_add_up(in_project: Path) -> None:
    (in_project / "again.json").write_text((in_project / "trace.json").read_text())
    _code, out, _err = _check(
        "--output-format", "json", "--trace", "trace.json", "--trace", "again.json", "app.py"
    )
    (diag,) = json.loads(out)
    assert diag["runtime"]["roundTrips"] == 12 and diag["runtime"]["calls"] == 12


def test_sarif_and_json_carry_the_runtime_cost(in_project: Path) -> None:
    _code, out, _err = _check("--output-format", "sarif", "--trace", "trace.json", "app.py")
    log = json.loads(out)
    _sarif_validator().validate(log)
    (result,) = log["runs"][0]["results"]
    runtime = result["properties"]["runtime"]
    assert runtime["calls"] == 6 and runtime["roundTrips"] == 6
    assert runtime["backToBack"] == 4  # the first SET of each save() follows another call
    assert runtime["waitMs"] > 0
    assert result["message"]["text"].endswith("ms waiting]")

    _code, out, _err = _check("--output-format", "json", "--trace", "trace.json", "app.py")
    (diag,) = json.loads(out)
    assert diag["runtime"]["roundTrips"] == 6
    _code, out, _err = _check("--output-format", "json", "app.py")
    assert "runtime" not in json.loads(out)[0]


def test_trace_only_report_lists_what_no_rule_found(in_project: Path) -> None:
    code, out, _err = _check("--trace", "trace.json", "--trace-only-report", "app.py")
    assert code == 0
    lines = out.splitlines()
    # most round trips first: fetch (10, repeated by the comprehension), counters (4)
    assert lines[0].startswith(f"app.py:{_line('fetch')}: fetch: GET ×10 in 10 round trips")
    assert f"9 repeated by app.py:{_line('fetch-all')} fetch_all" in lines[0]
    assert lines[1].startswith(f"app.py:{_line('counters')}: counters: INCRBY ×4 in 4 round trips")
    assert "3 back to back" in lines[1]
    assert lines[2] == "2 runtime hot spots no rule found (14 round trips), most round trips first."
    assert f":{_line('save-first')}:" not in out  # RP101 found that one

    code, out, _err = _check(
        "--trace", "trace.json", "--trace-only-report", "--output-format", "json", "app.py"
    )
    spots = json.loads(out)
    assert [(s["line"], s["round_trips"]) for s in spots] == [
        (_line("fetch"), 10),
        (_line("counters"), 4),
    ]
    assert spots[0]["repeated_by"] == [
        {"path": "app.py", "line": _line("fetch-all"), "function": "fetch_all", "round_trips": 9}
    ]


def test_a_test_loop_is_not_a_hot_spot_of_the_code(in_project: Path) -> None:
    _code, out, _err = _check("--trace", "trace.json", "--trace-only-report", "app.py")
    assert f":{_line('touch')}:" not in out  # only repeated by test_app.py's loop
    _code, out, _err = _check("--trace", "trace.json", "--trace-only-report", ".")
    assert (
        f"app.py:{_line('touch')}: touch: EXISTS ×3 in 3 round trips (2 repeated by test_app.py:"
        in out
    )


def test_trace_only_report_to_a_file(in_project: Path, tmp_path: Path) -> None:
    target = tmp_path / "hot.txt"
    code, out, _err = _check(
        "--trace", "trace.json", "--trace-only-report", "-o", str(target), "app.py"
    )
    assert code == 0 and out == ""
    assert target.read_text().startswith(f"app.py:{_line('fetch')}: fetch:")


def test_trace_only_report_stays_inside_the_paths(in_project: Path) -> None:
    code, out, _err = _check("--trace", "trace.json", "--trace-only-report", "test_app.py")
    assert code == 0
    assert out == "No runtime hot spots outside the findings.\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read trace"),
        ("{not json", "is not JSON"),
        ('{"format": "other"}', "is not a pipelint trace"),
        ('{"format": "pipelint-trace", "version": 99}', "trace version 99 is not supported"),
        (
            '{"format": "pipelint-trace", "version": 1, "call_sites": [{"path": 3}]}',
            "a call site needs a string 'path'",
        ),
        (
            '{"format": "pipelint-trace", "version": 1, "call_sites": '
            '[{"path": "a.py", "line": 1, "round_trips": -1}]}',
            "'round_trips' must be a non-negative integer",
        ),
    ],
)
def test_bad_traces_are_usage_errors(tmp_path: Path, content: str | None, message: str) -> None:
    trace = tmp_path / "t.json"
    if content is not None:
        trace.write_text(content)
    (tmp_path / "a.py").write_text("x = 1\n")
    code, _out, err = _check("--trace", str(trace), str(tmp_path / "a.py"))
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_trace_only_report_needs_a_trace(tmp_path: Path) -> None:
    code, _out, err = _check("--trace-only-report", str(tmp_path))
    assert code == 2 and "--trace-only-report needs --trace FILE" in err


_PROBE = """
import sys
from pipelint.cli import main
sys.argv = ["pipelint", "check", "--no-cache", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
print("MODULES", " ".join(sorted(m for m in sys.modules if m.startswith(("pipelint", "redis")))))
"""


def _modules_after_check(cwd: Path, *args: str) -> set[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_PROBE), *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("MODULES"))
    return set(line.split()[1:])


def test_check_never_imports_the_recorder(project: Path) -> None:
    plain = _modules_after_check(project, "app.py")
    assert not {m for m in plain if m.startswith(("pipelint.testing", "pipelint.trace"))}
    traced = _modules_after_check(project, "--trace", "trace.json", "app.py")
    assert "pipelint.trace.join" in traced
    assert not {m for m in traced if m.startswith("pipelint.testing")}
    assert "redis" not in traced
