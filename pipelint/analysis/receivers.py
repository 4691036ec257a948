"""Receivers that are pipelines already: ``redis.Pipeline`` subclasses ``redis.Redis``,
so a parameter annotated ``Redis`` may receive one. Commands on it are queued, not sent."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from pipelint.clients.scopes import Scope, dotted_name, iter_children

__all__ = [
    "drives_pipeline",
    "on_a_pipeline",
    "pipeline_callbacks",
    "pipeline_takers",
    "transaction_callbacks",
    "PIPELINE_METHODS",
]

#: methods that make a receiver a pipeline being driven by this code
PIPELINE_METHODS = frozenset(
    {"multi", "execute", "watch", "unwatch", "reset", "immediate_execute_command"}
)


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(iter_children(n))


def drives_pipeline(fn_node: cst.CSTNode, client_key: str) -> bool:
    """Does this function call ``multi``/``execute``/``watch``... on the client (so that
    it works on a pipeline whose commands are already queued)?"""
    for n in _walk(fn_node):
        if (
            isinstance(n, cst.Call)
            and isinstance(n.func, cst.Attribute)
            and n.func.attr.value in PIPELINE_METHODS
            and dotted_name(n.func.value) == client_key
        ):
            return True
    return False


def transaction_callbacks(module: cst.Module) -> set[str]:
    """Names of functions passed to ``<client>.transaction(func, ...)``."""
    out: set[str] = set()
    for n in _walk(module):
        if (
            isinstance(n, cst.Call)
            and isinstance(n.func, cst.Attribute)
            and n.func.attr.value == "transaction"
            and n.args
        ):
            name = dotted_name(n.args[0].value)
            if name is not None:
                out.add(name.rsplit(".", 1)[-1])
    return out


def _is_pipeline_call(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.Await):
        node = node.expression
    return (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "pipeline"
    )


def pipeline_takers(module: cst.Module) -> set[str]:
    """Names of functions this module calls with a pipeline as an argument
    (``work(r.pipeline())``, ``work(pipe)`` where ``pipe = r.pipeline()`` or
    ``with r.pipeline() as pipe``): their client parameters may be pipelines."""
    pipes: set[str] = set()
    for n in _walk(module):
        if isinstance(n, cst.Assign) and _is_pipeline_call(n.value):
            pipes.update(t.target.value for t in n.targets if isinstance(t.target, cst.Name))
        elif isinstance(n, cst.WithItem) and _is_pipeline_call(n.item):
            if n.asname is not None and isinstance(n.asname.name, cst.Name):
                pipes.add(n.asname.name.value)
    out: set[str] = set()
    for n in _walk(module):
        if not isinstance(n, cst.Call):
            continue
        if any(
            _is_pipeline_call(a.value) or (isinstance(a.value, cst.Name) and a.value.value in pipes)
            for a in n.args
        ):
            name = dotted_name(n.func)
            if name is not None:
                out.add(name.rsplit(".", 1)[-1])
    return out


def pipeline_callbacks(module: cst.Module) -> set[str]:
    """The functions of this module that run on a pipeline: passed to
    ``r.transaction(func)`` or called with a pipeline."""
    return transaction_callbacks(module) | pipeline_takers(module)


def on_a_pipeline(scope: Scope, client_key: str, callbacks: set[str]) -> bool:
    """Is ``client_key`` in ``scope`` a pipeline already? A function in ``callbacks``
    (see ``pipeline_callbacks``), or one that calls ``multi``/``execute``/``watch`` on
    the receiver, works on one: its commands are queued, not sent, so no round-trip
    rule reports them."""
    fn = scope.enclosing_function()
    if fn is None:
        return False
    return fn.name in callbacks or drives_pipeline(fn.node, client_key)
