"""Facts about expressions and simple statements: names read and written, calls
made, and whether evaluating them can matter to Redis.

A call is *pure* when it cannot touch Redis or observable state that a Redis
command could depend on (``str``, ``json.dumps``, ``f"..."``, string methods,
``time.time``...). *Benign* calls have effects that do not interact with Redis
(logging, ``print``). Anything else is *opaque*: it may use a client we cannot
see, so the dependency analysis treats it as a barrier.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import libcst as cst

from pipelint.clients.scopes import Scope, dotted_name, iter_children

__all__ = ["ExprFacts", "scan", "names_overlap", "target_names", "simple_target"]

PURE_BUILTINS = frozenset(
    {
        "abs", "all", "any", "ascii", "bin", "bool", "bytearray", "bytes", "chr", "dict",
        "divmod", "enumerate", "filter", "float", "format", "frozenset", "hasattr", "hash",
        "hex", "id", "int", "isinstance", "issubclass", "iter", "len", "list", "map", "max",
        "min", "oct", "ord", "pow", "range", "repr", "reversed", "round", "set", "slice",
        "sorted", "str", "sum", "tuple", "type", "zip",
    }
)  # fmt: skip

PURE_QUALNAMES = frozenset(
    {
        "json.dumps", "json.loads", "time.time", "time.monotonic", "time.perf_counter",
        "time.time_ns", "time.monotonic_ns", "uuid.uuid4", "uuid.uuid1", "uuid.UUID",
        "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.fromtimestamp",
        "datetime.timedelta", "datetime.date.today", "pickle.dumps", "pickle.loads",
        "base64.b64encode", "base64.b64decode", "hashlib.sha1", "hashlib.sha256", "hashlib.md5",
        "math.ceil", "math.floor", "os.getpid", "socket.gethostname", "random.random",
        "random.randint", "secrets.token_hex", "secrets.token_urlsafe", "dataclasses.asdict",
        "orjson.dumps", "orjson.loads", "msgpack.packb", "msgpack.unpackb", "ujson.dumps",
        "ujson.loads", "str.encode", "decimal.Decimal", "functools.partial",
    }
)  # fmt: skip
# Modules/classes whose every function we accept as pure.
PURE_PREFIXES = ("math.", "operator.", "string.", "itertools.", "datetime.", "base64.", "hashlib.")

PURE_METHODS = frozenset(
    {
        "format", "encode", "decode", "join", "lower", "upper", "strip", "lstrip", "rstrip",
        "split", "rsplit", "replace", "startswith", "endswith", "hexdigest", "digest",
        "isoformat", "timestamp", "total_seconds", "casefold", "title", "zfill", "ljust",
        "rjust", "partition", "rpartition", "splitlines", "isdigit", "isnumeric", "count",
        "find", "removeprefix", "removesuffix", "strftime", "model_dump_json", "model_dump",
        "to_bytes", "from_bytes", "bit_length", "is_integer", "hex",
    }
)  # fmt: skip

LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log", "fatal"}
)


#: modules whose loggers only log
_LOG_ROOTS = ("logging", "structlog", "loguru")


def _is_log_qual(qual: str | None) -> bool:
    return qual is not None and qual.split(".", 1)[0] in _LOG_ROOTS


@dataclass
class ExprFacts:
    """What evaluating some code reads, writes and calls."""

    reads: set[str] = field(default_factory=set)
    writes: set[str] = field(default_factory=set)
    calls: list[cst.Call] = field(default_factory=list)
    opaque: bool = False  # an opaque call, yield, await, lambda call...
    has_await: bool = False
    has_yield: bool = False

    def merge(self, other: ExprFacts) -> None:
        self.reads |= other.reads
        self.writes |= other.writes
        self.calls.extend(other.calls)
        self.opaque |= other.opaque
        self.has_await |= other.has_await
        self.has_yield |= other.has_yield


def names_overlap(a: str, b: str) -> bool:
    """``self.x`` overlaps ``self.x.y`` and ``self``; ``ab`` does not overlap ``a``."""
    if a == b:
        return True
    if len(a) < len(b):
        return b.startswith(a) and b[len(a)] == "."
    return a.startswith(b) and a[len(b)] == "."


def target_names(target: cst.BaseExpression) -> Iterator[str]:
    """Names (dotted) that assigning to ``target`` rebinds or mutates."""
    if isinstance(target, (cst.Tuple, cst.List)):
        for el in target.elements:
            yield from target_names(el.value)
    elif isinstance(target, cst.StarredElement):
        yield from target_names(target.value)
    elif isinstance(target, cst.Subscript):
        base = dotted_name(target.value)
        if base is not None:
            yield base
    else:
        name = dotted_name(target)
        if name is not None:
            yield name


def simple_target(target: cst.BaseExpression) -> bool:
    """Targets we can re-bind later without re-ordering side effects."""
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(simple_target(el.value) for el in target.elements)
    if isinstance(target, cst.StarredElement):
        return simple_target(target.value)
    if isinstance(target, cst.Subscript):
        if dotted_name(target.value) is None:
            return False
        for el in target.slice:
            if not isinstance(el.slice, cst.Index):
                return False
            if not isinstance(
                el.slice.value, (cst.Name, cst.SimpleString, cst.Integer, cst.Attribute)
            ):
                return False
        return True
    return dotted_name(target) is not None


class Scanner:
    """Scans expressions in one scope; classifies calls as pure, benign or opaque."""

    def __init__(self, scope: Scope, qualname: object) -> None:
        self.scope = scope
        self._qualname = qualname  # callable(expr, scope) -> str | None

    def call_kind(self, call: cst.Call) -> str:
        """ "pure" | "benign" | "opaque"."""
        func = call.func
        if isinstance(func, cst.Name):
            if func.value in PURE_BUILTINS and self.scope.lookup_scope(func.value) is None:
                return "pure"
            if func.value == "print" and self.scope.lookup_scope("print") is None:
                return "benign"
        qual = self._qualname(func, self.scope)  # type: ignore[operator]
        if qual is not None and (qual in PURE_QUALNAMES or qual.startswith(PURE_PREFIXES)):
            return "pure"
        if isinstance(func, cst.Attribute):
            method = func.attr.value
            if method in LOG_METHODS and (_is_log_qual(qual) or self._is_logger(func.value)):
                return "benign"
            if method in PURE_METHODS and qual is None and not self._is_instance(func.value):
                return "pure"
        return "opaque"

    def _is_instance(self, owner: cst.BaseExpression) -> bool:
        """Is ``owner`` known to be an instance of a class of this module (whose
        ``count``/``upper``... are its own methods, not ``str``'s)?"""
        if not isinstance(owner, cst.Name):
            return False
        b = self.scope.sole_binding(owner.value)
        if b is None or b.kind != "assign" or not isinstance(b.value, cst.Call):
            return False
        func = b.value.func
        if not isinstance(func, cst.Name):
            return False
        cls = b.scope.sole_binding(func.value)
        return cls is not None and cls.kind == "class"

    def _is_logger(self, owner: cst.BaseExpression) -> bool:
        """Is ``owner`` known to be a logger: bound to ``logging.getLogger(...)`` (or
        structlog's), here or as an attribute of ``self``/the class? Its name says
        nothing (``changelog.info(...)`` may be anything)."""
        bindings = []
        if isinstance(owner, cst.Name):
            b = self.scope.sole_binding(owner.value)
            bindings = [b] if b is not None else []
        elif (
            isinstance(owner, cst.Attribute)
            and isinstance(owner.value, cst.Name)
            and owner.value.value in ("self", "cls")
        ):
            fn = self.scope.enclosing_function()
            cls = fn.method_of if fn is not None else None
            if cls is not None:
                name = owner.attr.value
                bindings = [*cls.attributes.get(name, []), *cls.bindings.get(name, [])]
        if not bindings:
            return False
        for b in bindings:
            if b.kind == "import":
                if not _is_log_qual(b.qualname):
                    return False
                continue
            value = b.value
            if b.kind != "assign" or not isinstance(value, cst.Call):
                return False
            qual = self._qualname(value.func, b.scope)  # type: ignore[operator]
            if not _is_log_qual(qual):
                return False
        return True

    def scan(self, node: cst.CSTNode, facts: ExprFacts | None = None) -> ExprFacts:
        facts = facts if facts is not None else ExprFacts()
        stack: list[cst.CSTNode] = [node]
        while stack:
            n = stack.pop()
            if isinstance(n, (cst.Name, cst.Attribute)):
                dotted = dotted_name(n)
                if dotted is not None:
                    facts.reads.add(dotted)
                    continue
                if isinstance(n, cst.Attribute):
                    stack.append(n.value)
                    continue
                continue
            if isinstance(n, cst.Call):
                facts.calls.append(n)
                if self.call_kind(n) == "opaque":
                    facts.opaque = True
            elif isinstance(n, cst.Await):
                facts.has_await = True
            elif isinstance(n, cst.Yield):
                facts.has_yield = True
            elif isinstance(n, cst.NamedExpr):
                facts.writes.update(target_names(n.target))
            elif isinstance(n, cst.Arg):
                stack.append(n.value)
                continue
            elif isinstance(n, (cst.SimpleString, cst.Integer, cst.Float)):
                continue
            stack.extend(iter_children(n))
        return facts


def scan(node: cst.CSTNode, scope: Scope, qualname: object) -> ExprFacts:
    return Scanner(scope, qualname).scan(node)
