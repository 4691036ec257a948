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
from dataclasses import dataclass

import libcst as cst

from pipelint import catalog
from pipelint.analysis.exprs import ExprFacts, Scanner, names_overlap, simple_target, target_names
from pipelint.analysis.model import Command, Run, StatementFacts
from pipelint.clients.resolve import ClientInfo, Resolver
from pipelint.clients.scopes import Scope, ScopeIndex, dotted_name, iter_children

__all__ = ["Analysis", "analyze"]


@dataclass
class Analysis:
    runs: list[Run]
    commands: list[Command]


def analyze(index: ScopeIndex, resolver: Resolver) -> Analysis:
    walker = _Walker(index, resolver)
    module = index.module.node
    assert isinstance(module, cst.Module)
    walker.block(module.body, index.module)
    return Analysis(walker.runs, walker.commands)


@dataclass
class _ClientCall:
    call: cst.Call
    receiver: cst.BaseExpression
    info: ClientInfo
    conditional: bool
    awaited: bool
    await_node: cst.Await | None


def _receiver_key(expr: cst.BaseExpression) -> str:
    dotted = dotted_name(expr)
    if dotted is not None:
        return dotted
    return cst.Module([]).code_for_node(expr)


_TRANSFER = (cst.Return, cst.Raise, cst.Break, cst.Continue)


