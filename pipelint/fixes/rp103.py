"""RP103 fix: one multi-key or variadic command instead of n single-key ones
(see rules/RP103.md).

- a loop whose results are unused: ``names = [k for k in keys]`` then
  ``if names: r.delete(*names)`` (DEL with no key is an error, the loop did nothing);
- a loop whose results are collected: the replies of ``r.mget(names) if names else []``
  rebuild the same value (a list comprehension becomes the reply list itself);
- ``sum(r.exists(k) for k in keys)``: ``r.exists(*names) if names else 0`` (EXISTS and
  DEL count duplicates exactly as the sum of single calls does);
- a run (``a = r.get(x)``, ``b = r.get(y)``): ``a, b = r.mget([x, y])``.
"""

from __future__ import annotations

import libcst as cst

from pipelint.analysis.multikey import DIFFERENT_ERRORS, MultiPlan
from pipelint.catalog import command_name as _command
from pipelint.checker.context import FileContext
from pipelint.diagnostics import Edit, Fix
from pipelint.fixes import register
from pipelint.fixes.rp101 import _IDENT, _line_text
from pipelint.fixes.rp102 import LoopFix, _common_safety, _src, atom, hoist

__all__ = ["build_fix"]

_PLURAL = {
    "get": "names", "delete": "names", "unlink": "names", "exists": "names", "touch": "names",
    "set": "mapping", "hset": "mapping", "hget": "fields", "hdel": "fields",
    "sismember": "members", "zscore": "members", "sadd": "members", "srem": "members",
    "zrem": "members", "lpush": "values", "rpush": "values",
}  # fmt: skip


def _call(plan: MultiPlan, receiver: str, arg: str, is_async: bool) -> str:
    """The multi-key call over the list (or mapping) named ``arg``."""
    aw = "await " if is_async else ""
    m = plan.multi
    key = ""
    if plan.key is not None:
        key = cst.Module([]).code_for_node(plan.key) + ", "
    if plan.form.kind == "multi_key" and plan.method == "get":
        return f"{aw}{receiver}.{m}({arg})"
    if plan.method == "set":
        return f"{aw}{receiver}.mset({arg})"
    if plan.method == "hset":
        return f"{aw}{receiver}.hset({key}mapping={arg})"
    if plan.form.kind == "same_key_fields":
        return f"{aw}{receiver}.{m}({key}{arg})"
    return f"{aw}{receiver}.{m}({key}*{arg})"


def _verdict_reasons(plan: MultiPlan, lf: LoopFix | None, unsafe: list[str]) -> None:
    c = plan.commands[0]
    if c.spec.write:
        unsafe.append("it writes: one command where the original sent n (an error stops all of it)")
    if plan.method in DIFFERENT_ERRORS:
        unsafe.append(DIFFERENT_ERRORS[plan.method] + " WRONGTYPE")
    if any(x.opaque_args for x in plan.commands):
        unsafe.append("an argument calls code pipelint cannot see into, which now runs earlier")


@register("RP103")
def build_fix(ctx: FileContext, subject: object) -> Fix | None:
    plan = subject
    assert isinstance(plan, MultiPlan)
    if plan.loop is not None:
        return _loop_fix(ctx, plan, plan.loop)
    return _run_fix(ctx, plan)


def _loop_fix(ctx: FileContext, plan: MultiPlan, loop: object) -> Fix | None:
    from pipelint.analysis.loops import Loop

    assert isinstance(loop, Loop)
    lf = LoopFix(ctx, loop)
    # a cluster pipeline's restrictions do not apply: no pipeline here
    lf.display = [d for d in lf.display if "cluster" not in d]
    _common_safety(lf)
    lf.unsafe = [u for u in lf.unsafe if not u.startswith("they write")]
    if not isinstance(loop.node, cst.For):
        hoist(lf)
    _verdict_reasons(plan, lf, lf.unsafe)
    c = plan.commands[0]
    if c.wrapped:
        lf.unsafe.append(
            "code around a command runs after the command was sent; an error it raises "
            "could come before a later item's error"
        )
    node = loop.node
    what = f"Send one {_command(plan.multi)} for all items"
    # loop variables bound by a for statement stay bound after it; the fix does not
    if isinstance(node, cst.For):
        for_start, for_end = ctx.span(node)
        outside = ctx.source[lf.fn_span[0] : for_start] + ctx.source[for_end : lf.fn_span[1]]
        used = set(_IDENT.findall(outside))
        if {n.split(".")[0] for n in _targets(node.target)} & used:
            lf.display.append("the loop variable is used after the loop")
    needs_items_twice = plan.result == "items" and not (
        loop.kind == "listcomp" and not c.wrapped and not loop.nested
    )
    if loop.consumer == "gather" and not loop.conditional:
        needs_items_twice = False
    if needs_items_twice or plan.result != "unused":
        lf.iterable_safety()
    if not ctx.config.fix_edits:
        return Fix(*lf.verdict(what), ())
    pre: list[str] = []
    if needs_items_twice:
        items, pre = lf.items()
    else:
        assert loop.iterable is not None
        items = atom(ctx, loop.iterable)
    item = _src(ctx, plan.items[0])
    arg = lf.fresh(_PLURAL.get(plan.method, "names"))
    value = plan.values[0]
    # the list (or mapping) of what each iteration would have sent
    clauses = _clauses(ctx, loop, items)
    target = loop.target
    bare = (
        target is not None
        and isinstance(target, cst.Name)
        and item == target.value
        and clauses == f"for {target.value} in {items}"
        and value is None
    )
    if value is not None:
        pre.append(f"{arg} = {{{item}: {_src(ctx, value)} {clauses}}}")
    elif bare and (pre or loop.reiterable):
        arg = items  # already a collection of exactly the keys
    elif bare:
        pre.append(f"{arg} = list({items})")
    else:
        pre.append(f"{arg} = [{item} {clauses}]")
    call = _call(plan, lf.receiver, arg, loop.is_async)
    if plan.result == "unused":
        comment = ""
        if isinstance(node, cst.For) and isinstance(node.body, cst.IndentedBlock):
            header = node.body.header.comment
            comment = f"  {header.value}" if header is not None else ""
        lines = [*pre, f"if {arg}:{comment}", lf.unit + call]
        return Fix(*lf.verdict(what), (lf.edit(lf.block(lines)),))
    if plan.result == "sum":
        rebuilt = f"({call} if {arg} else 0)"
        target_node: cst.CSTNode = loop.consumer_node or node
        start, end = ctx.span(target_node)
        statement = lf.replace(lf.stmt_start, lf.stmt_end, [(start, end, rebuilt)])
        return Fix(*lf.verdict(what), (lf.edit(lf.block([*pre, statement])),))
    # items: one reply per item
    replies = f"({call} if {arg} else [])"
    gather = loop.consumer == "gather"
    if not needs_items_twice:
        start, end = ctx.span(loop.consumer_node if gather else node)  # type: ignore[arg-type]
        statement = lf.replace(lf.stmt_start, lf.stmt_end, [(start, end, replies)])
        return Fix(*lf.verdict(what), (lf.edit(lf.block([*pre, statement])),))
    it_name = lf.fresh("reply_iter")
    pre.append(f"{it_name} = iter{replies}")
    spans = [(*ctx.span(c.call if gather else c.command_expr), f"next({it_name})")]
    assert loop.iterable is not None
    if not loop.reiterable:
        spans.append((*ctx.span(loop.iterable), items))
    if isinstance(node, cst.For):
        statement = lf.replace(lf.stmt_start, lf.stmt_end, spans)
    else:
        start, end = ctx.span(node)
        rebuilt = lf.replace(start, end, spans)
        if gather:
            start, end = ctx.span(loop.consumer_node)  # type: ignore[arg-type]
            rebuilt = f"list({rebuilt})" if rebuilt.startswith("(") else f"[{rebuilt}]"
        statement = lf.replace(lf.stmt_start, lf.stmt_end, [(start, end, rebuilt)])
    return Fix(*lf.verdict(what), (lf.edit(lf.block([*pre, statement])),))


