"""RP201 fixes: one atomic command or script for a read-modify-write (rules/RP201.md).

Every fix is *unsafe*: it changes what concurrent clients see (that is the point),
and, run alone, it may differ from the original only in the ways the rule's
"Fix safety" section lists. Shapes:

- counter: ``GET`` + arithmetic + ``SET`` -> ``INCRBY``/``INCRBYFLOAT`` (``HGET``/``HSET``
  -> ``HINCRBY``/``HINCRBYFLOAT``); a ``SET`` with ``ex=``/``px=`` -> a script doing
  ``INCRBY`` and the TTL;
- exists_guard: ``if not r.exists(k): r.set(k, v)`` -> ``r.set(k, v, nx=True)``
  (``HSETNX`` for a hash field);
- get_delete -> ``GETDEL``; swap -> ``SET ... GET``; move -> ``LMOVE``;
- compare_delete -> a compare-and-delete script;
- derived: display-only, the help shows the shape of a script.
"""

from __future__ import annotations

from typing import Any

import libcst as cst

from pipelint.analysis.atomic import ReadModifyWrite, call_arg, has_kwarg
from pipelint.analysis.flow import counter_of
from pipelint.diagnostics import Edit, Fix
from pipelint.fixes import register
from pipelint.fixes.lua import LuaArgs, lua_expr, use_script
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
    replace_stmt,
    with_kwargs,
    with_method,
)

__all__ = ["build_fix", "INCR_EXPIRE_LUA", "COMPARE_AND_DELETE_LUA"]

INCR_EXPIRE_LUA = """
local value = redis.call('{incr}', KEYS[1], ARGV[1])
redis.call('{ttl}', KEYS[1], ARGV[2])
return value
"""

COMPARE_AND_DELETE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_TRUE = cst.Name("True")


@register("RP201")
def build_fix(ctx: Any, subject: object) -> Fix | None:
    f = subject
    assert isinstance(f, ReadModifyWrite)
    builder = {
        "counter": _counter,
        "exists_guard": _exists_guard,
        "get_delete": _get_delete,
        "swap": _swap,
        "move": _move,
        "compare_delete": _compare_delete,
    }.get(f.kind)
    if builder is None:
        return Fix("display-only", _script_shape(f), ())
    try:
        _common(ctx, f)
        message, edits = builder(ctx, f)
    except NoFix as exc:
        return Fix("display-only", f"{_what(f)} (not automatic: {exc})", ())
    return Fix("unsafe", message, tuple(edits))


def _what(f: ReadModifyWrite) -> str:
    return {
        "counter": "Use one atomic increment",
        "exists_guard": "Use one conditional SET",
        "get_delete": "Use GETDEL",
        "swap": "Use SET with get=True",
        "move": "Use LMOVE",
        "compare_delete": "Use a compare-and-delete script",
    }.get(f.kind, "Use one Lua script")


def _common(ctx: Any, f: ReadModifyWrite) -> None:
    if isinstance(f.read_cmd.receiver if f.read_cmd else f.write_cmd.receiver, cst.Call):
        raise NoFix("the client is obtained by a call")
    if f.site.scope.kind == "class":
        raise NoFix("the commands are in a class body")
    if f.state_bound:
        raise NoFix("the reply is stored in an attribute or item")
    if f.opaque_between:
        raise NoFix("code between the commands calls functions pipelint cannot see into")
    if getattr(f.client, "bypassed", None):
        raise NoFix("the client class overrides commands")


def _cluster(ctx: Any, f: ReadModifyWrite) -> bool:
    return f.client.cluster or cluster_target(ctx)


def _stmt_of(f: ReadModifyWrite, index: int) -> cst.BaseStatement:
    return f.site.block[index]


def _read_stmt(f: ReadModifyWrite) -> cst.BaseStatement:
    return f.site.block[f.site.start]


def _write_stmt(f: ReadModifyWrite) -> cst.BaseStatement:
    return f.site.block[f.site.end]


def _require_expr_statement(stmt: cst.BaseStatement, call: cst.Call, what: str) -> None:
    """The write is a statement of its own whose result is not used."""
    if not (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and _unwrap(stmt.body[0].value) is call
    ):
        raise NoFix(f"the {what}'s result is used")


def _unwrap(expr: cst.BaseExpression) -> cst.BaseExpression:
    return expr.expression if isinstance(expr, cst.Await) else expr


def _single_target(stmt: cst.BaseStatement) -> str | None:
    """``name = <value>``: the name."""
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and len(stmt.body[0].targets) == 1
        and isinstance(stmt.body[0].targets[0].target, cst.Name)
    ):
        return stmt.body[0].targets[0].target.value
    return None


