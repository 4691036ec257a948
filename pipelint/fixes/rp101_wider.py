"""RP101 fix for runs with result consumers or a tested last command (rules/RP101.md,
issue 9), on the machinery of fixes/rp101.py:

    crons = r.lrange("cron", 0, -1)          with r.pipeline(transaction=False) as pipe:
    log.debug("got %d", len(crons))              pipe.lrange("cron", 0, -1)
    if r.zcard("queue") >= cap:          ->      pipe.zcard("queue")
        raise Full()                             crons, zcard_result = pipe.execute(...)
                                                 <check crons>
                                                 log.debug("got %d", len(crons))
                                                 <check zcard_result>
                                                 if zcard_result >= cap:
                                                     raise Full()

A consumer moves after ``execute()``, in its order, right after the check and binding of
the commands before it; the tested command is queued and its test reads a fresh name
bound to its result. Unsafe at most: a consumer now runs after every command was sent,
so when it raises (or when a later command writes and an earlier one fails) what was
sent differs; and a later command's arguments are evaluated before the consumer runs.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import libcst as cst

from pipelint.analysis.exprs import names_overlap
from pipelint.fixes import rp101
from pipelint.fixes import rp101_safety as safety

if TYPE_CHECKING:
    from pipelint.analysis.model import Run
    from pipelint.checker.context import FileContext
    from pipelint.diagnostics import Fix

__all__ = ["build_nested_fix", "build_wider_fix", "offers_nested_fix", "offers_wider_fix"]

_SHAPES = frozenset({"consumer", "tested"})


def offers_wider_fix(run: Run) -> bool:
    """Is the run one this fix rewrites (before looking at its source)?"""
    return (
        bool(run.shapes)
        and set(run.shapes) <= _SHAPES
        and run.scope.kind == "function"
        and all(c.kind != "test" for c in run.commands[:-1])
        # a `while` re-evaluates its test: it cannot read one queued result
        and not isinstance(run.commands[-1].stmt, cst.While)
    )


def _overlap(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> bool:
    return any(names_overlap(x, y) for x in a for y in b)


def build_wider_fix(ctx: FileContext, run: Run) -> Fix | None:
    if not offers_wider_fix(run):
        return None
    cmds = run.commands
    tested = cmds[-1] if cmds[-1].kind == "test" else None
    if tested is not None and rp101._ast_spans(ctx, tested) is None:
        return None  # the test's command is not unambiguous in its statement
    # the consumers: statements between the commands that read a result (or what an
    # earlier consumer wrote); each moves after the commands that follow it
    order = {id(s): k for k, s in enumerate(run.statements)}
    facts_of = {id(s): f for s, f in run.between}
    cmd_pos = [order[id(c.stmt)] for c in cmds]
    tainted: set[str] = set()
    moved: set[int] = set()
    for stmt in run.statements:
        for c in cmds:
            if c.stmt is stmt:
                tainted |= c.writes
        f = facts_of.get(id(stmt))
        if f is not None and _overlap(f.reads, tainted):
            moved.add(id(stmt))
            tainted |= f.writes
    fn = run.scope.enclosing_function()
    if fn is None:
        return None
    captured = safety._nested_scope_names(fn.node)
    first_moved = min((order[id(s)] for s, _f in run.between if id(s) in moved), default=None)
    for stmt, f in run.between:
        if id(stmt) not in moved:
            # it now runs before the consumers above it: only a quiet local binding may
            if first_moved is not None and order[id(stmt)] > first_moved:
                if not safety._quiet_statement(stmt, fn, captured):
                    return None
            continue
        k = order[id(stmt)]
        # what now runs before the consumer (later commands, their bindings, statements
        # that stay in place) must not change what it reads, nor read or write what it writes
        later_cmds = [c for c, p in zip(cmds, cmd_pos, strict=True) if p > k]
        stay = [g for s, g in run.between if order[id(s)] > k and id(s) not in moved]
        later_writes = {w for c in later_cmds for w in c.writes} | {
            w for g in stay for w in g.writes
        }
        later_reads = {r for c in later_cmds for r in (*c.reads, *c.bind_reads)}
        later_reads |= {r for g in stay for r in g.reads}
        if _overlap(f.reads, later_writes) or _overlap(f.writes, later_writes | later_reads):
            return None
    if tested is None and not moved:
        return None
    reasons: list[str] = []
    if moved:
        reasons.append(
            "consumers of the results run after every command was sent: when one raises or "
            "a command fails, what was sent differs"
        )
    if tested is not None:
        if isinstance(tested.stmt, cst.If):
            reasons.append("the `if` that tests the last command moves inside the pipeline block")
        else:
            reasons.append(
                "under `python -O` the original skips the asserted command; the pipeline "
                "still sends it"
            )
    return rp101.build_run_fix(ctx, run, frozenset(moved), tuple(reasons))


# ---- commands nested in one expression ------------------------------------------------
def offers_nested_fix(run: Run) -> bool:
    return run.shapes == ("nested",) and run.scope.kind == "function"


def build_nested_fix(ctx: FileContext, run: Run) -> Fix | None:
    """``r.mget(r.lrange(a, 0, -1) + r.zrange(b, 0, -1))``: the inner commands are queued
    and checked, then the statement runs with their results in their place. Offered only
    when everything the statement evaluates before the last inner command is quiet (names,
    attributes, literals) or another inner command, so that sending them first changes
    nothing but the round trips."""
    if not offers_nested_fix(run):
        return None
    cmds = run.commands
    stmt = cmds[0].stmt
    small = cmds[0].small
    if not all(c.stmt is stmt and c.small is small for c in cmds):
        return None
    value = small.value if isinstance(small, (cst.Return, cst.Expr, cst.Assign)) else None
    if not isinstance(value, cst.BaseExpression):
        return None
    exprs = [c.command_expr for c in cmds]
    if not _quiet_before(value, {id(e) for e in exprs}):
        return None
    siblings = tuple(exprs)
    nested = [dataclasses.replace(c, kind="nested", wrapped=True, siblings=siblings) for c in cmds]
    reason = "the commands nested in the statement are sent before the statement runs"
    return rp101.build_run_fix(ctx, dataclasses.replace(run, commands=nested), extra=(reason,))


def _quiet_before(value: cst.BaseExpression, inner: set[int]) -> bool:
    """Is every part of ``value`` that Python evaluates before its last inner command
    either quiet or an inner command? (Unknown shapes: no.)"""
    state = {"left": len(inner)}  # inner commands not yet passed

    def visit(n: cst.CSTNode) -> bool:
        """Walk ``n`` in evaluation order while inner commands remain ahead."""
        if state["left"] == 0:
            return True  # evaluated after the last inner command
        if id(n) in inner:
            state["left"] -= 1
            return True
        if not _contains(n, inner):
            return safety._quiet(n) if isinstance(n, cst.BaseExpression) else False
        if isinstance(n, cst.Await):
            return visit(n.expression)
        if isinstance(n, cst.Call):
            return visit(n.func) and all(
                not a.star and a.keyword is None and visit(a.value) for a in n.args
            )
        if isinstance(n, cst.Attribute):
            return visit(n.value)
        if isinstance(n, cst.BinaryOperation):
            return visit(n.left) and visit(n.right)
        if isinstance(n, (cst.Tuple, cst.List, cst.Set)):
            return all(
                not isinstance(el, cst.StarredElement) and visit(el.value) for el in n.elements
            )
        if isinstance(n, (cst.ListComp, cst.SetComp, cst.GeneratorExp)):
            # only the first iterable runs right away
            return not _contains(n.elt, inner) and visit(n.for_in.iter)
        return False

    return visit(value)


def _contains(n: cst.CSTNode, inner: set[int]) -> bool:
    stack = [n]
    while stack:
        m = stack.pop()
        if id(m) in inner:
            return True
        stack.extend(m.children)
    return False
