"""RP202 fixes: the write and its TTL in one atomic command (rules/RP202.md).

- ``SET`` then ``EXPIRE`` -> ``SET ... ex=`` (``px=``, ``exat=``, ``pxat=``);
- ``if r.setnx(k, v): r.expire(k, t)`` -> ``if r.set(k, v, nx=True, ex=t):``;
- another write (``HSET``, ``SADD``, ``INCR``...) then ``EXPIRE`` -> both in one
  ``transaction=True`` pipeline;
- ``n = r.incr(k)`` then ``if n == 1: r.expire(k, t)`` -> one Lua script.

Safe only for the first two shapes, with nothing between the two commands and a TTL
that is an integer literal (or a module constant bound to one) in range: then every
execution, error replies included, behaves as before.
"""

from __future__ import annotations

import re
from typing import Any

import libcst as cst

from pipelint.analysis.atomic import SetExpire, call_arg, has_kwarg, ttl_arg
from pipelint.analysis.flow import literal_int
from pipelint.clients.scopes import Scope, iter_children
from pipelint.diagnostics import Edit, Fix
from pipelint.fixes import register
from pipelint.fixes.lua import use_script
from pipelint.fixes.textedit import (
    NoFix,
    add_await,
    body_statements,
    cluster_target,
    code,
    dotted_names,
    drop_or_raise,
    edit,
    header_comment,
    indent_of,
    replace_stmt,
    stmt_span,
    with_kwargs,
    with_method,
)

__all__ = ["build_fix", "FIRST_INCR_EXPIRE_LUA"]

FIRST_INCR_EXPIRE_LUA = """
local count = redis.call('INCRBY', KEYS[1], ARGV[1])
if count == 1 then
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return count
"""

_TRUE = cst.Name("True")
#: the largest TTL we accept as "in range" for a safe fix, per option
_MAX_TTL = {"ex": 10**9, "px": 10**12}
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@register("RP202")
def build_fix(ctx: Any, subject: object) -> Fix | None:
    f = subject
    assert isinstance(f, SetExpire)
    try:
        if isinstance(f.write_cmd.receiver, cst.Call):
            raise NoFix("the client is obtained by a call")
        if f.site.scope.kind == "class":
            raise NoFix("the commands are in a class body")
        if getattr(f.client, "bypassed", None):
            raise NoFix("the client class overrides commands")
        if f.kind in ("set", "setnx"):
            return _set_option(ctx, f)
        if f.kind == "first_incr":
            return _first_incr(ctx, f)
        return _transaction(ctx, f)
    except NoFix as exc:
        return Fix("display-only", f"Set the TTL in the same command (not automatic: {exc})", ())


def _moves_safely(f: SetExpire, node: cst.CSTNode) -> None:
    """An argument of the TTL command, now evaluated where the write is."""
    for name in dotted_names(node):
        for w in f.window_writes:
            if name == w or name.startswith(w + ".") or w.startswith(name + "."):
                raise NoFix("the TTL is computed from names rebound in between")
    stack: list[cst.CSTNode] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (cst.Call, cst.Await, cst.NamedExpr, cst.Yield)) and f.between:
            raise NoFix("the TTL is computed by a call after other code")
        stack.extend(iter_children(n))


def _literal_ttl(f: SetExpire, node: cst.BaseExpression, option: str) -> bool:
    """An integer literal (or a module constant bound once to one) in range."""
    scope = f.site.scope

    def value_of(name: str, s: Scope) -> cst.BaseExpression | None:
        b = s.sole_binding(name)
        if b is None or b.kind != "assign" or b.scope.kind != "module":
            return None
        return b.value

    value = literal_int(node, scope, value_of)
    limit = _MAX_TTL.get(option)
    return value is not None and limit is not None and 0 < value <= limit


