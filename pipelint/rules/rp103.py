"""RP103 multi-key-form: the same single-key command n times where one command
(MGET, HMGET, DEL k1 k2...) does them all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.catalog import command_name as _command
from pipelint.rules.base import Finding, Rule
from pipelint.rules.rp102 import describe, reported

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext

__all__ = ["MultiKeyForm"]


class MultiKeyForm(Rule):
    code = "RP103"
    name = "multi-key-form"
    summary = "The same single-key command n times, where one multi-key command does them all"

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        from pipelint.analysis.multikey import plan_loop, plan_run

        for loop in ctx.analysis.loops:
            if not reported(loop):
                continue
            plan = plan_loop(loop, ctx.config)
            if plan is None:
                continue
            callees, where = describe(loop)
            multi = _command(plan.multi)
            message = f"{callees} runs once per {where}: one {multi} sends them all"
            yield Finding(
                self.code,
                message,
                loop.node,
                loop.node,
                fix=ctx.fixer_for(self.code, plan),
                anchors=tuple(c.call for c in loop.commands),
            )
        for run in ctx.analysis.runs:
            plan = plan_run(run, ctx.config)
            if plan is None:
                continue
            n = len(run.commands)
            message = (
                f"{n} '{run.client_key}.{plan.method}' calls cost {n} round trips: "
                f"one {_command(plan.multi)} sends them all"
            )
            yield Finding(
                self.code,
                message,
                run.commands[0].stmt,
                run.commands[-1].stmt,
                fix=ctx.fixer_for(self.code, plan),
            )
