"""Wider runs for RP101: the independent sequences real code writes (issue 9).

The plain runs (runs.py) stop at any ``if``, at any statement that reads a result, and
take only receivers known to be clients. Real code interleaves them. Here a run also
takes, in one block:

- *conditional commands*: an ``if``/``elif``/``else`` whose tests read no result of the
  run, use no client and call nothing opaque, and whose branches hold only commands on
  the run's client and pure statements (no ``return``/``raise``/``break``/``continue``):
  the round trips are counted on the worst path;
- *consumers*: statements that read a result of the run but feed nothing a later command
  reads (what they write is tainted like a result), cannot end the path, and touch no
  client: logging, ``if crons: buf.extend(crons)`` on a local list, plain assignments;
- a *tested last command*: an ``if``/``assert``/``while`` whose test evaluates one command
  first (``if await r.zcount(k, "-inf", "+inf") >= cap: raise Full()``) ends the run with
  it (a ``while`` test for its first evaluation);
- receivers that may be a pipeline passed in (``ClientInfo.or_pipeline``): the round
  trips are paid when no pipeline is passed.

These runs are a separate list that only RP101 reads (other rules keep the plain runs),
and only those with one of these shapes are kept: a plain run is the plain analysis's.
Fixes: conditional runs (fixes/rp101_conditional.py), consumers and a tested last
command (fixes/rp101_wider.py); the other shapes get none.
"""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from pipelint.analysis.exprs import ExprFacts, Scanner, names_overlap
from pipelint.analysis.model import Command, Run, StatementFacts
from pipelint.analysis.runs import _body, _receiver_key, _Walker, statement_value
from pipelint.clients.resolve import Resolver
from pipelint.clients.scopes import Scope, ScopeIndex, dotted_name, iter_children

__all__ = ["find_sequences"]

#: methods that only change the local container they are called on
_MUTATORS = frozenset(
    {"append", "extend", "add", "update", "insert", "setdefault", "discard", "appendleft"}
)
#: builtins that wrap a value without evaluating anything first (``len(await r.x())``)
_WRAPPERS = frozenset({"len", "int", "float", "bool", "str", "bytes", "list", "set", "tuple"})


def find_sequences(
    index: ScopeIndex, resolver: Resolver, plain: _Walker | None = None
) -> list[Run]:
    walker = _SequenceWalker(index, resolver)
    if plain is not None:
        # a statement the plain analysis found commands in sends the same commands here
        # (admitting more receivers only turns statements it rejected into candidates)
        walker._commands.update((k, v) for k, v in plain._commands.items() if v)
    module = index.module.node
    assert isinstance(module, cst.Module)
    walker.block(module.body, index.module)
    return [r for r in walker.runs if r.shapes and r.trips >= 2]


