"""What a module can hold of Redis clients, read with Python's ``ast`` (no LibCST).

This room answers two questions cheaply, always over-approximating:

- **Which names of a module may be clients** (``ModuleFacts``): built from one
  ``ast.parse``, scope-insensitive and flow-insensitive. A name (or an attribute name,
  ``self.redis``) is *possibly a client* when some binding of it anywhere in the module
  reads something that is: a name imported from a Redis client library (``redis``,
  ``valkey``, ``aioredis``, ``django_redis``, ``flask_redis``), a name another project
  module may export as a client, a possibly-client name or attribute, a function
  returning or yielding one, a class deriving from one, or a ``client-names`` pattern.
  The facts are grown to a fixed point.
- **Can a file hold a finding at all** (``pipelint.project.screen``): the checker asks
  this before LibCST parses a file; each rule says what it needs (``Rule.needs``).

Interface (for the client-resolution work that adds factories and helper summaries:
add a binding kind in ``_Collector`` and the fixed point takes it from there):

``ModuleFacts``
    ``names``: names possibly bound to a client, a client class, or a function
    returning/yielding a client (every scope of the module, merged);
    ``attrs``: attribute names possibly holding a client (``self.x = client``,
    class-body ``x: Redis``, properties returning one), including those of the project
    modules it imports (inherited attributes);
    ``methods``: method names possibly returning a client (``self.conn()``);
    ``everything``: the module could not be read (unparseable, an import cycle): every
    name is possibly a client.
``ProjectFacts``
    ``module(qualname) -> ModuleFacts | None`` (None: not a project module),
    ``may_be_client(qualname) -> bool``: can ``app.conn.client`` be a client, as the
    LibCST ``ProjectIndex.lookup`` would ask. Facts are computed at most once per
    module per process (keyed by path and content digest), from ``ast`` only.

Soundness: everything here only over-approximates what ``pipelint.clients.resolve``
can prove. A test compares all findings with and without the screen.
"""

from __future__ import annotations

import ast
import fnmatch
import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ModuleFacts", "ProjectFacts", "module_facts", "REDIS_LIBS", "dotted"]

#: First parts of imported qualified names that are client libraries.
REDIS_LIBS = frozenset({"redis", "valkey", "aioredis", "django_redis", "flask_redis"})
_WORD = re.compile(r"[A-Za-z_]\w*")
#: Decorators that make a method an attribute (``self.client`` with no call).
_TYPE_ALIAS: tuple[type, ...] = tuple(t for t in [getattr(ast, "TypeAlias", None)] if t)
_PROPERTIES = frozenset({"property", "cached_property", "cached_attribute", "lazy_property"})


def dotted(expr: ast.expr) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def _import_base(package: str, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".") if package else []
    if level - 1 > len(parts):
        return module or ""
    base = ".".join(parts[: len(parts) - (level - 1)] if level > 1 else parts)
    if module:
        return f"{base}.{module}" if base else module
    return base


@dataclass
class ModuleFacts:
    names: set[str] = field(default_factory=set)
    attrs: set[str] = field(default_factory=set)
    methods: set[str] = field(default_factory=set)
    everything: bool = False
    imports: dict[str, list[str]] = field(default_factory=dict)  # name -> qualnames

    def may_export(self, name: str) -> bool:
        return self.everything or name in self.names or name in self.attrs

    def absorb(self, other: ModuleFacts) -> bool:
        """Grow to include ``other``; did anything grow?"""
        before = (len(self.names), len(self.attrs), len(self.methods), self.everything)
        self.names |= other.names
        self.attrs |= other.attrs
        self.methods |= other.methods
        self.everything |= other.everything
        self.imports = other.imports
        return before != (len(self.names), len(self.attrs), len(self.methods), self.everything)


#: The facts of a module that could not be read: anything may be a client.
EVERYTHING = ModuleFacts(everything=True)