def _set_option(ctx: Any, f: SetExpire) -> Fix:
    e = f.expire_cmd
    option = {"expire": "ex", "pexpire": "px", "expireat": "exat", "pexpireat": "pxat"}[e.method]
    ttl = ttl_arg(e)
    assert ttl is not None
    _moves_safely(f, ttl)
    w = f.write_cmd
    new = w.call
    if w.method == "setnx":
        new = with_method(new, "set")
        new = with_kwargs(new, add=[("nx", _TRUE), (option, ttl)])
    else:
        if positional_options(w.call):
            raise NoFix("the SET has positional options")
        new = with_kwargs(new, add=[(option, ttl)])
    reasons: list[str] = []
    if f.between:
        reasons.append(
            "code between the commands that raises no longer leaves the key without a TTL"
        )
    if not _literal_ttl(f, ttl, option):
        reasons.append(
            "the TTL is not a literal: a value SET rejects (0, negative, a float) raises "
            "before the key is written instead of after"
        )
    if f.unconditional_nx:
        reasons.append("an existing key no longer gets its TTL refreshed")
    edits: list[Edit] = []
    expire_stmt = f.site.block[f.site.end]
    if f.guard is not None and f.guard_name is None:
        # ``if r.setnx(k, v): r.expire(k, t)``: the test becomes the whole command
        guard = f.guard
        body = body_statements(guard.body)
        if not isinstance(guard.body, cst.IndentedBlock):
            raise NoFix("the if has a one-line body")
        call_text = code(new)
        if len(body) == 1 and guard.orelse is None:
            edits.append(
                replace_stmt(ctx, guard, add_await(call_text, f.is_async) + header_comment(guard))
            )
        elif len(body) > 1:
            start, end = ctx.span(w.call)
            edits.append(edit(ctx, start, end, call_text))
            edits.append(drop_or_raise(ctx, body[0]))
        else:
            raise NoFix("the if has an else branch and nothing else")
    else:
        start, end = ctx.span(w.call)
        text = code(new)
        if f.guard is not None and not isinstance(f.guard.test, cst.Name):
            raise NoFix("the TTL is set under another condition too")
        if f.guard is not None and w.method == "setnx":
            # ``ok = r.setnx(...)``: SETNX gives True/False, SET NX True/None
            start, end = ctx.span(w.command_expr)
            text = f"bool({add_await(text, f.is_async)})"
        edits.append(edit(ctx, start, end, text))
        if f.guard is not None:
            body = body_statements(f.guard.body)
            if not isinstance(f.guard.body, cst.IndentedBlock):
                raise NoFix("the if has a one-line body")
            if len(body) == 1 and f.guard.orelse is None:
                edits.append(drop_or_raise(ctx, f.guard))
            elif len(body) > 1:
                edits.append(drop_or_raise(ctx, body[0]))
            else:
                raise NoFix("the if has an else branch and nothing else")
        else:
            edits.append(drop_or_raise(ctx, expire_stmt))
    what = f"SET with {'nx=True, ' if f.kind == 'setnx' else ''}{option}="
    if option in ("exat", "pxat"):
        reasons.append("EXAT/PXAT need Redis >= 6.2")
    if reasons:
        return Fix("unsafe", f"Use {what} (one atomic command; {reasons[0]})", tuple(edits))
    return Fix("safe", f"Use {what} (one atomic command)", tuple(edits))


def positional_options(call: cst.Call) -> bool:
    return sum(1 for a in call.args if a.keyword is None) > 2 or any(a.star for a in call.args)


def _comment(stmt: cst.BaseStatement) -> str:
    if isinstance(stmt, cst.SimpleStatementLine) and stmt.trailing_whitespace.comment is not None:
        return "  " + stmt.trailing_whitespace.comment.value
    return ""