def _overlaps(names: set[str], others: frozenset[str]) -> bool:
    return any(
        a == b or a.startswith(b + ".") or b.startswith(a + ".") for a in names for b in others
    )


# ---- counter -----------------------------------------------------------------------------


def _counter(ctx: Any, f: ReadModifyWrite) -> tuple[str, list[Edit]]:
    shape = counter_of(f.value)
    if shape is None or f.guard is not None or f.read_cmd is None:
        raise NoFix("the new value is not the old one plus an amount")
    kind, _default, deltas = shape
    read_stmt, write_stmt = _read_stmt(f), _write_stmt(f)
    if f.read_cmd.kind != "assign" or _single_target(read_stmt) is None:
        raise NoFix("the reply is not bound to one name")
    _require_expr_statement(write_stmt, f.write, "write")
    # statements between: those computing the value go; the others must not touch it
    drop: list[cst.BaseStatement] = [read_stmt]
    for i in f.between:
        stmt = f.site.block[i]
        if i not in f.touching:
            continue
        target = _single_target(stmt) or _aug_target(stmt)
        if target is None or target not in f.bindings:
            raise NoFix("code between the commands uses the value read")
        drop.append(stmt)
    # which derived name (if any) must hold the new value afterwards
    live = set(f.live_after) & set(f.bindings)
    written = (
        call_arg(f.write, 1, "value") if f.write_method == "set" else call_arg(f.write, 2, "value")
    )
    bind: str | None = None
    if live:
        if (
            len(live) == 1
            and isinstance(written, cst.Name)
            and written.value in live
            and f.bindings.get(written.value) == f.value
        ):
            bind = written.value
        else:
            raise NoFix("a value read from the key is used afterwards")
    amount_nodes = [node for _sign, node in deltas]
    for node in amount_nodes:
        if _overlaps(dotted_names(node, calls=False), f.window_writes):
            raise NoFix("an amount is computed from names rebound between the commands")
    amount = _amount(deltas)
    method_int = {"set": "incrby", "hset": "hincrby"}[f.write_method]
    method = method_int if kind == "int" else method_int + "float"
    receiver = code(f.write.func.value)  # type: ignore[attr-defined]
    key = code(f.key)
    edits: list[Edit] = []
    ttl = _set_ttl(f)
    if ttl is None:
        field = code(call_arg(f.write, 1, "key")) + ", " if f.write_method == "hset" else ""  # type: ignore[arg-type]
        call = f"{receiver}.{method}({key}, {field}{amount})"
        text = add_await(call, f.is_async)
        message = f"Use {method.upper()} (one atomic command)"
    else:
        if f.write_method != "set":
            raise NoFix("the write has options")
        option, ttl_value = ttl
        lua = INCR_EXPIRE_LUA.format(
            incr="INCRBY" if kind == "int" else "INCRBYFLOAT",
            ttl="EXPIRE" if option == "ex" else "PEXPIRE",
        )
        own = [ctx.span(s) for s in [*drop, write_stmt]]
        use = use_script(
            ctx,
            f"{method}_{'expire' if option == 'ex' else 'pexpire'}",
            lua,
            f.write.func.value,  # type: ignore[attr-defined]
            f.module_client,
            [key],
            [amount, code(ttl_value)],
            own,
        )
        if use is None:
            raise NoFix("there is no place to define the script")
        edits.extend(use.edits)
        text = add_await(use.call, f.is_async)
        if kind == "float":
            text = f"float({text})"
        message = f"Use one Lua script ({method.upper()} and the TTL, atomically)"
    if bind is not None:
        text = f"{bind} = {text}"
    edits.append(replace_stmt(ctx, write_stmt.body[0], text))  # type: ignore[attr-defined]
    edits.extend(drop_or_raise(ctx, s) for s in drop)
    return message, edits


def _aug_target(stmt: cst.BaseStatement) -> str | None:
    if (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.AugAssign)
        and isinstance(stmt.body[0].target, cst.Name)
    ):
        return stmt.body[0].target.value
    return None


def _amount(deltas: list[tuple[str, cst.BaseExpression]]) -> str:
    parts: list[str] = []
    for i, (sign, node) in enumerate(deltas):
        text = code(node)
        if not isinstance(node, (cst.Name, cst.Attribute, cst.Integer, cst.Float)):
            text = f"({text})"
        if i == 0:
            parts.append(text if sign == "+" else f"-{text}")
        else:
            parts.append(f"{sign} {text}")
    return " ".join(parts)


