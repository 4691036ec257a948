"""``--output-format sarif``: valid SARIF 2.1.0 with what GitHub code scanning needs."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from pipelint import __version__
from pipelint.checker.runner import RunResult
from pipelint.cli import cli
from pipelint.config import Config
from pipelint.diagnostics import Diagnostic, Edit, Fix, Location
from pipelint.reporters import ReportOptions, report
from pipelint.reporters.sarif import SRCROOT, sarif_log, to_sarif_json
from pipelint.rules import ALL_RULES
from pipelint.rules.docs import rule_doc

SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

APP = """\
import redis

r = redis.Redis()


def load(uid):
    name = r.get(f"user:{uid}:name")
    email = r.get(f"user:{uid}:email")
    return name, email


def twice():
    r.get("a")
    r.get("b")


def again():
    r.get("a")
    r.get("b")
"""

SUPPRESSED = """\
import redis

r = redis.Redis()


def quiet():
    r.get("a")  # noqa: RP101 -- measured: the second call is rare
    r.get("b")


def bare():
    r.get("c")  # noqa
    r.get("d")
"""


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate(data: dict[str, Any]) -> None:
    errors = sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def _walk(obj: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, obj
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, (*path, str(k)))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _walk(v, (*path, str(i)))


def check_github_requirements(data: dict[str, Any]) -> None:
    """What GitHub code scanning reads, and no serialization accident."""
    assert data["version"] == "2.1.0"
    assert data["$schema"].endswith("sarif-2.1.0.json")
    assert len(data["runs"]) == 1
    run = data["runs"][0]
    for path, value in _walk(data):
        # schema names only (camelCase), never a python attribute name or a sentinel
        if path and path[-1] and not path[-1].isdigit() and "properties" not in path[:-1]:
            assert "_" not in path[-1], path
        if path and path[-1] in ("ruleIndex", "index", "rank", "charOffset", "byteOffset"):
            assert value >= 0, path
    driver = run["tool"]["driver"]
    assert driver["name"] == "pipelint"
    assert driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    for rule in rules:
        assert rule["name"] == ALL_RULES[rule["id"]].name
        assert rule["shortDescription"]["text"] == ALL_RULES[rule["id"]].summary
        assert 0 < len(rule["fullDescription"]["text"]) <= 1024
        doc = rule_doc(rule["id"])
        assert doc is not None
        assert rule["help"]["text"] == doc
        assert rule["help"]["markdown"] == doc
        assert rule["defaultConfiguration"]["level"] in ("note", "warning", "error")
        assert rule["properties"]["tags"]
        assert rule["properties"]["precision"] in ("very-high", "high", "medium", "low")
    assert SRCROOT in run["originalUriBaseIds"]
    assert run["originalUriBaseIds"][SRCROOT]["uri"].endswith("/")
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert result["level"] in ("note", "warning", "error")
        assert result["message"]["text"]
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == SRCROOT
        assert not artifact["uri"].startswith(("/", "file:"))
        region = location["physicalLocation"]["region"]
        assert set(region) == {"startLine", "startColumn", "endLine", "endColumn"}
        assert (region["startLine"], region["startColumn"]) <= (
            region["endLine"],
            region["endColumn"],
        )
        assert result["partialFingerprints"]["primaryLocationLineHash"]
    (invocation,) = run["invocations"]
    assert isinstance(invocation["executionSuccessful"], bool)


def run_sarif(project: Path, *args: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.chdir(project)
    result = CliRunner().invoke(cli, ["check", "--output-format", "sarif", "--no-cache", *args])
    assert result.exit_code in (0, 1), result.output
    data = json.loads(result.stdout)
    validate(data)
    check_github_requirements(data)
    return data


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[tool.pipelint]\n", encoding="utf-8")
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "app.py").write_text(APP, encoding="utf-8")
    (pkg / "quiet.py").write_text(SUPPRESSED, encoding="utf-8")
    (pkg / "broken.py").write_text("import redis\ndef f(:\n    pass\n", encoding="utf-8")
    (pkg / "latin.py").write_bytes(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    return tmp_path


def _results(data: dict[str, Any]) -> list[dict[str, Any]]:
    return data["runs"][0]["results"]


def _where(result: dict[str, Any]) -> tuple[str, int]:
    loc = result["locations"][0]["physicalLocation"]
    return loc["artifactLocation"]["uri"], loc["region"]["startLine"]


def test_sarif_valid_and_complete(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = run_sarif(project, monkeypatch=monkeypatch)
    run = data["runs"][0]
    enabled = sorted(c for c in ALL_RULES if Config().enabled(c))
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == enabled
    assert run["originalUriBaseIds"][SRCROOT]["uri"] == project.resolve().as_uri() + "/"
    got = [(r["ruleId"], *_where(r)) for r in _results(data)]
    assert [g[:2] for g in got] == [
        ("RP101", "pkg/app.py"),
        ("RP101", "pkg/app.py"),
        ("RP101", "pkg/app.py"),
        ("RP900", "pkg/broken.py"),
        ("RP901", "pkg/latin.py"),
    ]
    assert [g[2] for g in got[:3]] == [7, 13, 18]
    levels = {r["ruleId"]: r["level"] for r in _results(data)}
    assert levels == {"RP101": "warning", "RP900": "error", "RP901": "error"}
    assert not any("suppressions" in r for r in _results(data))
    # two identical findings in one file: same hash, different occurrence
    prints = [r["partialFingerprints"]["primaryLocationLineHash"] for r in _results(data)]
    assert len(set(prints)) == len(prints)
    h13, n13 = prints[1].split(":")
    h18, n18 = prints[2].split(":")
    assert h13 == h18 and (n13, n18) == ("1", "2")
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is True
    notes = invocation["toolExecutionNotifications"]
    assert [n["associatedRule"]["id"] for n in notes] == ["RP900", "RP901"]
    for note in notes:
        assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith(
            "pkg/"
        )
        assert "was not analysed" in note["message"]["text"]


def test_sarif_is_deterministic(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = run_sarif(project, monkeypatch=monkeypatch)
    second = run_sarif(project, monkeypatch=monkeypatch)
    assert first == second


def test_sarif_uris_relative_to_project_root(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from a subdirectory: the URIs stay relative to the root, not to the cwd."""
    monkeypatch.chdir(project / "pkg")
    out = CliRunner().invoke(cli, ["check", "--output-format", "sarif", "--no-cache", "app.py"])
    data = json.loads(out.stdout)
    validate(data)
    assert {_where(r)[0] for r in _results(data)} == {"pkg/app.py"}


