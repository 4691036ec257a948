"""Pipelines' lifetimes and Script objects (RP301, RP302).

A *pipeline variable* is a name bound to ``<client>.pipeline(...)`` (an assignment
or ``with <client>.pipeline() as pipe``), or a parameter annotated as a redis-py
pipeline. Every use of the name in its scope is classified:

- a command queued on it (``pipe.set(...)``, ``pipe.execute_command(...)``, a
  ``Script`` called with ``client=pipe``);
- an ``execute()`` (anywhere: a branch, a ``finally``, a loop);
- an escape: returned, yielded, passed to a call, stored, aliased, captured by a
  nested function, ``watch()`` (commands then run immediately), ``reset()``, or any
  use we do not recognise. An escaped pipeline may be executed elsewhere.

A *Script object* is a name or ``self.<attribute>`` bound to
``<client>.register_script(...)``. A call of one with ``client=<pipeline>`` (or as the
third positional argument) queues ``EVALSHA`` on that pipeline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from pipelint import catalog
from pipelint.clients.resolve import ClientInfo, Resolver
from pipelint.clients.scopes import Binding, Scope, ScopeIndex, dotted_name, iter_children

__all__ = ["PipelineFacts", "PipelineVar", "ScriptCall", "find_pipelines"]

_NEUTRAL_METHODS = frozenset(
    {"multi", "unwatch", "__enter__", "__exit__", "__aenter__", "__aexit__"}
)
_ESCAPE_METHODS = frozenset({"watch", "reset", "discard", "close", "aclose"})


@dataclass(eq=False)
class ScriptCall:
    """A ``Script`` object called with a pipeline as its client."""

    call: cst.Call
    stmt: cst.CSTNode | None  # the statement holding the call (a block-level statement)
    script: str  # how the code names the script (``self._claim``)
    pipeline: PipelineVar
    client: ClientInfo | None  # the client that registered the script


@dataclass(eq=False)
class PipelineVar:
    name: str
    scope: Scope
    # the ``<client>.pipeline(...)`` call, None for a parameter annotated as a pipeline
    created: cst.Call | None
    # the statement that creates it (an assignment line or a ``with``)
    stmt: cst.CSTNode | None
    client_key: str | None
    client: ClientInfo | None
    queued: list[cst.Call] = field(default_factory=list)
    executed: list[cst.Call] = field(default_factory=list)
    escapes: list[str] = field(default_factory=list)
    scripts: list[ScriptCall] = field(default_factory=list)
    # block-level statements of the scope that hold a queued command, in order
    queued_stmts: list[cst.CSTNode] = field(default_factory=list)

    @property
    def never_executed(self) -> bool:
        return bool(self.queued) and not self.executed and not self.escapes


@dataclass
class PipelineFacts:
    pipelines: list[PipelineVar] = field(default_factory=list)
    script_calls: list[ScriptCall] = field(default_factory=list)


def find_pipelines(index: ScopeIndex, resolver: Resolver) -> PipelineFacts:
    facts = PipelineFacts()
    scopes = [index.module, *[s for s in index.by_node.values() if s is not index.module]]
    scripts = _ScriptNames(index, resolver)
    redis_py = _imports_redis_py(scopes)
    for scope in scopes:
        if scope.kind == "class":
            continue
        for name, binds in scope.bindings.items():
            var = _pipeline_var(name, binds, scope, resolver)
            if var is None:
                continue
            _Uses(var, scripts, resolver).walk()
            if var.client is not None and var.client.evidence.startswith("client-names"):
                if not redis_py:
                    # a configured name in a module that does not use redis-py: its
                    # pipelines may work another way (coredis executes on leaving `with`)
                    var.escapes.append("configured client in a module without redis-py")
            facts.pipelines.append(var)
            facts.script_calls.extend(var.scripts)
    return facts


_REDIS_PY = frozenset({"redis", "valkey", "aioredis", "django_redis", "flask_redis"})


def _imports_redis_py(scopes: list[Scope]) -> bool:
    """Does the module import redis-py (or a package built on it) and no other client?"""
    tops: set[str] = set()
    for scope in scopes:
        for binds in scope.bindings.values():
            for b in binds:
                if b.kind == "import" and b.qualname:
                    tops.add(b.qualname.split(".")[0])
    return bool(tops & _REDIS_PY) and "coredis" not in tops


def _pipeline_call(
    expr: cst.BaseExpression | None, scope: Scope, resolver: Resolver
) -> tuple[cst.Call, str, ClientInfo] | None:
    if isinstance(expr, cst.Await):
        expr = expr.expression
    if not isinstance(expr, cst.Call) or not isinstance(expr.func, cst.Attribute):
        return None
    if expr.func.attr.value != "pipeline":
        return None
    receiver = expr.func.value
    info = resolver.receiver(receiver, scope)
    if info is None:
        return None
    key = dotted_name(receiver) or cst.Module([]).code_for_node(receiver)
    return expr, key, info


def _pipeline_var(
    name: str, binds: list[Binding], scope: Scope, resolver: Resolver
) -> PipelineVar | None:
    created: list[tuple[cst.Call, str, ClientInfo, Binding]] = []
    params: list[Binding] = []
    for b in binds:
        if b.kind in ("assign", "with"):
            hit = _pipeline_call(b.value, b.scope, resolver)
            if hit is None:
                return None
            created.append((*hit, b))
        elif b.kind == "param" and resolver.is_pipeline_type(b.annotation, b.scope):
            params.append(b)
        else:
            return None
    if created and not params:
        call, key, info, b = created[0]
        var = PipelineVar(name, scope, call, b.node, key, info)
        if len(created) > 1:
            var.escapes.append("rebound")  # several pipelines under one name: keep quiet
        return var
    if params and not created:
        return PipelineVar(name, scope, None, None, None, None)
    return None


class _ScriptNames:
    """Which names and ``self`` attributes hold a ``Script`` from ``register_script``."""

    def __init__(self, index: ScopeIndex, resolver: Resolver) -> None:
        self.index = index
        self.resolver = resolver

    def script(self, func: cst.BaseExpression, scope: Scope) -> ClientInfo | None | bool:
        """For a called expression: the registering client (True when the client is not
        known), or None when it is not a Script."""
        if isinstance(func, cst.Name):
            target = scope.lookup_scope(func.value)
            if target is None:
                return None
            return self._all_scripts(target.bindings[func.value])
        if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            fn = scope.enclosing_function()
            if fn is not None and fn.method_of is not None and func.value.value == fn.self_name:
                binds = fn.method_of.attributes.get(func.attr.value)
                if binds:
                    return self._all_scripts(binds)
        return None

    def _all_scripts(self, binds: list[Binding]) -> ClientInfo | None | bool:
        info: ClientInfo | None | bool = None
        for b in binds:
            if b.kind != "assign":
                return None
            value = b.value
            if (
                not isinstance(value, cst.Call)
                or not isinstance(value.func, cst.Attribute)
                or value.func.attr.value != "register_script"
            ):
                return None
            client = self.resolver.receiver(value.func.value, b.scope)
            if client is None:
                return None
            info = client
        return info


class _Uses:
    """Every use of one pipeline variable in its scope."""

    def __init__(self, var: PipelineVar, scripts: _ScriptNames, resolver: Resolver) -> None:
        self.var = var
        self.scripts = scripts
        self.resolver = resolver
        self.parents: dict[int, cst.CSTNode | None] = {}

    def walk(self) -> None:
        scope = self.var.scope
        node = scope.node
        body: list[cst.CSTNode]
        if isinstance(node, cst.Module):
            body = list(node.body)
        elif isinstance(node, cst.FunctionDef):
            body = [node.body]
        else:
            return
        for stmt in _statements(body):
            self.visit(stmt, None, stmt, nested=False)

    def visit(
        self, node: cst.CSTNode, parent: cst.CSTNode | None, stmt: cst.CSTNode, nested: bool
    ) -> None:
        name = self.var.name
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            stmt = node  # the innermost block-level statement
            if isinstance(node, cst.SimpleStatementLine) and any(
                isinstance(small, cst.Assign) and small.value is self.var.created
                for small in node.body
            ):
                self.var.stmt = node
        if isinstance(node, cst.Name):
            if node.value == name:
                self.use(node, parent, nested)
            return
        if (
            isinstance(node, cst.Attribute)
            and isinstance(node.value, cst.Name)
            and node.value.value == name
            and not (isinstance(parent, cst.Call) and parent.func is node)
        ):
            self.var.escapes.append(f"reads .{node.attr.value}")
            return
        if isinstance(node, cst.FunctionDef) and _binds_locally(node, name):
            return  # its own local of the same name
        self.parents[id(node)] = parent
        if isinstance(node, cst.Call):
            self.call(node, stmt, nested)
        inner_nested = nested or isinstance(node, (cst.FunctionDef, cst.Lambda, cst.ClassDef))
        for child in iter_children(node):
            self.visit(child, node, stmt, inner_nested)

    def result_used(self, call: cst.Call) -> bool:
        """Is what a queued command returns used for something but chaining? redis-py
        returns the pipeline itself; a client whose pipeline commands return their own
        results (coredis) is not redis-py, whatever its name."""
        parent = self.parents.get(id(call))
        if isinstance(parent, cst.Await):
            parent = self.parents.get(id(parent))
        if isinstance(parent, cst.Attribute):
            return False  # a chain: ``pipe.set(...).execute()``
        return not isinstance(parent, cst.Expr)

    def call(self, call: cst.Call, stmt: cst.CSTNode, nested: bool) -> None:
        """A method call on the pipeline (``pipe.set(...)``), the pipeline passed to a
        call (a Script queued on it, or an escape)."""
        func = call.func
        var = self.var
        if isinstance(func, cst.Attribute) and _root_name(func.value) == var.name:
            # on the pipeline, or on a chain of calls on it (``pipe.set(..).execute()``)
            method = func.attr.value
            if nested:
                var.escapes.append("used in a nested function")
            elif method == "execute":
                var.executed.append(call)
            elif method in _ESCAPE_METHODS:
                var.escapes.append(method)
            elif method == "execute_command" or catalog.is_command_method(method):
                if self.result_used(call):
                    var.escapes.append("a queued command's result is used")
                var.queued.append(call)
                if not var.queued_stmts or var.queued_stmts[-1] is not stmt:
                    var.queued_stmts.append(stmt)
            elif method not in _NEUTRAL_METHODS:
                var.escapes.append(f"calls {method}()")
        passed = [
            a for a in call.args if isinstance(a.value, cst.Name) and a.value.value == var.name
        ]
        if not passed:
            return
        client_arg = _script_client_arg(call)
        info = self.scripts.script(func, var.scope) if client_arg is not None else None
        if len(passed) == 1 and passed[0].value is client_arg and info is not None and not nested:
            var.queued.append(call)
            if not var.queued_stmts or var.queued_stmts[-1] is not stmt:
                var.queued_stmts.append(stmt)
            var.scripts.append(
                ScriptCall(
                    call,
                    stmt,
                    dotted_name(func) or cst.Module([]).code_for_node(func),
                    var,
                    info if isinstance(info, ClientInfo) else None,
                )
            )
        else:
            var.escapes.append("passed to a call")

    def use(self, node: cst.Name, parent: cst.CSTNode | None, nested: bool) -> None:
        var = self.var
        if isinstance(parent, cst.Attribute) and parent.value is node:
            return  # a method call, judged by ``call``
        if isinstance(parent, cst.Arg):
            return  # judged by ``call``
        if _is_binding_position(node, parent):
            return
        if nested:
            var.escapes.append("captured by a nested function")
            return
        if isinstance(parent, (cst.WithItem, cst.Del, cst.Comparison, cst.ComparisonTarget)):
            return
        if isinstance(parent, (cst.If, cst.While, cst.UnaryOperation)):
            return
        var.escapes.append(type(parent).__name__ if parent is not None else "use")


def _root_name(expr: cst.BaseExpression) -> str | None:
    """``pipe`` for ``pipe``, ``pipe.set(a, 1)``, ``pipe.set(a, 1).incr(b)``: a pipeline's
    command methods return the pipeline."""
    while isinstance(expr, cst.Call) and isinstance(expr.func, cst.Attribute):
        expr = expr.func.value
    return expr.value if isinstance(expr, cst.Name) else None


def _statements(body: list[cst.CSTNode]) -> Iterator[cst.CSTNode]:
    """Block-level statements, recursively (their expressions are visited from them)."""
    for node in body:
        if isinstance(node, cst.IndentedBlock):
            yield from _statements(list(node.body))
        else:
            yield node


def _script_client_arg(call: cst.Call) -> cst.BaseExpression | None:
    """``client=`` of a ``Script`` call (or its third positional argument)."""
    pos = 0
    for a in call.args:
        if a.star:
            return None
        if a.keyword is not None:
            if a.keyword.value == "client":
                return a.value
            continue
        if pos == 2:
            return a.value
        pos += 1
    return None


def _binds_locally(fn: cst.FunctionDef, name: str) -> bool:
    params = fn.params
    return any(
        p.name.value == name
        for p in (*params.posonly_params, *params.params, *params.kwonly_params)
    )


def _is_binding_position(node: cst.Name, parent: cst.CSTNode | None) -> bool:
    if isinstance(parent, cst.AssignTarget) and parent.target is node:
        return True
    if isinstance(parent, cst.AsName) and parent.name is node:
        return True
    if isinstance(parent, cst.AnnAssign) and parent.target is node:
        return True
    if isinstance(parent, cst.Param) and parent.name is node:
        return True
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.target is node:
        return True
    return False