def _set_ttl(f: ReadModifyWrite) -> tuple[str, cst.BaseExpression] | None:
    """The TTL option of the ``SET`` (``ex=``/``px=``); raises for other options."""
    if f.write_method != "set":
        extra = [a for a in f.write.args if a.keyword is not None]
        if any(a.keyword.value not in ("name", "key", "value") for a in extra):  # type: ignore[union-attr]
            raise NoFix("the write has options")
        if sum(1 for a in f.write.args if a.keyword is None) > 3:
            raise NoFix("the write has options")
        return None
    found: tuple[str, cst.BaseExpression] | None = None
    for a in f.write.args:
        if a.keyword is None or a.keyword.value in ("name", "value"):
            continue
        if a.keyword.value in ("ex", "px") and found is None:
            if isinstance(a.value, cst.Call):
                raise NoFix("the TTL is computed by a call")
            found = (a.keyword.value, a.value)
            continue
        if (
            a.keyword.value == "keepttl"
            and isinstance(a.value, cst.Name)
            and a.value.value == "True"
        ):
            continue
        raise NoFix(f"the SET has {a.keyword.value}=")
    if sum(1 for a in f.write.args if a.keyword is None) > 2:
        raise NoFix("the SET has positional options")
    return found


# ---- conditional SET ---------------------------------------------------------------------


def _exists_guard(ctx: Any, f: ReadModifyWrite) -> tuple[str, list[Edit]]:
    guard = f.guard
    assert guard is not None
    body = body_statements(guard.body)
    if not body or not isinstance(guard.body, cst.IndentedBlock):
        raise NoFix("the if has a one-line body")
    write_stmt = body[0]
    _require_expr_statement(write_stmt, f.write, "SET")
    if f.write_method == "set":
        new = with_kwargs(f.write, add=[("nx", _TRUE)])
        native = "SET NX"
    else:
        new = with_method(f.write, "hsetnx")
        native = "HSETNX"
    call = add_await(code(new), f.is_async)
    rest = body[1:]
    if not rest and guard.orelse is None:
        return f"Use {native} (one atomic command)", [
            replace_stmt(ctx, guard, call + header_comment(guard))
        ]
    if not rest:
        raise NoFix("the if has an else branch and nothing else")
    # ``if <set nx>:`` keeps the rest of the body and any else
    test_start, test_end = ctx.span(guard.test)
    return f"Use {native} (one atomic command)", [
        edit(ctx, test_start, test_end, call),
        drop_or_raise(ctx, write_stmt),
    ]


# ---- GETDEL, SET GET, LMOVE --------------------------------------------------------------


def _read_binding(f: ReadModifyWrite) -> str:
    stmt = _read_stmt(f)
    name = _single_target(stmt)
    if name is None or f.read_cmd is None or f.read_cmd.wrapped:
        raise NoFix("the reply is not bound to one name as is")
    return name


def _get_delete(ctx: Any, f: ReadModifyWrite) -> tuple[str, list[Edit]]:
    _read_binding(f)
    write_stmt = _write_stmt(f)
    _require_expr_statement(write_stmt, f.write, "DEL")
    new = with_method(f.read, "getdel")
    read_stmt = _read_stmt(f)
    value = read_stmt.body[0].value  # type: ignore[attr-defined]
    start, end = ctx.span(_unwrap(value))
    return "Use GETDEL (one atomic command, Redis >= 6.2)", [
        edit(ctx, start, end, code(new)),
        drop_or_raise(ctx, write_stmt),
    ]


def _swap(ctx: Any, f: ReadModifyWrite) -> tuple[str, list[Edit]]:
    name = _read_binding(f)
    if f.touching - {f.site.end}:
        raise NoFix("code between the commands uses the old value")
    write_stmt = _write_stmt(f)
    _require_expr_statement(write_stmt, f.write, "SET")
    if (
        has_kwarg(f.write, "nx", "xx", "get")
        or sum(1 for a in f.write.args if a.keyword is None) > 2
    ):
        raise NoFix("the SET has conditions")
    new = with_kwargs(f.write, add=[("get", _TRUE)])
    text = f"{name} = {add_await(code(new), f.is_async)}"
    return "Use SET with get=True (one atomic command, Redis >= 6.2)", [
        replace_stmt(ctx, write_stmt.body[0], text),  # type: ignore[attr-defined]
        drop_or_raise(ctx, _read_stmt(f)),
    ]


