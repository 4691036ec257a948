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
    from pipelint.clients.scopes import Scope

__all__ = ["MultiKeyForm"]


class MultiKeyForm(Rule):
    code = "RP103"
    needs = frozenset({"loop", "calls2"})
    name = "multi-key-form"
    summary = "The same single-key command n times, where one multi-key command does them all"

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        from pipelint.analysis.multikey import plan_loop, plan_run
        from pipelint.analysis.receivers import on_a_pipeline, pipeline_callbacks

        callbacks: set[str] | None = None

        def queued(scope: Scope, client_key: str | None) -> bool:
            """Commands on a pipeline already: queued, not round trips (RP101 too)."""
            nonlocal callbacks
            if client_key is None:
                return False
            if callbacks is None:
                callbacks = pipeline_callbacks(ctx.module)
            return on_a_pipeline(scope, client_key, callbacks)

        for loop in ctx.analysis.loops:
            if not reported(loop):
                continue
            plan = plan_loop(loop, ctx.config)
            if plan is None or queued(loop.scope, loop.client_key):
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
            if plan is None or queued(run.scope, run.client_key):
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
