"""What a value computed from a Redis reply is, as a small symbolic expression.

The atomicity rules need to know how a written value (or a later command's key)
depends on an earlier reply: ``int(r.get(k) or 0) + 1`` is "the reply, as an
integer defaulting to 0, plus 1". A :data:`Sym` is that expression:

- ``("read", n)``: the reply of the ``n``-th command of the sequence (0: the read);
- ``("py", node)``: Python code that does not depend on any reply (evaluated in
  Python, passed to a script as an argument);
- ``("call", fname, arg)``: ``int``/``float``/``str``/``len``/``bool`` of ``arg``;
- ``("decode", arg)``: ``arg.decode()`` (bytes to str, the same bytes in Lua);
- ``("bin", op, left, right)``: ``+ - * // % /``;
- ``("bool", op, left, right)``: ``or`` / ``and``;
- ``("cmp", op, left, right)``: ``== != < <= > >= is is-not`` (one comparison);
- ``("not", arg)``, ``("neg", arg)``;
- ``("if", test, body, orelse)``: a conditional expression;
- ``("fmt", parts)``: an f-string, parts being ``str`` literals or syms;
- ``("dict", ((key, value), ...))``, ``("list", (item, ...))``: literals.

``None`` means "depends on a reply through code we do not model" (arbitrary Python).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import libcst as cst

from pipelint.analysis.exprs import names_overlap
from pipelint.clients.scopes import Scope, dotted_name

__all__ = ["Sym", "SymEnv", "sym_of", "reads_reply", "replies_in", "same_expr", "literal_int"]

Sym = tuple[Any, ...]
#: name -> its symbolic value (None: derived from a reply in a way we do not model)
SymEnv = Mapping[str, "Sym | None"]

_BUILTIN_CALLS = frozenset({"int", "float", "str", "len", "bool"})
_BINOPS: dict[type, str] = {
    cst.Add: "+",
    cst.Subtract: "-",
    cst.Multiply: "*",
    cst.FloorDivide: "//",
    cst.Modulo: "%",
    cst.Divide: "/",
}
_CMPOPS: dict[type, str] = {
    cst.Equal: "==",
    cst.NotEqual: "!=",
    cst.LessThan: "<",
    cst.LessThanEqual: "<=",
    cst.GreaterThan: ">",
    cst.GreaterThanEqual: ">=",
    cst.Is: "is",
    cst.IsNot: "is not",
}
_FAIL = object()


def sym_of(
    expr: cst.BaseExpression,
    env: SymEnv,
    scope: Scope,
    replies: Mapping[int, int] | None = None,
) -> Sym | None:
    """The symbolic value of ``expr``. ``env`` maps derived names to their values;
    ``replies`` maps ``id(node)`` of command expressions (a call, or its ``await``)
    to their index in the sequence. An expression that reads no derived name and
    holds no reply is ``("py", expr)``."""
    replies = replies or {}
    if not _depends(expr, env, replies):
        return ("py", expr)
    out = _sym(expr, env, scope, replies)
    return None if out is _FAIL else out  # type: ignore[return-value]


def _depends(expr: cst.CSTNode, env: SymEnv, replies: Mapping[int, int]) -> bool:
    stack: list[cst.CSTNode] = [expr]
    from pipelint.clients.scopes import iter_children

    while stack:
        n = stack.pop()
        if id(n) in replies:
            return True
        if isinstance(n, (cst.Name, cst.Attribute)):
            dotted = dotted_name(n)
            if dotted is not None:
                if any(names_overlap(dotted, name) for name in env):
                    return True
                continue
        stack.extend(iter_children(n))
    return False


def _sym(
    e: cst.BaseExpression, env: SymEnv, scope: Scope, replies: Mapping[int, int]
) -> Sym | object:
    if id(e) in replies:
        return ("read", replies[id(e)])
    if not _depends(e, env, replies):
        return ("py", e)
    if isinstance(e, cst.Name):
        value = env.get(e.value, _FAIL)
        return _FAIL if value is None else value  # type: ignore[return-value]
    if isinstance(e, cst.Call):
        func = e.func
        args = e.args
        if (
            isinstance(func, cst.Name)
            and func.value in _BUILTIN_CALLS
            and scope.lookup_scope(func.value) is None
            and len(args) == 1
            and args[0].keyword is None
            and not args[0].star
        ):
            inner = _sym(args[0].value, env, scope, replies)
            return _FAIL if inner is _FAIL else ("call", func.value, inner)
        if isinstance(func, cst.Attribute) and func.attr.value == "decode" and _decode_args(args):
            inner = _sym(func.value, env, scope, replies)
            return _FAIL if inner is _FAIL else ("decode", inner)
        return _FAIL
    if isinstance(e, cst.BinaryOperation):
        op = _BINOPS.get(type(e.operator))
        if op is None:
            return _FAIL
        left = _sym(e.left, env, scope, replies)
        right = _sym(e.right, env, scope, replies)
        if left is _FAIL or right is _FAIL:
            return _FAIL
        return ("bin", op, left, right)
    if isinstance(e, cst.BooleanOperation):
        op = "or" if isinstance(e.operator, cst.Or) else "and"
        left = _sym(e.left, env, scope, replies)
        right = _sym(e.right, env, scope, replies)
        if left is _FAIL or right is _FAIL:
            return _FAIL
        return ("bool", op, left, right)
    if isinstance(e, cst.Comparison):
        if len(e.comparisons) != 1:
            return _FAIL
        target = e.comparisons[0]
        op = _CMPOPS.get(type(target.operator))
        if op is None:
            return _FAIL
        left = _sym(e.left, env, scope, replies)
        right = _sym(target.comparator, env, scope, replies)
        if left is _FAIL or right is _FAIL:
            return _FAIL
        return ("cmp", op, left, right)
    if isinstance(e, cst.UnaryOperation):
        inner = _sym(e.expression, env, scope, replies)
        if inner is _FAIL:
            return _FAIL
        if isinstance(e.operator, cst.Not):
            return ("not", inner)
        if isinstance(e.operator, cst.Minus):
            return ("neg", inner)
        return _FAIL
    if isinstance(e, cst.IfExp):
        parts = [_sym(x, env, scope, replies) for x in (e.test, e.body, e.orelse)]
        if any(p is _FAIL for p in parts):
            return _FAIL
        return ("if", *parts)
    if isinstance(e, cst.Dict):
        pairs: list[tuple[Any, Any]] = []
        for el in e.elements:
            if not isinstance(el, cst.DictElement):
                return _FAIL
            k = _sym(el.key, env, scope, replies)
            v = _sym(el.value, env, scope, replies)
            if k is _FAIL or v is _FAIL:
                return _FAIL
            pairs.append((k, v))
        return ("dict", tuple(pairs))
    if isinstance(e, (cst.List, cst.Tuple)):
        items: list[Any] = []
        for el in e.elements:
            if not isinstance(el, cst.Element):
                return _FAIL
            item = _sym(el.value, env, scope, replies)
            if item is _FAIL:
                return _FAIL
            items.append(item)
        return ("list", tuple(items))
    if isinstance(e, cst.FormattedString):
        fparts: list[Any] = []
        for part in e.parts:
            if isinstance(part, cst.FormattedStringText):
                fparts.append(part.value)
            elif isinstance(part, cst.FormattedStringExpression):
                if part.conversion is not None or part.format_spec is not None or part.equal:
                    return _FAIL
                inner = _sym(part.expression, env, scope, replies)
                if inner is _FAIL:
                    return _FAIL
                fparts.append(inner)
            else:
                return _FAIL
        return ("fmt", tuple(fparts))
    return _FAIL


def _decode_args(args: Any) -> bool:
    """``.decode()``, ``.decode("utf-8")``, ``.decode("utf8")``."""
    if not args:
        return True
    if len(args) != 1 or args[0].keyword is not None or args[0].star:
        return False
    value = args[0].value
    return isinstance(value, cst.SimpleString) and value.evaluated_value in (
        "utf-8",
        "utf8",
        "UTF-8",
    )


def reads_reply(sym: Sym | None) -> bool:
    """Does this value depend on a reply (None, arbitrary code, always does)?"""
    return sym is None or bool(replies_in(sym))


def replies_in(sym: Sym | None) -> set[int]:
    """The indexes of the replies a value depends on (empty for Python-only values)."""
    out: set[int] = set()
    if sym is None:
        return out
    stack: list[Any] = [sym]
    while stack:
        s = stack.pop()
        if not isinstance(s, tuple) or not s:
            continue
        if s[0] == "read":
            out.add(s[1])
        elif s[0] == "py":
            continue
        elif s[0] in ("fmt", "list"):
            stack.extend(p for p in s[1] if isinstance(p, tuple))
        elif s[0] == "dict":
            for k, v in s[1]:
                stack.extend((k, v))
        else:
            stack.extend(p for p in s[1:] if isinstance(p, tuple))
    return out


def same_expr(a: cst.BaseExpression, b: cst.BaseExpression) -> bool:
    """Are two expressions the same code (whitespace, comments and parentheses aside)?"""
    return a is b or _shape(a) == _shape(b)


def _shape(node: cst.CSTNode) -> tuple[object, ...]:
    """The node's types and token values in order, without whitespace or parentheses."""
    from pipelint.clients.scopes import iter_children

    out: list[object] = []
    stack: list[cst.CSTNode] = [node]
    while stack:
        n = stack.pop()
        out.append(type(n))
        value = getattr(n, "value", None)
        if isinstance(value, str):
            out.append(value)
        for attr in ("start", "end", "prefix"):  # f-string quotes, string prefixes
            extra = getattr(n, attr, None)
            if isinstance(extra, str):
                out.append(extra)
        stack.extend(reversed(list(iter_children(n))))
    return tuple(out)


