"""Loops and what they send to Redis per iteration: the facts RP102-RP104 read.

A *loop* is a ``for`` / ``async for`` / ``while`` statement, or a list/set/dict
comprehension or a generator expression consumed at once (``list``, ``sum``,
``any``, ``"".join``, ``asyncio.gather(*...)``...). For each one the body is read
with the analysis core of ``runs.py`` (the same client resolution, the same
``Command`` objects, the same purity rules) and summarised:

- ``commands``: the batchable commands one iteration sends, in order, on one client
  (inner loops and ``if`` branches included). Issue 12 will add calls of project
  helpers that send commands; anything here only reads a step's ``reads``,
  ``writes``, ``spec`` and ``kind``, so such a step can stand in for a command;
- ``independent``: no command's arguments, and no test that decides whether a
  command runs or the loop goes on, read a result of this or an earlier iteration
  (a loop-carried dependency), the client is not rebound, nothing else in the body
  uses Redis, and nothing makes the loop unbounded (``while True`` without
  ``break``, a pub/sub ``listen()``, ``itertools.count()``); ``reason`` says why not;
- ``early_exit`` (``break``/``return``/``raise``, ``any``/``all``), ``opaque``
  (the body calls code we cannot see into), ``conditional`` (a command under an
  ``if``), ``iterable_kind`` (how the items are produced);
- ``top``: independent, and no enclosing loop is (the loop to report);
- ``pipelines``: pipelines created or executed in the body (RP104).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import libcst as cst

from pipelint import catalog
from pipelint.analysis.exprs import Scanner, names_overlap, target_names
from pipelint.analysis.model import Command, Run
from pipelint.analysis.runs import statement_value
from pipelint.clients.resolve import ClientInfo
from pipelint.clients.scopes import Scope, dotted_name, iter_children

if TYPE_CHECKING:
    from pipelint.analysis.runs import _Walker


def _falls_through(suite: cst.BaseSuite) -> bool:
    from pipelint.analysis.runs import _falls_through as falls

    return falls(suite)


__all__ = ["Loop", "PipelineUse", "find_loops"]

#: builtins that consume a generator expression at once, in order
CONSUMERS = frozenset(
    {"list", "tuple", "set", "frozenset", "dict", "sum", "any", "all", "max", "min", "sorted"}
)
_EARLY = frozenset({"any", "all"})  # stop at the first true/false item
#: methods that mutate a container in place (a local list/dict/set: not Redis)
CONTAINER_METHODS = frozenset(
    {"append", "extend", "add", "update", "insert", "appendleft", "setdefault", "discard"}
)
_CONTAINER_CALLS = frozenset(
    {
        "list", "dict", "set", "collections.defaultdict", "collections.OrderedDict",
        "collections.deque", "collections.Counter",
    }
)  # fmt: skip
_FINITE_CALLS = frozenset(
    {"range", "sorted", "reversed", "enumerate", "zip", "list", "tuple", "set", "frozenset"}
)
_UNBOUNDED = frozenset({"itertools.count", "itertools.cycle", "itertools.repeat"})
_COMPS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_OPAQUE = "<opaque>"  # stands for a call we cannot see into, in a test's reads
# exact types, for the hot walks (isinstance on LibCST's abstract bases is slow)
_COMP_TYPES = frozenset(_COMPS)
_NOT_EXPRESSIONS = frozenset(
    {cst.IndentedBlock, cst.SimpleStatementSuite, cst.Lambda, cst.FunctionDef, cst.ClassDef}
)
_LEAF_TYPES = frozenset(
    {cst.Name, cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis}
)


@dataclass(eq=False)
class PipelineUse:
    """A pipeline created (``r.pipeline()``) or executed in a loop body."""

    name: str  # the pipeline's variable
    client_key: str
    created_inside: bool  # created in the body (a new pipeline per iteration)
    executes: list[cst.Call] = field(default_factory=list)  # ``pipe.execute()`` in the body
    create_stmt: cst.BaseStatement | None = None
    result_used: bool = False  # an ``execute()`` result is bound or used


@dataclass(eq=False)
class Loop:
    node: cst.CSTNode  # For / While / ListComp / SetComp / DictComp / GeneratorExp
    kind: str  # "for" | "while" | "listcomp" | "setcomp" | "dictcomp" | "genexp"
    stmt: cst.BaseStatement  # the block-level statement holding the loop
    small: cst.BaseSmallStatement | None  # for comprehensions: the small statement
    scope: Scope
    is_async_for: bool = False
    consumer: str | None = None  # genexp/listcomp: "list", "sum", "any", "join", "gather"
    consumer_node: cst.CSTNode | None = None  # the call consuming it (or its await)
    target: cst.BaseExpression | None = None  # loop variable(s)
    iterable: cst.BaseExpression | None = None
    # "literal" | "range" | "local" (a fresh container of this function) | "client" (a
    # command's reply) | "scan" (a client's *scan_iter) | "name" | "attribute" | "call"
    # | "comprehension" | "while" | "unknown"
    iterable_kind: str = "unknown"
    commands: list[Command] = field(default_factory=list)
    client_key: str | None = None
    client: ClientInfo | None = None
    is_async: bool = False
    conditional: bool = False  # a command runs only under an ``if``
    nested: bool = False  # a command is in an inner loop
    early_exit: bool = False  # break/return/raise in the body, or any()/all()
    opaque: bool = False  # the body calls code we cannot see into
    writes_state: bool = False  # the body writes attributes, items or containers
    visible_writes: bool = False  # ... that callers could see (not local containers)
    body_statements: list[cst.BaseStatement] = field(default_factory=list)  # non-command
    independent: bool = False
    reason: str = ""
    outer: Loop | None = None
    inner: list[Loop] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)  # runs of commands inside the body
    pipelines: list[PipelineUse] = field(default_factory=list)
    top: bool = False  # independent, and no enclosing loop is: the loop to report
    results_bound: bool = False  # some result goes to a name, container or element
    writes: frozenset[str] = frozenset()  # names the loop (target and body) binds or mutates
    in_swallowing_try: bool = False  # inside a try whose except may carry on
    # comprehensions: why its commands cannot (display) or may not provably (unsafe) be
    # sent before the statement holding it runs
    hoist_display: str | None = None
    hoist_unsafe: str | None = None

    @property
    def reiterable(self) -> bool:
        """Can the items be iterated a second time without materialising them?"""
        return self.iterable_kind in ("literal", "range", "local")


# ---- the walk ------------------------------------------------------------------------
def find_loops(walker: _Walker, module: cst.Module, runs: Sequence[Run]) -> list[Loop]:
    finder = _Finder(walker)
    finder.block(module.body, walker.index.module, None)
    by_stmt: dict[int, list[Run]] = {}
    for run in runs:
        for stmt in run.statements:
            by_stmt.setdefault(id(stmt), []).append(run)
    for loop in finder.loops:
        if isinstance(loop.node, (cst.For, cst.While)):
            seen: set[int] = set()
            for stmt in _all_statements(loop.node.body):
                for run in by_stmt.get(id(stmt), ()):
                    if id(run) not in seen:
                        seen.add(id(run))
                        loop.runs.append(run)
    for loop in finder.loops:
        outer = loop.outer
        covered = False
        while outer is not None:
            if outer.independent and outer.commands:
                covered = True
                break
            outer = outer.outer
        loop.top = loop.independent and bool(loop.commands) and not covered
    return finder.loops


def _all_statements(suite: cst.BaseSuite) -> Iterator[cst.BaseStatement]:
    for stmt in _body(suite):
        yield stmt
        for child in _child_suites(stmt):
            yield from _all_statements(child)


def _child_suites(stmt: cst.BaseStatement) -> Iterator[cst.BaseSuite]:
    if isinstance(stmt, (cst.If,)):
        yield stmt.body
        orelse = stmt.orelse
        while orelse is not None:
            yield orelse.body
            orelse = orelse.orelse if isinstance(orelse, cst.If) else None
    elif isinstance(stmt, (cst.For, cst.While)):
        yield stmt.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
    elif isinstance(stmt, cst.With):
        yield stmt.body
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        yield stmt.body
        for h in stmt.handlers:
            yield h.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
        if stmt.finalbody is not None:
            yield stmt.finalbody.body
    elif isinstance(stmt, cst.Match):
        for case in stmt.cases:
            yield case.body


def _body(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    from pipelint.analysis.runs import _body as body

    return body(suite)


class _Finder:
    def __init__(self, walker: _Walker) -> None:
        self.walker = walker
        self.loops: list[Loop] = []
        self.swallowing = 0  # enclosing try statements whose handlers may fall through
        self.pipeline_context = 0  # enclosing ``with ....pipeline()`` blocks

    def block(self, body: Sequence[cst.BaseStatement], scope: Scope, outer: Loop | None) -> None:
        for stmt in body:
            self.statement(stmt, scope, outer)

    def statement(self, stmt: cst.BaseStatement, scope: Scope, outer: Loop | None) -> None:
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            inner = self.walker.index.by_node.get(stmt, scope)
            saved, self.swallowing = self.swallowing, 0
            self.block(_body(stmt.body), inner, None)
            self.swallowing = saved
            return
        if isinstance(stmt, cst.With) and any(_pipeline_context(i.item) for i in stmt.items):
            # ``with self.pipeline():`` may swap the receiver for a pipeline (redis_dict
            # does): commands inside may be queued, not sent
            self.pipeline_context += 1
            self._expressions(stmt, stmt, None, scope, outer)
            self.block(_body(stmt.body), scope, outer)
            self.pipeline_context -= 1
            return
        if isinstance(stmt, (cst.Try, cst.TryStar)):
            swallows = any(_falls_through(h.body) for h in stmt.handlers)
            self.swallowing += swallows
            self.block(_body(stmt.body), scope, outer)
            self.swallowing -= swallows
            for suite in list(_child_suites(stmt))[1:]:
                self.block(_body(suite), scope, outer)
            return
        if isinstance(stmt, (cst.For, cst.While)):
            loop = _LoopReader(self.walker, scope).statement_loop(stmt)
            self._add(loop, outer)
            self._expressions(stmt, stmt, None, scope, loop)
            for suite in _child_suites(stmt):
                self.block(_body(suite), scope, loop)
            return
        if isinstance(stmt, cst.SimpleStatementLine):
            if self.walker._commands.get(id(stmt)):
                return  # it sends commands, none of them in a comprehension (runs.py)
            for small in stmt.body:
                self._expressions(small, stmt, small, scope, outer)
            return
        self._expressions(stmt, stmt, None, scope, outer)
        for suite in _child_suites(stmt):
            self.block(_body(suite), scope, outer)

    def _add(self, loop: Loop, outer: Loop | None) -> None:
        loop.outer = outer
        loop.in_swallowing_try = self.swallowing > 0
        if self.pipeline_context and loop.independent:
            loop.independent = False
            loop.reason = "inside a with ....pipeline() block: commands may be queued"
        if outer is not None:
            outer.inner.append(loop)
        self.loops.append(loop)

    def _expressions(
        self,
        node: cst.CSTNode,
        stmt: cst.BaseStatement,
        small: cst.BaseSmallStatement | None,
        scope: Scope,
        outer: Loop | None,
    ) -> None:
        """Comprehensions in the expressions of ``node`` (not in nested blocks)."""
        stack: list[tuple[cst.CSTNode, Loop | None, cst.CSTNode | None]] = [(node, outer, None)]
        while stack:
            n, out, parent = stack.pop()
            t = type(n)
            if t in _NOT_EXPRESSIONS or t in _LEAF_TYPES:
                continue
            if t in _COMP_TYPES:
                loop = _LoopReader(self.walker, scope).comprehension(n, stmt, small, parent)
                self._add(loop, out)
                for child in iter_children(n):
                    stack.append((child, loop, n))
                continue
            for child in iter_children(n):
                stack.append((child, out, n))


# ---- one loop ------------------------------------------------------------------------
class _Ineligible(Exception):
    """The loop's iterations are not independent batches (the message says why)."""


