"""Is this receiver a redis-py client? Sync or asyncio? Standalone or cluster?

Evidence, never guesses from method names:
- a constructor resolved through imports and aliases (``redis.Redis(...)``,
  ``redis.asyncio.from_url``, ``RedisCluster``, ``Sentinel(...).master_for``,
  ``django_redis.get_redis_connection``, the ``valkey`` equivalents);
- an annotation (also string annotations, ``Optional[...]``, ``X | None``);
- ``self.x = <client>`` in any method of the class (or ``x: Redis`` in its body);
- a function whose return annotation or every ``return`` is a client;
- a module-level client imported from another module of the checked project;
- a configured ``client-names`` pattern.

A name bound several times is a client only when every binding is one (a
``None`` placeholder aside). Anything else is "not known to be a client".
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst

from pipelint.clients import callsites, factories
from pipelint.clients.scopes import Binding, Scope, ScopeIndex, dotted_name

__all__ = [
    "ClientInfo",
    "Resolver",
    "normalize_qualname",
    "CLIENT_TYPES",
    "PIPELINE_TYPES",
]


@dataclass(frozen=True)
class ClientInfo:
    """What we know of a client. ``is_async`` None: unknown (configured name)."""

    is_async: bool | None
    cluster: bool
    evidence: str
    # a client or a pipeline (``Redis | Pipeline``, ``pipeline if pipeline is not None
    # else self.redis``): only the client path pays round trips; ``receiver`` admits it
    # only when asked to (``admit_pipeline``)
    or_pipeline: bool = False


_SYNC = (False, False)
_ASYNC = (True, False)
_SYNC_CLUSTER = (False, True)
_ASYNC_CLUSTER = (True, True)

#: Classes whose instances are clients: qualname -> (is_async, cluster)
CLIENT_TYPES: dict[str, tuple[bool, bool]] = {
    "redis.Redis": _SYNC,
    "redis.StrictRedis": _SYNC,
    "redis.client.Redis": _SYNC,
    "redis.client.StrictRedis": _SYNC,
    "redis.RedisCluster": _SYNC_CLUSTER,
    "redis.cluster.RedisCluster": _SYNC_CLUSTER,
    "redis.asyncio.Redis": _ASYNC,
    "redis.asyncio.StrictRedis": _ASYNC,
    "redis.asyncio.client.Redis": _ASYNC,
    "redis.asyncio.client.StrictRedis": _ASYNC,
    "redis.asyncio.RedisCluster": _ASYNC_CLUSTER,
    "redis.asyncio.cluster.RedisCluster": _ASYNC_CLUSTER,
}

#: Pipelines are not clients: commands on them are queued, not sent.
PIPELINE_TYPES = {
    "redis.client.Pipeline",
    "redis.asyncio.client.Pipeline",
    "redis.cluster.ClusterPipeline",
    "redis.asyncio.cluster.ClusterPipeline",
}

_CONSTRUCTOR_SUFFIXES = ("", ".from_url", ".from_pool")
#: Callables that return a client: qualname -> (is_async, cluster)
CONSTRUCTORS: dict[str, tuple[bool, bool]] = {
    f"{cls}{suffix}": kind for cls, kind in CLIENT_TYPES.items() for suffix in _CONSTRUCTOR_SUFFIXES
}
CONSTRUCTORS.update(
    {
        "redis.from_url": _SYNC,
        "redis.client.from_url": _SYNC,
        "redis.utils.from_url": _SYNC,
        "redis.asyncio.from_url": _ASYNC,
        "redis.asyncio.client.from_url": _ASYNC,
        "redis.asyncio.utils.from_url": _ASYNC,
        "django_redis.get_redis_connection": _SYNC,
        "flask_redis.FlaskRedis": _SYNC,
    }
)
#: Sentinel classes: ``Sentinel(...).master_for(...)`` / ``.slave_for(...)`` is a client.
SENTINEL_TYPES: dict[str, bool] = {
    "redis.Sentinel": False,
    "redis.sentinel.Sentinel": False,
    "redis.asyncio.Sentinel": True,
    "redis.asyncio.sentinel.Sentinel": True,
}
_SENTINEL_METHODS = {"master_for", "slave_for"}

_VALKEY_CLASSES = {
    "Valkey": "Redis",
    "StrictValkey": "StrictRedis",
    "ValkeyCluster": "RedisCluster",
}
_ALIASES = (
    ("valkey.", "redis."),
    ("aioredis.", "redis.asyncio."),
)


def normalize_qualname(qual: str) -> str:
    """Map the valkey and aioredis spellings onto redis-py's."""
    if qual == "valkey":
        return "redis"
    if qual == "aioredis":
        return "redis.asyncio"
    for old, new in _ALIASES:
        if qual.startswith(old):
            qual = new + qual[len(old) :]
            if old == "valkey.":
                parts = [_VALKEY_CLASSES.get(p, p) for p in qual.split(".")]
                qual = ".".join(parts)
            break
    return qual