def literal_int(
    expr: cst.BaseExpression,
    scope: Scope,
    binding_value: Callable[[str, Scope], cst.BaseExpression | None] | None = None,
    depth: int = 0,
) -> int | None:
    """The value of an integer literal, of simple arithmetic on such literals
    (``60 * 60``), or of a name bound once to one (``TTL = 3600``); else None."""
    if depth > 4:
        return None
    if isinstance(expr, cst.Integer):
        try:
            return int(expr.evaluated_value)
        except ValueError:
            return None
    if isinstance(expr, cst.BinaryOperation):
        op = _BINOPS.get(type(expr.operator))
        left = literal_int(expr.left, scope, binding_value, depth + 1)
        right = literal_int(expr.right, scope, binding_value, depth + 1)
        if op is None or left is None or right is None:
            return None
        if op == "+":
            return left + right
        if op == "-":
            return left - right
        if op == "*":
            return left * right
        if op == "//" and right:
            return left // right
        return None
    if isinstance(expr, cst.Name) and binding_value is not None:
        value = binding_value(expr.value, scope)
        if value is not None:
            return literal_int(value, scope, binding_value, depth + 1)
    return None


def _zero(sym: Any) -> bool:
    """``0``, ``0.0``, ``"0"``, ``b"0"`` as a Python-only value."""
    if not isinstance(sym, tuple) or sym[0] != "py":
        return False
    node = sym[1]
    if isinstance(node, cst.Integer):
        return node.value == "0"
    if isinstance(node, cst.Float):
        try:
            return float(node.value) == 0.0
        except ValueError:
            return False
    if isinstance(node, cst.SimpleString):
        return node.evaluated_value in ("0", b"0")
    return False


