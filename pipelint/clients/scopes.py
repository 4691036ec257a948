"""A light scope model of one module: what each name (and ``self.x``) is bound to.

One traversal collects, per scope (module, class, function), every binding of a
name: imports with their qualified name, assignments with the assigned value,
parameters with their annotation, ``with ... as`` targets, loop targets.
Classes also collect ``self.x = value`` / ``self.x: T`` from all their methods.

This is deliberately much cheaper than LibCST's ScopeProvider: it records only
what client resolution needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

__all__ = ["Binding", "Scope", "ScopeIndex", "build_scopes", "dotted_name", "iter_children"]


@dataclass(eq=False)
class Binding:
    """One binding of a name: how the name got its value.

    kind: "import" (qualname set), "assign" (value, annotation maybe), "param"
    (annotation maybe), "with" (value = the context expression), "def",
    "class", "other" (loop target, del, walrus, except-as...).
    """

    kind: str
    scope: Scope
    value: cst.BaseExpression | None = None
    annotation: cst.BaseExpression | None = None
    qualname: str | None = None
    node: cst.CSTNode | None = None
    awaited: bool = False


@dataclass(eq=False)
class Scope:
    kind: str  # "module" | "class" | "function"
    node: cst.CSTNode
    parent: Scope | None
    name: str = ""
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals_: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    is_async: bool = False
    # function scopes: the class scope if this is a method, and its first parameter
    method_of: Scope | None = None
    self_name: str | None = None
    # class scopes: attribute bindings collected from all methods (self.x = ...)
    attributes: dict[str, list[Binding]] = field(default_factory=dict)
    base_names: list[cst.BaseExpression] = field(default_factory=list)
    returns: list[cst.BaseExpression] = field(default_factory=list)
    return_annotation: cst.BaseExpression | None = None

    def add(self, name: str, binding: Binding) -> None:
        self.bindings.setdefault(name, []).append(binding)

    def lookup_scope(self, name: str) -> Scope | None:
        """The scope whose binding of ``name`` a load in this scope sees (LEGB)."""
        scope: Scope | None = self
        if name in self.globals_:
            module = self.module()
            return module if name in module.bindings else None
        first = True
        while scope is not None:
            if scope.kind == "class" and not first:
                scope = scope.parent
                continue
            if name in scope.bindings and name not in scope.nonlocals:
                return scope
            first = False
            scope = scope.parent
        return None

    def sole_binding(self, name: str) -> Binding | None:
        """The binding a load of ``name`` here sees, when there is exactly one."""
        target = self.lookup_scope(name)
        if target is None:
            return None
        binds = target.bindings[name]
        return binds[0] if len(binds) == 1 else None

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def enclosing_function(self) -> Scope | None:
        scope: Scope | None = self
        while scope is not None and scope.kind != "function":
            scope = scope.parent
        return scope


_SKIP_FIELD = (
    "whitespace",
    "lpar",
    "rpar",
    "comma",
    "semicolon",
    "header",
    "footer",
    "leading_lines",
)
_FIELDS: dict[type, tuple[str, ...]] = {}


def iter_children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """The child nodes of ``node`` that can hold code, read straight from its fields.

    LibCST's ``node.children`` rebuilds every child through a visitor (and validates
    it); this is the cheap walk the analysis needs. Whitespace, parentheses and comma
    tokens are skipped: they hold no code."""
    cls = type(node)
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(
            f.name for f in dataclasses.fields(node) if not f.name.startswith(_SKIP_FIELD)
        )
        _FIELDS[cls] = names
    for name in names:
        value = getattr(node, name)
        vt = type(value)
        if vt is list or vt is tuple:
            for item in value:
                if _is_node(type(item)):
                    yield item
        elif _is_node(vt):
            yield value


_NODE_TYPES: dict[type, bool] = {}


def _is_node(t: type) -> bool:
    """``issubclass(t, CSTNode)``, memoised (CSTNode is an ABC: isinstance is slow)."""
    known = _NODE_TYPES.get(t)
    if known is None:
        known = _NODE_TYPES[t] = issubclass(t, cst.CSTNode)
    return known


def dotted_name(node: cst.BaseExpression) -> str | None:
    """``a.b.c`` for Name/Attribute chains, else None."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if isinstance(node, cst.Name):
        parts.append(node.value)
        return ".".join(reversed(parts))
    return None


def _import_name(node: cst.BaseExpression) -> str:
    name = dotted_name(node)
    return name or ""