_MISSING = object()

# A sentinel for "bound to None": neutral when other bindings are clients.
_NONE = ClientInfo(None, False, "none")
# A sentinel for "a redis-py pipeline": alone it is not a client; merged with a client it
# makes the client ``or_pipeline``.
_PIPELINE = ClientInfo(None, False, "pipeline")

#: ``lookup(qualname, mode)`` into other project modules. mode: "value" (a module-level
#: client), "call" (a function returning one, or a client subclass), "type" (a client
#: subclass), "attr:NAME" (attribute NAME of a class there, for inherited attributes).
ProjectLookup = Callable[[str, str], "ClientInfo | None"]


def _merge(infos: Sequence[ClientInfo]) -> ClientInfo | None:
    infos = [i for i in infos if i is not _NONE]
    pipeline = any(i is _PIPELINE for i in infos)
    infos = [i for i in infos if i is not _PIPELINE]
    if not infos:
        return None
    first = infos[0]
    is_async = first.is_async if all(i.is_async == first.is_async for i in infos) else None
    or_pipeline = pipeline or any(i.or_pipeline for i in infos)
    return ClientInfo(is_async, any(i.cluster for i in infos), first.evidence, or_pipeline)


def _is_none(expr: cst.BaseExpression | None) -> bool:
    return isinstance(expr, cst.Name) and expr.value == "None"


