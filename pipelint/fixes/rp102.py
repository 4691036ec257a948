"""RP102 fix: one pipeline for every iteration of a loop (see rules/RP102.md).

Three shapes:

- *results unused* (``for k in keys: r.delete(k)``): the loop moves inside
  ``with r.pipeline(transaction=False) as pipe:``, its commands go to ``pipe``, and
  ``pipe.execute()`` follows the loop;
- *a comprehension* (``[r.get(k) for k in keys]``, ``sum(r.scard(k) for k in ...)``,
  ``await asyncio.gather(*(r.get(k) for k in keys))``): a loop queues the commands,
  and the statement is kept with the comprehension rebuilt from the replies;
- *results collected in a for loop* (``out.append(r.get(k))``, ``d[k] = r.get(k)``):
  a first loop queues the commands (with the statements their arguments need), one
  ``execute()``, then the original loop runs with each command replaced by its reply.

Items that can be read only once (a generator, ``scan_iter``, a call) are
materialised once (``items = list(...)``) when they are iterated twice. Reads that
are safe to rewrite use ``execute(raise_on_error=False)`` and raise the first error
reply as it is, so that an error keeps its type and message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from pipelint.analysis.exprs import names_overlap, target_names
from pipelint.analysis.loops import Loop
from pipelint.analysis.model import Command
from pipelint.checker.context import FileContext
from pipelint.clients.scopes import dotted_name
from pipelint.diagnostics import Edit, Fix
from pipelint.fixes import register
from pipelint.fixes.rp101 import (
    _IDENT,
    _code,
    _has_multiline_string,
    _line_text,
    _Names,
    _reindent,
    _several_keys,
)

__all__ = ["build_fix", "LoopFix"]


@dataclass
class LoopFix:
    """What every loop fix shares: names, indentation, the verdict so far."""

    ctx: FileContext
    loop: Loop
    display: list[str] = field(default_factory=list)  # reasons: display-only
    unsafe: list[str] = field(default_factory=list)  # reasons: unsafe
    names: _Names | None = None

    def __post_init__(self) -> None:
        ctx, loop = self.ctx, self.loop
        fn = loop.scope.enclosing_function()
        start, end = ctx.span(fn.node) if fn is not None else (0, len(ctx.source))
        self.fn_span = (start, end)
        self.names = _Names(set(_IDENT.findall(ctx.source[start:end])))
        self.stmt_start, self.stmt_end = _line_text(ctx, loop.stmt)
        line_start = ctx.line_starts[ctx.positions[loop.stmt].start.line - 1]
        self.indent = ctx.source[line_start : self.stmt_start]
        self.unit = ctx.module.default_indent
        self.nl = ctx.newline
        receiver = loop.commands[0].receiver
        self.receiver = dotted_name(receiver) or _code(receiver)
        if isinstance(receiver, cst.Call):
            self.display.append("the client is obtained by a call")
        if self.indent.strip():
            self.display.append("the loop does not start its line")
        if loop.scope.kind == "class":
            self.display.append("the pipeline's names would become class attributes")
        elif loop.scope.kind == "module":
            self.unsafe.append("the pipeline's names become module globals")
        cluster = (loop.client is not None and loop.client.cluster) or (
            ctx.config.target == "cluster"
        )
        if cluster:
            rejected = sorted({c.method for c in loop.commands if not c.spec.cluster_pipeline_ok})
            if rejected:
                self.display.append(f"a cluster pipeline rejects {', '.join(rejected)}")
            multi = sorted({c.method for c in loop.commands if _several_keys(c)})
            if multi:
                self.display.append(f"a cluster pipeline takes one key per command ({multi[0]})")
        if _returns(loop.node):
            self.display.append("the loop body returns or raises, which would skip execute()")
        if _has_multiline_string(ctx.source[self.stmt_start : self.stmt_end]):
            self.display.append("the loop holds a multi-line string that re-indenting changes")

    @property
    def reads_only(self) -> bool:
        return all(c.spec.readonly and not c.spec.write for c in self.loop.commands)

    def fresh(self, base: str) -> str:
        assert self.names is not None
        return self.names.fresh(base)

    def verdict(self, what: str) -> tuple[str, str]:
        if self.display:
            return "display-only", f"{what} (not automatic: {self.display[0]})"
        if self.unsafe:
            return "unsafe", f"{what} ({self.unsafe[0]})"
        return "safe", what

    def command_text(self, c: Command, pipe: str) -> str:
        """``pipe.get(k)``: the command's call with its receiver (and await) replaced."""
        ctx = self.ctx
        _, receiver_end = ctx.span(c.receiver)
        _, call_end = ctx.span(c.call)
        return pipe + ctx.source[receiver_end:call_end]

    def replace(self, start: int, end: int, spans: list[tuple[int, int, str]]) -> str:
        """Source between ``start`` and ``end`` with ``spans`` replaced (in place)."""
        text = self.ctx.source[start:end]
        for s, e, new in sorted(spans, key=lambda x: -x[0]):
            text = text[: s - start] + new + text[e - start :]
        return text

    def block(self, lines: list[str]) -> str:
        """Lines (the first at the loop's own position) joined with the file's newline;
        every line after the first gets the loop's indentation."""
        return self.nl.join([lines[0], *[(self.indent + ln if ln else ln) for ln in lines[1:]]])

    def edit(self, content: str) -> Edit:
        ctx = self.ctx
        return Edit(
            self.stmt_start,
            self.stmt_end,
            content,
            ctx.location(self.stmt_start),
            ctx.location(self.stmt_end),
        )

    def execute_lines(self, pipe: str, replies: str, check: bool) -> tuple[list[str], list[str]]:
        """(inside the ``with``, after it): one execute, and for safe rewrites the
        first error reply raised as it is (redis-py would prefix its message)."""
        aw = "await " if self.loop.is_async else ""
        if not check:
            return [f"{replies} = {aw}{pipe}.execute()"], []
        reply = self.fresh("reply")
        return [f"{replies} = {aw}{pipe}.execute(raise_on_error=False)"], [
            f"for {reply} in {replies}:",
            f"{self.unit}if isinstance({reply}, Exception):",
            f"{self.unit}{self.unit}raise {reply}",
        ]

    def items(self) -> tuple[str, list[str]]:
        """The items' source, and the statement materialising them when they are
        iterated twice but might be readable only once."""
        loop = self.loop
        assert loop.iterable is not None
        text = atom(self.ctx, loop.iterable)
        self.iterable_safety()
        if loop.reiterable:
            return text, []
        name = self.fresh("items")
        return name, [f"{name} = list({text})"]

    def iterable_safety(self) -> None:
        """Items not known to be a plain collection may come from a generator whose
        code then runs before the commands are sent instead of between them."""
        loop = self.loop
        if loop.reiterable or (loop.iterable_kind in ("client", "scan") and self.reads_only):
            return
        reason = (
            "the items are read before the first command is sent: code producing them "
            "(a generator) runs earlier"
        )
        if reason not in self.unsafe:
            self.unsafe.append(reason)