class _Walker:
    def __init__(self, index: ScopeIndex, resolver: Resolver) -> None:
        self.index = index
        self.resolver = resolver
        self.runs: list[Run] = []
        self.commands: list[Command] = []
        self._redis_code: dict[int, bool] = {}

    # ---- blocks -------------------------------------------------------------------
    def block(self, body: Sequence[cst.BaseStatement], scope: Scope) -> None:
        current: Run | None = None
        pending: list[tuple[cst.BaseStatement, StatementFacts]] = []
        tainted: set[str] = set()

        def close() -> None:
            nonlocal current, pending, tainted
            if current is not None:
                self.runs.append(current)
            current, pending, tainted = None, [], set()

        for i, stmt in enumerate(body):
            cmd = self.command(stmt, scope) if isinstance(stmt, cst.SimpleStatementLine) else None
            if cmd is not None:
                self.commands.append(cmd)
                if (
                    current is not None
                    and current.client_key == cmd.client_key
                    and current.is_async == cmd.is_async
                    and not any(names_overlap(r, t) for r in cmd.reads for t in tainted)
                    and not cmd.redis_args
                ):
                    current.between.extend(pending)
                    pending = []
                    current.commands.append(cmd)
                    current.end = i
                else:
                    close()
                    current = Run(body, i, i, cmd.client_key, cmd.client, cmd.is_async, scope)
                    current.commands.append(cmd)
                tainted.update(cmd.writes)
                continue
            if current is not None:
                facts = self.intermediate(stmt, scope)
                if facts is not None and not any(
                    names_overlap(r, t) for r in facts.reads for t in tainted
                ):
                    pending.append((stmt, facts))
                    continue
                close()
            self.nested(stmt, scope)
        close()

    def nested(self, stmt: cst.BaseStatement, scope: Scope) -> None:
        """Analyse the blocks inside a compound statement."""
        if isinstance(stmt, cst.FunctionDef):
            inner = self.index.by_node.get(stmt, scope)
            self.block(_body(stmt.body), inner)
        elif isinstance(stmt, cst.ClassDef):
            inner = self.index.by_node.get(stmt, scope)
            self.block(_body(stmt.body), inner)
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
            self.block(_body(stmt.body), scope)
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
    def command(self, stmt: cst.SimpleStatementLine, scope: Scope) -> Command | None:
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
        calls = list(self.client_calls(value, scope))
        if len(calls) != 1:
            return None
        cc = calls[0]
        if cc.conditional:
            return None
        method = cc.call.func.attr.value  # type: ignore[attr-defined]
        spec = catalog.lookup(method)
        if spec is None or not spec.batchable:
            return None
        if spec.blocking_kwarg and any(
            a.keyword is not None and a.keyword.value == spec.blocking_kwarg for a in cc.call.args
        ):
            return None
        if cc.info.is_async is None:
            is_async = cc.awaited
        else:
            is_async = cc.info.is_async
            if is_async != cc.awaited:
                return None  # an un-awaited coroutine, or awaiting a sync result
        if is_async and not _in_async_function(scope):
            return None
        command_expr: cst.BaseExpression = cc.await_node if cc.await_node is not None else cc.call
        wrapped = value is not command_expr
        scanner = Scanner(scope, self.resolver.qualname)
        facts = ExprFacts()
        # arguments of the command
        for arg in cc.call.args:
            scanner.scan(arg.value, facts)
        receiver_facts = scanner.scan(cc.receiver)
        if facts.has_await or facts.has_yield:
            return None
        if self.uses_client(facts, scope):
            return None
        opaque_calls = [c for c in facts.calls if scanner.call_kind(c) == "opaque"]
        redis_args = any(self.calls_redis_code(c, scope) for c in opaque_calls)
        bind_reads: set[str] = set()
        if wrapped:
            outer = self.scan_outside(value, command_expr, scanner)
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
        return Command(
            stmt=stmt,
            small=small,
            call=cc.call,
            command_expr=command_expr,
            value=value,
            receiver=cc.receiver,
            client_key=_receiver_key(cc.receiver),
            client=cc.info,
            is_async=is_async,
            method=method,
            spec=spec,
            kind=kind,
            targets=targets,
            wrapped=wrapped,
            reads=frozenset(facts.reads | receiver_facts.reads),
            bind_reads=frozenset(bind_reads),
            writes=writes,
            simple_targets=all(simple_target(t) for t in targets),
            opaque_args=bool(opaque_calls),
            redis_args=redis_args,
        )

    def scan_outside(
        self, value: cst.BaseExpression, inner: cst.BaseExpression, scanner: Scanner
    ) -> ExprFacts | None:
        """Facts of ``value`` without the subtree ``inner``; None unless it is pure/benign."""
        facts = ExprFacts()
        stack: list[cst.CSTNode] = [value]
        while stack:
            n = stack.pop()
            if n is inner:
                continue
            if isinstance(n, cst.Call):
                if scanner.call_kind(n) == "opaque":
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

    # ---- clients ------------------------------------------------------------------
    def calls_redis_code(self, call: cst.Call, scope: Scope, depth: int = 0) -> bool:
        """Does ``call`` run a function of this module (or a method on self) that uses a
        Redis client? Such a call in a command's arguments runs between two round trips."""
        fn = self._local_function(call.func, scope)
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

    def _local_function(self, func: cst.BaseExpression, scope: Scope) -> Scope | None:
        binds = None
        if isinstance(func, cst.Name):
            target = scope.lookup_scope(func.value)
            binds = target.bindings[func.value] if target is not None else None
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name):
            fn = scope.enclosing_function()
            if fn is not None and fn.method_of is not None and func.value.value == fn.self_name:
                binds = fn.method_of.bindings.get(func.attr.value)
        if binds and len(binds) == 1 and binds[0].kind == "def":
            return self.index.by_node.get(binds[0].node)  # type: ignore[arg-type]
        return None

    def uses_client(self, facts: ExprFacts, scope: Scope) -> bool:
        """Does code with these facts touch any Redis client (a name or a call)?"""
        for name in facts.reads:
            # any prefix of a dotted read may be a client: r, self.r, self.r.get
            end = len(name)
            while end > 0:
                if self.resolver.dotted(name[:end], scope) is not None:
                    return True
                end = name.rfind(".", 0, end)
        return False

    def client_calls(self, value: cst.BaseExpression, scope: Scope) -> Iterator[_ClientCall]:
        """Calls of a method on a Redis client inside ``value``, and other client uses
        (a client passed along or aliased is yielded as a conditional pseudo-call, so
        that it counts as a second use)."""
        stack: list[tuple[cst.CSTNode, bool, cst.Await | None]] = [(value, False, None)]
        receiver_of = self.resolver.receiver
        while stack:
            n, conditional, awaited_by = stack.pop()
            t = type(n)
            if t is cst.Await:
                stack.append((n.expression, conditional, n))  # type: ignore[attr-defined]
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
                        )
                        for a in n.args:  # type: ignore[attr-defined]
                            stack.append((a.value, conditional, None))
                        receiver = func.value
                        if type(receiver) is cst.Call:
                            for a in receiver.args:
                                stack.append((a.value, conditional, None))
                        continue
                stack.append((func, conditional, None))
                for a in n.args:  # type: ignore[attr-defined]
                    stack.append((a.value, conditional, None))
            elif t is cst.Name or t is cst.Attribute:
                if dotted_name(n) is not None:  # type: ignore[arg-type]
                    info = receiver_of(n, scope)  # type: ignore[arg-type]
                    if info is not None:
                        yield _ClientCall(n, n, info, True, False, None)  # type: ignore[arg-type]
                    if t is cst.Attribute:
                        stack.append((n.value, conditional, None))  # type: ignore[attr-defined]
                else:
                    stack.append((n.value, conditional, None))  # type: ignore[attr-defined]
            elif t in _LEAVES:
                continue
            elif t is cst.BooleanOperation:
                stack.append((n.left, conditional, None))  # type: ignore[attr-defined]
                stack.append((n.right, True, None))  # type: ignore[attr-defined]
            elif t is cst.IfExp:
                stack.append((n.test, conditional, None))  # type: ignore[attr-defined]
                stack.append((n.body, True, None))  # type: ignore[attr-defined]
                stack.append((n.orelse, True, None))  # type: ignore[attr-defined]
            elif t in _DEFERRED:
                for child in iter_children(n):
                    stack.append((child, True, None))
            else:
                for child in iter_children(n):
                    stack.append((child, conditional, None))


_LEAVES = frozenset({cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary, cst.Ellipsis})
#: code inside runs later, repeatedly or not at all
_DEFERRED = frozenset({cst.Lambda, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp})


def _body(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    if isinstance(suite, cst.SimpleStatementSuite):
        return [cst.SimpleStatementLine(body=suite.body)]
    return []


def _in_async_function(scope: Scope) -> bool:
    fn = scope.enclosing_function()
    return fn is not None and fn.is_async