@dataclass
class _Binding:
    """Targets get possibly-client when any source expression mentions one."""

    sources: list[ast.expr]
    names: list[str] = field(default_factory=list)
    attrs: list[str] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    annotation: bool = False  # sources are annotations (string annotations are read)


def _target_names(target: ast.expr, names: list[str], attrs: list[str]) -> None:
    if isinstance(target, ast.Name):
        names.append(target.id)
    elif isinstance(target, ast.Attribute):
        attrs.append(target.attr)
    elif isinstance(target, (ast.Tuple, ast.List)):
        for elt in target.elts:
            _target_names(elt, names, attrs)
    elif isinstance(target, ast.Starred):
        _target_names(target.value, names, attrs)
    elif isinstance(target, ast.Subscript):  # d[k] = client: d holds clients
        _target_names(target.value, names, attrs)


#: Loops and comprehensions: a call inside runs once per item.
_LOOPS = (
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
)
_FUNCS = (ast.FunctionDef, ast.AsyncFunctionDef)
#: Strings that may name a pipeline or Script type (string annotations).
_TYPE_WORDS = ("Pipeline", "Script")


#: Fields that hold only operators or a load/store context (nothing the walk reads).
_LEAF_FIELDS = frozenset({"ctx", "op", "ops"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _children(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` without the operator and context nodes (same order)."""
    t = type(node)
    fields = _FIELDS.get(t)
    if fields is None:
        fields = _FIELDS[t] = tuple(f for f in t._fields if f not in _LEAF_FIELDS)
    out: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if type(value) is list:
            out.extend(v for v in value if isinstance(v, ast.AST))
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


@dataclass
class CallSite:
    """A call, where it is: the enclosing functions/lambdas (innermost first) and
    whether a loop or comprehension encloses it."""

    call: ast.Call
    scopes: tuple[ast.AST, ...]
    in_loop: bool


class _Collector:
    """One walk of the module: every binding, as (targets, sources), every import,
    every call with its place, and the identifiers used."""

    def __init__(self, package: str) -> None:
        self.package = package
        self.bindings: list[_Binding] = []
        self.imports: dict[str, list[str]] = {}  # bound name -> qualified names
        self.defs: dict[str, list[tuple[list[str], bool]]] = {}  # name -> (params, method)
        self.calls: list[CallSite] = []
        self.bases: list[ast.expr] = []  # of every class
        self.idents: set[str] = set()
        self.type_strings = False  # a string constant naming a Pipeline or Script

    def module(self, tree: ast.Module) -> None:
        # node, the function whose returns it belongs to, in a class body, scopes, loop
        stack: list[tuple[ast.AST, _Binding | None, bool, tuple[ast.AST, ...], bool]] = [
            (tree, None, False, (), False)
        ]
        bindings = self.bindings
        idents = self.idents
        calls = self.calls
        while stack:
            node, ret, in_class, scopes, in_loop = stack.pop()
            t = type(node)
            if t is ast.Name:
                idents.add(node.id)  # type: ignore[attr-defined]
                continue
            if t is ast.Attribute:
                idents.add(node.attr)  # type: ignore[attr-defined]
            elif t is ast.Call:
                calls.append(CallSite(node, scopes, in_loop))  # type: ignore[arg-type]
            elif t is ast.Constant:
                value = node.value  # type: ignore[attr-defined]
                if type(value) is str and any(w in value for w in _TYPE_WORDS):
                    self.type_strings = True
                continue
            elif t is ast.Assign:
                b = _Binding([node.value])  # type: ignore[attr-defined]
                for target in node.targets:  # type: ignore[attr-defined]
                    _target_names(target, b.names, b.attrs)
                self.bind(b, in_class)
            elif t is ast.AnnAssign:
                b = _Binding([node.annotation], annotation=True)  # type: ignore[attr-defined]
                _target_names(node.target, b.names, b.attrs)  # type: ignore[attr-defined]
                self.bind(b, in_class)
                if node.value is not None:  # type: ignore[attr-defined]
                    b = _Binding([node.value])  # type: ignore[attr-defined]
                    _target_names(node.target, b.names, b.attrs)  # type: ignore[attr-defined]
                    self.bind(b, in_class)
            elif t is ast.AugAssign:
                b = _Binding([node.value])  # type: ignore[attr-defined]
                _target_names(node.target, b.names, b.attrs)  # type: ignore[attr-defined]
                self.bind(b, in_class)
            elif t is ast.withitem:
                if node.optional_vars is not None:  # type: ignore[attr-defined]
                    b = _Binding([node.context_expr])  # type: ignore[attr-defined]
                    _target_names(node.optional_vars, b.names, b.attrs)  # type: ignore[attr-defined]
                    self.bind(b, in_class)
            elif t is ast.NamedExpr:
                bindings.append(_Binding([node.value], [node.target.id]))  # type: ignore[attr-defined]
            elif t is ast.Return or t is ast.Yield or t is ast.YieldFrom:
                value = node.value  # type: ignore[attr-defined]
                if ret is not None and value is not None:
                    ret.sources.append(value)
            elif t is ast.Import or t is ast.ImportFrom:
                self.import_(node)  # type: ignore[arg-type]
                continue
            elif t is ast.FunctionDef or t is ast.AsyncFunctionDef:
                ret = self.function(node, in_class)  # type: ignore[arg-type]
                scopes = (node, *scopes)
                in_class = False
            elif t is ast.Lambda:
                self.lambda_(node)  # type: ignore[arg-type]
                scopes = (node, *scopes)
                ret = None
            elif t is ast.ClassDef:
                bases = [*node.bases, *(k.value for k in node.keywords)]  # type: ignore[attr-defined]
                bindings.append(
                    _Binding(bases, [node.name], annotation=True)  # type: ignore[attr-defined]
                )
                self.bases.extend(bases)
                ret = None
                for child in _children(node):
                    body = isinstance(child, ast.stmt)
                    stack.append((child, None, body, scopes, in_loop))
                continue
            elif t in _TYPE_ALIAS:  # `type R = Redis` (3.12)
                b = _Binding([node.value], annotation=True)  # type: ignore[attr-defined]
                _target_names(node.name, b.names, b.attrs)  # type: ignore[attr-defined]
                self.bind(b, in_class)
            if t in _LOOPS:
                in_loop = True
            for child in _children(node):
                stack.append((child, ret, in_class, scopes, in_loop))

    def bind(self, b: _Binding, in_class: bool) -> None:
        if in_class:  # class-body names are attributes of the instances too
            b.attrs.extend(b.names)
        self.bindings.append(b)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, in_class: bool) -> _Binding:
        """The bindings of a def: its parameters, and (returned) the binding of its
        name to what it returns or yields, filled in as the walk meets them."""
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        if args.vararg is not None:
            params.append(args.vararg)
        if args.kwarg is not None:
            params.append(args.kwarg)
        for p in params:
            if p.annotation is not None:
                self.bindings.append(_Binding([p.annotation], [p.arg], annotation=True))
        defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        if defaults:  # which default belongs to which parameter does not matter here
            self.bindings.append(_Binding(defaults, [p.arg for p in params]))
        self.defs.setdefault(node.name, []).append(([p.arg for p in params], in_class))
        decorators = {(dotted(d) or "").rpartition(".")[2] for d in node.decorator_list}
        is_property = bool(decorators & _PROPERTIES)
        name = [node.name]
        as_attr = name if in_class and is_property else []
        as_method = name if in_class and not is_property else []
        if node.returns is not None:
            self.bindings.append(
                _Binding([node.returns], name, as_attr, as_method, annotation=True)
            )
        ret = _Binding([], name, as_attr, as_method)
        self.bindings.append(ret)
        return ret

    def lambda_(self, node: ast.Lambda) -> None:
        args = node.args
        params = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
        if defaults:
            self.bindings.append(_Binding(defaults, [p.arg for p in params]))

    def import_(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname is not None:
                    self.imports.setdefault(alias.asname, []).append(alias.name)
                else:
                    head = alias.name.partition(".")[0]
                    self.imports.setdefault(head, []).append(head)
            return
        base = _import_base(self.package, node.level, node.module)
        for alias in node.names:
            if alias.name == "*":
                self.imports.setdefault("*", []).append(base)
                continue
            qual = f"{base}.{alias.name}" if base else alias.name
            self.imports.setdefault(alias.asname or alias.name, []).append(qual)


#: Methods whose call on a client (or client class) gives a client.
_CLIENT_FROM = frozenset({"from_url", "from_pool", "master_for", "slave_for"})


class Taint:
    """The possibly-client names of one module (the fixed point over its bindings).

    Values are read as ``pipelint.clients.resolve.Resolver.value`` reads them (a name,
    an attribute, a call of a function or class, ``await``, ``x or y``, ``a if c else
    b``), but by name only, over-approximating; annotations are searched for any
    possibly-client name (string annotations too)."""

    def __init__(
        self,
        tree: ast.Module | _Collector,
        package: str,
        project: ProjectFacts | None,
        patterns: Sequence[str] = (),
        solve: bool = True,
        share: tuple[str, bytes, str] | None = None,
    ) -> None:
        self.patterns = tuple(patterns)
        self.project = project
        #: (path, content digest, package) of a checked file: its facts and those of
        #: the same module imported by another file are one computation (no patterns)
        self.share = share if project is not None and not self.patterns else None
        if isinstance(tree, _Collector):
            collector = tree
        else:
            collector = _Collector(package)
            collector.module(tree)
        self.collector = collector
        self.imports = collector.imports
        self.facts = ModuleFacts(imports=collector.imports)
        self.module_names: dict[str, list[str]] = {}
        self.solved = False
        if solve:
            self.solve()

    def solve(self) -> None:
        """Grow the facts to their fixed point (reads the imported project modules)."""
        if self.solved:
            return
        self.solved = True
        collector = self.collector
        project = self.project
        facts = self.facts
        # names bound by imports: a client library's, or a project module's export
        for name, quals in collector.imports.items():
            if name == "*":
                for base in quals:
                    sub = project.module(base) if project is not None else EVERYTHING
                    if base.partition(".")[0] in REDIS_LIBS or (sub is not None and sub.everything):
                        facts.everything = True
                    elif sub is not None:
                        facts.names |= sub.names
                        facts.attrs |= sub.attrs
                        facts.methods |= sub.methods
                continue
            self.module_names[name] = quals
            if any(self._import_may_be_client(q) for q in quals):
                facts.names.add(name)
        if self.share is not None and project is not None:
            known = project.shared(self.share)
            if known is not None:  # the same module, already solved as an import
                self.facts = known
                return
        self._fixed_point()
        if self.share is not None and project is not None:
            project.share(self.share, facts)

    def _fixed_point(self) -> None:
        collector = self.collector
        project = self.project
        facts = self.facts
        # inherited attributes: those of the project classes a class derives from
        for base in collector.bases:
            chain = dotted(base)
            head, _, rest = (chain or "").partition(".")
            for q in self.module_names.get(head, ()):
                if project is None:
                    facts.everything = True
                    break
                inherited = project.class_facts(f"{q}.{rest}" if rest else q)
                facts.attrs |= inherited.attrs
                facts.methods |= inherited.methods
                facts.everything |= inherited.everything
        if facts.everything:
            return
        bindings = list(collector.bindings)  # solved again in a cycle: left as it was
        # call sites passing a possible client: the callee's parameters may be clients
        defs = collector.defs
        for site in collector.calls:
            call = site.call
            func = call.func
            if not (call.args or call.keywords):
                continue
            via_attribute = isinstance(func, ast.Attribute)
            callee = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            for params, is_method in defs.get(callee, ()) if callee else ():
                names = params[1:] if (is_method and via_attribute) else params
                if names:
                    args = [*call.args, *(k.value for k in call.keywords)]
                    bindings.append(_Binding(args, list(names)))
        pending = bindings
        while pending:
            rest_: list[_Binding] = []
            changed = False
            for b in pending:
                if self.mentions_any(b.sources, b.annotation):
                    before = len(facts.names) + len(facts.attrs) + len(facts.methods)
                    facts.names.update(b.names)
                    facts.attrs.update(b.attrs)
                    facts.methods.update(b.methods)
                    if len(facts.names) + len(facts.attrs) + len(facts.methods) != before:
                        changed = True
                else:
                    rest_.append(b)
            if not changed:
                break
            pending = rest_

    def _import_may_be_client(self, qual: str) -> bool:
        if qual.partition(".")[0] in REDIS_LIBS:
            return True
        if self.project is None:
            return True  # no project known: any import may be one
        return self.project.may_be_client(qual)

    # ---- values and annotations ------------------------------------------------------
    def mentions_any(self, exprs: Iterable[ast.expr], annotation: bool = False) -> bool:
        if annotation:
            return any(self.annotation(e) for e in exprs)
        return any(self.value(e) for e in exprs)

    def mentions(self, expr: ast.expr, annotation: bool = False) -> bool:
        return self.annotation(expr) if annotation else self.value(expr)

    def value(self, expr: ast.expr) -> bool:
        """Can evaluating ``expr`` give a client? (also: a client class, a function
        returning one: what a name bound to it would carry)"""
        facts = self.facts
        if facts.everything:
            return True
        t = type(expr)
        if t is ast.Name:
            return expr.id in facts.names or self._configured(expr.id)  # type: ignore[attr-defined]
        if t is ast.Attribute:
            if expr.attr in facts.attrs or expr.attr in facts.methods:  # type: ignore[attr-defined]
                return True
            chain = dotted(expr)
            return chain is not None and (self._configured(chain) or self._module_attribute(chain))
        if t is ast.Call:
            func = expr.func  # type: ignore[attr-defined]
            if type(func) is ast.Attribute:
                if func.attr in _CLIENT_FROM and self.value(func.value):
                    return True
                if func.attr == "cast" and expr.args:  # type: ignore[attr-defined]
                    return self.annotation(expr.args[0])  # type: ignore[attr-defined]
            elif type(func) is ast.Name and func.id == "cast" and expr.args:  # type: ignore[attr-defined]
                return self.annotation(expr.args[0]) or self.value(func)  # type: ignore[attr-defined]
            return self.value(func)
        if t is ast.BinOp or t is ast.Subscript:  # a type alias: `Redis | None`, `Optional[R]`
            return self.annotation(expr)
        if t is ast.Await or t is ast.Starred or t is ast.NamedExpr:
            return self.value(expr.value)  # type: ignore[attr-defined]
        if t is ast.IfExp:
            return self.value(expr.body) or self.value(expr.orelse)  # type: ignore[attr-defined]
        if t is ast.BoolOp:
            return any(self.value(v) for v in expr.values)  # type: ignore[attr-defined]
        if t is ast.Tuple or t is ast.List:
            return any(self.value(v) for v in expr.elts)  # type: ignore[attr-defined]
        return False

    def annotation(self, expr: ast.expr) -> bool:
        """Does an annotation (or a class's bases) name anything possibly a client?"""
        facts = self.facts
        if facts.everything:
            return True
        for node in ast.walk(expr):
            t = type(node)
            if t is ast.Name:
                if node.id in facts.names:  # type: ignore[attr-defined]
                    return True
            elif t is ast.Attribute:
                chain = dotted(node)  # type: ignore[arg-type]
                if chain is not None and self._module_attribute(chain):
                    return True
            elif t is ast.Constant and type(node.value) is str:  # type: ignore[attr-defined]
                if any(w in facts.names for w in _WORD.findall(node.value)):  # type: ignore[attr-defined]
                    return True
        return False

    def _configured(self, chain: str) -> bool:
        return any(fnmatch.fnmatchcase(chain, p) for p in self.patterns)

    def _module_attribute(self, chain: str) -> bool:
        """``conn.client`` where ``conn`` is an imported project module."""
        head, _, rest = chain.partition(".")
        quals = self.module_names.get(head)
        if not quals or not rest:
            return False
        return any(self._import_may_be_client(f"{q}.{rest}") for q in quals)


def module_facts(
    tree: ast.Module | _Collector,
    package: str,
    project: ProjectFacts | None,
    patterns: Sequence[str] = (),
) -> ModuleFacts:
    """The facts of a module (``tree``, or what a ``_Collector`` read of it)."""
    return Taint(tree, package, project, patterns).facts


class ProjectFacts:
    """``ModuleFacts`` of the project's modules, computed on demand from ``ast``.

    ``module_path``: the file of a dotted module under the import roots (the LibCST
    ``ProjectIndex.module_path``, so both resolve the same modules)."""

    def __init__(
        self, module_path: Callable[[str], Path | None], roots: Sequence[Path] = ()
    ) -> None:
        self.module_path = module_path
        self._roots = roots  # the live list of import roots: a new root, new answers
        self._seen_roots = len(roots)
        self._facts: dict[tuple[str, bytes], ModuleFacts] = {}
        self._by_module: dict[str, ModuleFacts | None] = {}
        self._active: set[str] = set()
        #: may the module at this path define a client at all? (the runner answers
        #: with the prefilter's verdict; a module it found irrelevant is never parsed)
        self.may_define: Callable[[Path], bool] = lambda path: True
        self._stack: list[str] = []  # modules being computed, innermost last
        self._readers: dict[str, set[str]] = {}  # module -> modules that read its facts
        self._dirty: set[str] = set()  # modules that read facts still being computed
        self._trees: dict[str, tuple[ModuleFacts, _Collector, str]] = {}
        self.parsed = 0  # ast parses done (for tests and the bench)
        #: (path, digest, package) -> facts: a checked file's, solved by the screen
        self._shared: dict[tuple[str, bytes, str], ModuleFacts] = {}

    def shared(self, key: tuple[str, bytes, str]) -> ModuleFacts | None:
        """The facts of a module already solved with this content and package."""
        return self._shared.get(key)

    def share(self, key: tuple[str, bytes, str], facts: ModuleFacts) -> None:
        """A checked file's facts (solved by the screen at the top level, no
        ``client-names`` patterns): an import of the same module reads them."""
        path = Path(key[0])
        if not self._stack and self.may_define(path):
            self._shared.setdefault(key, facts)

    def module(self, qualname: str) -> ModuleFacts | None:
        """The facts of a project module; None when ``qualname`` is not one.

        Import cycles (common in big packages) are solved as a fixed point: a module
        met again while its facts are being computed answers what it has so far; once
        the outermost module is done, the modules that read such unfinished facts are
        computed again, then the readers of any module whose facts grew, until nothing
        grows (``_settle``)."""
        if not qualname or qualname.partition(".")[0] in REDIS_LIBS:
            return None
        if len(self._roots) != self._seen_roots:
            self._by_module.clear()
            self._seen_roots = len(self._roots)
        current = self._stack[-1] if self._stack else None
        if qualname in self._by_module:
            if current is not None:
                self._readers.setdefault(qualname, set()).add(current)
                if qualname in self._active:
                    self._dirty.add(current)  # it read facts still being computed
            return self._by_module[qualname]
        path = self.module_path(qualname)
        if path is None:
            self._by_module[qualname] = None
            return None
        if current is not None:
            self._readers.setdefault(qualname, set()).add(current)
        self._active.add(qualname)
        self._stack.append(qualname)
        try:
            facts = self._load(path, qualname)
        finally:
            self._active.discard(qualname)
            self._stack.pop()
        if not self._stack:
            self._settle()
        return facts

    def _settle(self) -> None:
        """Recompute the modules that read facts still being computed (an import
        cycle), then those that read a module whose facts grew, until nothing grows."""
        trees, self._trees = self._trees, {}
        work = [q for q in self._dirty if q in trees]
        self._dirty.clear()
        queued = set(work)
        while work:
            q = work.pop()
            queued.discard(q)
            known, tree, package = trees[q]
            self._stack.append(q)
            try:
                grew = known.absorb(module_facts(tree, package, self))
            finally:
                self._stack.pop()
            if grew:
                for reader in self._readers.get(q, ()):
                    if reader in trees and reader not in queued:
                        queued.add(reader)
                        work.append(reader)
        self._readers.clear()

    def _load(self, path: Path, qualname: str) -> ModuleFacts:
        from pipelint.discovery.read import read_regular

        if not self.may_define(path):
            facts = ModuleFacts()  # no Redis anywhere in it or what it imports
            self._by_module[qualname] = facts
            return facts
        try:
            data = read_regular(path)
        except OSError:
            facts = ModuleFacts()  # the LibCST index reads nothing from it either
            self._by_module[qualname] = facts
            return facts
        digest = hashlib.blake2b(data, digest_size=16).digest()
        key = (str(path), digest)
        package = qualname if path.name == "__init__.py" else qualname.rpartition(".")[0]
        hit = self._facts.get(key) or self._shared.get((str(path), digest, package))
        if hit is not None:
            self._by_module[qualname] = hit
            return hit
        facts = ModuleFacts()
        self._by_module[qualname] = facts  # what a cycle back to it sees meanwhile
        self._facts[key] = facts
        self._shared.setdefault((str(path), digest, package), facts)
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            facts.everything = True  # LibCST may still read it: assume the worst
            return facts
        self.parsed += 1
        collector = _Collector(package)
        collector.module(tree)
        self._trees[qualname] = (facts, collector, package)  # a cycle solves it again
        facts.absorb(module_facts(collector, package, self))
        return facts

    def class_facts(self, qualname: str, depth: int = 0) -> ModuleFacts:
        """The attributes a project class ``app.base.Base`` may give its subclasses:
        those of its module, following re-exports (``from .base import Base``)."""
        out = ModuleFacts()
        parts = qualname.split(".")
        if parts[0] in REDIS_LIBS or depth > 8:
            return out
        for i in range(len(parts) - 1, 0, -1):
            facts = self.module(".".join(parts[:i]))
            if facts is None:
                continue
            if facts.everything:
                return EVERYTHING
            out.attrs |= facts.attrs
            out.methods |= facts.methods
            for q in facts.imports.get(parts[i], ()):
                sub = self.class_facts(".".join([q, *parts[i + 1 :]]), depth + 1)
                if sub.everything:
                    return EVERYTHING
                out.attrs |= sub.attrs
                out.methods |= sub.methods
            break
        return out

    def may_be_client(self, qualname: str) -> bool:
        """Can ``qualname`` (``app.conn.client``) name a client, a client class, a
        function returning one, or a class with client attributes, in a project module?
        (Only project modules: anything else is not known to the LibCST index.)"""
        parts = qualname.split(".")
        if parts[0] in REDIS_LIBS:
            return True
        for i in range(len(parts) - 1, 0, -1):
            facts = self.module(".".join(parts[:i]))
            if facts is not None and facts.may_export(parts[i]):
                return True
        return False


def configured_roots(roots: Sequence[Path]) -> Callable[[str], Path | None]:
    """A ``module_path`` over fixed roots (when no LibCST ``ProjectIndex`` is at hand)."""

    def module_path(module: str) -> Path | None:
        rel = Path(*module.split("."))
        for root in roots:
            for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
                if os.path.isfile(candidate):
                    return candidate
        return None

    return module_path