@dataclass
class _Test:
    reads: frozenset[str]
    first_cmd: int  # commands inside: indexes [first_cmd, end_cmd)
    end_cmd: int
    exits: bool  # break/return/raise inside
    continues: bool  # continue inside
    branch: bool = False  # an ``if`` (not a loop header)


class _LoopReader:
    def __init__(self, walker: _Walker, scope: Scope) -> None:
        self.walker = walker
        self.scope = scope
        self.scanner = Scanner(scope, walker.resolver.qualname)
        self.loop: Loop | None = None
        self.steps: list[tuple[frozenset[str], frozenset[str]]] = []  # (reads, writes)
        self.tests: list[_Test] = []
        self.accumulators: set[str] = set()  # names the body grows: lists, counters
        self.unknown: set[str] = set()  # names bound from code we cannot see into

    # ---- for / while -------------------------------------------------------------
    def statement_loop(self, stmt: cst.For | cst.While) -> Loop:
        loop = Loop(stmt, "for" if isinstance(stmt, cst.For) else "while", stmt, None, self.scope)
        self.loop = loop
        try:
            if not self.uses_client(stmt.body):
                raise _Ineligible("no command in the loop body")
            if isinstance(stmt, cst.For):
                loop.is_async_for = stmt.asynchronous is not None
                loop.target = stmt.target
                loop.iterable = stmt.iter
                loop.iterable_kind = self.iterable_kind(stmt.iter, loop.is_async_for)
                loop_writes = frozenset(target_names(stmt.target))
                self.steps.append((frozenset(), loop_writes))
            else:
                loop.iterable_kind = "while"
                test = self.scanner.scan(stmt.test)
                if self.uses_client(stmt.test):
                    raise _Ineligible("the loop condition uses Redis")
                if test.opaque or test.has_await:
                    raise _Ineligible("the loop condition calls code we cannot see into")
                if _always_true(stmt.test) and not _has_exit(stmt.body):
                    raise _Ineligible("the loop never ends (while True without break)")
                self.tests.append(_Test(frozenset(test.reads), 0, 1 << 30, True, False))
            if stmt.orelse is not None:
                raise _Ineligible("the loop has an else clause")
            self.suite(stmt.body, conditional=False, nested=False)
            self.finish()
        except _Ineligible as exc:
            loop.independent = False
            loop.reason = str(exc)
        if isinstance(stmt, cst.For) and stmt.asynchronous is None:
            loop.pipelines = _PipelineScan(self.walker, self.scope).scan(stmt)
        return loop

    def iterable_kind(self, it: cst.BaseExpression, is_async: bool) -> str:
        if isinstance(it, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
            return "literal"
        if isinstance(it, cst.SimpleString | cst.ConcatenatedString | cst.FormattedString):
            return "literal"
        if isinstance(it, _COMPS):
            return "comprehension"
        if isinstance(it, cst.Call):
            func = it.func
            resolver = self.walker.resolver
            qual = resolver.qualname(func, self.scope)
            if qual in _UNBOUNDED or (
                isinstance(func, cst.Name)
                and func.value == "iter"
                and len(it.args) == 2
                and self.scope.lookup_scope("iter") is None
            ):
                raise _Ineligible("the items never end (an unbounded iterator)")
            if isinstance(func, cst.Attribute):
                spec = catalog.lookup(func.attr.value)
                if spec is not None and spec.kind == "pubsub_api":
                    raise _Ineligible("a pub/sub loop: messages arrive one by one")
                if resolver.receiver(func.value, self.scope) is not None:
                    if (
                        spec is not None
                        and spec.kind == "api"
                        and func.attr.value.endswith("_iter")
                    ):
                        return "scan"
                    if spec is not None and spec.kind == "command":
                        return "client"
                    raise _Ineligible("the items come from a client API we do not model")
            if (
                isinstance(func, cst.Name)
                and func.value in _FINITE_CALLS
                and self.scope.lookup_scope(func.value) is None
            ):
                if func.value == "range":
                    return "range"
                return "call"
            if is_async:
                raise _Ineligible("async for over an iterator we cannot see into")
            return "call"
        if is_async:
            raise _Ineligible("async for over an iterator we cannot see into")
        if isinstance(it, cst.Name):
            if self._local_container(it.value):
                return "local"
            return "name"
        if isinstance(it, cst.Attribute):
            return "attribute"
        return "unknown"

    def _local_container(self, name: str) -> bool:
        """Is ``name`` a variable of this function bound only to a fresh container?"""
        fn = self.scope.enclosing_function()
        if fn is None or self.scope.lookup_scope(name) is not fn:
            return False
        if name in fn.globals_ or name in fn.nonlocals:
            return False
        binds = fn.bindings.get(name, [])
        if not binds:
            return False
        for b in binds:
            if b.kind != "assign" or b.value is None:
                return False
            v = b.value
            if isinstance(v, (cst.List, cst.Tuple, cst.Set, cst.Dict, *_COMPS)):
                if isinstance(v, cst.GeneratorExp):
                    return False
                continue
            if isinstance(v, cst.Call):
                qual = self.walker.resolver.qualname(v.func, self.scope)
                if isinstance(v.func, cst.Name) and self.scope.lookup_scope(v.func.value) is None:
                    qual = v.func.value
                if qual in _CONTAINER_CALLS or qual in ("sorted", "tuple", "frozenset"):
                    continue
            return False
        return True

    # ---- body ----------------------------------------------------------------------
    def suite(self, suite: cst.BaseSuite, conditional: bool, nested: bool) -> None:
        for stmt in _body(suite):
            self.body_statement(stmt, conditional, nested)

    def body_statement(self, stmt: cst.BaseStatement, conditional: bool, nested: bool) -> None:
        loop = self.loop
        assert loop is not None
        if isinstance(stmt, cst.SimpleStatementLine):
            cmds = self.walker.commands(stmt, self.scope)
            if cmds is None:
                cmds = self.append_commands(stmt)
            if cmds is None:
                parts = statement_value(stmt)
                if parts is not None:
                    small, kind, value, targets = parts
                    cmds = self.wrapped_commands(stmt, small, kind, value, targets)
            if cmds is not None:
                self.add_commands(cmds, conditional, nested)
                return
            loop.body_statements.append(stmt)
            for small in stmt.body:
                self.small(small)
            return
        loop.body_statements.append(stmt)
        if isinstance(stmt, cst.If):
            branches: list[cst.BaseSuite] = []
            node: cst.If | cst.Else | None = stmt
            start = len(loop.commands)
            reads: set[str] = set()
            while node is not None:
                if isinstance(node, cst.If):
                    if self.uses_client(node.test):
                        raise _Ineligible("a condition in the loop uses Redis")
                    facts = self.scanner.scan(node.test)
                    if facts.has_await or facts.has_yield:
                        raise _Ineligible("a condition in the loop awaits")
                    if facts.opaque:
                        self.opaque_calls(facts.calls)
                        reads.add(_OPAQUE)
                    reads |= facts.reads
                    branches.append(node.body)
                    node = node.orelse  # type: ignore[assignment]
                else:
                    branches.append(node.body)
                    node = None
            exits = any(_has_exit(b) for b in branches)
            conts = any(_has_continue(b) for b in branches)
            for b in branches:
                self.suite(b, True, nested)
            self.tests.append(
                _Test(frozenset(reads), start, len(loop.commands), exits, conts, branch=True)
            )
            return
        if isinstance(stmt, (cst.For, cst.While)):
            if stmt.orelse is not None:
                raise _Ineligible("an inner loop has an else clause")
            start = len(loop.commands)
            if isinstance(stmt, cst.For):
                if stmt.asynchronous is not None:
                    raise _Ineligible("an inner async for")
                head = stmt.iter
                self.steps.append((frozenset(), frozenset(target_names(stmt.target))))
            else:
                head = stmt.test
                if _always_true(stmt.test):
                    raise _Ineligible("an inner while True loop")
            if self.uses_client(head):
                raise _Ineligible("an inner loop's items come from Redis")
            facts = self.scanner.scan(head)
            if facts.has_await or facts.has_yield:
                raise _Ineligible("an inner loop header awaits")
            if facts.opaque:
                self.opaque_calls(facts.calls)
            self.suite(stmt.body, conditional, True)
            self.tests.append(
                _Test(frozenset(facts.reads), start, len(loop.commands), False, False)
            )
            return
        raise _Ineligible(f"a {type(stmt).__name__.lower()} statement in the loop body")

    def append_commands(self, stmt: cst.SimpleStatementLine) -> list[Command] | None:
        """``out.append(r.get(k))`` on a local container: the command's result is
        collected (kind "append", target the container)."""
        if len(stmt.body) != 1 or not isinstance(stmt.body[0], cst.Expr):
            return None
        small = stmt.body[0]
        call = small.value
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value in ("append", "add")
            and isinstance(call.func.value, cst.Name)
            and len(call.args) == 1
            and call.args[0].keyword is None
            and not call.args[0].star
        ):
            return None
        if not self._local_container(call.func.value.value):
            return None
        args = (stmt, small, "append", call.args[0].value, (call.func.value,))
        return self.walker.commands_in(*args, self.scope) or self.wrapped_commands(*args)

    def wrapped_commands(
        self,
        stmt: cst.SimpleStatementLine,
        small: cst.BaseSmallStatement,
        kind: str,
        value: cst.BaseExpression,
        targets: tuple[cst.BaseExpression, ...],
    ) -> list[Command] | None:
        """Commands inside code we cannot see into (``Model(r.hgetall(k))``): in a loop,
        that code would run after the commands are sent, so the loop is still a batch,
        as long as that code does not use Redis (then it is marked opaque)."""
        calls = list(self.walker.client_calls(value, self.scope))
        if not calls or any(cc.conditional or cc.nested for cc in calls):
            return None
        cmds: list[Command] = []
        skip: set[int] = set()
        for cc in calls:
            node: cst.BaseExpression = cc.await_node if cc.await_node is not None else cc.call
            got = self.walker.commands_in(stmt, small, kind, node, targets, self.scope)
            if not got or len(got) != 1:
                return None
            got[0].wrapped = True
            cmds.append(got[0])
            skip.add(id(node))
        # the code around the commands
        opaque: list[cst.Call] = []
        stack: list[cst.CSTNode] = [value]
        while stack:
            n = stack.pop()
            if id(n) in skip:
                continue
            if isinstance(n, (cst.Yield, cst.NamedExpr, cst.Lambda, *_COMPS)):
                return None
            if isinstance(n, cst.Await):
                opaque.append(cst.Call(func=cst.Name("await")))
            if isinstance(n, cst.Call) and self.scanner.call_kind(n) == "opaque":
                if self.walker.calls_redis_code(n, self.scope):
                    raise _Ineligible("the loop body calls code that uses Redis")
                opaque.append(n)
            stack.extend(iter_children(n))
        if opaque:
            assert self.loop is not None
            self.loop.opaque = True
            self.loop.visible_writes = True
        return cmds

    def add_commands(self, cmds: list[Command], conditional: bool, nested: bool) -> None:
        loop = self.loop
        assert loop is not None
        for c in cmds:
            if c.kind == "return":
                raise _Ineligible("the loop returns a command's result")
            if loop.client_key is None:
                loop.client_key, loop.client, loop.is_async = c.client_key, c.client, c.is_async
            elif c.client_key != loop.client_key or c.is_async != loop.is_async:
                raise _Ineligible("commands on several clients")
            if c.redis_args:
                raise _Ineligible("an argument calls code that uses Redis")
            if c.opaque_args:
                loop.opaque = True
            if c.result_used:
                loop.results_bound = True
            if c.writes_state or c.kind == "append":
                loop.writes_state = True
                if c.kind != "append" and not all(
                    self._local_container(w.split(".")[0]) for w in c.writes
                ):
                    loop.visible_writes = True
            loop.conditional |= conditional
            loop.nested |= nested
            loop.commands.append(c)
            self.steps.append((c.reads | c.bind_reads, c.writes))

    def small(self, small: cst.BaseSmallStatement) -> None:
        loop = self.loop
        assert loop is not None
        if isinstance(small, (cst.Break, cst.Return, cst.Raise, cst.Assert)):
            loop.early_exit = True
            value = getattr(small, "value", None) or getattr(small, "exc", None)
            if isinstance(small, cst.Assert):
                value = small.test
            if value is not None:
                self.expression(value, frozenset())
            return
        if isinstance(small, (cst.Continue, cst.Pass, cst.Import, cst.ImportFrom)):
            return
        if isinstance(small, (cst.Global, cst.Nonlocal)):
            raise _Ineligible("global/nonlocal in the loop body")
        if isinstance(small, cst.Del):
            self.steps.append((frozenset(), frozenset(target_names(small.target))))
            loop.writes_state = True
            return
        targets: list[cst.BaseExpression] = []
        if isinstance(small, cst.Assign):
            targets, value = [t.target for t in small.targets], small.value
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            targets, value = [small.target], small.value  # type: ignore[assignment]
        elif isinstance(small, cst.Expr):
            value = small.value
        else:
            raise _Ineligible(f"a {type(small).__name__} statement in the loop body")
        if value is None:
            return
        writes: set[str] = set()
        extra_reads: set[str] = set()
        for t in targets:
            names = list(target_names(t))
            writes.update(names)
            if not isinstance(t, cst.Name):
                loop.writes_state = True
                if not all(self._local_container(n.split(".")[0]) for n in names):
                    loop.visible_writes = True
                extra_reads |= self.scanner.scan(t).reads - set(names)
            if isinstance(small, cst.AugAssign):
                extra_reads.update(names)
                self.accumulators.update(names)
        if loop.client_key is not None and any(names_overlap(w, loop.client_key) for w in writes):
            raise _Ineligible("the client is rebound in the loop")
        self.expression(value, frozenset(writes), frozenset(extra_reads))

    def expression(
        self,
        value: cst.BaseExpression,
        writes: frozenset[str],
        extra_reads: frozenset[str] = frozenset(),
    ) -> None:
        loop = self.loop
        assert loop is not None
        if self.uses_client(value):
            raise _Ineligible("the loop body uses a client in another way")
        facts = self.scanner.scan(value)
        if facts.has_yield:
            raise _Ineligible("the loop body yields")
        if facts.has_await:
            loop.opaque = True
        container_writes: set[str] = set()
        opaque = []
        for call in facts.calls:
            if self.scanner.call_kind(call) != "opaque":
                continue
            func = call.func
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value in CONTAINER_METHODS
                and isinstance(func.value, cst.Name)
                and self._local_container(func.value.value)
            ):
                container_writes.add(func.value.value)
                self.accumulators.add(func.value.value)
                loop.writes_state = True
                continue
            opaque.append(call)
        self.opaque_calls(opaque)
        if opaque or facts.has_await:
            # what code we cannot see into returns may come from Redis
            self.unknown.update(writes | frozenset(facts.writes))
        self.steps.append(
            (
                frozenset(facts.reads) | extra_reads,
                writes | frozenset(facts.writes) | frozenset(container_writes),
            )
        )

    def opaque_calls(self, calls: Sequence[cst.Call]) -> None:
        loop = self.loop
        assert loop is not None
        for call in calls:
            if self.walker.calls_redis_code(call, self.scope):
                raise _Ineligible("the loop body calls code that uses Redis")
            loop.opaque = True
            loop.visible_writes = True  # unknown code may change anything

    def uses_client(self, node: cst.CSTNode) -> bool:
        return next(iter(self.walker.client_calls(node, self.scope)), None) is not None

    # ---- dependencies ----------------------------------------------------------------
    def closure(self, names: set[str]) -> set[str]:
        """``names`` and every name the body derives from them, across iterations."""
        out = set(names)
        changed = True
        while changed:
            changed = False
            for reads, writes in self.steps:
                if writes - out and any(names_overlap(r, t) for r in reads for t in out):
                    out |= writes
                    changed = True
        return out

    def finish(self) -> None:
        loop = self.loop
        assert loop is not None
        if not loop.commands:
            raise _Ineligible("no command in the loop body")
        # results: names bound from a command, closed over statements reading them,
        # until nothing changes (a result may reach a later iteration: loop-carried)
        tainted = self.closure({w for c in loop.commands for w in c.writes})
        key = loop.client_key
        assert key is not None
        if loop.target is not None and any(
            names_overlap(w, key) for w in target_names(loop.target)
        ):
            raise _Ineligible("the loop variable rebinds the client")
        if any(names_overlap(w, key) for _r, writes in self.steps for w in writes):
            raise _Ineligible("the client is rebound in the loop")
        for c in loop.commands:
            if any(names_overlap(r, t) for r in c.reads for t in tainted):
                raise _Ineligible("a command's arguments depend on a result")
        if all(_sends_a_batch(c) for c in loop.commands):
            raise _Ineligible("every iteration already sends a batch (a chunked loop)")
        for test in self.tests:
            if (
                test.branch
                and test.first_cmd < test.end_cmd
                and any(names_overlap(r, a) for r in test.reads for a in self.accumulators)
            ):
                raise _Ineligible("a command runs once per batch of items (a chunked loop)")
        # the same for what unseen code returned: it may be a Redis reply too
        unknown = self.closure(self.unknown | {_OPAQUE})
        n = len(loop.commands)
        for test in self.tests:
            if test.first_cmd < test.end_cmd and any(
                names_overlap(r, t) for r in test.reads for t in unknown
            ):
                raise _Ineligible("whether a command runs depends on code we cannot see into")
            if not any(names_overlap(r, t) for r in test.reads for t in tainted):
                continue
            if test.first_cmd < test.end_cmd or test.exits:
                raise _Ineligible("whether a command runs depends on a result")
            if test.continues and test.end_cmd < n:
                raise _Ineligible("whether a command runs depends on a result")
        loop.writes = frozenset(w for _r, writes in self.steps for w in writes)
        loop.independent = True

    # ---- comprehensions --------------------------------------------------------------
    def comprehension(
        self,
        node: cst.ListComp | cst.SetComp | cst.DictComp | cst.GeneratorExp,
        stmt: cst.BaseStatement,
        small: cst.BaseSmallStatement | None,
        parent: cst.CSTNode | None,
    ) -> Loop:
        kind = {
            cst.ListComp: "listcomp",
            cst.SetComp: "setcomp",
            cst.DictComp: "dictcomp",
            cst.GeneratorExp: "genexp",
        }[type(node)]
        loop = Loop(node, kind, stmt, small, self.scope)
        self.loop = loop
        loop.target = node.for_in.target
        loop.iterable = node.for_in.iter
        try:
            if not self.uses_client(node):
                raise _Ineligible("no command in the comprehension")
            self._consumer(node, parent, stmt)
            loop.iterable_kind = self.iterable_kind(
                node.for_in.iter, node.for_in.asynchronous is not None
            )
            self._statement_context(node, stmt, small)
            for_in: cst.CompFor | None = node.for_in
            first = True
            while for_in is not None:
                if for_in.asynchronous is not None:
                    raise _Ineligible("an async comprehension")
                if not first:
                    loop.nested = True
                    if self.uses_client(for_in.iter):
                        raise _Ineligible("an inner loop's items come from Redis")
                    self._pure(for_in.iter)
                for if_ in for_in.ifs:
                    loop.conditional = True
                    if self.uses_client(if_.test):
                        raise _Ineligible("a condition in the comprehension uses Redis")
                    self._pure(if_.test)
                first = False
                for_in = for_in.inner_for_in
            if isinstance(node, cst.DictComp):
                if self.uses_client(node.key):
                    raise _Ineligible("the key of the dict comprehension uses Redis")
                self._pure(node.key)
                element: cst.BaseExpression = node.value
            else:
                element = node.elt
            if any(isinstance(n, cst.NamedExpr) for n in _walk(node)):
                raise _Ineligible("a walrus in the comprehension")
            value: cst.BaseExpression = element
            if loop.consumer == "gather":
                value = cst.Await(expression=element)  # gather awaits each coroutine
            cmds = self.walker.commands_in(stmt, small, "element", value, (), self.scope)
            if cmds is None and loop.consumer != "gather":
                cmds = self.wrapped_commands(stmt, small, "element", value, ())
            if cmds is None:
                if self.uses_client(element):
                    raise _Ineligible("the element uses Redis in a way we cannot batch")
                raise _Ineligible("no command in the comprehension")
            for c in cmds:
                if c.redis_args:
                    raise _Ineligible("an argument calls code that uses Redis")
                if loop.client_key is None:
                    loop.client_key, loop.client, loop.is_async = (
                        c.client_key,
                        c.client,
                        c.is_async,
                    )
                elif c.client_key != loop.client_key:
                    raise _Ineligible("commands on several clients")
                loop.opaque |= c.opaque_args
            loop.commands.extend(cmds)
            loop.results_bound = True
            loop.writes = frozenset(_comp_targets(node))
            if any(names_overlap(w, loop.client_key or "") for w in _comp_targets(node)):
                raise _Ineligible("the loop variable rebinds the client")
            loop.independent = True
        except _Ineligible as exc:
            loop.independent = False
            loop.reason = str(exc)
        return loop

    def _statement_context(
        self, node: cst.CSTNode, stmt: cst.BaseStatement, small: cst.BaseSmallStatement | None
    ) -> None:
        """Can the commands be sent before the statement holding the comprehension
        runs? Sets ``hoist_display`` / ``hoist_unsafe`` when not, or not provably."""
        loop = self.loop
        assert loop is not None
        if not isinstance(stmt, cst.SimpleStatementLine) or small is None:
            loop.hoist_display = "the comprehension is in the header of a compound statement"
            return
        outer = loop.consumer_node if loop.consumer == "gather" else node
        path = _conditional_path(small, outer)  # type: ignore[arg-type]
        if path is None or path:
            loop.hoist_display = "the comprehension runs only under a condition"
            return
        rest = [n for n in _walk_outside(small, outer) if isinstance(n, (cst.Call, cst.Await))]
        for n in rest:
            if isinstance(n, cst.Await) or self.scanner.call_kind(n) == "opaque":
                if self.uses_client(n) or (
                    isinstance(n, cst.Call) and self.walker.calls_redis_code(n, self.scope)
                ):
                    loop.hoist_display = "the statement also uses Redis around the loop"
                    return
                loop.hoist_unsafe = (
                    "code of the statement around the comprehension runs after the "
                    "commands are sent instead of before"
                )

    def _pure(self, expr: cst.BaseExpression) -> None:
        facts = self.scanner.scan(expr)
        if facts.has_await or facts.has_yield:
            raise _Ineligible("the comprehension awaits")
        self.opaque_calls([c for c in facts.calls if self.scanner.call_kind(c) == "opaque"])

    def _consumer(self, node: cst.CSTNode, parent: cst.CSTNode | None, stmt: object) -> None:
        """How a comprehension is consumed; a generator consumed lazily is no batch."""
        loop = self.loop
        assert loop is not None
        lazy = isinstance(node, cst.GeneratorExp)
        call = _call_of_arg(stmt, parent) if isinstance(parent, cst.Arg) else None
        if call is None or not isinstance(parent, cst.Arg):
            if lazy:
                raise _Ineligible("a generator consumed lazily")
            return
        func = call.func
        if parent.star == "*":
            if self.walker.resolver.qualname(func, self.scope) == "asyncio.gather":
                await_ = _await_of(stmt, call)
                if await_ is None:
                    raise _Ineligible("gather without await")
                loop.consumer, loop.consumer_node = "gather", await_
                return
            raise _Ineligible("items unpacked into a call")
        if not lazy:
            return
        if parent.keyword is not None or parent.star or len(call.args) != 1:
            raise _Ineligible("a generator passed to a call with other arguments")
        if isinstance(func, cst.Name) and func.value in CONSUMERS:
            if self.scope.lookup_scope(func.value) is not None:
                raise _Ineligible("a generator consumed by a shadowed builtin")
            loop.consumer, loop.consumer_node = func.value, call
            loop.early_exit = func.value in _EARLY
            return
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "join"
            and isinstance(func.value, (cst.SimpleString, cst.ConcatenatedString))
        ):
            loop.consumer, loop.consumer_node = "join", call
            return
        raise _Ineligible("a generator consumed by code we cannot see into")


