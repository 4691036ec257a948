"""``pipelint rule CODE`` / ``pipelint rule --all``: the rules' documentation.

Text: ``rule CODE`` prints ``rules/CODE.md``; ``rule --all`` one line per rule (code,
name, summary). JSON (``--output-format json``): one object per rule with the same keys
for both, the explanation being the Markdown documentation.
"""

from __future__ import annotations

import json
from typing import Any

import click

from pipelint.rules import ALL_RULES, Rule, get_rule
from pipelint.rules.docs import rule_doc

__all__ = ["run_rule", "rule_json"]


def rule_json(rule: type[Rule]) -> dict[str, Any]:
    from pipelint.reporters import rule_url

    return {
        "code": rule.code,
        "name": rule.name,
        "summary": rule.summary,
        "fix": _has_fix(rule.code),
        "level": rule.level,
        "precision": rule.precision,
        "tags": list(rule.tags),
        "url": rule_url(rule.code),
        "explanation": rule_doc(rule.code) or "",
    }


def run_rule(code: str | None, all_: bool, fmt: str) -> int:
    if all_:
        rules = sorted(ALL_RULES.values(), key=lambda r: r.code)
        if fmt == "json":
            click.echo(json.dumps([rule_json(r) for r in rules], indent=2, ensure_ascii=False))
        else:
            width = max(len(r.name) for r in rules)
            for r in rules:
                fix = " [*]" if _has_fix(r.code) else "    "
                click.echo(f"{r.code}{fix}  {r.name:<{width}}  {r.summary}")
        return 0
    if code is None:
        click.echo("pipelint: error: give a rule code (e.g. RP101) or --all", err=True)
        return 2
    rule = get_rule(code)
    if rule is None:
        click.echo(f"pipelint: error: unknown rule {code!r}; see `pipelint rule --all`", err=True)
        return 2
    if fmt == "json":
        click.echo(json.dumps(rule_json(rule), indent=2, ensure_ascii=False))
        return 0
    doc = rule_doc(rule.code)
    text = doc if doc else f"# {rule.name} ({rule.code})\n\n{rule.summary}\n"
    click.echo(text, nl=not text.endswith("\n"))
    return 0


def _has_fix(code: str) -> bool:
    from pipelint.fixes import has_fix

    return has_fix(code)
