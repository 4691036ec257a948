"""Atomicity facts: commands on one key and what flows between them (RP201-RP203).

Built on the command extraction of ``runs.py`` (the ``Command`` of every command
statement) and on client resolution. Every block that holds commands is read as a
sequence of *steps*: command statements, ``if`` statements, simple statements
(pure, or calling code we cannot see into) and barriers (anything else: loops,
``try``, ``with``, another client use, ``return``...). From the steps:

- :class:`ReadModifyWrite` (RP201): a command reads a key, the code computes, and a
  later command on the same client writes the same key, with a value (or under a
  condition) derived from the reply; plus the shapes Redis has one command for:
  ``EXISTS`` guarding a ``SET`` (``SET NX``), ``GET`` then ``DEL`` (``GETDEL``),
  ``GET`` then ``SET`` of another value whose old value is used (``SET ... GET``),
  a popped element pushed to a list (``LMOVE``), ``GET`` compared then ``DEL``
  (compare-and-delete).
- :class:`SetExpire` (RP202): a command that creates or overwrites a key followed by
  ``EXPIRE``/``PEXPIRE``/``EXPIREAT``/``PEXPIREAT`` on the same key.
- :class:`Chain` (RP203): three or more commands on one client where each one's key
  or arguments come from an earlier one's reply.

Keys are "the same" when their expressions are the same code, that code is
deterministic (names, attributes, literals, f-strings, ``+``/``%``, ``str()``...), and
no name it reads is rebound in between. No fact is recorded inside a ``with`` on a
lock, or in a function that uses ``WATCH``/``MULTI``, ``transaction()``, ``lock()`` or
``acquire()``: that code already controls concurrency its own way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import libcst as cst

from pipelint import catalog
from pipelint.analysis.exprs import Scanner, names_overlap, target_names
from pipelint.analysis.flow import Sym, counter_of, replies_in, same_expr, sym_of
from pipelint.analysis.model import Command
from pipelint.catalog import CommandSpec
from pipelint.clients.resolve import ClientInfo
from pipelint.clients.scopes import Scope, iter_children

if TYPE_CHECKING:
    from pipelint.analysis.runs import _ClientCall, _Walker

__all__ = [
    "AtomicFacts",
    "Chain",
    "ReadModifyWrite",
    "SetExpire",
    "find_atomic",
    "key_expr",
    "call_arg",
    "TTL_METHODS",
]

#: expire-like commands and the SET option each one becomes
TTL_METHODS: dict[str, str] = {
    "expire": "ex",
    "pexpire": "px",
    "expireat": "exat",
    "pexpireat": "pxat",
}
#: writes that add to a value rather than replace it
RELATIVE_WRITES = frozenset(
    {"incr", "incrby", "incrbyfloat", "decr", "decrby", "hincrby", "hincrbyfloat", "zincrby",
     "lpush", "rpush", "append", "sadd", "zadd"}
)  # fmt: skip
_POPS = frozenset({"lpop", "rpop"})
_PUSHES = frozenset({"lpush", "rpush"})
#: writes that cannot create a key, or whose TTL handling is their own
_NOT_CREATING = frozenset(
    {*TTL_METHODS, "persist", "getex", "setex", "psetex", "move", "restore", "lset", "linsert",
     "lpushx", "rpushx", "xack", "xclaim", "xgroup_setid", "xgroup_create",
     "xgroup_createconsumer", "xgroup_delconsumer", "xgroup_destroy", "getset"}
)  # fmt: skip
_LOCKISH = ("lock", "mutex", "semaphore")
_CONCURRENCY_CALLS = frozenset({"watch", "multi", "transaction", "lock", "acquire"})


@dataclass(eq=False)
class Site:
    """Where a fact lives: statements ``start..end`` (inclusive) of ``block``."""

    block: Sequence[cst.BaseStatement]
    start: int
    end: int
    scope: Scope
    # (block, index) of every enclosing statement, innermost last
    outer: tuple[tuple[Sequence[cst.BaseStatement], int], ...] = ()
    in_loop: bool = False

    @property
    def statements(self) -> Sequence[cst.BaseStatement]:
        return self.block[self.start : self.end + 1]


@dataclass(eq=False)
class ReadModifyWrite:
    """A read and a later write of the same key on one client (RP201).

    ``kind``: "counter" (the value written is the read's number plus an amount),
    "derived" (the value, or the condition of a relative write, comes from the read
    through other code), "exists_guard" (``if not r.exists(k): r.set(k, v)``),
    "get_delete", "swap" (``GET`` then ``SET`` of another value, the old one used
    afterwards), "move" (a popped element pushed to a list; the keys differ),
    "compare_delete" (``if r.get(k) == token: r.delete(k)``).
    """

    kind: str
    site: Site
    client_key: str
    client: ClientInfo
    is_async: bool
    read: cst.Call
    read_method: str
    write: cst.Call
    write_method: str
    key: cst.BaseExpression
    read_cmd: Command | None  # the read's command statement (None: the read is in an if test)
    write_cmd: Command
    guard: cst.If | None  # the write is the first statement of this if's body
    # the value written (or the guard's test) in terms of the read: ("read", 0) is the
    # reply; None: Python code we do not model
    value: Sym | None
    test: Sym | None = None
    # names bound from the read in the window, with their values, in binding order
    bindings: dict[str, Sym | None] = field(default_factory=dict)
    # indexes (in site.block) of the statements between the read and the write
    between: list[int] = field(default_factory=list)
    # a statement in between calls code we cannot see into
    opaque_between: bool = False
    # names (re)bound by the statements from the read to the write, the read's included
    window_writes: frozenset[str] = frozenset()
    # statements between (indexes) that read or bind a name derived from the read
    touching: frozenset[int] = frozenset()
    # the client is a module-level name (a script can be registered once, beside it)
    module_client: bool = False
    # a name bound from the read is used after the write
    live_after: frozenset[str] = frozenset()
    # the read's reply is bound to an attribute or item (state a caller may see)
    state_bound: bool = False


@dataclass(eq=False)
class SetExpire:
    """A command that creates or overwrites a key, then a TTL on the same key (RP202).

    ``kind``: "set" (``SET`` then ``EXPIRE``), "setnx" (``SETNX``/``SET NX``, the
    TTL only when it succeeded: ``guard`` is the ``if``), "other" (a type without
    a TTL option: ``HSET``, ``SADD``, ``INCR``...), "first_incr" (``n = r.incr(k)``
    then ``if n == 1: r.expire(k, t)``)."""

    kind: str
    site: Site
    client_key: str
    client: ClientInfo
    is_async: bool
    write_cmd: Command
    expire_cmd: Command
    guard: cst.If | None = None
    # in the guard's test: the name the write's result was bound to (``ok``), or
    # None when the test is the write itself (``if r.setnx(k, v):``)
    guard_name: str | None = None
    between: list[int] = field(default_factory=list)
    opaque_between: bool = False
    unconditional_nx: bool = False  # SETNX whose TTL is set whether or not it succeeded
    module_client: bool = False
    # names (re)bound from the write to the TTL, the write's own targets included
    window_writes: frozenset[str] = frozenset()


@dataclass(eq=False)
class Chain:
    """Commands on one client, each needing an earlier one's reply (RP203)."""

    site: Site
    client_key: str
    client: ClientInfo
    is_async: bool
    commands: list[Command]
    # for every command after the first: the indexes of the commands it depends on
    depends: list[set[int]]
    # values of names bound from replies ("read", i): reply of commands[i]
    bindings: dict[str, Sym | None] = field(default_factory=dict)
    # every command's arguments: (keyword or None, value in terms of earlier replies)
    args: list[list[tuple[str | None, Sym | None]]] = field(default_factory=list)
    between: list[int] = field(default_factory=list)
    # statements between that are guards: ``if <reply test>: return/raise ...``
    guards: list[int] = field(default_factory=list)
    opaque_between: bool = False
    module_client: bool = False
    # a name for the script, unique in the module: ``claim_chain``, ``Queue_claim_chain2``
    name: str = "chain"


@dataclass
class AtomicFacts:
    read_modify_writes: list[ReadModifyWrite] = field(default_factory=list)
    set_expires: list[SetExpire] = field(default_factory=list)
    chains: list[Chain] = field(default_factory=list)


# ---- arguments -----------------------------------------------------------------------


def call_arg(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    """The argument bound to a parameter (its position among positional arguments,
    or its keyword); None when absent or hidden behind ``*args``/``**kwargs``."""
    pos = 0
    for a in call.args:
        if a.star:
            return None
        if a.keyword is not None:
            if a.keyword.value == keyword:
                return a.value
            continue
        if pos == position:
            return a.value
        pos += 1
    return None


def has_kwarg(call: cst.Call, *names: str) -> bool:
    return any(
        a.keyword is not None and a.keyword.value in names and not _is_false(a.value)
        for a in call.args
    )


def _is_false(expr: cst.BaseExpression) -> bool:
    return isinstance(expr, cst.Name) and expr.value in ("None", "False")


def positional_count(call: cst.Call) -> int | None:
    if any(a.star for a in call.args):
        return None
    return sum(1 for a in call.args if a.keyword is None)


def key_expr(call: cst.Call, spec: CommandSpec) -> cst.BaseExpression | None:
    """The key of a one-key command call: its ``name`` argument, or the only key of
    ``delete``/``exists``/``unlink`` (``*names``). None for anything else."""
    if spec.key_params in (("name",), ("key",)) and spec.method != "object":
        return call_arg(call, 0, spec.key_params[0])
    if spec.key_params == ("*names",):
        if positional_count(call) != 1 or any(a.keyword is not None for a in call.args):
            return None
        return call.args[0].value
    return None


_STABLE_CALLS = frozenset({"str", "int", "format", "encode", "lower", "upper", "join", "hex"})


def stable(expr: cst.BaseExpression) -> bool:
    """Is evaluating ``expr`` twice sure to give the same value, given the same names?"""
    stack: list[cst.CSTNode] = [expr]
    while stack:
        n = stack.pop()
        if isinstance(n, cst.Call):
            func = n.func
            fname = func.value if isinstance(func, cst.Name) else None
            if isinstance(func, cst.Attribute):
                fname = func.attr.value
                stack.append(func.value)
            if fname not in _STABLE_CALLS and not _key_helper(func):
                return False
            stack.extend(a.value for a in n.args)
            continue
        if isinstance(
            n, (cst.Await, cst.Yield, cst.Lambda, cst.NamedExpr, cst.ListComp, cst.GeneratorExp)
        ):
            return False
        stack.extend(iter_children(n))
    return True


_VOLATILE = ("uuid", "rand", "token", "nonce", "now", "time", "new", "gen", "next", "count")


def _key_helper(func: cst.BaseExpression) -> bool:
    """A method of ``self``/``cls`` that builds a key (``self._key(name)``,
    ``self._get_prefix()``): deterministic unless its name says otherwise."""
    if not (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value in ("self", "cls")
    ):
        return False
    name = func.attr.value.lower()
    return not any(word in name for word in _VOLATILE)


# ---- building ------------------------------------------------------------------------


@dataclass(eq=False)
class _Step:
    index: int
    stmt: cst.BaseStatement
    kind: str  # "command" | "simple" | "if" | "barrier"
    commands: list[Command] = field(default_factory=list)
    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    opaque: bool = False
    # simple statements: (targets, value, augmented operator or None) of each assignment
    assigns: list[tuple[tuple[cst.BaseExpression, ...], cst.BaseExpression, str | None]] = field(
        default_factory=list
    )
    # "if" steps: client calls in the test; the first statement of the body, its
    # commands; whether the body only transfers control (a guard)
    test_calls: list[_ClientCall] = field(default_factory=list)
    body_commands: list[Command] = field(default_factory=list)
    transfer_only: bool = False
    pure_if: bool = False  # an if whose branches are simple pure statements


class _Steps:
    """The steps of one block, built when first asked for."""

    def __init__(self, builder: _Builder, body: Sequence[cst.BaseStatement], scope: Scope) -> None:
        self.builder = builder
        self.body = body
        self.scope = scope
        self.built: dict[int, _Step] = {}

    def __getitem__(self, i: int) -> _Step:
        step = self.built.get(i)
        if step is None:
            step = self.built[i] = self.builder.step(i, self.body[i], self.scope)
        return step

    def after(self, i: int) -> Iterator[_Step]:
        for j in range(i + 1, len(self.body)):
            yield self[j]


def find_atomic(walker: _Walker, module: cst.Module) -> AtomicFacts:
    builder = _Builder(walker)
    builder.block(module.body, walker.index.module, (), False, False)
    return builder.facts


class _Builder:
    def __init__(self, walker: _Walker) -> None:
        self.walker = walker
        self.facts = AtomicFacts()
        self.by_stmt: dict[int, list[Command]] = {}
        for c in walker.all_commands:
            self.by_stmt.setdefault(id(c.stmt), []).append(c)
        self._guarded_fn: dict[int, bool] = {}

    # ---- blocks ---------------------------------------------------------------------
    def block(
        self,
        body: Sequence[cst.BaseStatement],
        scope: Scope,
        outer: tuple[tuple[Sequence[cst.BaseStatement], int], ...],
        in_loop: bool,
        locked: bool,
    ) -> None:
        marks = self._marks(body)
        if any(marks):
            fn = scope.enclosing_function()
            steps = _Steps(self, body, scope)
            self.scan(steps, marks, body, scope, outer, in_loop, locked, fn)
        for i, stmt in enumerate(body):
            here = (*outer, (body, i))
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                inner = self.walker.index.by_node.get(stmt, scope)
                self.block(_body(stmt.body), inner, (), False, False)
            elif isinstance(stmt, cst.If):
                self.block(_body(stmt.body), scope, here, in_loop, locked)
                orelse = stmt.orelse
                while isinstance(orelse, cst.If):
                    self.block(_body(orelse.body), scope, here, in_loop, locked)
                    orelse = orelse.orelse
                if orelse is not None:
                    self.block(_body(orelse.body), scope, here, in_loop, locked)
            elif isinstance(stmt, (cst.For, cst.While)):
                self.block(_body(stmt.body), scope, here, True, locked)
                if stmt.orelse is not None:
                    self.block(_body(stmt.orelse.body), scope, here, in_loop, locked)
            elif isinstance(stmt, cst.With):
                lock = locked or any(_lockish(item.item) for item in stmt.items)
                self.block(_body(stmt.body), scope, here, in_loop, lock)
            elif isinstance(stmt, (cst.Try, cst.TryStar)):
                self.block(_body(stmt.body), scope, here, in_loop, locked)
                for h in stmt.handlers:
                    self.block(_body(h.body), scope, here, in_loop, locked)
                if stmt.orelse is not None:
                    self.block(_body(stmt.orelse.body), scope, here, in_loop, locked)
                if stmt.finalbody is not None:
                    self.block(_body(stmt.finalbody.body), scope, here, in_loop, locked)
            elif isinstance(stmt, cst.Match):
                for case in stmt.cases:
                    self.block(_body(case.body), scope, here, in_loop, locked)

    def _marks(self, body: Sequence[cst.BaseStatement]) -> list[bool]:
        """Which statements can start or end a fact: command statements, and ``if``
        statements whose body starts with one."""
        out: list[bool] = []
        for stmt in body:
            if id(stmt) in self.by_stmt:
                out.append(True)
            elif isinstance(stmt, cst.If):
                first = _body(stmt.body)
                out.append(bool(first) and id(first[0]) in self.by_stmt)
            else:
                out.append(False)
        return out

    def _concurrency_controlled(self, fn: Scope) -> bool:
        """Does the function use WATCH/MULTI, a transaction callback, or a lock?"""
        key = id(fn)
        hit = self._guarded_fn.get(key)
        if hit is not None:
            return hit
        found = False
        stack: list[cst.CSTNode] = [fn.node]
        while stack and not found:
            n = stack.pop()
            if isinstance(n, cst.Call):
                func = n.func
                if isinstance(func, cst.Attribute) and func.attr.value in _CONCURRENCY_CALLS:
                    found = True
                    break
            stack.extend(iter_children(n))
        self._guarded_fn[key] = found
        return found

    # ---- steps ----------------------------------------------------------------------
    def step(self, i: int, stmt: cst.BaseStatement, scope: Scope) -> _Step:
        cmds = self.by_stmt.get(id(stmt))
        if cmds:
            reads: set[str] = set()
            for c in cmds:
                reads |= c.reads | c.bind_reads
            return _Step(i, stmt, "command", list(cmds), frozenset(reads), cmds[0].writes)
        if isinstance(stmt, cst.SimpleStatementLine):
            return self.simple(i, stmt, scope)
        if isinstance(stmt, cst.If):
            return self.if_step(i, stmt, scope)
        return _Step(i, stmt, "barrier")

    def simple(self, i: int, stmt: cst.SimpleStatementLine, scope: Scope) -> _Step:
        scanner = Scanner(scope, self.walker.resolver.qualname)
        reads: set[str] = set()
        writes: set[str] = set()
        opaque = False
        assigns: list[tuple[tuple[cst.BaseExpression, ...], cst.BaseExpression, str | None]] = []
        for small in stmt.body:
            if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                if small.value is None:
                    continue
                facts = scanner.scan(small.value)
                targets = (
                    tuple(t.target for t in small.targets)
                    if isinstance(small, cst.Assign)
                    else (small.target,)
                )
                aug = (
                    _AUGOPS.get(type(small.operator), "?")
                    if isinstance(small, cst.AugAssign)
                    else None
                )
                for t in targets:
                    tf = scanner.scan(t)
                    if aug is not None or not isinstance(t, cst.Name):
                        facts.reads |= tf.reads
                    facts.writes.update(target_names(t))
                assigns.append((targets, small.value, aug))
            elif isinstance(small, cst.Expr):
                facts = scanner.scan(small.value)
            elif isinstance(small, cst.Pass):
                continue
            else:
                return _Step(i, stmt, "barrier")
            if facts.has_await or facts.has_yield:
                return _Step(i, stmt, "barrier")
            if self.walker.uses_client(facts, scope):
                return _Step(i, stmt, "barrier")
            reads |= facts.reads
            writes |= facts.writes
            opaque |= facts.opaque
        return _Step(
            i, stmt, "simple", reads=frozenset(reads), writes=frozenset(writes), opaque=opaque,
            assigns=assigns,
        )  # fmt: skip

    def if_step(self, i: int, stmt: cst.If, scope: Scope) -> _Step:
        step = _Step(i, stmt, "if")
        calls = list(self.walker.client_calls(stmt.test, scope))
        if any(cc.nested for cc in calls):
            return _Step(i, stmt, "barrier")
        step.test_calls = calls
        scanner = Scanner(scope, self.walker.resolver.qualname)
        test_facts = scanner.scan(stmt.test)
        step.reads = frozenset(test_facts.reads)
        body = _body(stmt.body)
        if body:
            step.body_commands = list(self.by_stmt.get(id(body[0]), ()))
        step.transfer_only = (
            stmt.orelse is None
            and len(body) == 1
            and isinstance(body[0], cst.SimpleStatementLine)
            and len(body[0].body) == 1
            and isinstance(body[0].body[0], (cst.Return, cst.Raise, cst.Continue, cst.Break))
        )
        if not calls:
            facts = self.walker.intermediate(stmt, scope)
            if facts is not None:
                step.pure_if = True
                step.reads = facts.reads
                step.writes = facts.writes
            elif step.transfer_only:
                transfer = body[0].body[0]  # type: ignore[union-attr]
                value = getattr(transfer, "value", None) or getattr(transfer, "exc", None)
                if value is not None:
                    vf = scanner.scan(value)
                    if vf.opaque or self.walker.uses_client(vf, scope):
                        step.transfer_only = False
                    step.reads |= vf.reads
        return step

    # ---- facts --------------------------------------------------------------------------
    def scan(
        self,
        steps: _Steps,
        marks: list[bool],
        block: Sequence[cst.BaseStatement],
        scope: Scope,
        outer: tuple[tuple[Sequence[cst.BaseStatement], int], ...],
        in_loop: bool,
        locked: bool,
        fn: Scope | None,
    ) -> None:
        def site(start: int, end: int) -> Site:
            return Site(block, start, end, scope, outer, in_loop)

        def guarded() -> bool:  # only asked once a fact is found: it walks the function
            return locked or (fn is not None and self._concurrency_controlled(fn))

        # is there anything after statement i that a fact could end on?
        later = [False] * len(marks)
        seen = False
        for i in range(len(marks) - 1, -1, -1):
            later[i] = seen
            seen = seen or marks[i]
        rmw: dict[int, ReadModifyWrite] = {}
        chains_before = len(self.facts.chains)
        for i, marked in enumerate(marks):
            if not marked:
                continue
            step = steps[i]
            if step.kind == "command":
                if len(step.commands) != 1 or not later[i]:
                    continue
                c = step.commands[0]
                found = self.read_forward(steps, step, c, scope, site)
                if found is not None:
                    rmw[id(found.write)] = found  # the nearest read wins
                self.set_expire_forward(steps, step, c, scope, site)
                self.chain_forward(steps, step, c, scope, site)
            elif step.kind == "if":
                found = self.guard_in_test(step, scope, site)
                if found is not None:
                    rmw[id(found.write)] = found
                self.setnx_in_test(step, site)
        if (rmw or len(self.facts.chains) > chains_before) and guarded():
            del self.facts.chains[chains_before:]
            return
        self.facts.read_modify_writes.extend(rmw.values())

    # ---- RP201 ----------------------------------------------------------------------------
    def read_forward(
        self, steps: list[_Step], step: _Step, c: Command, scope: Scope, site: Any
    ) -> ReadModifyWrite | None:
        spec = c.spec
        is_pop = c.method in _POPS and positional_count(c.call) == 1 and len(c.call.args) == 1
        if not (spec.readonly or is_pop):
            return None
        key = key_expr(c.call, spec)
        if key is None or not stable(key):
            return None
        key_reads = Scanner(scope, self.walker.resolver.qualname).scan(key).reads
        if c.kind == "return":
            return None
        env, state_bound = _bind_reply(c, scope)
        if not env and not state_bound:
            return None  # the reply is not kept: nothing can flow from it
        written: set[str] = set(c.writes)
        between: list[int] = []
        touching: set[int] = set()
        opaque = False
        test_guard = False  # an earlier guard on the reply returns or raises
        for s in steps.after(step.index):
            if any(names_overlap(x, n) for x in s.reads | s.writes for n in env):
                touching.add(s.index)
            if s.kind == "command":
                for w in s.commands:
                    if w.client_key != c.client_key or w.is_async != c.is_async:
                        continue
                    if is_pop:
                        found = self._move(c, w, env, scope, None, site, step, s, between, opaque)
                        if found is not None:
                            return found
                    wkey = key_expr(w.call, w.spec)
                    if wkey is None and w.spec.write:
                        return None  # a write whose keys we cannot tell apart
                    if wkey is None or not _same_key(key, key_reads, wkey, written):
                        continue
                    if not w.spec.write:
                        continue
                    if is_pop:
                        return None  # pop then a write on the same list: not a move
                    return self._classify(
                        c, w, key, env, scope, None, None, site, step, s, between, opaque,
                        state_bound, test_guard, written, touching,
                    )  # fmt: skip
                _rebind(env, s, scope, c.command_expr)
                written |= s.writes
                between.append(s.index)
                continue
            if s.kind == "simple":
                if s.opaque:
                    opaque = True
                _assign(env, s, scope)
                written |= s.writes
                between.append(s.index)
                continue
            if s.kind == "if":
                if s.test_calls:
                    return None
                test = sym_of(s.stmt.test, env, scope)  # type: ignore[attr-defined]
                derived_test = bool(replies_in(test)) or (test is None)
                body_cmds = [
                    w
                    for w in s.body_commands
                    if w.client_key == c.client_key and w.is_async == c.is_async
                ]
                if derived_test and body_cmds:
                    w = body_cmds[0]
                    if is_pop:
                        return self._move(c, w, env, scope, s, site, step, s, between, opaque)
                    wkey = key_expr(w.call, w.spec)
                    if (
                        wkey is not None
                        and w.spec.write
                        and _same_key(key, key_reads, wkey, written)
                    ):
                        return self._classify(
                            c, w, key, env, scope, s.stmt, test, site, step, s, between,
                            opaque, state_bound, test_guard, written | s.writes, touching,
                        )  # fmt: skip
                if s.transfer_only:
                    if derived_test and _compares_value(test):
                        test_guard = True
                    between.append(s.index)
                    continue
                if s.pure_if:
                    for name in s.writes:
                        if name in env or any(names_overlap(r, n) for r in s.reads for n in env):
                            env[name] = None
                    written |= s.writes
                    between.append(s.index)
                    continue
                return None
            return None
        return None

    def _classify(
        self,
        c: Command,
        w: Command,
        key: cst.BaseExpression,
        env: dict[str, Sym | None],
        scope: Scope,
        guard: cst.If | None,
        test: Sym | None,
        site: Any,
        first: _Step,
        last: _Step,
        between: list[int],
        opaque: bool,
        state_bound: bool,
        test_guard: bool,
        written: set[str],
        touching: set[int],
    ) -> ReadModifyWrite | None:
        value_syms = [sym_of(a.value, env, scope) for a in _value_args(w)]
        derived = any(s is None or replies_in(s) for s in value_syms)
        main = written_value(w)
        value = sym_of(main, env, scope) if main is not None else None
        kind: str | None = None
        if guard is not None:
            if derived:
                kind = "counter" if _counter_shape(c, w, value) else "derived"
            elif w.method in ("delete", "unlink") and c.method == "get" and _equals_reply(test):
                kind = "compare_delete"
            elif w.method in RELATIVE_WRITES and _compares_value(test):
                kind = "derived"
        elif derived:
            kind = "counter" if _counter_shape(c, w, value) else "derived"
        elif test_guard and w.method in RELATIVE_WRITES:
            kind = "derived"
        elif c.method == "get" and w.method in ("delete", "unlink"):
            kind = "get_delete"
        elif c.method == "get" and w.method == "set":
            kind = "swap"
        if kind is None:
            return None
        rmw = _rmw(
            kind, c, w, key, site(first.index, last.index), last, guard, value, test, env,
            between, opaque, scope, state_bound=state_bound,
            window_writes=frozenset(written), touching=frozenset(touching),
        )  # fmt: skip
        if kind in ("get_delete", "swap") and not (rmw.live_after or state_bound):
            return None  # the old value is never used: nothing reads what was replaced
        return rmw

    def _move(
        self,
        c: Command,
        w: Command,
        env: dict[str, Sym | None],
        scope: Scope,
        guard_step: _Step | None,
        site: Any,
        first: _Step,
        last: _Step,
        between: list[int],
        opaque: bool,
    ) -> ReadModifyWrite | None:
        """A popped element pushed to a list: ``LMOVE``."""
        if w.method not in _PUSHES or positional_count(w.call) != 2 or len(w.call.args) != 2:
            return None
        pushed = sym_of(w.call.args[1].value, env, scope)
        if pushed != ("read", 0):
            return None
        guard = None
        test = None
        if guard_step is not None:
            guard = guard_step.stmt
            assert isinstance(guard, cst.If)
            test = sym_of(guard.test, env, scope)
            if not _present_test(test):
                return None
        src = key_expr(c.call, c.spec)
        assert src is not None
        rmw = _rmw(
            "move", c, w, src, site(first.index, last.index), last, guard, pushed, test, env,
            between, opaque, scope,
        )  # fmt: skip
        return rmw

    def guard_in_test(self, step: _Step, scope: Scope, site: Any) -> ReadModifyWrite | None:
        """``if not r.exists(k): r.set(k, v)`` and ``if r.get(k) == token: r.delete(k)``."""
        stmt = step.stmt
        assert isinstance(stmt, cst.If)
        calls = [cc for cc in step.test_calls if not cc.conditional]
        if len(step.test_calls) != 1 or len(calls) != 1 or not step.body_commands:
            return None
        cc = calls[0]
        if not isinstance(cc.call.func, cst.Attribute):
            return None
        method = cc.call.func.attr.value
        spec = catalog.lookup(method)
        w = step.body_commands[0]
        if spec is None or not spec.readonly or w.client_key != _client_key(cc):
            return None
        if w.is_async != cc.awaited:
            return None
        key = key_expr(cc.call, spec)
        wkey = key_expr(w.call, w.spec)
        if key is None or wkey is None or not stable(key) or not w.spec.write:
            return None
        key_reads = Scanner(scope, self.walker.resolver.qualname).scan(key).reads
        if not _same_key(key, key_reads, wkey, set()):
            return None
        command_expr = cc.await_node if cc.await_node is not None else cc.call
        test = sym_of(stmt.test, {}, scope, {id(command_expr): 0})
        kind: str | None = None
        if _absent_test(method, test, cc.call) and _sets_absent(method, cc.call, w):
            kind = "exists_guard"
        elif method == "get" and w.method in ("delete", "unlink") and _equals_reply(test):
            kind = "compare_delete"
        elif w.method in RELATIVE_WRITES and _compares_value(test):
            kind = "derived"
        if kind is None:
            return None
        return ReadModifyWrite(
            kind=kind,
            site=site(step.index, step.index),
            client_key=w.client_key,
            client=w.client,
            is_async=w.is_async,
            read=cc.call,
            read_method=method,
            write=w.call,
            write_method=w.method,
            key=key,
            read_cmd=None,
            write_cmd=w,
            guard=stmt,
            value=None,
            test=test,
            module_client=module_client(cc.receiver, scope),
        )

    # ---- RP202 ----------------------------------------------------------------------------
    def set_expire_forward(
        self, steps: list[_Step], step: _Step, c: Command, scope: Scope, site: Any
    ) -> None:
        if not _creates_key(c):
            return
        key = key_expr(c.call, c.spec)
        if key is None or not stable(key):
            return
        key_reads = Scanner(scope, self.walker.resolver.qualname).scan(key).reads
        written: set[str] = set(c.writes)
        between: list[int] = []
        opaque = False
        result_names = {w for w in c.writes} if c.kind == "assign" and not c.wrapped else set()
        for s in steps.after(step.index):
            if s.kind == "command":
                for e in s.commands:
                    if e.client_key != c.client_key or e.is_async != c.is_async:
                        continue
                    ekey = key_expr(e.call, e.spec)
                    if ekey is None and e.spec.write:
                        return  # a write whose keys we cannot tell apart
                    if ekey is None or not _same_key(key, key_reads, ekey, written):
                        continue
                    if e.method in TTL_METHODS and _plain_ttl(e):
                        nx = c.method == "setnx" or has_kwarg(c.call, "nx")
                        kind = "setnx" if nx else ("set" if c.method == "set" else "other")
                        if e.result_used or (c.result_used and kind != "other"):
                            return
                        self.facts.set_expires.append(
                            SetExpire(
                                kind,
                                site(step.index, s.index),
                                c.client_key,
                                c.client,
                                c.is_async,
                                c,
                                e,
                                between=list(between),
                                opaque_between=opaque,
                                unconditional_nx=nx,
                                module_client=module_client(c.receiver, scope),
                                window_writes=frozenset(written),
                            )  # fmt: skip
                        )
                    return  # another command on the key: the pair ends here
                written |= s.writes
                between.append(s.index)
                continue
            if s.kind == "simple":
                opaque |= s.opaque
                written |= s.writes
                between.append(s.index)
                continue
            if s.kind == "if" and not s.test_calls and s.body_commands:
                e = s.body_commands[0]
                if (
                    e.client_key == c.client_key
                    and e.is_async == c.is_async
                    and e.method in TTL_METHODS
                    and _plain_ttl(e)
                    and not e.result_used
                ):
                    ekey = key_expr(e.call, e.spec)
                    if ekey is not None and _same_key(key, key_reads, ekey, written):
                        kind = _ttl_guard_kind(c, s.stmt, result_names)  # type: ignore[arg-type]
                        if kind is not None:
                            (name,) = result_names
                            self.facts.set_expires.append(
                                SetExpire(
                                    kind,
                                    site(step.index, s.index),
                                    c.client_key,
                                    c.client,
                                    c.is_async,
                                    c,
                                    e,
                                    guard=s.stmt,  # type: ignore[arg-type]
                                    guard_name=name,
                                    between=list(between),
                                    opaque_between=opaque,
                                    module_client=module_client(c.receiver, scope),
                                    window_writes=frozenset(written | s.writes),
                                )  # fmt: skip
                            )
                        return
            return

    def setnx_in_test(self, step: _Step, site: Any) -> None:
        """``if r.setnx(k, v): r.expire(k, t)`` (or ``set(..., nx=True)``)."""
        stmt = step.stmt
        assert isinstance(stmt, cst.If)
        if len(step.test_calls) != 1 or not step.body_commands:
            return
        cc = step.test_calls[0]
        command_expr = cc.await_node if cc.await_node is not None else cc.call
        test = stmt.test
        if test is not command_expr or cc.conditional:
            return
        method = cc.call.func.attr.value  # type: ignore[attr-defined]
        if not (method == "setnx" or (method == "set" and has_kwarg(cc.call, "nx"))):
            return
        spec = catalog.lookup(method)
        e = step.body_commands[0]
        if spec is None or e.client_key != _client_key(cc) or e.is_async != cc.awaited:
            return
        if e.method not in TTL_METHODS or not _plain_ttl(e) or e.result_used:
            return
        if has_kwarg(cc.call, "ex", "px", "exat", "pxat", "keepttl", "get"):
            return
        key = key_expr(cc.call, spec)
        ekey = key_expr(e.call, e.spec)
        if key is None or ekey is None or not stable(key) or not same_expr(key, ekey):
            return
        write = Command(
            stmt=stmt,  # type: ignore[arg-type]
            small=stmt,  # type: ignore[arg-type]
            call=cc.call,
            command_expr=command_expr,
            value=test,
            receiver=cc.receiver,
            client_key=e.client_key,
            client=cc.info,
            is_async=e.is_async,
            method=method,
            spec=spec,
            kind="if",
            targets=(),
            wrapped=False,
            reads=frozenset(),
            bind_reads=frozenset(),
            writes=frozenset(),
            simple_targets=True,
        )
        self.facts.set_expires.append(
            SetExpire(
                "setnx",
                site(step.index, step.index),
                e.client_key,
                e.client,
                e.is_async,
                write,
                e,
                guard=stmt,
            )  # fmt: skip
        )

    # ---- RP203 ----------------------------------------------------------------------------
    def chain_forward(
        self, steps: list[_Step], step: _Step, c: Command, scope: Scope, site: Any
    ) -> None:
        if c.kind == "return" or c.spec.noscript:
            return
        env: dict[str, Sym | None] = {}
        replies: dict[int, int] = {id(c.command_expr): 0}
        _bind_command(env, c, scope, replies)
        if not env:
            return
        # a chain is recorded from its first command only
        commands = [c]
        arg_syms = [_arg_syms(c, {}, scope, replies)]
        depends: list[set[int]] = []
        between: list[int] = []
        guards: list[int] = []
        opaque = False
        last = step
        for s in steps.after(step.index):
            if s.kind == "command":
                ours = [
                    w for w in s.commands if w.client_key == c.client_key
                    and w.is_async == c.is_async
                ]  # fmt: skip
                if len(ours) != 1 or len(s.commands) != 1:
                    break
                w = ours[0]
                deps: set[int] = set()
                for name in w.reads:
                    for bound, value in env.items():
                        if names_overlap(name, bound):
                            deps |= replies_in(value) if value is not None else _all(commands)
                if not deps or w.spec.noscript:
                    break
                arg_syms.append(_arg_syms(w, env, scope, replies))
                replies[id(w.command_expr)] = len(commands)
                commands.append(w)
                depends.append(deps)
                for t in w.writes:
                    env.pop(t, None)
                _bind_command(env, w, scope, replies)
                last = s
                continue
            if s.kind == "simple":
                if s.opaque:
                    break  # code we cannot see into: it may use Redis itself
                _assign(env, s, scope)
                between.append(s.index)
                continue
            if s.kind == "if" and not s.test_calls:
                if s.transfer_only and any(names_overlap(r, n) for r in s.reads for n in env):
                    guards.append(s.index)
                    between.append(s.index)
                    continue
                if s.pure_if:
                    for name in s.writes:
                        if any(names_overlap(r, n) for r in s.reads for n in env):
                            env[name] = None
                    between.append(s.index)
                    continue
            break
        if len(commands) < 3:
            return
        if any(b > last.index for b in between):
            between = [b for b in between if b < last.index]
            guards = [g for g in guards if g < last.index]
        chain = Chain(
            site(step.index, last.index), c.client_key, c.client, c.is_async, commands, depends,
            dict(env), arg_syms, between, guards, opaque, module_client(c.receiver, scope),
        )  # fmt: skip
        # a longer chain that started earlier already covers this one
        for other in self.facts.chains:
            if other.site.block is chain.site.block and other.site.end >= chain.site.end:
                if other.site.start <= chain.site.start:
                    return
        base = "_".join(_qualname(scope) + ["chain"])
        same = sum(1 for other in self.facts.chains if other.name.rstrip("0123456789") == base)
        chain.name = base if same == 0 else f"{base}{same + 1}"
        self.facts.chains.append(chain)


# ---- helpers ---------------------------------------------------------------------------


def _qualname(scope: Scope) -> list[str]:
    names: list[str] = []
    s: Scope | None = scope
    while s is not None and s.kind != "module":
        names.append(s.name)
        s = s.parent
    return list(reversed(names))


def _rmw(
    kind: str,
    c: Command,
    w: Command,
    key: cst.BaseExpression,
    site: Site,
    last: _Step,
    guard: cst.If | None,
    value: Sym | None,
    test: Sym | None,
    env: dict[str, Sym | None],
    between: list[int],
    opaque: bool,
    scope: Scope,
    **extra: Any,
) -> ReadModifyWrite:
    """A read (command statement ``c``) and a write ``w``, ending at ``last``."""
    rmw = ReadModifyWrite(
        kind=kind, site=site, client_key=c.client_key, client=c.client, is_async=c.is_async,
        read=c.call, read_method=c.method, write=w.call, write_method=w.method, key=key,
        read_cmd=c, write_cmd=w, guard=guard, value=value, test=test, bindings=dict(env),
        between=list(between), opaque_between=opaque,
        module_client=module_client(c.receiver, scope), **extra,
    )  # fmt: skip
    rmw.live_after = frozenset(_live_after(site, set(env), last.stmt))
    return rmw


def module_client(receiver: cst.BaseExpression, scope: Scope) -> bool:
    """Is the receiver a name bound once, at module level (``r = redis.Redis()``)?"""
    if not isinstance(receiver, cst.Name):
        return False
    target = scope.lookup_scope(receiver.value)
    if target is None or target.kind != "module":
        return False
    binds = target.bindings[receiver.value]
    return len(binds) == 1 and binds[0].kind == "assign"


def _is_none_sym(s: Any) -> bool:
    return (
        isinstance(s, tuple)
        and s[0] == "py"
        and isinstance(s[1], cst.Name)
        and s[1].value == "None"
    )


def _arg_syms(
    c: Command, env: dict[str, Sym | None], scope: Scope, replies: dict[int, int]
) -> list[tuple[str | None, Sym | None]]:
    return [
        (a.keyword.value if a.keyword is not None else None, sym_of(a.value, env, scope, replies))
        for a in c.call.args
    ]


def _present_test(test: Sym | None) -> bool:
    """``if item:`` / ``if item is not None:`` on the reply."""
    if test == ("read", 0):
        return True
    return (
        isinstance(test, tuple)
        and test[0] == "cmp"
        and test[1] == "is not"
        and test[2] == ("read", 0)
        and _is_none_sym(test[3])
    )


def _all(commands: list[Command]) -> set[int]:
    return set(range(len(commands)))


def _client_key(cc: _ClientCall) -> str:
    from pipelint.analysis.runs import _receiver_key

    return _receiver_key(cc.receiver)


def _body(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    from pipelint.analysis.runs import _body as body

    return body(suite)


def _lockish(expr: cst.BaseExpression) -> bool:
    """A ``with`` item that looks like a lock (``r.lock(...)``, ``self._lock``,
    ``Lock()``, ``redis_lock.Lock(...)``, ``semaphore``)."""
    code = cst.Module([]).code_for_node(expr).lower()
    return any(word in code for word in _LOCKISH)


def _same_key(
    key: cst.BaseExpression,
    key_reads: set[str],
    other: cst.BaseExpression,
    written: set[str],
) -> bool:
    if any(names_overlap(r, w) for r in key_reads for w in written):
        return False
    return same_expr(key, other)


def _bind_reply(c: Command, scope: Scope) -> tuple[dict[str, Sym | None], bool]:
    """Names the read's statement binds from the reply, and whether it also binds the
    reply to an attribute or item."""
    env: dict[str, Sym | None] = {}
    _bind_command(env, c, scope, {id(c.command_expr): 0})
    return env, c.writes_state


def _bind_command(
    env: dict[str, Sym | None], c: Command, scope: Scope, replies: dict[int, int]
) -> None:
    if not c.result_used or c.kind == "return":
        return
    value = sym_of(c.value, env, scope, replies)
    if c.kind == "augassign":
        value = None
    for t in c.targets:
        if isinstance(t, cst.Name):
            env[t.value] = value
        else:
            for name in target_names(t):
                env[name] = None


def _assign(env: dict[str, Sym | None], s: _Step, scope: Scope) -> None:
    """Follow a simple statement's assignments: derived names get their values, names
    rebound from other code stop being derived."""
    if not s.assigns:
        # an expression statement may mutate a derived object (``state.apply(x)``)
        return
    for targets, value, aug in s.assigns:
        for t in targets:
            if isinstance(t, cst.Name):
                if aug is not None:
                    current = env.get(t.value, _MISSING)
                    if current is _MISSING:
                        sym = sym_of(value, env, scope)
                        if sym is not None and not replies_in(sym):
                            continue
                        env[t.value] = None
                        continue
                    right = sym_of(value, env, scope)
                    env[t.value] = (
                        None
                        if current is None or right is None or aug == "?"
                        else ("bin", aug, current, right)
                    )
                else:
                    sym = sym_of(value, env, scope)
                    if sym is not None and not replies_in(sym):
                        env.pop(t.value, None)
                    else:
                        env[t.value] = sym
            else:
                sym = sym_of(value, env, scope)
                derived = sym is None or bool(replies_in(sym))
                for name in target_names(t):
                    if derived or name in env:
                        env[name] = None


_MISSING = object()
_AUGOPS: dict[type, str] = {cst.AddAssign: "+", cst.SubtractAssign: "-", cst.MultiplyAssign: "*"}


def _rebind(env: dict[str, Sym | None], s: _Step, scope: Scope, read: object) -> None:
    """A command statement between: its targets are rebound (derived if its
    arguments read a derived name)."""
    for w in s.commands:
        derived = any(names_overlap(r, n) for r in w.reads for n in env)
        for t in w.writes:
            if derived:
                env[t] = None
            else:
                env.pop(t, None)


def written_value(w: Command) -> cst.BaseExpression | None:
    """The value a ``SET``/``HSET`` (one field) writes."""
    if w.method == "set":
        return call_arg(w.call, 1, "value")
    if w.method == "hset" and not has_kwarg(w.call, "mapping", "items"):
        return call_arg(w.call, 2, "value")
    return None


def _value_args(w: Command) -> list[cst.Arg]:
    """The arguments of a write that carry data (all but the key)."""
    key = key_expr(w.call, w.spec)
    return [a for a in w.call.args if a.value is not key]


def _counter_shape(c: Command, w: Command, value: Sym | None) -> bool:
    """``GET`` then ``SET`` (or ``HGET`` then ``HSET`` of the same field) of the read's
    number plus an amount: what ``INCRBY``/``HINCRBY`` do (see ``fixes/rp201.py``)."""
    if c.method == "get" and w.method == "set":
        return counter_of(value) is not None
    if c.method == "hget" and w.method == "hset":
        field_r = call_arg(c.call, 1, "key")
        field_w = call_arg(w.call, 1, "key")
        if field_r is None or field_w is None or not same_expr(field_r, field_w):
            return False
        return counter_of(value) is not None
    return False


def _equals_reply(test: Sym | None) -> bool:
    """``reply == X`` (or ``X == reply``) for X not depending on the reply."""
    if not isinstance(test, tuple) or test[0] != "cmp" or test[1] != "==":
        return False
    left, right = test[2], test[3]
    return (left == ("read", 0) and right[0] == "py") or (right == ("read", 0) and left[0] == "py")


def _compares_value(test: Sym | None) -> bool:
    """Does a test compare a reply-derived value with something other than None
    (``int(v) >= limit``), as opposed to checking that the key was missing?"""
    if test is None:
        return False
    stack: list[Any] = [test]
    while stack:
        s = stack.pop()
        if not isinstance(s, tuple):
            continue
        if s[0] == "cmp" and s[1] not in ("is", "is not"):
            if replies_in(s[2]) or replies_in(s[3]):
                return True
        if s[0] in ("bool", "not", "if"):
            stack.extend(p for p in s[1:] if isinstance(p, tuple))
    return False


def _absent_test(method: str, test: Sym | None, call: cst.Call) -> bool:
    """A test that holds exactly when the key (or hash field) is missing."""
    if method in ("exists", "hexists"):
        if test == ("not", ("read", 0)):
            return True
        if isinstance(test, tuple) and test[0] == "cmp" and test[1] == "==":
            other = (
                test[3] if test[2] == ("read", 0) else test[2] if test[3] == ("read", 0) else None
            )
            return (
                isinstance(other, tuple)
                and other[0] == "py"
                and isinstance(other[1], cst.Integer)
                and other[1].value == "0"
            )
        return False
    if method in ("get", "hget"):
        return (
            isinstance(test, tuple)
            and test[0] == "cmp"
            and test[1] == "is"
            and test[2] == ("read", 0)
            and _is_none_sym(test[3])
        )
    return False


def _sets_absent(method: str, read: cst.Call, w: Command) -> bool:
    """The body writes what the test found missing: ``SET`` for a key, ``HSET`` of the
    same field for a hash field."""
    if method in ("exists", "get"):
        if w.method != "set" or has_kwarg(w.call, "nx", "xx", "get", "keepttl"):
            return False
        return (
            any(a.keyword is None for a in w.call.args[1:2])
            or call_arg(w.call, 1, "value") is not None
        )
    if method in ("hexists", "hget") and w.method == "hset":
        if has_kwarg(w.call, "mapping", "items"):
            return False
        fr = call_arg(read, 1, "key")
        fw = call_arg(w.call, 1, "key")
        return (
            fr is not None
            and fw is not None
            and call_arg(w.call, 2, "value") is not None
            and same_expr(fr, fw)
        )
    return False


def _creates_key(c: Command) -> bool:
    """A write that may create the key (or overwrite it) and has no TTL of its own."""
    spec = c.spec
    if not spec.write or c.method in _NOT_CREATING or spec.key_params != ("name",):
        return False
    if c.method == "set" and has_kwarg(c.call, "ex", "px", "exat", "pxat", "keepttl"):
        return False
    flags = {f for ks in spec.key_specs[:1] for f in ks.flags}
    return bool(flags & {"insert", "update"})


def ttl_arg(e: Command) -> cst.BaseExpression | None:
    """The time argument of ``expire``/``pexpire`` (``time``) or ``expireat``/
    ``pexpireat`` (``when``)."""
    return call_arg(e.call, 1, "when" if e.method.endswith("at") else "time")


def _plain_ttl(e: Command) -> bool:
    """``expire(name, time)`` without NX/XX/GT/LT."""
    if has_kwarg(e.call, "nx", "xx", "gt", "lt") or positional_count(e.call) not in (0, 1, 2):
        return False
    return ttl_arg(e) is not None


def _ttl_guard_kind(c: Command, guard: cst.If, names: set[str]) -> str | None:
    """``ok = r.setnx(k, v)`` + ``if ok:`` (setnx) / ``n = r.incr(k)`` + ``if n == 1:``."""
    if len(names) != 1 or guard.orelse is not None:
        return None
    (name,) = names
    test = guard.test
    if c.method == "setnx" or (c.method == "set" and has_kwarg(c.call, "nx")):
        # ``if ok:``, or ``if ok and <anything>:`` (the TTL only when it was set)
        while isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
            test = test.left
        if isinstance(test, cst.Name) and test.value == name:
            return "setnx"
        return None
    if c.method in ("incr", "incrby", "hincrby") and isinstance(test, cst.Comparison):
        if len(test.comparisons) != 1 or not isinstance(test.comparisons[0].operator, cst.Equal):
            return None
        left, right = test.left, test.comparisons[0].comparator
        pair = (left, right) if isinstance(left, cst.Name) else (right, left)
        if (
            isinstance(pair[0], cst.Name)
            and pair[0].value == name
            and isinstance(pair[1], cst.Integer)
            and pair[1].value == "1"
        ):
            return "first_incr"
    return None


def _live_after(site: Site, names: set[str], last: cst.BaseStatement) -> set[str]:
    """Which of ``names`` a statement after ``last`` may read: later statements of
    its block and of every enclosing block, and the whole enclosing loop."""
    if not names:
        return set()
    nodes: list[cst.CSTNode] = list(site.block[site.end + 1 :])
    for block, index in site.outer:
        nodes.extend(block[index + 1 :])
    if site.in_loop:
        for block, index in site.outer:
            stmt = block[index]
            if isinstance(stmt, (cst.For, cst.While)):
                nodes.append(stmt)
    out: set[str] = set()
    stack = nodes
    while stack:
        n = stack.pop()
        if isinstance(n, cst.Name) and n.value in names:
            out.add(n.value)
            continue
        stack.extend(iter_children(n))
    return out