def _returns(node: cst.CSTNode) -> bool:
    from pipelint.analysis.loops import _walk

    for n in _walk(node):
        if isinstance(n, (cst.Return, cst.Raise, cst.Yield)):
            return True
    return False


@register("RP102")
def build_fix(ctx: FileContext, subject: object) -> Fix | None:
    loop = subject
    assert isinstance(loop, Loop)
    lf = LoopFix(ctx, loop)
    if isinstance(loop.node, (cst.For, cst.While)):
        if not loop.results_bound:
            return _wrap(lf)
        return _collect(lf)
    return _comprehension(lf)


# ---- results unused ----------------------------------------------------------------
def _wrap(lf: LoopFix) -> Fix | None:
    ctx, loop = lf.ctx, lf.loop
    pipe = lf.fresh("pipe")
    lf.unsafe.append(
        "they write: on an error, later commands still run"
        if not lf.reads_only
        else "an error reply is raised after every command ran, with redis-py's "
        "'Command # n' prefix"
    )
    n = len(loop.commands)
    what = f"Send the loop's {'command' if n == 1 else f'{n} commands'} in one pipeline"
    if not ctx.config.fix_edits:
        return Fix(*lf.verdict(what), ())
    spans = []
    for c in loop.commands:
        start, _ = ctx.span(c.command_expr)
        _, receiver_end = ctx.span(c.receiver)
        spans.append((start, receiver_end, pipe))
    body = lf.replace(lf.stmt_start, lf.stmt_end, spans)
    inner = lf.unit
    prefix = "async with" if loop.is_async else "with"
    aw = "await " if loop.is_async else ""
    lines = [
        f"{prefix} {lf.receiver}.pipeline(transaction=False) as {pipe}:",
        inner + _reindent(body, inner, lf.nl),
        f"{inner}{aw}{pipe}.execute()",
    ]
    return Fix(*lf.verdict(what), (lf.edit(lf.block(lines)),))


