"""Command extraction and dependency runs.

For every block (module, function, class body, ``if``/``for``/``while``/``try``/
``with``/``match`` bodies) the statements are scanned in order:

- a *command statement* sends exactly one batchable Redis command, as an
  expression statement, an assignment (plain, tuple, annotated, augmented) or a
  ``return``, possibly wrapped in pure code (``json.loads(r.get(k))``) and awaited
  on asyncio clients;
- a *run* is a maximal sequence of command statements on one client, where no
  command's arguments and no statement in between read a value an earlier
  command of the run produced, and the statements in between are pure (no other
  client use, no opaque call, no await, no control transfer);
- runs never cross block boundaries (``try``/``with``/loops/branches), and any
  other use of any Redis client ends a run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import libcst as cst

from pipelint import catalog
from pipelint.analysis.exprs import (
    PURE_METHODS,
    ExprFacts,
    Scanner,
    names_overlap,
    simple_target,
    target_names,
)
from pipelint.analysis.model import Command, Run, StatementFacts
from pipelint.catalog import CommandSpec
from pipelint.clients.resolve import ClientInfo, Resolver
from pipelint.clients.scopes import Scope, ScopeIndex, dotted_name, iter_children

if TYPE_CHECKING:
    from pipelint.analysis.atomic import AtomicFacts
    from pipelint.analysis.loops import Loop
    from pipelint.analysis.pipelines import PipelineFacts

__all__ = ["Analysis", "analyze"]


@dataclass
class Analysis:
    runs: list[Run]
    commands: list[Command]
    loops: list[Loop] = field(default_factory=list)  # see analysis/loops.py
    atomic: AtomicFacts | None = field(default=None)  # see analysis/atomic.py
    pipelines: PipelineFacts | None = field(default=None)  # see analysis/pipelines.py
    # RP101's wider runs: conditional commands, consumers... (see analysis/sequences.py)
    sequences: list[Run] = field(default_factory=list)


def analyze(index: ScopeIndex, resolver: Resolver) -> Analysis:
    from pipelint.analysis.loops import find_loops
    from pipelint.analysis.sequences import find_sequences

    walker = _Walker(index, resolver)
    module = index.module.node
    assert isinstance(module, cst.Module)
    walker.block(module.body, index.module)
    analysis = Analysis(walker.runs, walker.all_commands, find_loops(walker, module, walker.runs))
    _add_atomicity_facts(analysis, walker, module)
    analysis.sequences = find_sequences(index, resolver, walker)
    return analysis


def _add_atomicity_facts(analysis: Analysis, walker: _Walker, module: cst.Module) -> None:
    """Facts of the atomicity and pipeline rules (RP2xx, RP3xx)."""
    from pipelint.analysis.atomic import find_atomic
    from pipelint.analysis.pipelines import find_pipelines

    analysis.atomic = find_atomic(walker, module)
    analysis.pipelines = find_pipelines(walker.index, walker.resolver)


@dataclass
class _ClientCall:
    call: cst.Call
    receiver: cst.BaseExpression
    info: ClientInfo
    conditional: bool
    awaited: bool
    await_node: cst.Await | None
    nested: bool = False


def _receiver_key(expr: cst.BaseExpression) -> str:
    dotted = dotted_name(expr)
    if dotted is not None:
        return dotted
    return cst.Module([]).code_for_node(expr)


_TRANSFER = (cst.Return, cst.Raise, cst.Break, cst.Continue)


class _Walker:
    #: take clients that may be a pipeline instead (``ClientInfo.or_pipeline``) as receivers
    admit_pipeline = False

    def __init__(self, index: ScopeIndex, resolver: Resolver) -> None:
        self.index = index
        self.resolver = resolver
        self.runs: list[Run] = []
        self.all_commands: list[Command] = []
        self._redis_code: dict[int, bool] = {}
        self._swallowing = 0  # enclosing try statements whose handlers may fall through
        self._commands: dict[int, list[Command] | None] = {}  # commands() by statement

    # ---- blocks -------------------------------------------------------------------
    def block(self, body: Sequence[cst.BaseStatement], scope: Scope) -> None:
        current: Run | None = None
        pending: list[tuple[cst.BaseStatement, StatementFacts]] = []
        tainted: set[str] = set()

        def close() -> None:
            nonlocal current, pending, tainted
            if current is not None:
                current.in_swallowing_try = self._swallowing > 0
                self.runs.append(current)
            current, pending, tainted = None, [], set()

        for i, stmt in enumerate(body):
            cmds = self.commands(stmt, scope) if isinstance(stmt, cst.SimpleStatementLine) else None
            if cmds:
                self.all_commands.extend(cmds)
                first = cmds[0]
                if (
                    current is not None
                    and current.client_key == first.client_key
                    and current.is_async == first.is_async
                    and not any(names_overlap(r, t) for c in cmds for r in c.reads for t in tainted)
                    and not any(c.redis_args for c in cmds)
                    and not (
                        any(c.opaque_args for c in cmds)
                        and self._results_reachable(current, tainted, cmds, scope)
                    )
                ):
                    current.between.extend(pending)
                    pending = []
                    current.commands.extend(cmds)
                    current.end = i
                elif any(c.redis_args for c in cmds[1:]):
                    close()  # code that uses Redis runs between this statement's commands
                else:
                    close()
                    current = Run(body, i, i, first.client_key, first.client, first.is_async, scope)
                    current.commands.extend(cmds)
                tainted.update(first.writes)
                if current is not None and any(
                    names_overlap(w, current.client_key) for w in first.writes
                ):
                    close()  # the receiver itself was rebound: later commands go elsewhere
                continue
            if current is not None:
                facts = self.intermediate(stmt, scope)
                if (
                    facts is not None
                    and not any(names_overlap(r, t) for r in facts.reads for t in tainted)
                    and not any(names_overlap(w, current.client_key) for w in facts.writes)
                ):
                    pending.append((stmt, facts))
                    continue
                close()
            self.nested(stmt, scope)
        close()

    def nested(self, stmt: cst.BaseStatement, scope: Scope) -> None:
        """Analyse the blocks inside a compound statement."""
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
            inner = self.index.by_node.get(stmt, scope)
            saved, self._swallowing = self._swallowing, 0  # a def's body runs elsewhere
            try:
                self.block(_body(stmt.body), inner)
            finally:
                self._swallowing = saved
        elif isinstance(stmt, (cst.If,)):
            self.block(_body(stmt.body), scope)
            orelse = stmt.orelse
            if isinstance(orelse, cst.If):
                self.nested(orelse, scope)
            elif orelse is not None:
                self.block(_body(orelse.body), scope)
        elif isinstance(stmt, (cst.For, cst.While)):
            self.block(_body(stmt.body), scope)
            if stmt.orelse is not None:
                self.block(_body(stmt.orelse.body), scope)
        elif isinstance(stmt, cst.With):
            self.block(_body(stmt.body), scope)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            swallows = any(_falls_through(h.body) for h in stmt.handlers)
            self._swallowing += swallows
            try:
                self.block(_body(stmt.body), scope)
            finally:
                self._swallowing -= swallows
            for h in stmt.handlers:
                self.block(_body(h.body), scope)
            if stmt.orelse is not None:
                self.block(_body(stmt.orelse.body), scope)
            if stmt.finalbody is not None:
                self.block(_body(stmt.finalbody.body), scope)
        elif isinstance(stmt, cst.Match):
            for case in stmt.cases:
                self.block(_body(case.body), scope)

    # ---- statements ---------------------------------------------------------------
    def commands(self, stmt: cst.SimpleStatementLine, scope: Scope) -> list[Command] | None:
        """The batchable commands a statement sends, in evaluation order, or None.

        Usually one (``a = r.get(k)``); several when one expression sends independent
        commands on one client (``return r.get(a), r.get(b)``). None when the statement
        uses a client any other way, conditionally, or one command inside another."""
        key = id(stmt)
        if key in self._commands:  # asked again by the loop analysis (loops.py)
            return self._commands[key]
        parts = statement_value(stmt)
        found = None if parts is None else self.commands_in(stmt, *parts, scope)
        self._commands[key] = found
        return found

    def commands_in(
        self,
        stmt: cst.SimpleStatementLine,
        small: cst.BaseSmallStatement,
        kind: str,
        value: cst.BaseExpression,
        targets: tuple[cst.BaseExpression, ...],
        scope: Scope,
    ) -> list[Command] | None:
        """The batchable commands that evaluating ``value`` sends (see ``commands``);
        ``kind`` and ``targets`` say where its result goes. Also used for values that
        are not a whole statement (a comprehension's element, ``out.append(value)``)."""
        calls = list(self.client_calls(value, scope))
        if not calls or any(cc.conditional or cc.nested for cc in calls):
            return None
        keys = {_receiver_key(cc.receiver) for cc in calls}
        if len(keys) != 1:
            return None
        (client_key,) = keys
        scanner = Scanner(scope, self.resolver.qualname)
        parts: list[tuple[_ClientCall, str, CommandSpec, bool, cst.BaseExpression, ExprFacts]] = []
        for cc in calls:
            method = cc.call.func.attr.value  # type: ignore[attr-defined]
            spec = catalog.lookup(method)
            if spec is None or not spec.batchable:
                return None
            if spec.blocking_kwarg and (
                any(
                    a.keyword is not None and a.keyword.value == spec.blocking_kwarg
                    for a in cc.call.args
                )
                or _blocking_positional(method, spec.blocking_kwarg, cc.call)
            ):
                return None
            if cc.info.is_async is None:
                is_async = cc.awaited
            else:
                is_async = cc.info.is_async
                if cc.awaited and not is_async and _in_async_function(scope):
                    # awaited: the code runs on an asyncio client whatever its annotation
                    # says (code generated from an async twin is annotated this way)
                    is_async = True
                elif is_async != cc.awaited:
                    return None  # an un-awaited coroutine
            if is_async and not _in_async_function(scope):
                return None
            command_expr: cst.BaseExpression = (
                cc.await_node if cc.await_node is not None else cc.call
            )
            facts = ExprFacts()
            for arg in cc.call.args:
                scanner.scan(arg.value, facts)
            if facts.has_await or facts.has_yield:
                return None
            facts.reads |= scanner.scan(cc.receiver).reads
            parts.append((cc, method, spec, is_async, command_expr, facts))
        if len({p[3] for p in parts}) != 1:
            return None
        command_exprs = [p[4] for p in parts]
        wrapped = len(parts) > 1 or value is not command_exprs[0]
        bind_reads: set[str] = set()
        if wrapped:
            outer = self.scan_outside(value, command_exprs, scanner)
            if outer is None:
                return None
            bind_reads |= outer.reads
        for t in targets:
            tf = scanner.scan(t)
            if isinstance(small, cst.AugAssign):
                bind_reads |= tf.reads
            elif not isinstance(t, cst.Name):
                # attribute/subscript targets read their base and index
                bind_reads |= {r for r in tf.reads if r not in set(target_names(t))}
        writes = frozenset(w for t in targets for w in target_names(t))
        out: list[Command] = []
        for cc, method, spec, is_async, command_expr, facts in parts:
            if self.uses_client(facts, scope, exclude=client_key):
                return None
            opaque_calls = [c for c in facts.calls if scanner.call_kind(c) == "opaque"]
            local_calls = any(
                isinstance(c.func, cst.Name) and scope.lookup_scope(c.func.value) is scope
                for c in opaque_calls
            )
            out.append(
                Command(
                    stmt=stmt,
                    small=small,
                    call=cc.call,
                    command_expr=command_expr,
                    value=value,
                    receiver=cc.receiver,
                    client_key=client_key,
                    client=cc.info,
                    is_async=is_async,
                    method=method,
                    spec=spec,
                    kind=kind,
                    targets=targets,
                    wrapped=wrapped,
                    reads=frozenset(facts.reads),
                    bind_reads=frozenset(bind_reads),
                    writes=writes,
                    simple_targets=all(simple_target(t) for t in targets),
                    opaque_args=bool(opaque_calls),
                    redis_args=any(self.calls_redis_code(c, scope) for c in opaque_calls),
                    siblings=tuple(command_exprs),
                    writes_state=any(not isinstance(t, cst.Name) for t in targets),
                    local_calls=local_calls,
                )
            )
        # later commands of one statement run after the earlier ones' arguments: an
        # opaque call there runs before the earlier commands are sent
        return out

    def scan_outside(
        self, value: cst.BaseExpression, inner: Sequence[cst.BaseExpression], scanner: Scanner
    ) -> ExprFacts | None:
        """Facts of ``value`` without the subtrees ``inner``; None unless it is pure/benign."""
        facts = ExprFacts()
        skip = {id(n) for n in inner}
        stack: list[cst.CSTNode] = [value]
        while stack:
            n = stack.pop()
            if id(n) in skip:
                continue
            if isinstance(n, cst.Call):
                on_result = (
                    isinstance(n.func, cst.Attribute)
                    and id(n.func.value) in skip
                    and n.func.attr.value in PURE_METHODS
                )  # r.get(k).decode(): a method of the reply's builtin type
                if not on_result and scanner.call_kind(n) == "opaque":
                    return None
                stack.append(n.func)
                stack.extend(a.value for a in n.args)
                continue
            if isinstance(n, (cst.Await, cst.Yield, cst.Lambda, cst.NamedExpr)):
                return None
            if isinstance(n, (cst.Name, cst.Attribute)):
                dotted = dotted_name(n)
                if dotted is not None:
                    facts.reads.add(dotted)
                    continue
            stack.extend(iter_children(n))
        return facts

    def intermediate(self, stmt: cst.BaseStatement, scope: Scope) -> StatementFacts | None:
        """Facts of a statement between commands, or None if it must end the run."""
        scanner = Scanner(scope, self.resolver.qualname)
        facts = ExprFacts()
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                    if small.value is None:
                        continue
                    scanner.scan(small.value, facts)
                    targets = (
                        [t.target for t in small.targets]
                        if isinstance(small, cst.Assign)
                        else [small.target]
                    )
                    for t in targets:
                        if not simple_target(t):
                            return None
                        facts.writes.update(target_names(t))
                        tf = scanner.scan(t)
                        if isinstance(small, cst.AugAssign) or not isinstance(t, cst.Name):
                            facts.reads |= tf.reads
                elif isinstance(small, cst.Expr):
                    if isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                        continue  # a docstring-like string
                    if not isinstance(small.value, cst.Call):
                        return None  # evaluated for its effect: a property, __getitem__...
                    scanner.scan(small.value, facts)
                elif isinstance(small, cst.Pass):
                    continue
                else:
                    return None
        elif isinstance(stmt, cst.If):
            scanner.scan(stmt.test, facts)
            branches: list[cst.BaseSuite] = [stmt.body]
            orelse = stmt.orelse
            while orelse is not None:
                if isinstance(orelse, cst.If):
                    scanner.scan(orelse.test, facts)
                    branches.append(orelse.body)
                    orelse = orelse.orelse
                else:
                    branches.append(orelse.body)
                    orelse = None
            for suite in branches:
                for inner in _body(suite):
                    sub = self.intermediate(inner, scope)
                    if sub is None:
                        return None
                    facts.reads |= sub.reads
                    facts.writes |= sub.writes
        else:
            return None
        if facts.opaque or facts.has_await or facts.has_yield:
            return None
        if self.uses_client(facts, scope):
            return None
        return StatementFacts(frozenset(facts.reads), frozenset(facts.writes))

    def _results_reachable(
        self, run: Run, tainted: set[str], cmds: list[Command], scope: Scope
    ) -> bool:
        """Could a function called in ``cmds``' arguments read a result of ``run``?

        It cannot see the caller's plain local variables, but it can see object state
        (``self.count = r.incr(...)``, ``d[k] = ...``), globals, and, for a function
        defined in this one, its closure."""
        if not tainted:
            return False
        if any(c.writes_state for c in run.commands):
            return True
        fn = scope.enclosing_function()
        if fn is None or scope.kind != "function":
            return True  # module or class level: the results are globals/attributes
        if any(t in fn.globals_ or t in fn.nonlocals for t in tainted):
            return True
        return any(c.local_calls for c in cmds)

    # ---- clients ------------------------------------------------------------------
    def calls_redis_code(self, call: cst.Call, scope: Scope, depth: int = 0) -> bool:
        """Does ``call`` run a function of this module (or a method on self) that uses a
        Redis client? Such a call in a command's arguments runs between two round trips."""
        fn = self.resolver.local_function(call.func, scope)
        if fn is None or depth > 3:
            return False
        key = id(fn)
        if key in self._redis_code:
            return self._redis_code[key]
        self._redis_code[key] = False  # recursion guard
        found = False
        stack: list[cst.CSTNode] = [fn.node]
        while stack and not found:
            n = stack.pop()
            if isinstance(n, (cst.Name, cst.Attribute)):
                dotted = dotted_name(n)
                if dotted is not None:
                    end = len(dotted)
                    while end > 0 and not found:
                        found = self.resolver.dotted(dotted[:end], fn) is not None
                        end = dotted.rfind(".", 0, end)
                    continue
            if isinstance(n, cst.Call) and self.calls_redis_code(n, fn, depth + 1):
                found = True
                break
            stack.extend(iter_children(n))
        self._redis_code[key] = found
        return found

    def uses_client(self, facts: ExprFacts, scope: Scope, exclude: str | None = None) -> bool:
        """Does code with these facts touch any Redis client (a name or a call)? The
        client ``exclude`` (a command's own receiver) does not count."""
        for name in facts.reads:
            if exclude is not None and names_overlap(name, exclude) and len(name) <= len(exclude):
                continue
            # any prefix of a dotted read may be a client: r, self.r, self.r.get
            end = len(name)
            while end > 0:
                if self.resolver.dotted(name[:end], scope) is not None:
                    return True
                end = name.rfind(".", 0, end)
        return False

    def client_calls(self, value: cst.BaseExpression, scope: Scope) -> Iterator[_ClientCall]:
        """Calls of a method on a Redis client inside ``value``, in source (evaluation)
        order, and other client uses (a client passed along or aliased is yielded as a
        conditional pseudo-call, so that it is never taken for a command). A client call
        inside another's arguments is marked ``nested``."""
        # stack entries: node, conditional, awaited by, inside a client call's arguments
        stack: list[tuple[cst.CSTNode, bool, cst.Await | None, bool]] = [
            (value, False, None, False)
        ]
        resolver, admit = self.resolver, self.admit_pipeline

        def receiver_of(expr: cst.BaseExpression, scope: Scope) -> ClientInfo | None:
            return resolver.receiver(expr, scope, admit_pipeline=admit)

        while stack:
            n, conditional, awaited_by, inside = stack.pop()
            t = type(n)
            if t is cst.Await:
                stack.append((n.expression, conditional, n, inside))  # type: ignore[attr-defined]
            elif t is cst.Call:
                func = n.func  # type: ignore[attr-defined]
                if type(func) is cst.Attribute:
                    info = receiver_of(func.value, scope)
                    if info is not None:
                        yield _ClientCall(
                            n,  # type: ignore[arg-type]
                            func.value,
                            info,
                            conditional,
                            awaited_by is not None,
                            awaited_by,
                            inside,
                        )
                        receiver = func.value
                        for a in reversed(n.args):  # type: ignore[attr-defined]
                            stack.append((a.value, conditional, None, True))
                        if type(receiver) is cst.Call:
                            for a in reversed(receiver.args):
                                stack.append((a.value, conditional, None, True))
                        continue
                for a in reversed(n.args):  # type: ignore[attr-defined]
                    stack.append((a.value, conditional, None, inside))
                stack.append((func, conditional, None, inside))
            elif t is cst.Name or t is cst.Attribute:
                if dotted_name(n) is not None:  # type: ignore[arg-type]
                    info = receiver_of(n, scope)  # type: ignore[arg-type]
                    if info is not None:
                        yield _ClientCall(n, n, info, True, False, None, inside)  # type: ignore[arg-type]
                    if t is cst.Attribute:
                        stack.append((n.value, conditional, None, inside))  # type: ignore[attr-defined]
                else:
                    stack.append((n.value, conditional, None, inside))  # type: ignore[attr-defined]
            elif t in _LEAVES:
                continue
            elif t is cst.BooleanOperation:
                stack.append((n.right, True, None, inside))  # type: ignore[attr-defined]
                stack.append((n.left, conditional, None, inside))  # type: ignore[attr-defined]
            elif t is cst.Comparison and len(n.comparisons) > 1:  # type: ignore[attr-defined]
                # a < b < c: c is evaluated only when a < b (it short-circuits like `and`)
                comps = n.comparisons  # type: ignore[attr-defined]
                for comp in reversed(comps[1:]):
                    stack.append((comp.comparator, True, None, inside))
                stack.append((comps[0].comparator, conditional, None, inside))
                stack.append((n.left, conditional, None, inside))  # type: ignore[attr-defined]
            elif t is cst.IfExp:
                stack.append((n.orelse, True, None, inside))  # type: ignore[attr-defined]
                stack.append((n.body, True, None, inside))  # type: ignore[attr-defined]
                stack.append((n.test, conditional, None, inside))  # type: ignore[attr-defined]
            elif t in _DEFERRED:
                for child in reversed(list(iter_children(n))):
                    stack.append((child, True, None, inside))
            else:
                for child in reversed(list(iter_children(n))):
                    stack.append((child, conditional, None, inside))


_LEAVES = frozenset({cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis})
#: code inside runs later, repeatedly or not at all
_DEFERRED = frozenset({cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp})


def statement_value(
    stmt: cst.SimpleStatementLine,
) -> tuple[cst.BaseSmallStatement, str, cst.BaseExpression, tuple[cst.BaseExpression, ...]] | None:
    """(small statement, kind, value, targets) of a one-statement line whose value a
    command's result could be: ``x = v``, ``x: T = v``, ``x += v``, ``return v``, ``v``."""
    if len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    targets: tuple[cst.BaseExpression, ...] = ()
    if isinstance(small, cst.Expr):
        kind, value = "expr", small.value
    elif isinstance(small, cst.Assign):
        kind, value = "assign", small.value
        targets = tuple(t.target for t in small.targets)
    elif isinstance(small, cst.AnnAssign) and small.value is not None:
        kind, value = "annassign", small.value
        targets = (small.target,)
    elif isinstance(small, cst.AugAssign):
        kind, value = "augassign", small.value
        targets = (small.target,)
    elif isinstance(small, cst.Return) and small.value is not None:
        kind, value = "return", small.value
    else:
        return None
    return small, kind, value, targets


def _falls_through(suite: cst.BaseSuite) -> bool:
    """Can this handler body complete normally (not end in return/raise/continue/break)?"""
    body = _body(suite)
    if not body:
        return True
    last = body[-1]
    if isinstance(last, cst.SimpleStatementLine) and last.body:
        return not isinstance(last.body[-1], _TRANSFER)
    return True


def _body(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return []


def _blocking_positional(method: str, kwarg: str, call: cst.Call) -> bool:
    """Is the blocking parameter (``xread(streams, count, block)``) passed by position?"""
    import inspect

    import redis

    fn = getattr(redis.Redis, method, None)
    if fn is None:
        return any(a.star for a in call.args)
    try:
        params = list(inspect.signature(fn).parameters)[1:]
    except (TypeError, ValueError):
        return True
    if kwarg not in params:
        return False
    positional = [a for a in call.args if a.keyword is None]
    return any(a.star for a in positional) or len(positional) > params.index(kwarg)


def _in_async_function(scope: Scope) -> bool:
    fn = scope.enclosing_function()
    return fn is not None and fn.is_async
