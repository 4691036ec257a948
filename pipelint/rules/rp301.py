"""RP301 pipeline-never-executed: commands queued on a pipeline that is never sent."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext

__all__ = ["PipelineNeverExecuted"]


class PipelineNeverExecuted(Rule):
    code = "RP301"
    needs = frozenset({"pipeline"})
    name = "pipeline-never-executed"
    summary = "Commands queued on a pipeline that is never executed: they are never sent"
    tags = ("correctness", "redis")
    level = "error"

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.analysis.pipelines
        if facts is None:
            return
        for p in facts.pipelines:
            if p.created is None or not p.never_executed or p.stmt is None:
                continue
            n = len(p.queued)
            what = f"{n} command{'s' if n != 1 else ''}"
            message = (
                f"pipeline '{p.name}' queues {what} but is never executed: "
                "nothing is sent (leaving a `with` block does not execute it); "
                f"call {p.name}.execute()"
            )
            yield Finding(self.code, message, p.stmt, p.stmt)