class _PipelineScan:
    """Pipelines executed in a ``for`` body (RP104): one created per iteration, or one
    created outside and executed in every iteration. Only when nothing else in the
    body uses Redis, the pipeline is not a WATCH/MULTI transaction, and no command
    queued in a later iteration reads what an earlier ``execute()`` returned."""

    def __init__(self, walker: _Walker, scope: Scope) -> None:
        self.walker = walker
        self.scope = scope

    def _pipeline_of(self, value: cst.BaseExpression | None) -> str | None:
        if (
            isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "pipeline"
            and self.walker.resolver.receiver(value.func.value, self.scope) is not None
        ):
            return dotted_name(value.func.value)
        return None

    def scan(self, loop: cst.For) -> list[PipelineUse]:
        if not _method_call(loop.body, "execute"):
            return []
        uses: dict[str, PipelineUse] = {}
        creates: set[int] = set()
        # pipelines created in the body
        for n in _walk(loop.body):
            if isinstance(n, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                return []
            if isinstance(n, cst.With):
                for item in n.items:
                    key = self._pipeline_of(item.item)
                    if key is not None and item.asname is not None:
                        if not isinstance(item.asname.name, cst.Name):
                            return []
                        name = item.asname.name.value
                        uses[name] = PipelineUse(name, key, True, create_stmt=n)
                        creates.add(id(item.item))
            elif isinstance(n, cst.Assign):
                key = self._pipeline_of(n.value)
                if key is not None:
                    if len(n.targets) != 1 or not isinstance(n.targets[0].target, cst.Name):
                        return []
                    name = n.targets[0].target.value
                    uses[name] = PipelineUse(name, key, True)
                    creates.add(id(n.value))
        # a pipeline filled by an inner loop, or executed under a condition, is a
        # chunked batch: one round trip per chunk is the recommended pattern
        if any(self._chunked(loop.body, name) for name in uses) or self._outer_chunked(loop.body):
            return []
        # executes, and everything else that touches Redis
        tainted: set[str] = set()
        queued_reads: set[str] = set()
        for n in _walk(loop.body):
            if isinstance(n, cst.SimpleStatementLine):
                for small in n.body:
                    value = getattr(small, "value", None)
                    if not isinstance(value, cst.BaseExpression):
                        continue
                    if not self._is_execute(value, uses):
                        continue
                    for t in getattr(small, "targets", ()):
                        tainted.update(target_names(t.target))
                    if isinstance(small, (cst.AnnAssign, cst.AugAssign)):
                        tainted.update(target_names(small.target))
            if not isinstance(n, cst.Call) or not isinstance(n.func, cst.Attribute):
                continue
            owner = n.func.value
            name = owner.value if isinstance(owner, cst.Name) else None
            method = n.func.attr.value
            if name is not None and name in uses:
                if method in ("watch", "multi", "unwatch"):
                    return []
                if method == "execute":
                    uses[name].executes.append(n)
                elif any(a.star == "*" for a in n.args):
                    return []  # a chunk of items queued per iteration: a chunked loop
                else:
                    for a in n.args:
                        queued_reads |= (
                            Scanner(self.scope, self.walker.resolver.qualname).scan(a.value).reads
                        )
                continue
            if id(n) in creates:
                continue
            if self.walker.resolver.receiver(owner, self.scope) is not None:
                return []  # another use of a client in the body
            if name is not None and name not in uses and method == "execute":
                key = self._pipeline_of(_sole_value(self.scope, name))
                if key is not None:
                    uses[name] = PipelineUse(name, key, False)
                    uses[name].executes.append(n)
        if any(names_overlap(r, t) for r in queued_reads for t in tainted):
            return []  # a later iteration queues what an earlier one read
        if loop.target is not None and any(
            names_overlap(w, u.client_key) for w in target_names(loop.target) for u in uses.values()
        ):
            return []
        out = []
        for use in uses.values():
            if use.executes:
                use.result_used = bool(tainted)
                out.append(use)
        return out

    def _chunked(self, body: cst.CSTNode, name: str) -> bool:
        """Does ``name`` get commands in an inner loop, or its execute() under an if?"""
        for n in _walk(body):
            if isinstance(n, (cst.For, cst.While, *_COMPS)) and _method_call(n, None, name):
                return True
            if isinstance(n, cst.If) and _method_call(n, "execute", name):
                return True
        return False

    def _outer_chunked(self, body: cst.CSTNode) -> bool:
        """An execute() under an if on a pipeline created outside the loop."""
        return any(isinstance(n, cst.If) and _method_call(n, "execute") for n in _walk(body))

    def _is_execute(self, value: cst.BaseExpression, uses: dict[str, PipelineUse]) -> bool:
        call = value.expression if isinstance(value, cst.Await) else value
        return (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "execute"
            and isinstance(call.func.value, cst.Name)
            and (
                call.func.value.value in uses
                or _sole_value(self.scope, call.func.value.value) is not None
            )
        )


def _method_call(node: cst.CSTNode, method: str | None, owner: str | None = None) -> bool:
    """Is there a call ``<owner>.<method>(...)`` in ``node`` (any method or owner when
    None)?"""
    for m in _walk(node):
        if (
            type(m) is cst.Call
            and type(m.func) is cst.Attribute
            and (method is None or m.func.attr.value == method)
            and (
                owner is None
                or (isinstance(m.func.value, cst.Name) and m.func.value.value == owner)
            )
        ):
            return True
    return False


def _conditional_path(root: cst.CSTNode, target: cst.CSTNode) -> bool | None:
    """Is ``target`` reached from ``root`` only under a condition (an ``if``
    expression's branch, the right side of ``and``/``or``, a lambda or another
    comprehension's element)? None when it is not found."""
    stack: list[tuple[cst.CSTNode, bool]] = [(root, False)]
    while stack:
        n, cond = stack.pop()
        if n is target:
            return cond
        if isinstance(n, cst.IfExp):
            stack.append((n.test, cond))
            stack.extend((c, True) for c in (n.body, n.orelse))
        elif isinstance(n, cst.BooleanOperation):
            stack.extend(((n.left, cond), (n.right, True)))
        elif isinstance(n, (cst.Lambda, *_COMPS)):
            stack.extend((c, True) for c in iter_children(n))
        else:
            stack.extend((c, cond) for c in iter_children(n))
    return None


def _walk_outside(root: cst.CSTNode, skip: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [root]
    while stack:
        n = stack.pop()
        if n is skip:
            continue
        yield n
        stack.extend(iter_children(n))


def _sole_value(scope: Scope, name: str) -> cst.BaseExpression | None:
    b = scope.sole_binding(name)
    if b is None:
        return None
    if b.kind == "with" or b.kind == "assign":
        return b.value
    return None


def _pipeline_context(expr: cst.BaseExpression) -> bool:
    """``x.pipeline(...)`` / ``x.transaction(...)``, whatever ``x`` is."""
    return (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value in ("pipeline", "transaction")
    )


def _comp_targets(node: cst.CSTNode) -> Iterator[str]:
    for_in = getattr(node, "for_in", None)
    while for_in is not None:
        yield from target_names(for_in.target)
        for_in = for_in.inner_for_in


def _call_of_arg(stmt: object, arg: cst.Arg) -> cst.Call | None:
    for n in _walk(stmt):  # type: ignore[arg-type]
        if isinstance(n, cst.Call) and any(a is arg for a in n.args):
            return n
    return None


def _await_of(stmt: object, call: cst.Call) -> cst.Await | None:
    for n in _walk(stmt):  # type: ignore[arg-type]
        if isinstance(n, cst.Await) and n.expression is call:
            return n
    return None


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        if type(n) not in _LEAF_TYPES:
            stack.extend(iter_children(n))


def _sends_a_batch(c: Command) -> bool:
    """A command given many keys or members at once: ``delete(*chunk)``, ``mget(keys)``."""
    return any(a.star for a in c.call.args) or c.method in _multi_methods()


@lru_cache(maxsize=1)
def _multi_methods() -> frozenset[str]:
    """Methods that are the multi-key form of another (``mget``, ``hmget``...)."""
    return frozenset(
        spec.multi_form.method
        for spec in catalog.all_commands().values()
        if spec.multi_form is not None
        and spec.multi_form.method != spec.method
        and spec.multi_form.kind in ("multi_key", "same_key_fields")
    )


def _always_true(test: cst.BaseExpression) -> bool:
    if isinstance(test, cst.Name) and test.value == "True":
        return True
    return isinstance(test, cst.Integer) and test.value != "0"


def _loop_free(suite: cst.BaseSuite) -> Iterator[cst.CSTNode]:
    """Statements of ``suite`` and its nested blocks, not entering inner loops/defs."""
    for stmt in _body(suite):
        yield stmt
        if isinstance(stmt, cst.SimpleStatementLine):
            yield from stmt.body
        elif not isinstance(stmt, (cst.For, cst.While, cst.FunctionDef, cst.ClassDef)):
            for child in _child_suites(stmt):
                yield from _loop_free(child)


def _has_exit(suite: cst.BaseSuite) -> bool:
    return any(isinstance(n, (cst.Break, cst.Return, cst.Raise)) for n in _loop_free(suite))


def _has_continue(suite: cst.BaseSuite) -> bool:
    return any(isinstance(n, cst.Continue) for n in _loop_free(suite))
