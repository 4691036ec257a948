"""RP101 sequential-commands: independent Redis commands that each pay a round trip."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from pipelint.analysis.receivers import (
    on_a_pipeline,
    pipeline_takers,
    transaction_callbacks,
)
from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.analysis.model import Run
    from pipelint.checker.context import FileContext
    from pipelint.diagnostics import Fix

__all__ = ["SequentialCommands"]


class SequentialCommands(Rule):
    code = "RP101"
    needs = frozenset({"calls2"})
    name = "sequential-commands"
    summary = "Sequential independent Redis commands that could share one pipeline round trip"

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        covered = _covered(ctx)
        atomic = _atomic_pairs(ctx)
        wider = list(_sequences(ctx, covered, atomic))
        callbacks: set[str] = set()
        transactions: set[str] = set()
        if wider or any(len(run.commands) >= 2 for run in ctx.analysis.runs):
            transactions = transaction_callbacks(ctx.module)
            callbacks = transactions | pipeline_takers(ctx.module)
        # a function written for a pipeline *or* its client pays the round trips on the
        # client path, even if this module also passes it a pipeline somewhere
        wider = [
            run
            for run in wider
            if not _on_a_pipeline(run, transactions if "or_pipeline" in run.shapes else callbacks)
        ]
        taken = {id(c.call) for run in wider for c in run.commands}
        for run in ctx.analysis.runs:
            n = len(run.commands)
            if n < 2 or id(run) in covered:
                continue
            if _on_a_pipeline(run, callbacks):
                continue
            if all(id(c.call) in taken for c in run.commands):
                continue  # part of a wider run, reported below
            if any(all(c in run.commands for c in pair) for pair in atomic):
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
        for run in wider:
            start, end = run.block[run.start], run.block[run.end]
            yield Finding(self.code, _wider_message(run), start, end, fix=_wider_fixer(run))


def _wider_fixer(run: Run) -> Callable[[FileContext], Fix | None] | None:
    """Conditional commands whose results are unused: the ``if`` moves into the pipeline
    (fixes/rp101_conditional.py); consumers and a tested last command: the consumers and
    the test move after ``execute()``; nested commands: queued before their statement
    (fixes/rp101_wider.py). The other shapes have no fix yet."""
    from pipelint.fixes.rp101_conditional import build_conditional_fix, offers_conditional_fix
    from pipelint.fixes.rp101_wider import (
        build_nested_fix,
        build_wider_fix,
        offers_nested_fix,
        offers_wider_fix,
    )

    if offers_conditional_fix(run):
        return lambda ctx: build_conditional_fix(ctx, run)
    if offers_wider_fix(run):
        return lambda ctx: build_wider_fix(ctx, run)
    if offers_nested_fix(run):
        return lambda ctx: build_nested_fix(ctx, run)
    return None


def _wider_message(run: Run) -> str:
    n, trips = len(run.commands), run.trips
    what = f"{n} sequential Redis commands" if n == trips else f"{n} Redis commands"
    if "nested" in run.shapes:
        what = f"{n} independent Redis commands in one expression"
    cost = f"up to {trips} round trips" if "conditional" in run.shapes else f"{trips} round trips"
    when = " when no pipeline is passed" if "or_pipeline" in run.shapes else ""
    return f"{what} on '{run.client_key}' cost {cost}{when}; one pipeline needs 1"


def _sequences(
    ctx: FileContext, covered: set[int], atomic: list[tuple[object, ...]]
) -> Iterator[Run]:
    """RP101's wider runs (analysis/sequences.py) that no other rule's finding covers: a
    plain run inside one that is covered (a loop's, a multi-key command's) covers it, and
    so does an atomic pair (a write then its TTL, guarded or not) inside it."""
    calls_covered = {
        id(c.call) for run in ctx.analysis.runs if id(run) in covered for c in run.commands
    }
    pairs = [tuple(id(c.call) for c in pair) for pair in atomic]  # type: ignore[attr-defined]
    facts = ctx.analysis.atomic
    if facts is not None and ctx.config.enabled("RP202", ctx.path):
        pairs.extend((id(f.write_cmd.call), id(f.expire_cmd.call)) for f in facts.set_expires)
    for run in ctx.analysis.sequences:
        calls = {id(c.call) for c in run.commands}
        if calls & calls_covered:
            continue
        if any(all(p in calls for p in pair) for pair in pairs):
            continue
        yield run


def _on_a_pipeline(run: Run, callbacks: set[str]) -> bool:
    """Is the receiver a pipeline already (``redis.Pipeline`` subclasses ``redis.Redis``)?
    See ``analysis.receivers.on_a_pipeline``."""
    return on_a_pipeline(run.scope, run.client_key, callbacks)


def _covered(ctx: FileContext) -> set[int]:
    """Runs another rule reports with a fix that covers them: inside a loop RP102 or
    RP103 reports (the loop's pipeline takes them), or one multi-key command (RP103)."""
    from pipelint.analysis.multikey import plan_loop, plan_run
    from pipelint.rules.rp102 import reported

    out: set[int] = set()
    rp102 = ctx.config.enabled("RP102", ctx.path)
    rp103 = ctx.config.enabled("RP103", ctx.path)
    for loop in ctx.analysis.loops:
        if loop.runs and reported(loop):
            if rp102 or (rp103 and plan_loop(loop, ctx.config) is not None):
                out.update(id(run) for run in loop.runs)
    if rp103:
        out.update(id(run) for run in ctx.analysis.runs if plan_run(run, ctx.config))
    return out


def _atomic_pairs(ctx: FileContext) -> list[tuple[object, ...]]:
    """Commands that RP202 (a write then its TTL) or RP201 (``GET`` then ``DEL``/``SET``)
    make one atomic command of: a run holding both is theirs, not a pipeline's. Nor is
    a run inside a dependent chain (RP203), which one script replaces."""
    facts = ctx.analysis.atomic
    if facts is None:
        return []
    out: list[tuple[object, ...]] = []
    if ctx.config.enabled("RP202", ctx.path):
        out.extend((f.write_cmd, f.expire_cmd) for f in facts.set_expires if f.guard is None)
    if ctx.config.enabled("RP201", ctx.path):
        out.extend(
            (f.read_cmd, f.write_cmd)
            for f in facts.read_modify_writes
            if f.kind in ("get_delete", "swap") and f.read_cmd is not None
        )
    if ctx.config.enabled("RP203", ctx.path):
        for chain in facts.chains:
            # every pair of commands of the chain: a run inside it holds one of them
            out.extend(
                (a, b) for i, a in enumerate(chain.commands) for b in chain.commands[i + 1 :]
            )
    return out