# ---- comprehensions ----------------------------------------------------------------
def _comprehension(lf: LoopFix) -> Fix | None:
    ctx, loop = lf.ctx, lf.loop
    node = loop.node
    assert isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp))
    what = "Queue the commands in one pipeline and rebuild the value from the replies"
    if loop.scope.enclosing_function() is None:
        lf.display.append("the loop variables would leak into the module")
    hoist(lf)
    comp_start, comp_end = ctx.span(node)
    outside = ctx.source[lf.fn_span[0] : comp_start] + ctx.source[comp_end : lf.fn_span[1]]
    used = set(_IDENT.findall(outside))
    targets = {n.split(".")[0] for n in _comp_target_names(node)}
    if targets & used:
        lf.display.append("a loop variable's name is used elsewhere in the function")
    _common_safety(lf)
    if any(c.wrapped for c in loop.commands):
        lf.unsafe.append(
            "code around a command runs after every command was sent; an error it raises "
            "could come before a later command's error"
        )
    simple = (
        len(loop.commands) == 1
        and not loop.nested
        and not loop.conditional
        and not loop.commands[0].wrapped
        and not isinstance(node, cst.DictComp)
    )
    if not ctx.config.fix_edits:
        lf.iterable_safety()
        return Fix(*lf.verdict(what), ())
    if simple:
        items, pre = _src(ctx, node.for_in.iter), []
        lf.iterable_safety()
    else:
        items, pre = lf.items()
    check = not lf.display and not lf.unsafe
    pipe, replies = lf.fresh("pipe"), lf.fresh("replies")
    # the queueing loop: the comprehension's clauses as statements
    lines: list[str] = []
    depth = 1
    for_in: cst.CompFor | None = node.for_in
    first = True
    while for_in is not None:
        it = items if first else _src(ctx, for_in.iter)
        lines.append(lf.unit * depth + f"for {_src(ctx, for_in.target)} in {it}:")
        depth += 1
        for if_ in for_in.ifs:
            lines.append(lf.unit * depth + f"if {_src(ctx, if_.test)}:")
            depth += 1
        first = False
        for_in = for_in.inner_for_in
    for c in loop.commands:
        lines.append(lf.unit * depth + lf.command_text(c, pipe))
    execute, checks = lf.execute_lines(pipe, replies, check)
    # the statement, with the comprehension rebuilt from the replies
    after: list[str] = []
    gather = loop.consumer == "gather"
    if simple:
        rebuilt = f"set({replies})" if isinstance(node, cst.SetComp) else replies
    else:
        it_name = lf.fresh("reply_iter")
        after.append(f"{it_name} = iter({replies})")
        spans = [
            (*ctx.span(c.call if gather else c.command_expr), f"next({it_name})")
            for c in loop.commands
        ]
        if not loop.reiterable:
            spans.append((*ctx.span(node.for_in.iter), items))
        rebuilt = lf.replace(comp_start, comp_end, spans)
        if gather:
            rebuilt = f"list({rebuilt})" if rebuilt.startswith("(") else f"[{rebuilt}]"
    if gather:
        assert loop.consumer_node is not None
        target_start, target_end = ctx.span(loop.consumer_node)
    else:
        target_start, target_end = comp_start, comp_end
    statement = lf.replace(lf.stmt_start, lf.stmt_end, [(target_start, target_end, rebuilt)])
    prefix = "async with" if loop.is_async else "with"
    out = [
        *pre,
        f"{prefix} {lf.receiver}.pipeline(transaction=False) as {pipe}:",
        *lines,
        lf.unit + execute[0],
        *checks,
        *after,
        statement,
    ]
    return Fix(*lf.verdict(what), (lf.edit(lf.block(out)),))