class ScopeIndex:
    """Scopes of a module, and the scope of every function/class node."""

    def __init__(
        self, module_scope: Scope, by_node: dict[cst.CSTNode, Scope], package: str
    ) -> None:
        self.module = module_scope
        self.by_node = by_node
        self.package = package  # dotted package of the module, for relative imports
        self.classes: dict[str, Scope] = {}
        self.functions: dict[str, Scope] = {}
        for scope in by_node.values():
            if scope.parent is module_scope:
                if scope.kind == "class":
                    self.classes[scope.name] = scope
                elif scope.kind == "function":
                    self.functions[scope.name] = scope


def build_scopes(module: cst.Module, package: str = "", *, walrus: bool = True) -> ScopeIndex:
    """Build the scopes of ``module``; ``walrus=False`` skips the search for ``:=``
    targets (callers pass ``":=" in source``)."""
    builder = _Builder(module, package)
    builder.walrus = walrus
    builder.block(module.body, builder.module_scope)
    return ScopeIndex(builder.module_scope, builder.by_node, package)


class _Builder:
    def __init__(self, module: cst.Module, package: str) -> None:
        self.module_scope = Scope("module", module, None)
        self.by_node: dict[cst.CSTNode, Scope] = {module: self.module_scope}
        self.package = package
        self.walrus = True

    # ---- statements -------------------------------------------------------------
    def block(self, body: object, scope: Scope) -> None:
        if isinstance(body, (cst.IndentedBlock, cst.SimpleStatementSuite)):
            body = body.body
        for stmt in body:  # type: ignore[attr-defined]
            self.statement(stmt, scope)

    def statement(self, stmt: cst.CSTNode, scope: Scope) -> None:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                self.small(small, scope)
        elif isinstance(stmt, cst.FunctionDef):
            self.function(stmt, scope)
        elif isinstance(stmt, cst.ClassDef):
            self.class_(stmt, scope)
        elif isinstance(stmt, (cst.For,)):
            self.target(stmt.target, scope, Binding("other", scope, node=stmt))
            self.expr_walk(stmt.iter, scope)
            self.block(stmt.body, scope)
            if stmt.orelse:
                self.block(stmt.orelse.body, scope)
        elif isinstance(stmt, cst.While):
            self.expr_walk(stmt.test, scope)
            self.block(stmt.body, scope)
            if stmt.orelse:
                self.block(stmt.orelse.body, scope)
        elif isinstance(stmt, cst.If):
            self.expr_walk(stmt.test, scope)
            self.block(stmt.body, scope)
            orelse = stmt.orelse
            if isinstance(orelse, cst.If):
                self.statement(orelse, scope)
            elif orelse is not None:
                self.block(orelse.body, scope)
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                self.expr_walk(item.item, scope)
                if item.asname is not None:
                    self.target(
                        item.asname.name,
                        scope,
                        Binding("with", scope, value=item.item, node=stmt),
                    )
            self.block(stmt.body, scope)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            self.block(stmt.body, scope)
            for handler in stmt.handlers:
                if handler.name is not None:
                    self.target(handler.name.name, scope, Binding("other", scope, node=handler))
                self.block(handler.body, scope)
            if stmt.orelse:
                self.block(stmt.orelse.body, scope)
            if stmt.finalbody:
                self.block(stmt.finalbody.body, scope)
        elif isinstance(stmt, cst.Match):
            for case in stmt.cases:
                self.block(case.body, scope)

    def small(self, small: cst.CSTNode, scope: Scope) -> None:
        if isinstance(small, cst.Import):
            for alias in small.names:
                full = _import_name(alias.name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self._bind(
                        scope, alias.asname.name.value, Binding("import", scope, qualname=full)
                    )
                else:
                    top = full.split(".")[0]
                    self._bind(scope, top, Binding("import", scope, qualname=top))
        elif isinstance(small, cst.ImportFrom):
            base = self.import_from_base(small)
            if isinstance(small.names, cst.ImportStar):
                return
            for alias in small.names:
                name = _import_name(alias.name)
                local = name
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                qual = f"{base}.{name}" if base else name
                self._bind(scope, local, Binding("import", scope, qualname=qual))
        elif isinstance(small, cst.Assign):
            for t in small.targets:
                self.target(
                    t.target, scope, Binding("assign", scope, value=small.value, node=small)
                )
            self.expr_walk(small.value, scope)
        elif isinstance(small, cst.AnnAssign):
            self.target(
                small.target,
                scope,
                Binding(
                    "assign",
                    scope,
                    value=small.value,
                    annotation=small.annotation.annotation,
                    node=small,
                ),
            )
            if small.value is not None:
                self.expr_walk(small.value, scope)
        elif isinstance(small, cst.AugAssign):
            self.target(small.target, scope, Binding("other", scope, node=small))
        elif isinstance(small, cst.Global):
            scope.globals_.update(n.name.value for n in small.names)
        elif isinstance(small, cst.Nonlocal):
            scope.nonlocals.update(n.name.value for n in small.names)
        elif isinstance(small, cst.Return):
            fn = scope if scope.kind == "function" else None
            if fn is not None and small.value is not None:
                fn.returns.append(small.value)
            if small.value is not None:
                self.expr_walk(small.value, scope)
        elif isinstance(small, cst.Expr):
            self.expr_walk(small.value, scope)

    def _bind(self, scope: Scope, name: str, binding: Binding) -> None:
        """Bind ``name`` where it lives: the module when declared ``global`` here."""
        (scope.module() if name in scope.globals_ else scope).add(name, binding)

    def import_from_base(self, node: cst.ImportFrom) -> str:
        mod = _import_name(node.module) if node.module is not None else ""
        level = len(node.relative)
        if level == 0:
            return mod
        parts = self.package.split(".") if self.package else []
        if level - 1 > len(parts):
            return mod
        base_parts = parts[: len(parts) - (level - 1)] if level > 1 else parts
        base = ".".join(base_parts)
        if mod:
            return f"{base}.{mod}" if base else mod
        return base

    def target(self, target: cst.BaseExpression, scope: Scope, binding: Binding) -> None:
        if isinstance(target, cst.Name):
            name = target.value
            dest = scope.module() if name in scope.globals_ else scope
            if dest is not scope:
                binding = Binding(
                    binding.kind,
                    scope,
                    value=binding.value,
                    annotation=binding.annotation,
                    node=binding.node,
                )
            dest.add(name, binding)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                inner = el.value
                if isinstance(inner, cst.StarredElement):
                    inner = inner.value
                # element of a destructuring: the value is unknown
                self.target(inner, scope, Binding("other", scope, node=binding.node))
        elif isinstance(target, cst.StarredElement):
            self.target(target.value, scope, Binding("other", scope, node=binding.node))
        elif isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name):
            fn = scope if scope.kind == "function" else None
            owner = target.value.value
            if fn is not None and fn.method_of is not None and owner == fn.self_name:
                fn.method_of.attributes.setdefault(target.attr.value, []).append(
                    Binding(
                        binding.kind,
                        scope,
                        value=binding.value,
                        annotation=binding.annotation,
                        node=binding.node,
                    )
                )

    def expr_walk(self, expr: cst.BaseExpression, scope: Scope) -> None:
        """Bind the targets of ``:=`` inside an expression."""
        if not self.walrus or isinstance(expr, (cst.Name, cst.SimpleString, cst.Integer)):
            return
        for node in _iter_named_exprs(expr):
            self.target(node.target, scope, Binding("assign", scope, value=node.value, node=node))

    # ---- definitions --------------------------------------------------------------
    def function(self, node: cst.FunctionDef, scope: Scope) -> None:
        scope.add(node.name.value, Binding("def", scope, node=node))
        fn = Scope("function", node, scope, name=node.name.value)
        fn.is_async = node.asynchronous is not None
        fn.return_annotation = node.returns.annotation if node.returns is not None else None
        self.by_node[node] = fn
        params = node.params
        ordered = [*params.posonly_params, *params.params]
        decorators = {dotted_name(d.decorator) for d in node.decorators}
        if scope.kind == "class" and ordered and "staticmethod" not in decorators:
            fn.method_of = scope
            fn.self_name = ordered[0].name.value
        all_params = [*ordered, *params.kwonly_params]
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                all_params.append(extra)
        for p in all_params:
            ann = p.annotation.annotation if p.annotation is not None else None
            fn.add(p.name.value, Binding("param", fn, annotation=ann, node=p, value=p.default))
        self.block(node.body, fn)

    def class_(self, node: cst.ClassDef, scope: Scope) -> None:
        scope.add(node.name.value, Binding("class", scope, node=node))
        cls = Scope("class", node, scope, name=node.name.value)
        cls.base_names = [a.value for a in node.bases]
        self.by_node[node] = cls
        self.block(node.body, cls)
        # class-body annotations and assignments are attributes too (x: Redis, x = Redis())
        for name, binds in cls.bindings.items():
            for b in binds:
                if b.kind == "assign":
                    cls.attributes.setdefault(name, []).append(b)


def _iter_named_exprs(expr: cst.CSTNode) -> Iterator[cst.NamedExpr]:
    stack: list[cst.CSTNode] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.NamedExpr):
            yield node
        if isinstance(node, (cst.Lambda,)):
            continue
        stack.extend(iter_children(node))