def test_suppressed_only_with_show_suppressed(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = run_sarif(project, "pkg/quiet.py", monkeypatch=monkeypatch)
    assert _results(plain) == []
    shown = run_sarif(project, "--show-suppressed", "pkg/quiet.py", monkeypatch=monkeypatch)
    results = _results(shown)
    assert [_where(r) for r in results] == [("pkg/quiet.py", 7), ("pkg/quiet.py", 12)]
    assert results[0]["suppressions"] == [
        {"kind": "inSource", "justification": "measured: the second call is rare"}
    ]
    assert results[1]["suppressions"] == [{"kind": "inSource"}]


def test_fingerprints_survive_lines_inserted_above(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = run_sarif(project, "pkg/app.py", monkeypatch=monkeypatch)
    app = project / "pkg" / "app.py"
    lines = APP.splitlines(keepends=True)
    inserted = ["# a new comment\n", "\n", "def unrelated():\n", "    return 1\n", "\n", "\n"]
    # above everything, and between the findings (re-indentation of nothing else)
    app.write_text("".join([*inserted, *lines[:11], *inserted, *lines[11:]]), encoding="utf-8")
    after = run_sarif(project, "pkg/app.py", monkeypatch=monkeypatch)

    def prints(data: dict[str, Any]) -> list[tuple[str, str, int]]:
        return [
            (
                r["ruleId"],
                r["partialFingerprints"]["primaryLocationLineHash"],
                _where(r)[1],
            )
            for r in _results(data)
        ]

    old, new = prints(before), prints(after)
    assert [p[:2] for p in old] == [p[:2] for p in new]
    assert [p[2] for p in new] == [old[0][2] + 6, old[1][2] + 12, old[2][2] + 12]


def test_fingerprint_ignores_indentation_and_noqa(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = project / "pkg" / "app.py"
    app.write_text(APP, encoding="utf-8")
    before = run_sarif(project, "pkg/app.py", monkeypatch=monkeypatch)
    app.write_text(
        APP.replace('    name = r.get(f"user:{uid}:name")', '    name = r.get(f"user:{uid}:name")  # noqa: RP101'),
        encoding="utf-8",
    )  # fmt: skip
    after = run_sarif(project, "--show-suppressed", "pkg/app.py", monkeypatch=monkeypatch)
    first = _results(after)[0]
    assert "suppressions" in first
    assert (
        first["partialFingerprints"]["primaryLocationLineHash"]
        == _results(before)[0]["partialFingerprints"]["primaryLocationLineHash"]
    )


def _fixed_diagnostic(path: str) -> Diagnostic:
    fix = Fix(
        applicability="safe",
        message="Rewrite the 2 commands as one pipeline",
        edits=(
            Edit(
                start=0,
                end=0,
                content="with r.pipeline(transaction=False) as pipe:\n",
                location=Location(7, 5),
                end_location=Location(7, 5),
            ),
            Edit(
                start=0,
                end=0,
                content="pipe.get('x')",
                location=Location(8, 5),
                end_location=Location(8, 38),
            ),
        ),
    )
    return Diagnostic(
        "RP101", "2 sequential Redis commands", path, Location(7, 5), Location(8, 38), fix=fix
    )


def test_fixes_from_a_hand_made_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "app.py").write_text(APP, encoding="utf-8")
    result = RunResult(diagnostics=[_fixed_diagnostic("pkg/app.py")], files=1, parsed=1)
    options = ReportOptions(config=Config(root=tmp_path), cwd=tmp_path)
    data = json.loads(to_sarif_json(sarif_log(result, options)))
    validate(data)
    check_github_requirements(data)
    (fix,) = _results(data)[0]["fixes"]
    assert fix["description"]["text"] == "Rewrite the 2 commands as one pipeline"
    (change,) = fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "pkg/app.py", "uriBaseId": SRCROOT}
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 7, "startColumn": 5, "endLine": 7, "endColumn": 5},
            "insertedContent": {"text": "with r.pipeline(transaction=False) as pipe:\n"},
        },
        {
            "deletedRegion": {"startLine": 8, "startColumn": 5, "endLine": 8, "endColumn": 38},
            "insertedContent": {"text": "pipe.get('x')"},
        },
    ]


