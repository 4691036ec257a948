"""Rule documentation: one ``rules/<CODE>.md`` per rule, in the documented shape, whose
*Example* is flagged by its rule and whose *Use instead* is clean; ``pipelint rule``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelint.checker import check_file
from pipelint.cli import cli
from pipelint.clients.project import ProjectIndex
from pipelint.config import Config
from pipelint.rules import ALL_RULES
from pipelint.rules.docs import SECTIONS, code_blocks, doc_sections, docs_dir, rule_doc

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"
CODES = sorted(ALL_RULES)
#: RP9xx examples that no source text can produce
NO_EXAMPLE = {"RP902": "a pipelint bug or a file above the limits: not a few lines of code"}


def test_every_rule_has_a_doc_and_every_doc_a_rule() -> None:
    assert docs_dir() == RULES_DIR
    docs = sorted(p.stem for p in RULES_DIR.glob("*.md"))
    assert docs == CODES


@pytest.mark.parametrize("code", CODES)
def test_doc_shape(code: str) -> None:
    doc = rule_doc(code)
    assert doc is not None
    rule = ALL_RULES[code]
    assert doc.splitlines()[0] == f"# {rule.name} ({code})"
    sections = doc_sections(doc)
    assert list(sections) == list(SECTIONS), f"{code}: sections must be exactly {SECTIONS}"
    for title, body in sections.items():
        assert body, f"{code}: empty section {title!r}"


def _check(tmp_path: Path, source: str, code: str) -> list[str]:
    path = tmp_path / "example.py"
    path.write_bytes(source.encode("utf-8"))
    config = Config(root=tmp_path, select=("RP",))
    result, _ = check_file(path, config, ProjectIndex(), "example.py")
    return sorted(d.code for d in result.diagnostics if not d.suppressed)


@pytest.mark.parametrize("code", CODES)
def test_example_is_flagged_and_use_instead_is_clean(code: str, tmp_path: Path) -> None:
    if code in NO_EXAMPLE:
        pytest.skip(NO_EXAMPLE[code])
    doc = rule_doc(code)
    assert doc is not None
    sections = doc_sections(doc)
    examples = code_blocks(sections["Example"])
    fixed = code_blocks(sections["Use instead"])
    assert len(examples) == 1, f"{code}: one python block in *Example*"
    assert len(fixed) == 1, f"{code}: one python block in *Use instead*"
    assert _check(tmp_path, examples[0], code) == [code]
    assert _check(tmp_path, fixed[0], code) == []


def _cli(*args: str) -> tuple[int, str]:
    res = CliRunner().invoke(cli, ["rule", *args])
    return res.exit_code, res.stdout


@pytest.mark.parametrize("code", CODES)
def test_rule_command_prints_the_doc(code: str) -> None:
    exit_code, out = _cli(code.lower())
    assert exit_code == 0
    assert out == rule_doc(code)
    exit_code, out = _cli(code, "--output-format", "json")
    data = json.loads(out)
    assert data["code"] == code
    assert data["name"] == ALL_RULES[code].name
    assert data["summary"] == ALL_RULES[code].summary
    assert data["explanation"] == rule_doc(code)
    assert isinstance(data["fix"], bool)


def test_rule_all() -> None:
    exit_code, out = _cli("--all")
    assert exit_code == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == CODES
    for line, code in zip(lines, CODES, strict=True):
        assert re.search(rf"\b{ALL_RULES[code].name}\b", line)
        assert line.endswith(ALL_RULES[code].summary)
    exit_code, out = _cli("--all", "--output-format", "json")
    data = json.loads(out)
    assert [r["code"] for r in data] == CODES
    single = json.loads(_cli("RP101", "--output-format", "json")[1])
    assert data[CODES.index("RP101")] == single


def test_rule_usage_errors() -> None:
    assert _cli()[0] == 2
    assert _cli("RP999")[0] == 2
