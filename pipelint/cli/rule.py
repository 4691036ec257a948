"""``pipelint rule CODE`` / ``pipelint rule --all``: the rules' documentation."""

from __future__ import annotations

import json

import click

from pipelint.rules import ALL_RULES, get_rule
from pipelint.rules.docs import rule_doc

__all__ = ["run_rule"]


def run_rule(code: str | None, all_: bool, fmt: str) -> int:
    if all_ or code is None:
        if code is None and not all_:
            click.echo("pipelint: error: give a rule code (e.g. RP101) or --all", err=True)
            return 2
        rows = [
            {"code": r.code, "name": r.name, "summary": r.summary, "fix": _has_fix(r.code)}
            for r in sorted(ALL_RULES.values(), key=lambda r: r.code)
        ]
        if fmt == "json":
            click.echo(json.dumps(rows, indent=2))
        else:
            for row in rows:
                click.echo(f"{row['code']}  {row['name']:<28} {row['summary']}")
        return 0
    rule = get_rule(code)
    if rule is None:
        click.echo(f"pipelint: error: unknown rule {code!r}; see `pipelint rule --all`", err=True)
        return 2
    doc = rule_doc(rule.code)
    if fmt == "json":
        click.echo(
            json.dumps(
                {"code": rule.code, "name": rule.name, "summary": rule.summary, "fix": _has_fix(rule.code),
                 "explanation": doc or ""},
                indent=2,
            )
        )  # fmt: skip
    else:
        click.echo(doc if doc else f"# {rule.name} ({rule.code})\n\n{rule.summary}\n")
    return 0


def _has_fix(code: str) -> bool:
    from pipelint.fixes import has_fix

    return has_fix(code)
