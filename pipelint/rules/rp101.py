"""RP101 sequential-commands: independent Redis commands that each pay a round trip."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext

__all__ = ["SequentialCommands"]


class SequentialCommands(Rule):
    code = "RP101"
    name = "sequential-commands"
    summary = "Sequential independent Redis commands that could share one pipeline round trip"

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        for run in ctx.analysis.runs:
            n = len(run.commands)
            if n < 2:
                continue
            message = (
                f"{n} sequential Redis commands on '{run.client_key}' cost {n} round trips; "
                "one pipeline needs 1"
            )
            yield Finding(
                self.code,
                message,
                run.commands[0].stmt,
                run.commands[-1].stmt,
                fix=ctx.fixer_for(self.code, run),
            )
