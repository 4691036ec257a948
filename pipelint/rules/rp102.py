"""RP102 round-trip-in-loop: a command sent once per iteration of a loop."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.analysis.loops import Loop
    from pipelint.checker.context import FileContext

__all__ = ["RoundTripInLoop", "reported", "describe"]


def reported(loop: Loop) -> bool:
    """Does RP102 (or RP103) report this loop? Its outermost independent loop; a
    comprehension that may stop early (``any``, ``all``) only when every command reads:
    batching it sends commands for items the original never reached. A ``for`` or
    ``while`` statement keeps its own control flow in the pipeline, ``break`` included."""
    if not loop.top:
        return False
    if (
        loop.early_exit
        and loop.kind not in ("for", "while")
        and not all(c.spec.readonly and not c.spec.write for c in loop.commands)
    ):
        return False
    return True


def describe(loop: Loop) -> tuple[str, str]:
    """('r.hgetall' and 'r.ttl', "item of 'ids'") for messages."""
    names: list[str] = []
    for c in loop.commands:
        name = f"'{c.client_key}.{c.method}'"
        if name not in names:
            names.append(name)
    callees = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    where = "iteration of the loop"
    if loop.iterable is not None:
        import libcst as cst  # at use: the registry is read at start-up (rule selectors)

        text = cst.Module([]).code_for_node(loop.iterable).strip()
        where = f"item of '{text}'" if len(text) <= 40 and "\n" not in text else "item"
    return callees, where


class RoundTripInLoop(Rule):
    code = "RP102"
    needs = frozenset({"loop"})
    name = "round-trip-in-loop"
    summary = "A Redis command sent once per loop iteration, where one pipeline sends them all"

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        from pipelint.analysis.multikey import plan_loop
        from pipelint.analysis.receivers import on_a_pipeline, pipeline_callbacks

        rp103 = ctx.config.enabled("RP103", ctx.path)
        callbacks: set[str] | None = None
        for loop in ctx.analysis.loops:
            if not reported(loop):
                continue
            if loop.client_key is not None:
                if callbacks is None:
                    callbacks = pipeline_callbacks(ctx.module)
                if on_a_pipeline(loop.scope, loop.client_key, callbacks):
                    continue  # a pipeline already: the commands are queued, not sent
            if rp103 and plan_loop(loop, ctx.config) is not None:
                continue  # RP103: one multi-key command does it
            callees, where = describe(loop)
            n = len(loop.commands)
            verb = "run" if " and " in callees else "runs"
            if verb == "runs" and n > 1:
                verb = f"runs {n} times"
            each = "one round trip each" if n == 1 else f"{n} round trips each"
            once = "" if verb.endswith("times") else " once"
            message = f"{callees} {verb}{once} per {where}: {each}; one pipeline needs 1"
            if loop.consumer == "gather":
                message += " (asyncio.gather also takes one pool connection per command)"
            yield Finding(
                self.code,
                message,
                loop.node,
                loop.node,
                fix=ctx.fixer_for(self.code, loop),
                anchors=tuple(c.call for c in loop.commands),
            )