def _move(ctx: Any, f: ReadModifyWrite) -> tuple[str, list[Edit]]:
    _read_binding(f)
    if _cluster(ctx, f):
        raise NoFix("on a cluster LMOVE needs both lists in one slot")
    src_side = "LEFT" if f.read_method == "lpop" else "RIGHT"
    dst_side = "LEFT" if f.write_method == "lpush" else "RIGHT"
    dst = f.write.args[0].value
    new = with_method(f.read, "lmove")
    new = with_kwargs(
        new,
        positional=[
            dst,
            cst.SimpleString(f'"{src_side}"'),
            cst.SimpleString(f'"{dst_side}"'),
        ],
    )
    # the destination is evaluated earlier now: it must not change in between
    if _overlaps(dotted_names(dst), f.window_writes):
        raise NoFix("the destination list is computed from names rebound in between")
    read_stmt = _read_stmt(f)
    value = read_stmt.body[0].value  # type: ignore[attr-defined]
    start, end = ctx.span(_unwrap(value))
    edits = [edit(ctx, start, end, code(new))]
    if f.guard is None:
        write_stmt = _write_stmt(f)
        _require_expr_statement(write_stmt, f.write, "push")
        edits.append(drop_or_raise(ctx, write_stmt))
    else:
        body = body_statements(f.guard.body)
        if not isinstance(f.guard.body, cst.IndentedBlock):
            raise NoFix("the if has a one-line body")
        _require_expr_statement(body[0], f.write, "push")
        if len(body) == 1 and f.guard.orelse is None:
            edits.append(drop_or_raise(ctx, f.guard))
        elif len(body) > 1:
            edits.append(drop_or_raise(ctx, body[0]))
        else:
            raise NoFix("the if has an else branch")
    return "Use LMOVE (one atomic command, Redis >= 6.2)", edits


# ---- compare-and-delete ------------------------------------------------------------------


def _compare_delete(ctx: Any, f: ReadModifyWrite) -> tuple[str, list[Edit]]:
    guard = f.guard
    assert guard is not None
    test = f.test
    assert isinstance(test, tuple)
    token_sym = test[3] if test[2] == ("read", 0) else test[2]
    token = token_sym[1]
    if not isinstance(guard.body, cst.IndentedBlock):
        raise NoFix("the if has a one-line body")
    body = body_statements(guard.body)
    _require_expr_statement(body[0], f.write, "DEL")
    drops: list[cst.BaseStatement] = []
    if f.read_cmd is not None:
        _read_binding(f)
        if f.live_after or (f.touching - {f.site.end}):
            raise NoFix("the value read is used elsewhere")
        if _overlaps(dotted_names(token), f.window_writes):
            raise NoFix("the token is computed from names rebound in between")
        drops.append(_read_stmt(f))
    own = [ctx.span(guard), *[ctx.span(s) for s in drops]]
    use = use_script(
        ctx,
        "compare_and_delete",
        COMPARE_AND_DELETE_LUA,
        f.write.func.value,  # type: ignore[attr-defined]
        f.module_client,
        [code(f.key)],
        [code(token)],
        own,
    )
    if use is None:
        raise NoFix("there is no place to define the script")
    call = add_await(use.call, f.is_async)
    edits = list(use.edits)
    rest = body[1:]
    if not rest and guard.orelse is None:
        edits.append(replace_stmt(ctx, guard, call + header_comment(guard)))
    elif rest:
        start, end = ctx.span(guard.test)
        edits.append(edit(ctx, start, end, call))
        edits.append(drop_or_raise(ctx, body[0]))
    else:
        raise NoFix("the if has an else branch and nothing else")
    edits.extend(drop_or_raise(ctx, s) for s in drops)
    return "Use a compare-and-delete Lua script (one atomic round trip)", edits


# ---- the shape of a script ---------------------------------------------------------------


def _script_shape(f: ReadModifyWrite) -> str:
    """Help for computations pipelint does not translate: the script to write."""
    args = LuaArgs()
    read = f"redis.call('{f.read_method.upper()}', KEYS[1]{_field(f, args)})"
    value = lua_expr(f.value, ["current"], args) if f.value is not None else None
    new = value if value is not None else "...  -- compute the new value from current"
    write_args = "new" if f.write_method not in ("incr", "decr") else ""
    lines = [
        f"local current = {read}",
        f"local new = {new}",
        f"redis.call('{f.write_method.upper()}', KEYS[1]{_field(f, args, write=True)}"
        + (f", {write_args}" if write_args else "")
        + ")",
        "return new",
    ]
    if f.test is not None and f.guard is not None:
        cond = lua_expr(f.test, ["current"], args) or "...  -- the condition"
        lines[1:3] = [f"if {cond} then", "  " + lines[1], "  " + lines[2], "end"]
    argv = f"; ARGV = [{', '.join(args.values)}]" if args.values else ""
    return (
        "Move the read, the computation and the write into one Lua script "
        "(not automatic: the computation is Python code); its shape: " + " | ".join(lines) + argv
    )


def _field(f: ReadModifyWrite, args: LuaArgs, write: bool = False) -> str:
    call = f.write if write else f.read
    method = f.write_method if write else f.read_method
    if method.startswith("h"):
        field = call_arg(call, 1, "key")
        if field is not None:
            return ", " + args.add(code(field))
    return ""