class _SequenceWalker(_Walker):
    admit_pipeline = True

    def block(self, body: Sequence[cst.BaseStatement], scope: Scope) -> None:
        current: Run | None = None
        pending: list[tuple[cst.BaseStatement, StatementFacts]] = []
        pending_shapes: set[str] = set()
        shapes: set[str] = set()
        tainted: set[str] = set()
        trips = 0
        state = False  # a consumer wrote an attribute or an item: opaque code may read it

        def close() -> None:
            nonlocal current, pending, tainted, trips, state
            if current is not None and current.start == current.end and "tested" not in shapes:
                lone = body[current.start]
                if isinstance(lone, cst.If):  # one `if` alone: the runs are in its branches
                    current = None
                    self.nested(lone, scope)
            if current is not None:
                current.in_swallowing_try = self._swallowing > 0
                current.shapes = tuple(sorted(shapes))
                current.round_trips = trips
                self.runs.append(current)
            current, pending, tainted, trips, state = None, [], set(), 0, False
            shapes.clear()
            pending_shapes.clear()

        def joins(cmds: list[Command]) -> bool:
            first = cmds[0]
            return (
                current is not None
                and current.client_key == first.client_key
                and current.is_async == first.is_async
                and not any(names_overlap(r, t) for c in cmds for r in c.reads for t in tainted)
                and not any(c.redis_args for c in cmds)
                and not (
                    any(c.opaque_args for c in cmds)
                    and (state or self._results_reachable(current, tainted, cmds, scope))
                )
            )

        def add(i: int, cmds: list[Command], cost: int, shape: str | None) -> None:
            nonlocal current, pending, trips
            first = cmds[0]
            if joins(cmds):
                assert current is not None
                current.between.extend(pending)
                shapes.update(pending_shapes)
                pending = []
                pending_shapes.clear()
                current.commands.extend(cmds)
                current.end = i
                trips += cost
            else:
                close()
                current = Run(body, i, i, first.client_key, first.client, first.is_async, scope)
                current.commands.extend(cmds)
                trips = cost
            if shape is not None:
                shapes.add(shape)
            if any(c.client.or_pipeline for c in cmds):
                shapes.add("or_pipeline")
            if isinstance(first.receiver, cst.Subscript):
                shapes.add("indexed")  # an item of a cache of clients, read per command

        for i, stmt in enumerate(body):
            cmds = self.commands(stmt, scope) if isinstance(stmt, cst.SimpleStatementLine) else None
            if cmds:
                if not joins(cmds) and any(c.redis_args for c in cmds[1:]):
                    close()
                else:
                    add(i, cmds, len(cmds), None)
                for c in cmds:
                    tainted.update(c.writes)
                if current is not None and any(
                    names_overlap(w, current.client_key) for c in cmds for w in c.writes
                ):
                    close()
                continue
            if isinstance(stmt, cst.SimpleStatementLine):
                inner = self.nested_commands(stmt, scope)
                if inner is not None:  # its outer command ends any run
                    close()
                    current = Run(
                        body, i, i, inner[0].client_key, inner[0].client, inner[0].is_async, scope
                    )
                    current.commands.extend(inner)
                    trips = len(inner)
                    shapes.add("nested")
                    if any(c.client.or_pipeline for c in inner):
                        shapes.add("or_pipeline")
                    close()
                    continue
            if isinstance(stmt, cst.If):
                found = self.conditional(stmt, scope, tainted)
                if found is not None:
                    inner, worst, writes = found
                    add(i, inner, worst, "conditional")
                    tainted.update(writes)
                    continue
            if current is not None:
                tested = self.tested(stmt, scope)
                if tested is not None and joins([tested]):
                    add(i, [tested], 1, "tested")
                    close()
                    self.nested(stmt, scope)
                    continue
                facts = self.intermediate(stmt, scope)
                if facts is not None and not any(
                    names_overlap(w, current.client_key) for w in facts.writes
                ):
                    if any(names_overlap(r, t) for r in facts.reads for t in tainted):
                        pending_shapes.add("consumer")
                        tainted.update(facts.writes)  # a later command must not read them
                        state = state or any("." in w for w in facts.writes)
                    pending.append((stmt, facts))
                    continue
                close()
            self.nested(stmt, scope)
        close()

    # ---- commands nested in one expression ------------------------------------------
    def nested_commands(self, stmt: cst.SimpleStatementLine, scope: Scope) -> list[Command] | None:
        """Independent commands inside one statement that is not a run member itself:
        ``r.mget(await r.lrange(a, 0, -1) + await r.zrange(b, 0, -1))``, or arguments of
        a call, elements of a list or dict, parts of an f-string. The innermost commands
        on one client, with only pure code between them, send one round trip each."""
        parts = statement_value(stmt)
        if parts is None:
            return None
        small, _kind, value, _targets = parts
        if sum(1 for _ in self.client_calls(value, scope)) < 3:
            return None  # two inner commands and an outer one at least
        for candidate in _immediate_parts(value):
            found = self.nested_in(stmt, small, candidate, scope)
            if found is not None:
                return found
        return None

    def nested_in(
        self,
        stmt: cst.SimpleStatementLine,
        small: cst.BaseSmallStatement,
        value: cst.BaseExpression,
        scope: Scope,
    ) -> list[Command] | None:
        calls = list(self.client_calls(value, scope))
        if len(calls) < 3 or any(cc.conditional for cc in calls):
            return None  # fewer than two inner commands and the outer one
        nodes = {id(cc.call): cc for cc in calls}
        inside: set[int] = set()  # client calls with another client call in them
        parent: dict[int, cst.CSTNode] = {}
        stack: list[cst.CSTNode] = [value]
        while stack:
            n = stack.pop()
            if isinstance(n, cst.NamedExpr):
                return None
            for child in iter_children(n):
                parent[id(child)] = n
                stack.append(child)
        for cc in calls:
            up = parent.get(id(cc.call))
            while up is not None:
                if id(up) in nodes:
                    inside.add(id(up))
                up = parent.get(id(up))
        leaves = [cc for cc in calls if id(cc.call) not in inside and cc.nested]
        if len(leaves) < 2 or len({_receiver_key(cc.receiver) for cc in leaves}) != 1:
            return None
        exprs = [cc.await_node if cc.await_node is not None else cc.call for cc in leaves]
        ancestor = _common_ancestor(exprs, parent)
        if ancestor is None:
            return None
        scanner = Scanner(scope, self.resolver.qualname)
        skip = {id(e) for e in exprs}
        check: list[cst.CSTNode] = (
            [a.value for a in ancestor.args] if isinstance(ancestor, cst.Call) else [ancestor]
        )
        while check:
            n = check.pop()
            if id(n) in skip:
                continue
            if isinstance(n, (cst.Await, cst.Yield, cst.Lambda)):
                return None
            if isinstance(n, cst.Call) and scanner.call_kind(n) == "opaque":
                return None
            if isinstance(n, (cst.Name, cst.Attribute)) and dotted_name(n) is not None:
                if self.uses_client(ExprFacts(reads={dotted_name(n) or ""}), scope):
                    return None
                continue
            check.extend(iter_children(n))
        out: list[Command] = []
        for e in exprs:
            found = self.commands_in(stmt, small, "expr", e, (), scope)
            if found is None or len(found) != 1 or found[0].redis_args:
                return None
            out.append(found[0])
        if len({c.is_async for c in out}) != 1:
            return None
        return out

    # ---- conditional commands --------------------------------------------------------
    def conditional(
        self, stmt: cst.If, scope: Scope, tainted: set[str]
    ) -> tuple[list[Command], int, set[str]] | None:
        """The commands of an ``if`` chain whose branches send commands on one client and
        do nothing else but pure work: (commands, round trips on the worst path, names
        the branches bind). None when it is anything else."""
        scanner = Scanner(scope, self.resolver.qualname)
        branches: list[cst.BaseSuite] = []
        tests = ExprFacts()
        node: cst.If | cst.Else | None = stmt
        while node is not None:
            if isinstance(node, cst.If):
                scanner.scan(node.test, tests)
                branches.append(node.body)
                node = node.orelse
            else:
                branches.append(node.body)
                node = None
        if tests.opaque or tests.has_await or tests.has_yield or self.uses_client(tests, scope):
            return None
        if any(names_overlap(r, t) for r in tests.reads for t in tainted):
            return None
        found: list[Command] = []
        writes: set[str] = set(tests.writes)
        worst = 0
        for suite in branches:
            seen = set(tainted)
            cost = 0
            for inner in _body(suite):
                cmds = (
                    self.commands(inner, scope)
                    if isinstance(inner, cst.SimpleStatementLine)
                    else None
                )
                if cmds:
                    if any(
                        c.kind == "return"
                        or c.redis_args
                        or c.opaque_args
                        or any(names_overlap(r, t) for r in c.reads for t in seen)
                        for c in cmds
                    ):
                        return None
                    found.extend(cmds)
                    cost += len(cmds)
                    for c in cmds:
                        seen.update(c.writes)
                        writes.update(c.writes)
                    continue
                if isinstance(inner, cst.If):
                    sub = self.conditional(inner, scope, seen)
                    if sub is not None:
                        found.extend(sub[0])
                        cost += sub[1]
                        seen.update(sub[2])
                        writes.update(sub[2])
                        continue
                facts = self.intermediate(inner, scope)
                if facts is None or any(names_overlap(r, t) for r in facts.reads for t in seen):
                    return None
                writes.update(facts.writes)
            worst = max(worst, cost)
        if not found:
            return None
        first = found[0]
        if any(c.client_key != first.client_key or c.is_async != first.is_async for c in found):
            return None
        return found, worst, writes

    # ---- a tested last command ---------------------------------------------------------
    def tested(self, stmt: cst.BaseStatement, scope: Scope) -> Command | None:
        """The command an ``if``/``assert`` test evaluates first, when the test holds
        exactly one client use and nothing else in it awaits or touches a client. A
        ``while`` test counts for its first evaluation, which runs right after the run."""
        if isinstance(stmt, (cst.If, cst.While)):
            test = stmt.test
        elif (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Assert)
        ):
            test = stmt.body[0].test
        else:
            return None
        calls = list(self.client_calls(test, scope))
        if len(calls) != 1 or calls[0].conditional or calls[0].nested:
            return None
        cc = calls[0]
        command_expr: cst.BaseExpression = cc.await_node if cc.await_node is not None else cc.call
        if _first_evaluated(test) is not command_expr:
            return None
        scanner = Scanner(scope, self.resolver.qualname)
        rest = self.scan_rest(test, command_expr, scanner)
        if rest is None or self.uses_client(rest, scope):
            return None
        cmds = self.commands_in(
            stmt,  # type: ignore[arg-type]  # the command's statement is the if/assert
            cst.Expr(command_expr),
            "test",
            command_expr,
            (),
            scope,
        )
        if cmds is None or len(cmds) != 1:
            return None
        return cmds[0]

    def scan_rest(
        self, value: cst.BaseExpression, inner: cst.BaseExpression, scanner: Scanner
    ) -> ExprFacts | None:
        """Facts of ``value`` without ``inner``; None if it awaits or yields (opaque calls
        are fine: they run after the command, with the pipeline as without)."""
        facts = ExprFacts()
        stack: list[cst.CSTNode] = [value]
        while stack:
            n = stack.pop()
            if n is inner:
                continue
            if isinstance(n, (cst.Await, cst.Yield, cst.NamedExpr)):
                return None
            if isinstance(n, (cst.Name, cst.Attribute)):
                dotted = dotted_name(n)
                if dotted is not None:
                    facts.reads.add(dotted)
                    continue
            stack.extend(iter_children(n))
        return facts

    # ---- consumers ---------------------------------------------------------------------
    def intermediate(self, stmt: cst.BaseStatement, scope: Scope) -> StatementFacts | None:
        """As the plain analysis, and a call that only grows a local container
        (``buf.extend(crons)``, ``out.append(x)``)."""
        mutation = self.local_mutation(stmt, scope)
        if mutation is not None:
            return mutation
        return super().intermediate(stmt, scope)

    def local_mutation(self, stmt: cst.BaseStatement, scope: Scope) -> StatementFacts | None:
        if not (
            isinstance(stmt, cst.SimpleStatementLine)
            and len(stmt.body) == 1
            and isinstance(stmt.body[0], cst.Expr)
        ):
            return None
        call = stmt.body[0].value
        if not (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Attribute)
            and isinstance(call.func.value, cst.Name)
            and call.func.attr.value in _MUTATORS
        ):
            return None
        name = call.func.value.value
        if not _local_container(name, scope):
            return None
        facts = ExprFacts()
        scanner = Scanner(scope, self.resolver.qualname)
        for a in call.args:
            scanner.scan(a.value, facts)
        if facts.opaque or facts.has_await or facts.has_yield or self.uses_client(facts, scope):
            return None
        return StatementFacts(frozenset(facts.reads | {name}), frozenset(facts.writes | {name}))