def _targets(target: cst.BaseExpression) -> list[str]:
    from pipelint.analysis.exprs import target_names

    return list(target_names(target))


def _clauses(ctx: FileContext, loop: object, items: str) -> str:
    """``for k in keys if k`` of the loop, its first iterable replaced by ``items``."""
    node = loop.node  # type: ignore[attr-defined]
    if isinstance(node, cst.For):
        return f"for {_src(ctx, node.target)} in {items}"
    parts: list[str] = []
    for_in = node.for_in
    first = True
    while for_in is not None:
        it = items if first else _src(ctx, for_in.iter)
        parts.append(f"for {_src(ctx, for_in.target)} in {it}")
        parts.extend(f"if {_src(ctx, i.test)}" for i in for_in.ifs)
        first = False
        for_in = for_in.inner_for_in
    return " ".join(parts)


def _run_fix(ctx: FileContext, plan: MultiPlan) -> Fix | None:
    cmds = plan.commands
    unsafe: list[str] = []
    display: list[str] = []
    _verdict_reasons(plan, None, unsafe)
    receiver = cmds[0].receiver
    if isinstance(receiver, cst.Call):
        display.append("the client is obtained by a call")
    for c in cmds[1:]:
        if c.stmt.leading_lines and any(ln.comment for ln in c.stmt.leading_lines):
            display.append("comments between the commands would be lost")
            break
    comments = [c.stmt.trailing_whitespace.comment for c in cmds]
    trailing = "".join(f"  {c.value}" for c in comments if c is not None)
    n = len(cmds)
    what = f"Send one {_command(plan.multi)} instead of {n} {_command(plan.method)}"
    if display:
        return Fix("display-only", f"{what} (not automatic: {display[0]})", ())
    applicability = "unsafe" if unsafe else "safe"
    message = f"{what} ({unsafe[0]})" if unsafe else what
    if not ctx.config.fix_edits:
        return Fix(applicability, message, ())
    start, _ = _line_text(ctx, cmds[0].stmt)
    _, end = _line_text(ctx, cmds[-1].stmt)  # with its trailing comment
    from pipelint.clients.scopes import dotted_name

    recv = dotted_name(receiver) or _src(ctx, receiver)
    items = [_src(ctx, i) for i in plan.items]
    aw = "await " if cmds[0].is_async else ""
    key = (_src(ctx, plan.key) + ", ") if plan.key is not None else ""
    if plan.method in ("set", "hset"):
        mapping = (
            "{"
            + ", ".join(
                f"{i}: {_src(ctx, v)}"
                for i, v in zip(items, plan.values, strict=True)
                if v is not None
            )
            + "}"
        )
        call = (
            f"{aw}{recv}.mset({mapping})"
            if plan.method == "set"
            else f"{aw}{recv}.hset({key}mapping={mapping})"
        )
    elif plan.form.kind in ("multi_key", "same_key_fields"):
        call = f"{aw}{recv}.{plan.multi}({key}[{', '.join(items)}])"
    else:
        call = f"{aw}{recv}.{plan.multi}({key}{', '.join(items)})"
    if plan.result == "items":
        targets = ", ".join(c.targets[0].value for c in cmds)  # type: ignore[attr-defined]
        content = f"{targets} = {call}"
    else:
        content = call
    content += trailing
    edit = Edit(start, end, content, ctx.location(start), ctx.location(end))
    return Fix(applicability, message, (edit,))
