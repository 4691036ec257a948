"""RP302 script-in-pipeline: a Script object queued on a pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext

__all__ = ["ScriptInPipeline"]


class ScriptInPipeline(Rule):
    code = "RP302"
    needs = frozenset({"pipeline", "script"})
    name = "script-in-pipeline"
    summary = (
        "A Script called with client=<pipeline>: every execute() first sends SCRIPT EXISTS, "
        "an extra round trip"
    )

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.analysis.pipelines
        if facts is None:
            return
        for sc in facts.script_calls:
            p = sc.pipeline
            cluster = (p.client is not None and p.client.cluster) or (
                sc.client is not None and sc.client.cluster
            )
            if cluster:
                message = (
                    f"Script '{sc.script}' queued on pipeline '{p.name}': a cluster pipeline "
                    "rejects EVALSHA, so this fails; call the script outside the pipeline"
                )
            else:
                message = (
                    f"Script '{sc.script}' queued on pipeline '{p.name}': every "
                    f"{p.name}.execute() first sends SCRIPT EXISTS, one extra round trip; "
                    f"load the script once and queue {p.name}.evalsha(...), or call it "
                    "outside the pipeline"
                )
            node = sc.stmt if sc.stmt is not None else sc.call
            yield Finding(self.code, message, node, node, fix=ctx.fixer_for(self.code, sc))