def _first_incr(ctx: Any, f: SetExpire) -> Fix:
    w, e = f.write_cmd, f.expire_cmd
    if w.method not in ("incr", "incrby") or e.method != "expire":
        raise NoFix("only INCR then EXPIRE is rewritten")
    if w.kind != "assign" or w.wrapped or len(w.targets) != 1:
        raise NoFix("the count is not bound to one name as is")
    guard = f.guard
    assert guard is not None
    if not isinstance(guard.body, cst.IndentedBlock):
        raise NoFix("the if has a one-line body")
    ttl = ttl_arg(e)
    assert ttl is not None
    _moves_safely(f, ttl)
    if has_kwarg(w.call, "name") or any(a.star for a in w.call.args):
        raise NoFix("unusual arguments")
    amount = call_arg(w.call, 1, "amount")
    amount_text = code(amount) if amount is not None else "1"
    key = w.call.args[0].value
    edits: list[Edit] = []
    body = body_statements(guard.body)
    own = [ctx.span(f.site.block[f.site.start]), ctx.span(guard)]
    use = use_script(
        ctx,
        "incr_expire_first",
        FIRST_INCR_EXPIRE_LUA,
        w.receiver,
        f.module_client,
        [code(key)],
        [amount_text, code(ttl)],
        own,
    )
    if use is None:
        raise NoFix("there is no place to define the script")
    edits.extend(use.edits)
    start, end = ctx.span(w.command_expr)
    edits.append(edit(ctx, start, end, add_await(use.call, f.is_async)))
    if len(body) == 1 and guard.orelse is None:
        edits.append(drop_or_raise(ctx, guard))
    elif len(body) > 1:
        edits.append(drop_or_raise(ctx, body[0]))
    else:
        raise NoFix("the if has an else branch and nothing else")
    return Fix(
        "unsafe",
        "Use one Lua script (INCR, and EXPIRE on the first increment, atomically; "
        "error replies come from the script)",
        tuple(edits),
    )


def _transaction(ctx: Any, f: SetExpire) -> Fix:
    if f.between:
        raise NoFix("code between the two commands")
    if f.client.cluster or cluster_target(ctx):
        raise NoFix("on a cluster, pipelint does not rewrite this as a transaction")
    w, e = f.write_cmd, f.expire_cmd
    write_stmt = f.site.block[f.site.start]
    expire_stmt = f.site.block[f.site.end]
    if (
        w.kind == "assign"
        and not w.wrapped
        and len(w.targets) == 1
        and isinstance(w.targets[0], cst.Name)
    ):
        target: str | None = w.targets[0].value
    elif w.kind == "expr" and not w.wrapped:
        target = None
    else:
        raise NoFix("the write's result is used in an expression")
    if e.result_used:
        raise NoFix("the TTL command's result is used")
    fn = f.site.scope.enclosing_function()
    start_fn, end_fn = ctx.span(fn.node) if fn is not None else (0, len(ctx.source))
    used = set(_IDENT.findall(ctx.source[start_fn:end_fn]))
    pipe = "pipe"
    i = 2
    while pipe in used:
        pipe = f"pipe_{i}"
        i += 1
    indent = indent_of(ctx, write_stmt)
    unit = _indent_unit(ctx)
    inner = indent + unit
    nl = ctx.newline
    receiver = code(w.receiver)

    def queued(call: cst.Call) -> str:
        func = call.func
        assert isinstance(func, cst.Attribute)
        return code(call.with_changes(func=func.with_changes(value=cst.Name(pipe))))

    head = "async with" if f.is_async else "with"
    execute = f"await {pipe}.execute()" if f.is_async else f"{pipe}.execute()"
    lines = [
        f"{head} {receiver}.pipeline(transaction=True) as {pipe}:",
        inner + queued(w.call) + _comment(write_stmt),
        inner + queued(e.call) + _comment(expire_stmt),
        inner + (f"{target}, _ = {execute}" if target is not None else execute),
    ]
    start, _ = ctx.span(write_stmt)
    _, end = stmt_span(ctx, expire_stmt)
    return Fix(
        "unsafe",
        "Send both in one transaction pipeline (MULTI/EXEC: atomic, one round trip; on an "
        "error reply the TTL is still applied and the error message says which command failed)",
        (edit(ctx, start, end, nl.join(lines)),),
    )


def _indent_unit(ctx: Any) -> str:
    unit = getattr(ctx, "indent_unit", None)
    if isinstance(unit, str):
        return unit
    return str(ctx.module.default_indent)