class Resolver:
    """Answers "is this expression a Redis client?" for one module."""

    def __init__(
        self,
        index: ScopeIndex,
        client_names: Sequence[str] = (),
        project: ProjectLookup | None = None,
    ) -> None:
        self.index = index
        self.patterns = tuple(client_names)
        self.project = project
        self._names: dict[tuple[int, str], ClientInfo | None] = {}
        self._attrs: dict[tuple[int, str], ClientInfo | None] = {}
        self._funcs: dict[int, ClientInfo | None] = {}
        self._active: set[tuple[int, str]] = set()
        self._dotted: dict[tuple[int, str], ClientInfo | None] = {}
        self._callsites: callsites.CallSites | None = None

    # ---- public --------------------------------------------------------------------
    def receiver(
        self, expr: cst.BaseExpression, scope: Scope, *, admit_pipeline: bool = False
    ) -> ClientInfo | None:
        """The client a method is called on, or None when not known to be one. A receiver
        that may be a pipeline instead (``or_pipeline``), or an item of a cache of clients
        (``self._clients[i]``), only with ``admit_pipeline`` (RP101's wider runs, which
        offer no fix for them)."""
        info: ClientInfo | None = None
        if isinstance(expr, (cst.Name, cst.Attribute)):
            dotted = dotted_name(expr)
            if dotted is not None:
                info = self.dotted(dotted, scope)
        elif isinstance(expr, cst.Call):
            info = self.value(expr, scope)
        elif isinstance(expr, cst.Subscript) and admit_pipeline:
            info = self.value(expr, scope)  # `self._clients[i].set(...)`: RP101's wider runs
        if info is not None and info.or_pipeline and not admit_pipeline:
            return None
        return info

    def dotted(self, dotted: str, scope: Scope) -> ClientInfo | None:
        """Is the name or attribute chain ``dotted`` (``r``, ``self.redis``) a client here?"""
        key = (id(scope), dotted)
        cached = self._dotted.get(key, _MISSING)
        if cached is not _MISSING:
            return cached  # type: ignore[return-value]
        head, _, rest = dotted.partition(".")
        info: ClientInfo | None
        if not rest:
            info = self.name(head, scope)
            if info is None and self.patterns and not self._locally_rebound(head, scope):
                info = self._configured(head)
        else:
            info = None
            fn = scope.enclosing_function()
            if fn is not None and fn.method_of is not None and head == fn.self_name:
                if "." not in rest:
                    info = self.class_attribute(fn.method_of, rest)
            elif self.project is not None:
                qual = self._qualname_dotted(dotted, scope)
                if qual is not None:
                    info = self.project(qual, "value")
            if info is None and self.patterns:
                method = (
                    fn is not None
                    and fn.method_of is not None
                    and head == fn.self_name
                    and "." not in rest
                    and self._is_method(fn.method_of, rest)
                )
                info = None if method else self._configured(dotted)
        self._dotted[key] = info
        return info

    def qualname(self, expr: cst.BaseExpression, scope: Scope) -> str | None:
        """The imported qualified name an expression refers to (``redis.asyncio.Redis``)."""
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        return self._qualname_dotted(dotted, scope)

    def _qualname_dotted(self, dotted: str, scope: Scope) -> str | None:
        head, _, rest = dotted.partition(".")
        target = scope.lookup_scope(head)
        if target is None:
            return None
        binds = target.bindings[head]
        quals = {b.qualname for b in binds if b.kind == "import"}
        if len(quals) != 1 or not all(b.kind == "import" or _placeholder(b) for b in binds):
            return None  # `import redis` twice is fine; `redis = something()` is not
        (qual,) = quals
        assert qual is not None
        full = f"{qual}.{rest}" if rest else qual
        return normalize_qualname(full)

    def annotation(self, ann: cst.BaseExpression | None, scope: Scope) -> ClientInfo | None:
        """The client an annotation declares (``or_pipeline`` when it admits a pipeline
        too); None for anything else, a pipeline alone included."""
        info = self._annotation(ann, scope)
        if info is None or info is _NONE or info is _PIPELINE:
            return None
        return info

    def _annotation(self, ann: cst.BaseExpression | None, scope: Scope) -> ClientInfo | None:
        if ann is None:
            return None
        if isinstance(ann, cst.SimpleString):
            text = ann.evaluated_value
            if not isinstance(text, str):
                return None
            try:
                parsed = cst.parse_expression(text.strip())
            except Exception:  # noqa: BLE001 - a broken string annotation is just unknown
                return None
            return self._annotation(parsed, scope)
        if isinstance(ann, cst.BinaryOperation) and isinstance(ann.operator, cst.BitOr):
            parts = [p for p in (ann.left, ann.right) if not _is_none(p)]
            return _merge_all([self._annotation(p, scope) for p in parts])
        if isinstance(ann, cst.Subscript):
            qual = self.qualname(ann.value, scope) or dotted_name(ann.value) or ""
            elems = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
            tail = qual.rsplit(".", 1)[-1]
            if tail in ("Optional", "Annotated", "Final", "ClassVar") and elems:
                return self._annotation(elems[0], scope)
            if tail == "Union":
                parts = [e for e in elems if not _is_none(e)]
                return _merge_all([self._annotation(p, scope) for p in parts])
            return self._annotation(ann.value, scope)  # Redis[bytes]
        if self.qualname(ann, scope) in PIPELINE_TYPES:
            return _PIPELINE  # `Redis | Pipeline`: see ``or_pipeline``
        alias = self._type_alias(ann, scope)
        if alias is not None:
            return alias
        return self.client_class(ann, scope)

    def _type_alias(self, ann: cst.BaseExpression, scope: Scope) -> ClientInfo | None:
        """``RedisClient: TypeAlias = redis.Redis | RedisCluster`` (or a plain
        ``RedisClient = redis.Redis | None``) used as an annotation."""
        if not isinstance(ann, cst.Name):
            return None
        b = scope.sole_binding(ann.value)
        if b is None or b.kind != "assign" or b.value is None:
            return None
        value = b.value
        is_alias = b.annotation is not None and (dotted_name(b.annotation) or "").endswith(
            "TypeAlias"
        )
        if not is_alias and not isinstance(value, (cst.BinaryOperation, cst.Subscript)):
            return None  # `r = Redis()` is a value, not an alias; `R = Redis` is a class alias
        key = (id(b), f"<alias>{ann.value}")
        if key in self._active:
            return None
        self._active.add(key)
        try:
            return self.annotation(value, b.scope)
        finally:
            self._active.discard(key)

    def client_class(self, expr: cst.BaseExpression, scope: Scope) -> ClientInfo | None:
        """Is ``expr`` (a class reference) a redis-py client class or a subclass of one?"""
        local = self._local_class(expr, scope)
        if local is not None:
            return self.class_is_client(local)
        qual = self.qualname(expr, scope)
        if qual is None:
            return None
        kind = CLIENT_TYPES.get(qual)
        if kind is not None:
            return ClientInfo(kind[0], kind[1], f"type {qual}")
        if self.project is not None:
            return self.project(qual, "type")
        return None

    def _local_class(self, expr: cst.BaseExpression, scope: Scope) -> Scope | None:
        if not isinstance(expr, cst.Name):
            return None
        b = scope.sole_binding(expr.value)
        if b is not None and b.kind == "class":
            return self.index.by_node.get(b.node)  # type: ignore[arg-type]
        return None

    def local_function(self, func: cst.BaseExpression, scope: Scope) -> Scope | None:
        """The scope of the function a call runs, when it is defined in this module
        (``helper()``) or is a method of this class (``self.helper()``)."""
        b: Binding | None = None
        if isinstance(func, cst.Name):
            b = scope.sole_binding(func.value)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            fn = scope.enclosing_function()
            if fn is not None and fn.method_of is not None and func.value.value == fn.self_name:
                binds = fn.method_of.bindings.get(func.attr.value, [])
                b = binds[0] if len(binds) == 1 else None
        if b is not None and b.kind == "def":
            return self.index.by_node.get(b.node)  # type: ignore[arg-type]
        return None

    def _memo(
        self, key: tuple[int, str], compute: Callable[[], ClientInfo | None]
    ) -> ClientInfo | None:
        """``compute()`` once per ``key``; None while it is being computed (recursion)."""
        if key in self._attrs:
            return self._attrs[key]
        if key in self._active:
            return None
        self._active.add(key)
        try:
            info = compute()
        finally:
            self._active.discard(key)
        self._attrs[key] = info
        return info

    def class_is_client(self, cls: Scope) -> ClientInfo | None:
        """A class of this module whose bases make its instances clients."""

        def compute() -> ClientInfo | None:
            for base in cls.base_names:
                info = self.client_class(base, cls.parent or cls)
                if info is not None:
                    return ClientInfo(info.is_async, info.cluster, f"subclass {cls.name}")
            return None

        return self._memo((id(cls), "<client-class>"), compute)

    def value(
        self, expr: cst.BaseExpression, scope: Scope, *, awaited: bool = False
    ) -> ClientInfo | None:
        """Does evaluating ``expr`` give a client?"""
        if isinstance(expr, cst.Await):
            return self.value(expr.expression, scope, awaited=True)
        if isinstance(expr, cst.Name):
            return self.name(expr.value, scope)
        if isinstance(expr, cst.Attribute):
            return self._attribute(expr, scope)
        if isinstance(expr, cst.Call):
            cached = self._cache_get(expr, scope)
            if cached is not None:
                return cached
            return self._call(expr, scope, awaited)
        if isinstance(expr, cst.Subscript):
            if len(expr.slice) != 1 or not isinstance(expr.slice[0].slice, cst.Index):
                return None  # a slice of a list of clients is a list
            return self._cached(expr.value, scope)
        if isinstance(expr, cst.IfExp):
            passed = self._passed_pipeline(expr, scope)
            if passed is not None:
                return passed
            return _merge_all([self.value(expr.body, scope), self.value(expr.orelse, scope)])
        if isinstance(expr, cst.BooleanOperation) and isinstance(expr.operator, cst.Or):
            # `connection or redis.Redis()`: a client, or a parameter that defaults to one
            right = self.value(expr.right, scope)
            if right is None:
                return None
            left = self.value(expr.left, scope)
            if left is not None:
                return _merge([left, right])
            if _is_none(expr.left) or self._untyped_param(expr.left, scope):
                return right
        return None

    def _passed_pipeline(self, expr: cst.IfExp, scope: Scope) -> ClientInfo | None:
        """``pipeline if pipeline is not None else <client>`` (or ``<client> if pipeline
        is None else pipeline``, ``pipeline if pipeline else <client>``) where ``pipeline``
        is a parameter that defaults to None, untyped or typed as a pipeline: the client,
        ``or_pipeline`` (the round trips are paid when no pipeline is passed)."""
        test = expr.test
        name: str | None = None
        client_side: cst.BaseExpression | None = None
        if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
            op = test.comparisons[0].operator
            if isinstance(test.left, cst.Name) and _is_none(test.comparisons[0].comparator):
                name = test.left.value
                if isinstance(op, cst.IsNot):
                    passed_side, client_side = expr.body, expr.orelse
                elif isinstance(op, cst.Is):
                    passed_side, client_side = expr.orelse, expr.body
                else:
                    return None
        elif isinstance(test, cst.Name):
            name, passed_side, client_side = test.value, expr.body, expr.orelse
        if name is None or client_side is None:
            return None
        if not (isinstance(passed_side, cst.Name) and passed_side.value == name):
            return None
        target = scope.lookup_scope(name)
        if target is None:
            return None
        binds = target.bindings[name]
        if len(binds) != 1 or binds[0].kind != "param" or not _is_none(binds[0].value):
            return None
        ann = binds[0].annotation
        if ann is not None and not self._optional_pipeline(ann, binds[0].scope):
            return None
        info = self.value(client_side, scope)
        if info is None:
            return None
        return ClientInfo(info.is_async, info.cluster, info.evidence, True)

    def _optional_pipeline(self, ann: cst.BaseExpression, scope: Scope) -> bool:
        """``Pipeline``, ``Pipeline | None``, ``Optional[Pipeline]``."""
        if isinstance(ann, cst.BinaryOperation) and isinstance(ann.operator, cst.BitOr):
            parts = [p for p in (ann.left, ann.right) if not _is_none(p)]
            return len(parts) == 1 and self._optional_pipeline(parts[0], scope)
        if isinstance(ann, cst.Subscript):
            qual = self.qualname(ann.value, scope) or dotted_name(ann.value) or ""
            elems = [e.slice.value for e in ann.slice if isinstance(e.slice, cst.Index)]
            if qual.rsplit(".", 1)[-1] == "Optional" and len(elems) == 1:
                return self._optional_pipeline(elems[0], scope)
            return False
        return self.qualname(ann, scope) in PIPELINE_TYPES

    def _untyped_param(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        if not isinstance(expr, cst.Name):
            return False
        target = scope.lookup_scope(expr.value)
        if target is None:
            return False
        binds = target.bindings[expr.value]
        return all(b.kind == "param" and b.annotation is None for b in binds)

    def name(self, name: str, scope: Scope) -> ClientInfo | None:
        target = scope.lookup_scope(name)
        if target is None:
            return None
        key = (id(target), name)
        if key in self._names:
            return self._names[key]
        if key in self._active:
            return None
        self._active.add(key)
        try:
            info = self._bindings(target.bindings[name])
        finally:
            self._active.discard(key)
        self._names[key] = info
        return info

    def is_pipeline_type(self, ann: cst.BaseExpression | None, scope: Scope) -> bool:
        return ann is not None and self.qualname(ann, scope) in PIPELINE_TYPES

    # ---- internals -----------------------------------------------------------------
    def _configured(self, dotted: str) -> ClientInfo | None:
        for pattern in self.patterns:
            if pattern_matches(pattern, dotted):
                return ClientInfo(None, False, f"client-names {pattern!r}")
        return None

    def _locally_rebound(self, name: str, scope: Scope) -> bool:
        """A configured name reassigned in this function to something that is not a
        client, or a function or class wherever it is defined (``_decode_redis_value``
        is not named by ``*redis*``: a function is never a client)."""
        target = scope.lookup_scope(name)
        if target is None:
            return False
        if any(b.kind in ("def", "class") for b in target.bindings[name]):
            return True
        if target is not scope:
            return False
        return any(b.kind in ("assign", "with", "other", "import") for b in target.bindings[name])

    def _is_method(self, cls: Scope, attr: str) -> bool:
        """``self.<attr>`` is a plain method of the class (``self._client`` with ``def
        _client(self)``): a pattern such as ``*client*`` does not name it. A property
        (any decorated method) may well give a client: the pattern still names it."""
        return any(
            b.kind == "def" and isinstance(b.node, cst.FunctionDef) and not b.node.decorators
            for b in cls.bindings.get(attr, ())
        )

    def _bindings(self, binds: Sequence[Binding]) -> ClientInfo | None:
        declared = [b for b in binds if b.annotation is not None and b.kind in ("assign", "param")]
        if declared:
            # a declared type holds for every assignment (`_client: Redis | None` in the
            # class body, assigned from a factory elsewhere), as for a type checker
            return _merge_all([self.annotation(b.annotation, b.scope) for b in declared])
        infos: list[ClientInfo] = []
        for b in binds:
            info = self._binding(b)
            if info is None:
                return None
            infos.append(info)
        return _merge(infos)

    def _binding(self, b: Binding) -> ClientInfo | None:
        if b.kind == "import":
            if self.project is not None and b.qualname:
                return self.project(normalize_qualname(b.qualname), "value")
            return None
        if b.kind == "param":
            if b.annotation is None and b.value is not None and not _is_none(b.value):
                # `def f(r=redis.Redis())`: the default says what is expected; evaluated
                # in the scope that defines the function
                return self.value(b.value, b.scope.parent or b.scope)
            if b.annotation is None and b.value is None and isinstance(b.node, cst.Param):
                return self._passed(b.scope, b.node.name.value)
            return self.annotation(b.annotation, b.scope)
        if b.kind == "assign":
            if b.annotation is not None:
                return self.annotation(b.annotation, b.scope)
            if b.value is None or _is_none(b.value):
                return _NONE
            return self.value(b.value, b.scope)
        if b.kind == "with":
            assert b.value is not None
            yielded = self._context_manager_call(b.value, b.scope)
            if yielded is not None:
                return yielded
            return self.value(b.value, b.scope)
        return None

    def _context_manager_call(self, expr: cst.BaseExpression, scope: Scope) -> ClientInfo | None:
        """``with self.acquire() as c`` where ``acquire`` is a ``@contextmanager`` (or
        ``@asynccontextmanager``) of this module that yields a client."""
        if not isinstance(expr, cst.Call):
            return None
        fn_scope = self.local_function(expr.func, scope)
        if fn_scope is None or not isinstance(fn_scope.node, cst.FunctionDef):
            return None
        if factories.context_manager_kind(fn_scope.node) is None:
            return None
        return self._memo((id(fn_scope), "<yield>"), lambda: self._yielded(fn_scope))

    def _yielded(self, fn_scope: Scope) -> ClientInfo | None:
        values = factories.yielded_values(fn_scope.node)  # type: ignore[arg-type]
        if values is None:
            return None
        infos: list[ClientInfo] = []
        for v in values:
            if self._untyped_param(v, fn_scope) and self._defaults_to_none(v, fn_scope):
                continue  # `if client: yield client else: yield Redis()`, as `client or ...`
            one = self.value(v, fn_scope)
            if one is None:
                return None
            infos.append(one)
        return _merge(infos) if infos else None

    def _defaults_to_none(self, expr: cst.BaseExpression, scope: Scope) -> bool:
        if not isinstance(expr, cst.Name):
            return False
        b = scope.sole_binding(expr.value)
        return b is not None and b.kind == "param" and _is_none(b.value)

    def _passed(self, fn: Scope, param: str) -> ClientInfo | None:
        """An untyped parameter of a private function of this module that every call
        of it passes a client to (see clients/callsites.py)."""
        if self._callsites is None:
            self._callsites = callsites.CallSites(self.index)
        calls = self._callsites.calls_of(fn)
        if calls is None:
            return None
        infos: list[ClientInfo] = []
        for call, where in calls:
            arg = callsites.argument_for(call, fn, param)
            one = None if arg is None else self.value(arg, where)
            if one is None or one is _NONE:
                return None
            infos.append(one)
        return _merge(infos)

    def _cache_get(self, call: cst.Call, scope: Scope) -> ClientInfo | None:
        """``self._clients.get(key)`` on a cache of clients (see ``_cached``)."""
        func = call.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "get"):
            return None
        if not 1 <= len(call.args) <= 2 or any(a.keyword or a.star for a in call.args):
            return None
        if len(call.args) == 2 and not _is_none(call.args[1].value):
            return None
        return self._cached(func.value, scope)

    def _cached(self, container: cst.BaseExpression, scope: Scope) -> ClientInfo | None:
        """An item of ``self.<attr>``, a dict or list of this class that only ever holds
        clients: created empty or from clients, filled only with clients
        (``self._clients[i] = Redis(...)``), and touched no other way."""
        dotted = dotted_name(container)
        fn = scope.enclosing_function()
        if dotted is None or fn is None or fn.method_of is None or fn.self_name is None:
            return None
        head, _, attr = dotted.partition(".")
        if head != fn.self_name or not attr or "." in attr:
            return None
        cls = fn.method_of
        return self._memo((id(cls), f"<items:{attr}>"), lambda: self._items(cls, attr))

    def _items(self, cls: Scope, attr: str) -> ClientInfo | None:
        binds = cls.attributes.get(attr)
        if not binds:
            return None
        values: list[tuple[cst.BaseExpression, Scope]] = []
        for b in binds:
            if b.kind != "assign" or b.value is None:
                return None
            items = factories.container_items(b.value)
            if items is None:
                return None
            values.extend((v, b.scope) for v in items)
        for method in cls.node.body.body if isinstance(cls.node, cst.ClassDef) else ():
            if not isinstance(method, cst.FunctionDef):
                continue
            fn_scope = self.index.by_node.get(method)
            if fn_scope is None or fn_scope.self_name is None:
                continue
            stored = factories.stored_items(method, f"{fn_scope.self_name}.{attr}")
            if stored is None:
                return None
            values.extend((v, fn_scope) for v in stored)
        infos: list[ClientInfo] = []
        for v, where in values:
            one = self.value(v, where)
            if one is None:
                return None
            infos.append(one)
        return _merge(infos) if infos else None

    def _property(self, cls: Scope, attr: str) -> ClientInfo | None:
        """``@property def redis(self): return ...``: what ``self.redis`` gives."""
        getters = [
            b
            for b in cls.bindings.get(attr, [])
            if b.kind == "def"
            and isinstance(b.node, cst.FunctionDef)
            and factories.property_kind(b.node)
        ]
        if len(getters) != 1:
            return None
        fn_scope = self.index.by_node.get(getters[0].node)  # type: ignore[arg-type]
        if fn_scope is None or fn_scope.is_async:
            return None
        return self._function_returns(fn_scope)

    def _attribute(self, expr: cst.Attribute, scope: Scope) -> ClientInfo | None:
        dotted = dotted_name(expr)
        if dotted is None:
            return None
        info = self.dotted(dotted, scope)
        if info is not None and info.evidence.startswith("client-names"):
            return None  # a configured name is a receiver, not evidence for a value
        return info

    def class_attribute(self, cls: Scope, attr: str, depth: int = 0) -> ClientInfo | None:
        key = (id(cls), attr)
        if key in self._attrs:
            return self._attrs[key]
        if key in self._active or depth > 5:
            return None
        self._active.add(key)
        try:
            binds = cls.attributes.get(attr)
            if binds:
                info = self._bindings(binds)
            elif attr in cls.bindings:
                info = self._property(cls, attr)
            else:
                info = None
                for base in cls.base_names:
                    base_cls = self._local_class(base, cls.parent or cls)
                    if base_cls is not None:
                        info = self.class_attribute(base_cls, attr, depth + 1)
                    elif self.project is not None:
                        qual = self.qualname(base, cls.parent or cls)
                        if qual is not None:
                            info = self.project(qual, f"attr:{attr}")
                    if info is not None:
                        break
        finally:
            self._active.discard(key)
        self._attrs[key] = info
        return info

    def _call(self, call: cst.Call, scope: Scope, awaited: bool) -> ClientInfo | None:
        func = call.func
        qual = self.qualname(func, scope)
        if qual is not None:
            kind = CONSTRUCTORS.get(qual)
            if kind is not None:
                return ClientInfo(kind[0], kind[1], f"constructor {qual}")
            if qual == "typing.cast" and call.args:
                return self.annotation(call.args[0].value, scope)
        cls_ref = func
        if isinstance(func, cst.Attribute) and func.attr.value in ("from_url", "from_pool"):
            cls_ref = func.value
        local = self._local_class(cls_ref, scope)
        if local is not None:
            return self.class_is_client(local)
        if cls_ref is not func and self.project is not None:
            cls_qual = self.qualname(cls_ref, scope)
            if cls_qual is not None and cls_qual not in CLIENT_TYPES:
                return self.project(cls_qual, "type")
        if isinstance(func, cst.Attribute) and func.attr.value in _SENTINEL_METHODS:
            is_async = self._sentinel(func.value, scope)
            if is_async is not None:
                return ClientInfo(is_async, False, "Sentinel.master_for")
        # a function of this module (or a method on self) that returns a client
        fn_scope = self.local_function(func, scope)
        if fn_scope is not None:
            if fn_scope.is_async and not awaited:
                return None
            return self._function_returns(fn_scope)
        if qual is not None and self.project is not None:
            return self.project(qual, "call")
        return None

    def _sentinel(self, expr: cst.BaseExpression, scope: Scope) -> bool | None:
        if isinstance(expr, cst.Call):
            qual = self.qualname(expr.func, scope)
            return SENTINEL_TYPES.get(qual or "")
        if isinstance(expr, cst.Name):
            target = scope.lookup_scope(expr.value)
            if target is None:
                return None
            kinds = set()
            for b in target.bindings[expr.value]:
                if b.kind == "assign" and isinstance(b.value, cst.Call):
                    kinds.add(SENTINEL_TYPES.get(self.qualname(b.value.func, b.scope) or ""))
                elif b.kind == "param" and b.annotation is not None:
                    kinds.add(SENTINEL_TYPES.get(self.qualname(b.annotation, b.scope) or ""))
                else:
                    return None
            if len(kinds) == 1:
                return kinds.pop()
        return None

    def function_returns(self, fn_scope: Scope) -> ClientInfo | None:
        return self._function_returns(fn_scope)

    def _function_returns(self, fn_scope: Scope) -> ClientInfo | None:
        key = id(fn_scope)
        if key in self._funcs:
            return self._funcs[key]
        akey = (key, "<return>")
        if akey in self._active:
            return None
        self._active.add(akey)
        try:
            if fn_scope.return_annotation is not None:
                info = self.annotation(fn_scope.return_annotation, fn_scope.parent or fn_scope)
            elif fn_scope.returns:
                infos: list[ClientInfo] = []
                info = None
                for ret in fn_scope.returns:
                    if _is_none(ret):
                        continue
                    one = self.value(ret, fn_scope)
                    if one is None:
                        infos = []
                        break
                    infos.append(one)
                info = _merge(infos) if infos else None
            else:
                info = None
        finally:
            self._active.discard(akey)
        self._funcs[key] = info
        return info


def _placeholder(b: Binding) -> bool:
    """``Redis = object`` / ``= None`` in an ``except ImportError`` fallback."""
    return (
        b.kind == "assign" and isinstance(b.value, cst.Name) and b.value.value in ("object", "None")
    )


def _merge_all(infos: Sequence[ClientInfo | None]) -> ClientInfo | None:
    if not infos or any(i is None for i in infos):
        return None
    return _merge([i for i in infos if i is not None])


def pattern_matches(pattern: str, dotted: str) -> bool:
    """Does a ``client-names`` pattern name the receiver ``dotted``?

    The pattern matches the whole chain (fnmatch: ``*_redis`` names ``cache_redis`` and
    ``self._redis``, ``self.redis`` only that) *and* its last component matches the
    receiver's last one: the pattern must name the receiver itself, not an object it
    hangs from, so ``*client*`` does not make ``client.profiling`` (a dict on a client)
    a client, nor ``*conn*`` ``self.conn.queues``.
    """
    return fnmatch.fnmatchcase(dotted, pattern) and fnmatch.fnmatchcase(
        dotted.rpartition(".")[2], pattern.rpartition(".")[2]
    )
