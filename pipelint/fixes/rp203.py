"""RP203: a dependent chain as one Lua script (see rules/RP203.md).

The fix (unsafe) applies to straight chains only: no ``if`` between the commands,
nothing between them but assignments, every command one whose arguments and reply
pipelint maps exactly (:data:`COMMANDS`), and every argument either Python code that
does not depend on a reply (sent as ``ARGV``; keys in the first position as ``KEYS``),
a reply itself, ``reply.decode()``, or an f-string of those. The script returns every
reply; Python converts each back as redis-py would have (``HGETALL`` to a dict,
``SMEMBERS`` to a set, ``EXPIRE`` to a bool...) and binds them in the original order.
Anything else is display-only and the help shows the script's shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import libcst as cst

from pipelint.analysis.atomic import Chain
from pipelint.analysis.flow import Sym
from pipelint.catalog import command_name
from pipelint.diagnostics import Edit, Fix
from pipelint.fixes import register
from pipelint.fixes.lua import LuaArgs, lua_expr, use_script
from pipelint.fixes.textedit import (
    NoFix,
    add_await,
    cluster_target,
    code,
    edit,
    indent_of,
    stmt_span,
)

__all__ = ["build_fix", "script_shape", "COMMANDS"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class _Mapping:
    params: tuple[str, ...]  # redis-py parameter names, in Redis argument order
    star: str | None  # a ``*values`` parameter after them
    convert: Callable[[str], str]  # Python code converting the script's reply


def _same(x: str) -> str:
    return x


#: commands whose arguments map one to one and whose reply converts back exactly
COMMANDS: dict[str, _Mapping] = {
    "get": _Mapping(("name",), None, _same),
    "getdel": _Mapping(("name",), None, _same),
    "hget": _Mapping(("name", "key"), None, _same),
    "lpop": _Mapping(("name",), None, _same),
    "rpop": _Mapping(("name",), None, _same),
    "lindex": _Mapping(("name", "index"), None, _same),
    "lrange": _Mapping(("name", "start", "end"), None, _same),
    "llen": _Mapping(("name",), None, _same),
    "scard": _Mapping(("name",), None, _same),
    "zcard": _Mapping(("name",), None, _same),
    "hlen": _Mapping(("name",), None, _same),
    "sismember": _Mapping(("name", "value"), None, _same),
    "incr": _Mapping(("name", "amount"), None, _same),
    "incrby": _Mapping(("name", "amount"), None, _same),
    "hincrby": _Mapping(("name", "key", "amount"), None, _same),
    "sadd": _Mapping(("name",), "values", _same),
    "srem": _Mapping(("name",), "values", _same),
    "lpush": _Mapping(("name",), "values", _same),
    "rpush": _Mapping(("name",), "values", _same),
    "zrem": _Mapping(("name",), "values", _same),
    "delete": _Mapping((), "names", _same),
    "exists": _Mapping((), "names", _same),
    "hset": _Mapping(("name", "key", "value"), None, _same),
    "hgetall": _Mapping(("name",), None, lambda x: f"dict(zip({x}[::2], {x}[1::2]))"),
    "smembers": _Mapping(("name",), None, lambda x: f"set({x})"),
    "expire": _Mapping(("name", "time"), None, lambda x: f"bool({x})"),
    "zscore": _Mapping(
        ("name", "value"), None, lambda x: f"(float({x}) if {x} is not None else None)"
    ),
    "set": _Mapping(("name", "value"), None, lambda x: "True"),
    "zadd": _Mapping(("name", "mapping"), None, _same),
}
#: default values redis-py sends for a parameter left out
_DEFAULTS = {("incr", "amount"): "1", ("incrby", "amount"): "1", ("hincrby", "amount"): "1"}


@register("RP203")
def build_fix(ctx: Any, subject: object) -> Fix | None:
    chain = subject
    assert isinstance(chain, Chain)
    if chain.client.cluster or cluster_target(ctx):
        return None  # the finding says why: keys computed in a script are not declared
    n = len(chain.commands)
    try:
        return _rewrite(ctx, chain)
    except NoFix as exc:
        return Fix(
            "display-only",
            f"Run the {n} commands as one Lua script (not automatic: {exc}); its shape: "
            f"{script_shape(chain)}",
            (),
        )


def _rewrite(ctx: Any, chain: Chain) -> Fix:
    if chain.guards:
        raise NoFix("code between the commands returns or raises on a reply")
    if chain.opaque_between:
        raise NoFix("code between the commands calls functions pipelint cannot see into")
    if chain.site.scope.kind == "class":
        raise NoFix("the commands are in a class body")
    if isinstance(chain.commands[0].receiver, cst.Call):
        raise NoFix("the client is obtained by a call")
    if getattr(chain.client, "bypassed", None):
        raise NoFix("the client class overrides commands")
    block = chain.site.block
    statements = list(range(chain.site.start, chain.site.end + 1))
    command_stmts = {id(c.stmt): i for i, c in enumerate(chain.commands)}
    hoisted: list[int] = []
    after: list[int] = []
    for i in statements:
        stmt = block[i]
        if id(stmt) in command_stmts:
            continue
        if not _plain_assignment(stmt):
            raise NoFix("a statement between the commands is not a plain assignment")
        names = _names(stmt)
        if any(n in chain.bindings for n in names) or _reads_any(stmt, _bound_names(chain)):
            after.append(i)
        else:
            hoisted.append(i)
    keys: list[str] = []
    args = LuaArgs()
    replies = [f"r{i + 1}" for i in range(len(chain.commands))]
    lua: list[str] = []
    for i, (c, cargs) in enumerate(zip(chain.commands, chain.args, strict=True)):
        mapping = COMMANDS.get(c.method)
        if mapping is None:
            raise NoFix(f"{command_name(c.method)} is not translated")
        lua_args = _lua_args(c.method, mapping, cargs, replies, args, keys)
        call = f"redis.call('{command_name(c.method)}'{''.join(', ' + a for a in lua_args)})"
        lua.append(f"local {replies[i]} = {call}")
    lua.append("return {" + ", ".join(replies) + "}")
    source = "\n".join(lua)
    # the Python side
    fn = chain.site.scope.enclosing_function()
    start_fn, end_fn = ctx.span(fn.node) if fn is not None else (0, len(ctx.source))
    used = set(_IDENT.findall(ctx.source[start_fn:end_fn]))
    slots = []
    for c in chain.commands:
        slot = f"_{c.method}_reply"
        k = 2
        while slot in used:
            slot = f"_{c.method}_reply_{k}"
            k += 1
        used.add(slot)
        slots.append(slot)
    first = block[chain.site.start]
    last = block[chain.site.end]
    own = [(ctx.span(first)[0], stmt_span(ctx, last)[1])]
    base = chain.name
    use = use_script(
        ctx,
        base,
        source,
        chain.commands[0].receiver,
        chain.module_client,
        keys,
        args.values,
        own,
    )
    if use is None:
        raise NoFix("there is no place to define the script")
    indent = indent_of(ctx, first)
    nl = ctx.newline
    out: list[str] = []
    for i in hoisted:
        out.append(ctx.source[slice(*stmt_span(ctx, block[i]))])
    out.append(f"{', '.join(slots)} = {add_await(use.call, chain.is_async)}")
    for i in statements:
        stmt = block[i]
        if i in hoisted:
            continue
        k = command_stmts.get(id(stmt))
        if k is None:
            out.append(ctx.source[slice(*stmt_span(ctx, stmt))])
            continue
        c = chain.commands[k]
        if not c.result_used:
            continue
        converted = COMMANDS[c.method].convert(slots[k])
        start, end = ctx.span(c.small)
        cstart, cend = ctx.span(c.command_expr)
        text = ctx.source[start:cstart] + converted + ctx.source[cend:end]
        out.append(text)
    start, _ = ctx.span(first)
    _, end = stmt_span(ctx, last)
    content = (nl + indent).join(out)
    edits: list[Edit] = [*use.edits, edit(ctx, start, end, content)]
    return Fix(
        "unsafe",
        f"Run the {len(chain.commands)} commands as one Lua script (one round trip, atomic; "
        "see the rule's fix safety for how errors differ)",
        tuple(edits),
    )


def _plain_assignment(stmt: cst.BaseStatement) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Assign)
        and all(isinstance(t.target, cst.Name) for t in stmt.body[0].targets)
    )


def _names(stmt: cst.BaseStatement) -> set[str]:
    assert isinstance(stmt, cst.SimpleStatementLine)
    small = stmt.body[0]
    assert isinstance(small, cst.Assign)
    return {t.target.value for t in small.targets}  # type: ignore[attr-defined]


def _bound_names(chain: Chain) -> set[str]:
    out: set[str] = set()
    for c in chain.commands:
        out |= set(c.writes)
    return out | set(chain.bindings)


def _reads_any(stmt: cst.BaseStatement, names: set[str]) -> bool:
    stack: list[cst.CSTNode] = [stmt]
    from pipelint.clients.scopes import iter_children

    while stack:
        n = stack.pop()
        if isinstance(n, cst.Name) and n.value in names:
            return True
        stack.extend(iter_children(n))
    return False


def _lua_args(
    method: str,
    mapping: _Mapping,
    cargs: list[tuple[str | None, Sym | None]],
    replies: list[str],
    args: LuaArgs,
    keys: list[str],
) -> list[str]:
    """The Redis arguments of one command, in Lua."""
    by_name: dict[str, Sym | None] = {}
    star: list[Sym | None] = []
    positional = [s for kw, s in cargs if kw is None]
    keyword = {kw: s for kw, s in cargs if kw is not None}
    params = list(mapping.params)
    for i, sym in enumerate(positional):
        if i < len(params):
            by_name[params[i]] = sym
        elif mapping.star is not None:
            star.append(sym)
        else:
            raise NoFix("unexpected arguments")
    for kw, sym in keyword.items():
        if kw in params and kw not in by_name:
            by_name[kw] = sym
        else:
            raise NoFix(f"the {kw}= option is not translated")
    out: list[str] = []
    for index, p in enumerate(params):
        sym = by_name.get(p)
        if sym is None and p not in by_name:
            default = _DEFAULTS.get((method, p))
            if default is None:
                raise NoFix("an argument is missing")
            out.append(default)
            continue
        if p == "mapping":
            out.extend(_zadd_pairs(sym, replies, args))
            continue
        out.append(_exact(sym, replies, args, keys if index == 0 and p == "name" else None))
    for sym in star:
        out.append(_exact(sym, replies, args, keys if method in ("delete", "exists") else None))
    return out


def _zadd_pairs(sym: Sym | None, replies: list[str], args: LuaArgs) -> list[str]:
    if sym is None or sym[0] != "dict":
        raise NoFix("the ZADD mapping is not a literal")
    out: list[str] = []
    for member, score in sym[1]:
        out.append(_exact(score, replies, args, None))
        out.append(_exact(member, replies, args, None))
    return out


def _exact(sym: Sym | None, replies: list[str], args: LuaArgs, keys: list[str] | None) -> str:
    """A value the script computes exactly as Python did, in Lua."""
    if sym is None:
        raise NoFix("an argument is computed by code pipelint does not translate")
    tag = sym[0]
    if tag == "py":
        text = code(sym[1])
        if keys is not None:
            keys.append(text)
            return f"KEYS[{len(keys)}]"
        return args.add(text)
    if tag == "read":
        return replies[sym[1]]
    if tag == "decode" and sym[1][0] == "read":
        return replies[sym[1][1]]
    if tag == "fmt":
        parts: list[str] = []
        for part in sym[1]:
            if isinstance(part, str):
                if part:
                    parts.append(_lua_string(part))
            elif part[0] == "decode" and part[1][0] == "read":
                parts.append(replies[part[1][1]])
            elif part[0] == "py":
                parts.append(args.add(f'f"{{{code(part[1])}}}"'))
            else:
                raise NoFix("an f-string formats a reply Python would render differently")
        return " .. ".join(parts) if parts else "''"
    raise NoFix("an argument is computed by code pipelint does not translate")


def _lua_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def script_shape(chain: Chain) -> str:
    """The script, one Lua statement after another separated by `` | ``."""
    args = LuaArgs()
    replies = [f"r{i + 1}" for i in range(len(chain.commands))]
    lines: list[str] = []
    keys = 0
    for i, (c, cargs) in enumerate(zip(chain.commands, chain.args, strict=True)):
        parts: list[str] = []
        for j, (keyword, sym) in enumerate(cargs):
            if j == 0 and keyword is None and sym is not None and sym[0] == "py":
                keys += 1
                parts.append(f"KEYS[{keys}]")
                continue
            text = lua_expr(sym, replies, args) if sym is not None else None
            parts.append(text if text is not None else "...")
        call = f"redis.call('{command_name(c.method)}'{''.join(', ' + p for p in parts)})"
        lines.append(f"local {replies[i]} = {call}")
    lines.append("return {" + ", ".join(replies) + "}")
    return " | ".join(lines)
