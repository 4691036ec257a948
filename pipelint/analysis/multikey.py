"""When one multi-key or variadic command can replace a loop or a run (RP103).

Shared by RP103 (which reports it) and RP101/RP102 (which then stay silent on what
RP103 covers). A plan depends on the settings: ``redis-version`` (SMISMEMBER and
ZMSCORE need 6.2) and the target (on a cluster, a command over several keys only when
the keys provably share a hash slot: the same literal ``{hash tag}``).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from pipelint import catalog
from pipelint.analysis.exprs import names_overlap
from pipelint.analysis.loops import Loop
from pipelint.analysis.model import Command, Run
from pipelint.catalog import MultiForm
from pipelint.config import Config, version_tuple

__all__ = ["MultiPlan", "plan_loop", "plan_run"]

#: results that add up: the sum of n single calls equals the one call's count
#: (duplicates included: EXISTS a a is 2, DEL a a is 1 like DEL a then DEL a)
SUMMABLE = frozenset({"exists", "delete", "unlink", "touch", "sadd", "srem", "zrem", "hdel"})
#: single-key methods and how their arguments map: (key param count, item, value)
_SHAPES: dict[str, tuple[int, bool]] = {
    # method: (positional arguments per call, has a value)
    "get": (1, False),
    "delete": (1, False),
    "unlink": (1, False),
    "exists": (1, False),
    "touch": (1, False),
    "set": (2, True),
    "hget": (2, False),
    "sismember": (2, False),
    "zscore": (2, False),
    "sadd": (2, False),
    "srem": (2, False),
    "zrem": (2, False),
    "hdel": (2, False),
    "lpush": (2, False),
    "rpush": (2, False),
    "hset": (3, True),
}
_SAME_KEY = frozenset({"same_key_fields", "variadic_same_key", "mapping"})
#: replies of the multi form differ from the single command's on an error:
#: MGET answers nil for a key of another type where GET raised WRONGTYPE
DIFFERENT_ERRORS = {"get": "MGET returns None for a key of another type where GET raised"}


@dataclass(eq=False)
class MultiPlan:
    commands: list[Command]
    form: MultiForm
    method: str  # the single-key method ("get")
    multi: str  # the multi-key method ("mget")
    result: str  # "unused" | "items" (one reply per item) | "sum"
    key: cst.BaseExpression | None  # same-key forms: the one key
    items: list[cst.BaseExpression]  # per command: key / field / member
    values: list[cst.BaseExpression | None]  # set / hset: the value
    loop: Loop | None = None  # the loop it replaces; None for a run

    @property
    def per_item(self) -> bool:
        return self.form.per_item_results


def _code(node: cst.CSTNode) -> str:
    return cst.Module([]).code_for_node(node)


def _args(c: Command) -> tuple[list[cst.BaseExpression], bool] | None:
    """Positional arguments of a call in the shape ``_SHAPES`` expects, or None."""
    shape = _SHAPES.get(c.method)
    if shape is None:
        return None
    count, _ = shape
    args = c.call.args
    if any(a.star for a in args):
        return None
    positional = [a.value for a in args if a.keyword is None]
    keywords = {a.keyword.value: a.value for a in args if a.keyword is not None}
    if c.method == "hset" and not positional[2:] and set(keywords) == {"key", "value"}:
        positional = [*positional[:1], keywords.pop("key"), keywords.pop("value")]
    if keywords or len(positional) != count:
        return None
    return positional, True


def _allowed(method: str, form: MultiForm, config: Config, cluster: bool) -> bool:
    spec = catalog.lookup(form.method)
    if spec is None:
        return False
    try:
        if spec.since and version_tuple(spec.since)[:2] > version_tuple(config.redis_version)[:2]:
            return False
    except ValueError:
        return False
    if cluster and form.kind in ("multi_key", "variadic_keys"):
        return False  # decided per key expression by the caller
    return True


def hash_tag(expr: cst.BaseExpression) -> str | None:
    """The literal ``{hash tag}`` a key expression provably starts with, else None."""
    if isinstance(expr, cst.SimpleString):
        text = expr.evaluated_value
        if not isinstance(text, str):
            return None
    elif isinstance(expr, cst.FormattedString):
        text = ""
        for part in expr.parts:
            if not isinstance(part, cst.FormattedStringText):
                break
            text += part.value.replace("{{", "{").replace("}}", "}")
    else:
        return None
    start = text.find("{")
    end = text.find("}", start + 1)
    if start < 0 or end < 0 or end == start + 1:
        return None
    return text[start : end + 1]


def _slots_ok(items: list[cst.BaseExpression], config: Config, cmds: list[Command]) -> bool:
    """Keys of one multi-key command on a cluster: provably in one hash slot."""
    if not (cmds[0].client.cluster or config.target == "cluster"):
        return True
    tags = {hash_tag(i) for i in items}
    return len(tags) == 1 and None not in tags


def plan_loop(loop: Loop, config: Config) -> MultiPlan | None:
    """One multi-key command instead of the loop, keeping its value, or None."""
    if not loop.top or len(loop.commands) != 1 or loop.nested or loop.opaque:
        return None
    if loop.early_exit or loop.kind == "while":
        return None
    c = loop.commands[0]
    form = c.spec.multi_form
    parsed = _args(c)
    if form is None or parsed is None:
        return None
    args, _ = parsed
    cluster = c.client.cluster or config.target == "cluster"
    if not _allowed(c.method, form, config, False):
        return None
    key: cst.BaseExpression | None = None
    if form.kind in _SAME_KEY:
        key = args[0]
        # the key must be the same in every iteration
        if any(names_overlap(r, w) for r in _reads(key) for w in loop.writes):
            return None
        if not _pure_key(key):
            return None
        item, value = args[1], (args[2] if len(args) > 2 else None)
    else:
        item, value = args[0], (args[1] if len(args) > 1 else None)
        if cluster and hash_tag(item) is None:
            return None
    if cluster and form.kind in ("multi_key", "variadic_keys") and hash_tag(item) is None:
        return None
    # how the result is used
    if loop.kind == "for":
        if loop.conditional or c.stmt is not _only_statement(loop):
            return None
        if c.kind == "expr" and not c.wrapped:
            result = "unused"
        elif form.per_item_results and c.kind in ("append", "assign") and not loop.opaque:
            result = "items"
        else:
            return None
    else:
        if loop.consumer == "sum" and c.method in SUMMABLE and not c.wrapped:
            result = "sum"
        elif form.per_item_results and loop.consumer != "any" and loop.consumer != "all":
            result = "items"
        else:
            return None
    if result == "unused" and form.per_item_results and not c.spec.write:
        return None  # a read whose result nobody uses: nothing to rebuild, leave it
    if result != "unused" and form.kind == "mapping":
        return None
    if form.kind == "multi_key" and value is not None and result != "unused":
        return None
    return MultiPlan([c], form, c.method, form.method, result, key, [item], [value], loop)


def _only_statement(loop: Loop) -> cst.BaseStatement | None:
    node = loop.node
    if not isinstance(node, cst.For) or not isinstance(node.body, cst.IndentedBlock):
        return None
    body = node.body.body
    return body[0] if len(body) == 1 else None


def plan_run(run: Run, config: Config) -> MultiPlan | None:
    """One multi-key command instead of a run of the same single-key command."""
    cmds = run.commands
    if len(cmds) < 2 or run.between or len({id(c.stmt) for c in cmds}) != len(cmds):
        return None
    if isinstance(cmds[0].receiver, cst.Call):
        return None  # get_client().get(...): one call instead of n (RP101 says so)
    method = cmds[0].method
    if any(c.method != method for c in cmds):
        return None
    if method in DIFFERENT_ERRORS:
        # a handful of commands: the multi-key form is not worth a fix less safe than
        # RP101's pipeline (MGET answers nil where GET raised WRONGTYPE)
        return None
    form = cmds[0].spec.multi_form
    if form is None or not _allowed(method, form, config, False):
        return None
    parsed = [_args(c) for c in cmds]
    if any(p is None for p in parsed):
        return None
    arglists = [p[0] for p in parsed if p is not None]
    key: cst.BaseExpression | None = None
    if form.kind in _SAME_KEY:
        keys = {_code(a[0]) for a in arglists}
        if len(keys) != 1 or not _pure_key(arglists[0][0]):
            return None
        key = arglists[0][0]
        items = [a[1] for a in arglists]
        values = [a[2] if len(a) > 2 else None for a in arglists]
    else:
        items = [a[0] for a in arglists]
        values = [a[1] if len(a) > 1 else None for a in arglists]
        if not _slots_ok(items, config, cmds):
            return None
    # a later command's arguments must not read what an earlier one binds (the run
    # guarantees it), and each result goes straight to a name or nowhere
    if all(c.kind == "expr" and not c.wrapped for c in cmds):
        result = "unused"
        if form.per_item_results and not cmds[0].spec.write:
            return None
    elif form.per_item_results and all(
        c.kind == "assign"
        and not c.wrapped
        and len(c.targets) == 1
        and isinstance(c.targets[0], cst.Name)
        for c in cmds
    ):
        names = [c.targets[0] for c in cmds]  # type: ignore[union-attr]
        if len({n.value for n in names}) != len(names):  # type: ignore[attr-defined]
            return None
        result = "items"
    else:
        return None
    return MultiPlan(list(cmds), form, method, form.method, result, key, items, values)


def _reads(node: cst.CSTNode) -> set[str]:
    from pipelint.clients.scopes import dotted_name, iter_children

    out: set[str] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (cst.Name, cst.Attribute)):
            d = dotted_name(n)
            if d is not None:
                out.add(d)
                continue
        stack.extend(iter_children(n))
    return out


def _pure_key(node: cst.BaseExpression) -> bool:
    """A key expression evaluated once instead of n times: no calls at all."""
    from pipelint.clients.scopes import iter_children

    stack: list[cst.CSTNode] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (cst.Call, cst.Await, cst.Yield, cst.NamedExpr, cst.Subscript)):
            return False
        stack.extend(iter_children(n))
    return True