def test_real_fixes_are_reported(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelint.fixes import has_fix

    if not has_fix("RP101"):
        pytest.skip("RP101 has no fix yet")
    data = run_sarif(project, "pkg/app.py", monkeypatch=monkeypatch)
    assert all("fixes" in r for r in _results(data))


def test_internal_error_makes_execution_unsuccessful(tmp_path: Path) -> None:
    crash = Diagnostic(
        "RP902", "internal error in RP101: boom", "a.py", Location(1, 1), Location(1, 1)
    )
    result = RunResult(diagnostics=[crash], not_analysed=[crash], files=1)
    out = io.StringIO()
    report("sarif", result, out, ReportOptions(config=Config(root=tmp_path), cwd=tmp_path))
    data = json.loads(out.getvalue())
    validate(data)
    check_github_requirements(data)
    invocation = data["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["associatedRule"] == {"id": "RP902", "index": data["runs"][0]["tool"]["driver"]["rules"].index(
        next(r for r in data["runs"][0]["tool"]["driver"]["rules"] if r["id"] == "RP902"))}  # fmt: skip


def test_only_enabled_rules_are_described(tmp_path: Path) -> None:
    """RP900-RP902 (files not analysed) are reported whatever the selection (issue 17),
    so they are always described; RP910 only when selected."""
    out = io.StringIO()
    config = Config(root=tmp_path, select=("RP1",))
    report("sarif", RunResult(), out, ReportOptions(config=config, cwd=tmp_path))
    data = json.loads(out.getvalue())
    validate(data)
    rules = [r["id"] for r in data["runs"][0]["tool"]["driver"]["rules"]]
    assert rules == ["RP101", "RP102", "RP103", "RP104", "RP900", "RP901", "RP902"]
    assert data["runs"][0]["results"] == []
    assert data["runs"][0]["invocations"][0] == {"executionSuccessful": True}