def _local_container(name: str, scope: Scope) -> bool:
    """``name`` is a local of this function, only ever bound to a new list, dict or set."""
    fn = scope.enclosing_function()
    if fn is None or fn is not scope or name in fn.globals_ or name in fn.nonlocals:
        return False
    binds = fn.bindings.get(name)
    if not binds:
        return False
    for b in binds:
        if b.kind != "assign" or b.value is None:
            return False
        v = b.value
        if isinstance(v, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.DictComp, cst.SetComp)):
            continue
        if (
            isinstance(v, cst.Call)
            and isinstance(v.func, cst.Name)
            and v.func.value in ("list", "dict", "set")
            and scope.lookup_scope(v.func.value) is None
            and not v.args
        ):
            continue
        return False
    return True


def _first_evaluated(expr: cst.BaseExpression) -> cst.BaseExpression:
    """The operand Python evaluates first in ``expr`` (through comparisons, operators,
    ``not`` and pure wrappers such as ``len(...)``)."""
    while True:
        if isinstance(expr, cst.Comparison):
            expr = expr.left
        elif isinstance(expr, cst.UnaryOperation):
            expr = expr.expression
        elif isinstance(expr, cst.BinaryOperation):
            expr = expr.left
        elif (
            isinstance(expr, cst.Call)
            and isinstance(expr.func, cst.Name)
            and expr.func.value in _WRAPPERS
            and len(expr.args) == 1
            and expr.args[0].keyword is None
            and not expr.args[0].star
        ):
            expr = expr.args[0].value
        else:
            return expr


def _common_ancestor(
    nodes: Sequence[cst.CSTNode], parent: dict[int, cst.CSTNode]
) -> cst.CSTNode | None:
    def chain(n: cst.CSTNode) -> list[cst.CSTNode]:
        out = []
        up = parent.get(id(n))
        while up is not None:
            out.append(up)
            up = parent.get(id(up))
        return out

    first = chain(nodes[0])
    common = {id(n) for n in first}
    for n in nodes[1:]:
        common &= {id(a) for a in chain(n)}
    return next((a for a in first if id(a) in common), None)


_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


def _immediate_parts(value: cst.BaseExpression) -> list[cst.BaseExpression]:
    """``value``, and the first iterable of each comprehension in it that is evaluated
    right away (``[f(x) for x in await r.mget(...)]``): the rest of a comprehension runs
    later, repeatedly or not at all."""
    out = [value]
    stack: list[cst.CSTNode] = [value]
    while stack:
        n = stack.pop()
        if isinstance(n, cst.Lambda):
            continue
        if isinstance(n, _COMPREHENSIONS):
            out.append(n.for_in.iter)
            stack.append(n.for_in.iter)
            continue
        stack.extend(iter_children(n))
    return out
