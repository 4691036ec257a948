"""RP104 pipeline-per-iteration: a pipeline executed in every iteration of a loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext

__all__ = ["PipelinePerIteration"]


class PipelinePerIteration(Rule):
    code = "RP104"
    name = "pipeline-per-iteration"
    summary = "A pipeline executed once per loop iteration, where one execute() would do"

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        for loop in ctx.analysis.loops:
            for use in loop.pipelines:
                where = "created and executed" if use.created_inside else "executed"
                message = (
                    f"pipeline '{use.name}' on '{use.client_key}' is {where} once per "
                    "iteration: one round trip each; one pipeline around the loop needs 1"
                )
                anchors = [*use.executes]
                if use.create_stmt is not None and use.created_inside:
                    anchors.append(use.create_stmt)
                yield Finding(
                    self.code,
                    message,
                    loop.node,
                    loop.node,
                    fix=ctx.fixer_for(self.code, loop),
                    anchors=tuple(anchors),
                )
