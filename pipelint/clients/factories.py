"""Project functions that hand a client to their caller in a way other than ``return``.

Pure syntax questions about one function definition, with no resolution in them, so
that the resolver (LibCST, per module) and a project index built from ``ast`` can ask
the same questions of the same shapes:

- ``property_kind``: is the function a ``@property`` / ``@cached_property`` getter (its
  return value is what ``obj.name`` gives)?
- ``context_manager_kind``: is it a ``@contextmanager`` / ``@asynccontextmanager``
  (what it yields is what ``with f() as x`` binds)?
- ``yielded_values``: the values it yields (None when one cannot be known).
- ``container_items`` / ``stored_items``: the values a cache (``self._clients = {}``,
  ``self._clients[i] = Redis(...)``) is created with and filled with.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from pipelint.clients.scopes import dotted_name, iter_children

__all__ = [
    "container_items",
    "context_manager_kind",
    "decorator_names",
    "property_kind",
    "stored_items",
    "yielded_values",
]

PROPERTY_DECORATORS = frozenset(
    {
        "property",
        "cached_property",
        "functools.cached_property",
        "cachedproperty",
        "kombu.utils.objects.cached_property",
    }
)
CONTEXT_MANAGERS = {
    "contextmanager": "sync",
    "contextlib.contextmanager": "sync",
    "asynccontextmanager": "async",
    "contextlib.asynccontextmanager": "async",
}


def decorator_names(node: cst.FunctionDef) -> list[str]:
    """The dotted names of the decorators (``None`` for a call or subscript: ``"?"``)."""
    return [dotted_name(d.decorator) or "?" for d in node.decorators]


def property_kind(node: cst.FunctionDef) -> bool:
    """A property getter: decorated with a property decorator only (no other wrapper)."""
    names = decorator_names(node)
    return len(names) == 1 and names[0] in PROPERTY_DECORATORS


def context_manager_kind(node: cst.FunctionDef) -> str | None:
    """ "sync" or "async" for a generator-based context manager, else None. Any other
    decorator could change what the call gives: then None."""
    names = decorator_names(node)
    if len(names) != 1:
        return None
    kind = CONTEXT_MANAGERS.get(names[0])
    if kind is None or (kind == "async") != (node.asynchronous is not None):
        return None
    return kind


def yielded_values(node: cst.FunctionDef) -> list[cst.BaseExpression] | None:
    """The expressions the function yields, in source order; None if it has a bare
    ``yield``, a ``yield from``, or none at all."""
    out: list[cst.BaseExpression] = []
    for y in _yields(node.body):
        if y.value is None or isinstance(y.value, cst.From):
            return None
        out.append(y.value)
    return out or None


def _yields(root: cst.CSTNode) -> Iterator[cst.Yield]:
    stack: list[cst.CSTNode] = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue  # runs elsewhere
        if isinstance(n, cst.Yield):
            yield n
        stack.extend(reversed(list(iter_children(n))))


_DISPLAYS = (cst.Dict, cst.List, cst.Tuple)
_MUTATORS = frozenset({"setdefault", "append", "insert", "update", "extend", "__setitem__"})


def container_items(value: cst.BaseExpression) -> list[cst.BaseExpression] | None:
    """The item values a dict/list/tuple expression is created with (``{}``, ``dict()``,
    ``[Redis(...) for ...]``, ``{i: Redis(...) for ...}``); None if it is not one."""
    if isinstance(value, cst.Dict):
        out = []
        for el in value.elements:
            if not isinstance(el, cst.DictElement):
                return None
            out.append(el.value)
        return out
    if isinstance(value, (cst.List, cst.Tuple)):
        out = []
        for el in value.elements:
            if not isinstance(el, cst.Element):
                return None
            out.append(el.value)
        return out
    if isinstance(value, (cst.ListComp, cst.GeneratorExp)):
        return [value.elt]
    if isinstance(value, cst.DictComp):
        return [value.value]
    if (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
        and value.func.value in ("dict", "list")
        and not value.args
    ):
        return []
    return None


def stored_items(fn: cst.FunctionDef, container: str) -> list[cst.BaseExpression] | None:
    """The values ``fn`` stores into ``container`` (a dotted name such as
    ``self._clients``): ``container[k] = v`` (chained targets too) and
    ``container.setdefault(k, v)``. None when it changes it any other way
    (``append``, ``update``, ``del`` are fine only when they store nothing we cannot see:
    ``pop``/``del``/``clear`` remove, which keeps every item a client)."""
    out: list[cst.BaseExpression] = []
    stack: list[cst.CSTNode] = [fn.body]
    while stack:
        n = stack.pop()
        if isinstance(n, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
            continue
        if isinstance(n, cst.Assign):
            for t in n.targets:
                if isinstance(t.target, cst.Subscript) and dotted_name(t.target.value) == container:
                    out.append(n.value)
        elif isinstance(n, (cst.AugAssign, cst.AnnAssign)):
            t = n.target
            if isinstance(t, cst.Subscript) and dotted_name(t.value) == container:
                return None
        elif isinstance(n, cst.Call) and isinstance(n.func, cst.Attribute):
            if dotted_name(n.func.value) == container and n.func.attr.value in _MUTATORS:
                if n.func.attr.value == "setdefault" and len(n.args) == 2:
                    out.append(n.args[1].value)
                else:
                    return None
        stack.extend(n.children)
    return out