def _number_of_read(sym: Any, index: int = 0) -> tuple[str, bool] | None:
    """``int(v)``, ``int(v or 0)``, ``int(v) if v else 0``, ``int(v) if v is not None
    else 0`` (and ``float``) of the reply ``index``: (function, defaults to 0)."""
    read = ("read", index)
    if not isinstance(sym, tuple):
        return None
    if sym[0] == "call" and sym[1] in ("int", "float"):
        inner = sym[2]
        if inner == read:
            return sym[1], False
        if (
            isinstance(inner, tuple)
            and inner[0] == "bool"
            and inner[1] == "or"
            and inner[2] == read
            and _zero(inner[3])
        ):
            return sym[1], True
        return None
    if sym[0] == "if":
        test, body, orelse = sym[1], sym[2], sym[3]
        present = test == read or (
            isinstance(test, tuple)
            and test[0] == "cmp"
            and test[1] == "is not"
            and test[2] == read
            and isinstance(test[3], tuple)
            and test[3][0] == "py"
            and isinstance(test[3][1], cst.Name)
            and test[3][1].value == "None"
        )
        inner = _number_of_read(body, index)
        if present and inner is not None and not inner[1] and _zero(orelse):
            return inner[0], True
    return None


def counter_of(sym: Sym | None) -> tuple[str, bool, list[tuple[str, cst.BaseExpression]]] | None:
    """Is ``sym`` the read's number plus or minus amounts computed in Python
    (``int(v or 0) + 1``)? Returns (``"int"``/``"float"``, whether a missing key counts
    as 0, ``[(sign, amount), ...]``); at least one amount. Else None."""
    deltas: list[tuple[str, cst.BaseExpression]] = []
    current: Any = sym
    while isinstance(current, tuple) and current[0] == "bin" and current[1] in ("+", "-"):
        left, right = current[2], current[3]
        if isinstance(right, tuple) and right[0] == "py" and right[1] is not None:
            deltas.append((current[1], right[1]))
            current = left
        elif (
            current[1] == "+"
            and isinstance(left, tuple)
            and left[0] == "py"
            and left[1] is not None
        ):
            deltas.append(("+", left[1]))
            current = right
        else:
            return None
    base = _number_of_read(current)
    if base is None or not deltas:
        return None
    return base[0], base[1], list(reversed(deltas))