def hoist(lf: LoopFix) -> None:
    """A comprehension's commands are sent before its statement runs."""
    if lf.loop.hoist_display:
        lf.display.append(lf.loop.hoist_display)
    if lf.loop.hoist_unsafe:
        lf.unsafe.append(lf.loop.hoist_unsafe)


def _comp_target_names(node: cst.CSTNode) -> list[str]:
    out: list[str] = []
    for_in = getattr(node, "for_in", None)
    while for_in is not None:
        out.extend(target_names(for_in.target))
        for_in = for_in.inner_for_in
    return out


def _src(ctx: FileContext, node: cst.CSTNode) -> str:
    start, end = ctx.span(node)
    return ctx.source[start:end]


_ATOMS = (
    cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.List, cst.Dict, cst.Set,
    cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer,
    cst.ListComp, cst.SetComp, cst.DictComp,
)  # fmt: skip


def atom(ctx: FileContext, node: cst.BaseExpression) -> str:
    """The source of ``node``, in parentheses unless it is an atom: safe anywhere an
    expression goes (``for k in a, b:`` is a statement's, not a comprehension's)."""
    text = _src(ctx, node)
    return text if isinstance(node, _ATOMS) else f"({text})"


def _common_safety(lf: LoopFix) -> None:
    loop = lf.loop
    if not lf.reads_only:
        lf.unsafe.append("they write: on an error, later commands still run")
    if loop.early_exit:
        lf.unsafe.append("the loop stops early: the pipeline sends commands the original did not")
    if loop.opaque:
        lf.unsafe.append("the loop calls code pipelint cannot see into, which now runs later")
    if loop.visible_writes:
        lf.unsafe.append("on an error, state the loop filled for callers differs")
    if loop.in_swallowing_try:
        lf.unsafe.append("an except clause may carry on after an error with partial results")


