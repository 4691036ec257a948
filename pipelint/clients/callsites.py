"""Where a module calls its own private functions and methods, and with what.

An untyped parameter of a private function (``def _save(conn, key)``) is a client when
every call of the function passes one. That holds only in a closed world: the function
is private to the module (its name starts with ``_``, it is not a dunder), and every
reference to its name in the module is a direct call that we can read (no ``*args``,
no callback, no ``getattr``). ``CallSites`` answers, for one module, "the calls of this
definition, or None when the world is not closed". It is pure syntax (scopes only), so a
project index built from ``ast`` can answer the same question across modules later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from pipelint.clients.scopes import Scope, ScopeIndex, iter_children

__all__ = ["CallSites", "argument_for"]


@dataclass
class CallSites:
    index: ScopeIndex
    _calls: dict[int, list[tuple[cst.Call, Scope]]] = field(default_factory=dict)
    _references: dict[str, int] = field(default_factory=dict)
    _built: bool = False

    def calls_of(self, fn: Scope) -> list[tuple[cst.Call, Scope]] | None:
        """The calls of the private function or method ``fn`` in this module, each with
        the scope it is in; None unless every reference to its name is one of them."""
        node = fn.node
        if not isinstance(node, cst.FunctionDef):
            return None
        name = node.name.value
        if not name.startswith("_") or (name.startswith("__") and name.endswith("__")):
            return None
        if node.decorators:
            return None  # a decorator may call it, or change its parameters
        self._build()
        calls = self._calls.get(id(node), [])
        if not calls or self._references.get(name, 0) != len(calls):
            return None
        return calls

    def _build(self) -> None:
        if self._built:
            return
        self._built = True
        module = self.index.module
        for n, scope in _walk(module.node, module, self.index):
            if isinstance(n, cst.Name):
                self._references[n.value] = self._references.get(n.value, 0) + 1
            elif isinstance(n, cst.Call):
                target = _callee(n.func, scope, self.index)
                if target is not None:
                    self._calls.setdefault(id(target), []).append((n, scope))
        # a definition's own name is a reference too: discount it
        for scope in self.index.by_node.values():
            if scope.kind == "function" and isinstance(scope.node, cst.FunctionDef):
                name = scope.node.name.value
                if name in self._references:
                    self._references[name] -= 1


def _walk(
    node: cst.CSTNode, scope: Scope, index: ScopeIndex
) -> Iterator[tuple[cst.CSTNode, Scope]]:
    stack: list[tuple[cst.CSTNode, Scope]] = [(node, scope)]
    while stack:
        n, s = stack.pop()
        yield n, s
        inner = index.by_node.get(n) if isinstance(n, (cst.FunctionDef, cst.ClassDef)) else None
        child_scope = inner if inner is not None else s
        for child in iter_children(n):
            stack.append((child, child_scope))


def _callee(func: cst.BaseExpression, scope: Scope, index: ScopeIndex) -> cst.FunctionDef | None:
    b = None
    if isinstance(func, cst.Name):
        b = scope.sole_binding(func.value)
    elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
        fn = scope.enclosing_function()
        if fn is not None and fn.method_of is not None and func.value.value == fn.self_name:
            binds = fn.method_of.bindings.get(func.attr.value, [])
            b = binds[0] if len(binds) == 1 else None
    if b is not None and b.kind == "def" and isinstance(b.node, cst.FunctionDef):
        return b.node
    return None


def argument_for(call: cst.Call, fn: Scope, param: str) -> cst.BaseExpression | None:
    """The expression ``call`` passes for ``param`` of ``fn`` (a method's ``self`` is
    the receiver, not an argument); None when it cannot be read off the call."""
    node = fn.node
    assert isinstance(node, cst.FunctionDef)
    if any(a.star for a in call.args):
        return None
    positional = [p.name.value for p in (*node.params.posonly_params, *node.params.params)]
    if fn.method_of is not None and fn.self_name is not None:
        positional = positional[1:]
    for a in call.args:
        if a.keyword is not None and a.keyword.value == param:
            return a.value
    plain = [a for a in call.args if a.keyword is None]
    if param in positional:
        i = positional.index(param)
        if i < len(plain):
            return plain[i].value
    return None