# ---- results collected in a for loop -------------------------------------------------
def _collect(lf: LoopFix) -> Fix | None:
    ctx, loop = lf.ctx, lf.loop
    node = loop.node
    what = "Queue the commands in one pipeline, then run the loop on the replies"
    if not isinstance(node, cst.For) or not isinstance(node.body, cst.IndentedBlock):
        lf.display.append("only for loops with an indented body are rewritten")
        return Fix(*lf.verdict(what), ())
    body = node.body.body
    if not all(isinstance(s, cst.SimpleStatementLine) for s in body):
        lf.display.append("the loop body has nested blocks")
        # the queueing loop would only hold the commands of top-level statements: no
        # edit is shown rather than one that is not valid code
        if any(id(c.stmt) not in {id(s) for s in body} for c in lf.loop.commands):
            _common_safety(lf)
            return Fix(*lf.verdict(what), ())
    _common_safety(lf)
    tainted: set[str] = {w for c in loop.commands for w in c.writes}
    cmd_stmts = {id(c.stmt) for c in loop.commands}
    # statements the queueing loop keeps: they compute arguments and bind plain names
    kept: list[cst.BaseStatement] = []
    dropped_writes: set[str] = set()
    for stmt in body:
        if id(stmt) in cmd_stmts or not isinstance(stmt, cst.SimpleStatementLine):
            continue
        reads, writes, plain = _facts(stmt, lf)
        if any(names_overlap(r, t) for r in reads for t in tainted):
            tainted |= writes
            dropped_writes |= writes
            lf.unsafe.append(
                "code using a result runs after every command was sent; an error it raises "
                "could come before a later command's error"
            )
        elif plain:
            kept.append(stmt)
        else:
            dropped_writes |= writes
    needed = {r for c in loop.commands for r in c.reads}
    for stmt in kept:
        needed |= _facts(stmt, lf)[0]
    if any(names_overlap(r, w) for r in needed for w in dropped_writes):
        lf.display.append("the commands' arguments read what the rest of the body writes")
    if loop.is_async_for:
        lf.display.append("async for")
    if not ctx.config.fix_edits:
        lf.iterable_safety()
        return Fix(*lf.verdict(what), ())
    items, pre = lf.items()
    check = not lf.display and not lf.unsafe
    pipe, replies = lf.fresh("pipe"), lf.fresh("replies")
    it_name = lf.fresh("reply_iter")
    u = lf.unit
    lines = [f"{u}for {_src(ctx, node.target)} in {items}:"]
    for stmt in body:
        if id(stmt) in cmd_stmts:
            for c in loop.commands:
                if c.stmt is stmt:
                    lines.append(u * 2 + lf.command_text(c, pipe))
        elif any(stmt is k for k in kept):
            s, e = _line_text(ctx, stmt)
            lines.append(u * 2 + _reindent(ctx.source[s:e], u, lf.nl))
    execute, checks = lf.execute_lines(pipe, replies, check)
    spans = [(*ctx.span(c.command_expr), f"next({it_name})") for c in loop.commands]
    if not loop.reiterable:
        spans.append((*ctx.span(node.iter), items))
    rebuilt = lf.replace(lf.stmt_start, lf.stmt_end, spans)
    prefix = "async with" if loop.is_async else "with"
    out = [
        *pre,
        f"{prefix} {lf.receiver}.pipeline(transaction=False) as {pipe}:",
        *lines,
        u + execute[0],
        *checks,
        f"{it_name} = iter({replies})",
        rebuilt,
    ]
    return Fix(*lf.verdict(what), (lf.edit(lf.block(out)),))


def _facts(stmt: cst.SimpleStatementLine, lf: LoopFix) -> tuple[set[str], set[str], bool]:
    """(names read, names written, only plain names bound and no call but pure ones)."""
    from pipelint.analysis.exprs import Scanner
    from pipelint.analysis.loops import _walk

    scanner = Scanner(lf.loop.scope, lf.ctx.resolver.qualname)
    reads: set[str] = set()
    writes: set[str] = set()
    plain = True
    for small in stmt.body:
        targets: list[cst.BaseExpression] = []
        if isinstance(small, cst.Assign):
            targets = [t.target for t in small.targets]
        elif isinstance(small, (cst.AnnAssign, cst.AugAssign)):
            targets = [small.target]
        elif not isinstance(small, (cst.Pass, cst.Continue)):
            plain = False
        for t in targets:
            writes.update(target_names(t))
            if not isinstance(t, cst.Name):
                plain = False
        for n in _walk(small):
            if isinstance(n, (cst.Name, cst.Attribute)):
                d = dotted_name(n)
                if d is not None:
                    reads.add(d)
            if isinstance(n, cst.Call) and scanner.call_kind(n) != "pure":
                plain = False
            if isinstance(n, (cst.Await, cst.Yield, cst.Break, cst.NamedExpr)):
                plain = False
    return reads, writes, plain
