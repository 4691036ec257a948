"""RP101 fix: rewrite a run of commands as one pipeline (see rules/RP101.md).

The run's source span (first to last command statement) becomes::

    with <client>.pipeline(transaction=False) as pipe:
        pipe.<cmd1>(...)
        <statements that were between the commands, in place>
        pipe.<cmd2>(...)
        a, _ = pipe.execute()
        <bindings that do more than unpack: wrappers, annotations, +=, return>

Comments and blank lines inside the span move with the statements (indented
one level); everything outside the span is untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst

from pipelint.analysis.exprs import names_overlap
from pipelint.analysis.model import Command, Run
from pipelint.checker.context import FileContext
from pipelint.clients.scopes import dotted_name
from pipelint.diagnostics import Edit, Fix
from pipelint.fixes import register
from pipelint.fixes import rp101_safety as safety

__all__ = ["build_fix"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_EMPTY = cst.Module([])


def _code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


@dataclass
class _Names:
    used: set[str]

    def fresh(self, base: str) -> str:
        name = base
        i = 2
        while name in self.used:
            name = f"{base}_{i}"
            i += 1
        self.used.add(name)
        return name


def _has_multiline_string(text: str) -> bool:
    """Re-indenting would change a triple-quoted string (or a backslash continuation)."""
    return '"""' in text or "'''" in text or "\\\n" in text or "\\\r" in text


def _reindent(text: str, extra: str, newline: str) -> str:
    """Indent every line after the first by ``extra`` (first line is placed by the caller)."""
    lines = text.split(newline)
    return newline.join([lines[0], *[(extra + ln if ln.strip() else ln) for ln in lines[1:]]])


def _line_text(ctx: FileContext, node: cst.CSTNode) -> tuple[int, int]:
    """Offsets of a statement: from its first character to the end of its last line
    (trailing comment included, newline excluded)."""
    start, end = ctx.span(node)
    rng = ctx.positions[node]
    line_end = (
        ctx.line_starts[rng.end.line] if rng.end.line < len(ctx.line_starts) else len(ctx.source)
    )
    text = ctx.source[end:line_end]
    stripped = text.rstrip("\r\n")
    return start, end + len(stripped)


@register("RP101")
def build_fix(ctx: FileContext, subject: object) -> Fix | None:
    assert isinstance(subject, Run)
    return build_run_fix(ctx, subject)


def build_run_fix(
    ctx: FileContext,
    run: Run,
    moved: frozenset[int] = frozenset(),
    extra: tuple[str, ...] = (),
) -> Fix | None:
    """The fix of ``run``. ``moved``: ids of statements between the commands that move
    after ``execute()`` (result consumers, fixes/rp101_wider.py), each right after the
    check and binding of the commands before it; ``extra``: unsafe reasons of the caller."""
    cmds = run.commands
    reasons: list[str] = []
    nl = ctx.newline
    unit = ctx.module.default_indent

    # ---- can we prove the rewrite keeps behaviour? ----------------------------------
    target_names = {w for c in cmds for w in c.writes}
    bind_reads = {r for c in cmds for r in c.bind_reads}
    for _stmt, facts in run.between:
        if any(names_overlap(w, t) for w in facts.writes for t in target_names | bind_reads):
            reasons.append("a statement between the commands rebinds a name the results use")
            break
    for stmt, _facts in run.between:
        if _has_multiline_string(ctx.source[slice(*_line_text(ctx, stmt))]):
            reasons.append("a statement between the commands holds a multi-line string")
            break
    if not all(c.simple_targets for c in cmds):
        reasons.append("a result is bound to a target that cannot be re-bound safely")
    if isinstance(cmds[0].receiver, cst.Call):
        reasons.append("the client is obtained by a call, which the pipeline would make once")
    cluster = run.client.cluster or ctx.config.target == "cluster"
    if cluster:
        rejected = sorted({c.method for c in cmds if not c.spec.cluster_pipeline_ok})
        if rejected:
            reasons.append(f"a cluster pipeline rejects {', '.join(rejected)}")
        multi = sorted({c.method for c in cmds if _several_keys(c)})
        if multi:
            reasons.append(f"a cluster pipeline takes one key per command ({', '.join(multi)})")
    if run.scope.kind == "class":
        reasons.append("the pipeline's names would become class attributes")
    fn_scope = run.scope.enclosing_function()
    reasons.extend(
        safety.display_reasons(run, ctx.source, fn_scope.node if fn_scope is not None else None)
    )
    if safety.overriding_subclass(ctx.module, run.client.evidence):
        reasons.append(
            "the client is a subclass that may override methods, which a pipeline would bypass"
        )
    if re.search(
        r"^\s*(def|class)\s+(isinstance|Exception)\b|\b(isinstance|Exception)\s*=[^=]",
        ctx.source,
        re.M,
    ):
        reasons.append("`isinstance` or `Exception` is redefined in this module")
    for c in cmds:
        if not _plain_call(ctx, c):
            return None  # `(r).get(k)`, `(r.get)(k)`, `r \\n .get(k)`: no edit we can prove
    compounds = (
        safety.enclosing_compounds(fn_scope.node, run.statements[0])
        if fn_scope is not None
        else None
    )
    outside_names: set[str] = set()
    if fn_scope is not None:
        f_start, f_end = ctx.span(fn_scope.node)
        r_start, _ = ctx.span(run.statements[0])
        _, r_end = ctx.span(run.statements[-1])
        outside_names = set(_IDENT.findall(ctx.source[f_start:r_start] + ctx.source[r_end:f_end]))
    failures = [*safety.unsafe_reasons(run, fn_scope, compounds, ctx.source, outside_names), *extra]

    # ---- names --------------------------------------------------------------------
    # names in use where the pipeline variable will live (the function, else the module)
    fn = run.scope.enclosing_function()
    if fn is not None:
        fn_start, fn_end = ctx.span(fn.node)
    else:
        fn_start, fn_end = 0, len(ctx.source)
    names = _Names(set(_IDENT.findall(ctx.source[fn_start:fn_end])))
    if run.in_swallowing_try:
        # an error stops the original mid-run with earlier results bound; an except that
        # carries on could let later code read them, which the pipeline never bound
        run_start, _ = _line_text(ctx, run.statements[0])
        _, run_end = _line_text(ctx, run.statements[-1])
        outside = ctx.source[fn_start:run_start] + ctx.source[run_end:fn_end]
        used = set(_IDENT.findall(outside))
        roots = {w.split(".")[0] for c in cmds for w in c.writes}
        if roots & used:
            reasons.append("an except clause may swallow an error and later code read a result")
    if not ctx.config.fix_edits:  # nobody will read the edits: skip building them
        return Fix(*_verdict(cmds, reasons, failures), ())
    pipe = names.fresh("pipe")
    receiver = dotted_name(cmds[0].receiver) or _code(cmds[0].receiver)

    # slots: what each command's result is unpacked into. A result goes straight to its
    # target only for a plain name, and only while every earlier command did too: every
    # other binding is a statement after execute(), in the original order, preceded by
    # the check of its command (and of the earlier ones), so that the first failure,
    # an error reply or an exception of the binding, is the original's.
    slots: list[str] = []
    direct: list[bool] = []
    seen: set[str] = set()
    force_check: set[int] = set()
    for i, c in enumerate(cmds):
        plain = (
            c.kind == "assign"
            and len(c.targets) == 1
            and not c.wrapped
            and isinstance(c.targets[0], cst.Name)
        )
        if plain:
            # bound at execute(): no earlier binding statement may read or write it
            name = c.targets[0].value  # type: ignore[attr-defined]
            earlier = {
                n for j in range(i) if not direct[j] for n in (*cmds[j].writes, *cmds[j].bind_reads)
            }
            plain = not any(names_overlap(name, n) for n in earlier)
            if name in seen:  # bound twice: the first result must be checked first
                plain = False
                force_check.add(i)
            seen.add(name)
        direct.append(plain)
    groups: list[tuple[list[str], str | None]] = []  # (slots to check, binding after them)
    pending_slots: dict[int, list[str]] = {}  # a statement's slots, until its last command
    to_check: list[str] = []
    moved_after: dict[int, list[cst.BaseStatement]] = {}  # last command before them
    last = -1
    for stmt in run.statements:
        if id(stmt) in moved:
            moved_after.setdefault(last, []).append(stmt)
        else:
            last = max([last, *(i for i, c in enumerate(cmds) if c.stmt is stmt)])
    for i, c in enumerate(cmds):
        if i - 1 in moved_after:
            # consumers see the results bound, and run only if the original reached them
            if to_check:
                groups.append((to_check, None))
                to_check = []
            for stmt in moved_after[i - 1]:
                groups.append(([], ctx.source[slice(*_line_text(ctx, stmt))]))
        if direct[i]:
            slot = _code(c.targets[0])
        else:
            slot = names.fresh(f"{c.method}_result")
        slots.append(slot)
        to_check.append(slot)
        if direct[i] or not c.result_used:
            continue
        mine = pending_slots.setdefault(id(c.stmt), [])
        mine.append(slot)
        if len(mine) == len(c.siblings or (c.command_expr,)):
            binding = _binding(ctx, c, mine)
            if _quiet_binding(c) and i not in force_check:
                groups.append(([], binding))  # cannot fail, binds a local: check later
            else:
                groups.append((to_check, binding))
                to_check = []
    if to_check:
        groups.append((to_check, None))
    result_var = names.fresh("result")

    # ---- text ---------------------------------------------------------------------
    first = run.statements[0]
    start, _ = _line_text(ctx, first)
    line_start = ctx.line_starts[ctx.positions[first].start.line - 1]
    indent = ctx.source[line_start:start]
    if indent.strip():
        return None  # not at the start of its line (e.g. after a semicolon)
    inner = indent + unit
    out: list[str] = []
    prefix = "async with" if run.is_async else "with"
    out.append(f"{prefix} {receiver}.pipeline(transaction=False) as {pipe}:")
    stmt_cmds: dict[int, list[Command]] = {}
    for c in cmds:
        stmt_cmds.setdefault(id(c.stmt), []).append(c)
    prev_end: int | None = None
    for stmt in run.statements:
        s_start, s_end = _line_text(ctx, stmt)
        if prev_end is not None:
            # comments and blank lines between the previous statement and this one
            gap = ctx.source[prev_end:s_start]
            gap_lines = gap.split(nl)[1:-1]  # drop the rest of the previous line and the indent
            for gl in gap_lines:
                out.append(inner + gl.strip() if gl.strip() else "")
        in_stmt = stmt_cmds.get(id(stmt))
        if id(stmt) in moved:
            pass  # placed after execute()
        elif in_stmt is not None:
            for k, cmd in enumerate(in_stmt):
                spans = _command_spans(ctx, cmd)
                text = pipe + ctx.source[spans.receiver_end : spans.call_end]
                if not _has_multiline_string(text):
                    text = _reindent(text, unit, nl)
                trailing = getattr(cmd.stmt, "trailing_whitespace", None)  # not on an `if`
                comment = trailing.comment if trailing is not None else None
                if comment is not None and k == len(in_stmt) - 1:
                    text += "  " + comment.value
                out.append(inner + text)
        else:
            text = ctx.source[s_start:s_end]
            out.append(inner + _reindent(text, unit, nl))
        prev_end = s_end
    call = f"{pipe}.execute(raise_on_error=False)"
    execute = f"await {call}" if run.is_async else call
    step = inner + unit
    if len(groups) == 1 and groups[0][1] is None and not any(direct):
        # nothing is bound: re-raise the first error reply as the original would
        out.append(f"{inner}for {result_var} in {execute}:")
        out.append(f"{step}if isinstance({result_var}, Exception):")
        out.append(f"{step}{unit}raise {result_var}")
    else:
        unpack = f"{slots[0]}," if len(slots) == 1 else ", ".join(slots)
        out.append(f"{inner}{unpack} = {execute}")
        for checked, binding in groups:
            if not checked:
                pass
            elif len(checked) == 1:
                out.append(f"{inner}if isinstance({checked[0]}, Exception):")
                out.append(f"{step}raise {checked[0]}")
            else:
                out.append(f"{inner}for {result_var} in ({', '.join(checked)}):")
                out.append(f"{step}if isinstance({result_var}, Exception):")
                out.append(f"{step}{unit}raise {result_var}")
            if binding is not None:
                out.append(
                    inner
                    + (binding if _has_multiline_string(binding) else _reindent(binding, unit, nl))
                )
    content = nl.join(out)
    _, end = _line_text(ctx, run.statements[-1])
    applicability, message = _verdict(cmds, reasons, failures)
    edit = Edit(start, end, content, ctx.location(start), ctx.location(end))
    return Fix(applicability, message, (edit,))


def _several_keys(c: Command) -> bool:
    """Does this call pass several keys through a ``*names`` parameter (``delete(a, b)``)?"""
    import inspect

    import redis

    if any(a.star for a in c.call.args):
        return True
    method = getattr(redis.Redis, c.method, None)
    if method is None:
        return False
    try:
        params = list(inspect.signature(method).parameters.values())[1:]
    except (TypeError, ValueError):
        return False
    positional = sum(1 for a in c.call.args if a.keyword is None)
    for i, p in enumerate(params):
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            return f"*{p.name}" in c.spec.key_params and positional > i + 1
    return False


def _verdict(cmds: list[Command], reasons: list[str], failures: list[str]) -> tuple[str, str]:
    """Applicability and message (see "Fix safety" in rules/RP101.md)."""
    n = len(cmds)
    reads_only = all(c.spec.readonly and not c.spec.write for c in cmds)
    if reasons:
        return (
            "display-only",
            f"Rewrite the {n} commands as one pipeline (not automatic: {reasons[0]})",
        )
    why: list[str] = []
    if not reads_only:
        why.append("they write: on an error, later commands still run")
    if any(c.opaque_args for c in cmds[1:]):
        why.append("an argument calls code that would run before the earlier commands are sent")
    why.extend(failures)
    if not why:
        return "safe", f"Rewrite the {n} commands as one pipeline"
    return "unsafe", f"Rewrite the {n} commands as one pipeline ({'; '.join(why)})"


def _plain_call(ctx: FileContext, c: Command) -> bool:
    """Is every command of the statement ``<receiver>.<method>(...)`` with nothing
    (parenthesis, comment, line break) between the receiver and the method?"""
    for expr in c.siblings or (c.command_expr,):
        spans = _command_spans(ctx, c, expr)
        if not safety.receiver_is_plain(ctx.source, spans.receiver_end, spans.call_end):
            return False
        call = expr.expression if isinstance(expr, cst.Await) else expr
        if isinstance(call, cst.Call) and (call.func.lpar or call.lpar):
            return False
    return True


def _quiet_binding(c: Command) -> bool:
    """Binding the result is ``name = result``: it cannot fail or be seen elsewhere."""
    return (
        c.kind in ("assign", "annassign")
        and not c.wrapped
        and len(c.targets) == 1
        and isinstance(c.targets[0], cst.Name)
    )


def _binding(ctx: FileContext, c: Command, slots: list[str]) -> str:
    """The statement that binds a command's result the way the original did: its own
    source with each command of the statement (and its ``await``) replaced by its slot."""
    siblings = c.siblings or (c.command_expr,)
    spans = [_command_spans(ctx, c, expr) for expr in siblings]
    text = ctx.source[spans[0].stmt_start : spans[0].stmt_end]
    base = spans[0].stmt_start
    for sp, slot in sorted(zip(spans, slots, strict=True), key=lambda x: -x[0].command_start):
        text = text[: sp.command_start - base] + slot + text[sp.command_end - base :]
    return text


@dataclass
class _Spans:
    receiver_end: int
    call_end: int
    command_start: int  # the call, or the `await` before it
    command_end: int
    stmt_start: int
    stmt_end: int


def _command_spans(ctx: FileContext, c: Command, expr: cst.BaseExpression | None = None) -> _Spans:
    """Offsets of a command's parts (or of the sibling command ``expr`` of the same
    statement), from Python's ``ast`` when the call is unambiguous there (no code
    generation), else from LibCST positions."""
    if expr is not None and expr is not c.command_expr:
        call = expr.expression if isinstance(expr, cst.Await) else expr
        assert isinstance(call, cst.Call) and isinstance(call.func, cst.Attribute)
        receiver, call_end_node = call.func.value, call
    else:
        expr, receiver, call_end_node = c.command_expr, c.receiver, c.call
        if len(c.siblings) <= 1:
            fast = _ast_spans(ctx, c)
            if fast is not None:
                return fast
    _, receiver_end = ctx.span(receiver)
    _, call_end = ctx.span(call_end_node)
    command_start, command_end = ctx.span(expr)
    stmt_start, stmt_end = ctx.span(c.small)
    return _Spans(receiver_end, call_end, command_start, command_end, stmt_start, stmt_end)


def _ast_spans(ctx: FileContext, c: Command) -> _Spans | None:
    import ast

    node = ctx.ast_statement(c.stmt)
    receiver = dotted_name(c.receiver)
    if node is None or receiver is None:
        return None
    calls: list[ast.Call] = []
    awaits: list[ast.Await] = []
    for n in ast.walk(node):
        if type(n) is ast.Call:
            func = n.func
            if (
                type(func) is ast.Attribute
                and func.attr == c.method
                and _ast_dotted(func.value) == receiver
            ):
                calls.append(n)
        elif type(n) is ast.Await:
            awaits.append(n)
    if len(calls) != 1:
        return None
    call = calls[0]
    command: ast.AST = call
    if c.command_expr is not c.call:
        awaited = [a for a in awaits if a.value is call]
        if len(awaited) != 1:
            return None
        command = awaited[0]
    _, receiver_end = ctx.ast_span(call.func.value)  # type: ignore[attr-defined]
    _, call_end = ctx.ast_span(call)
    command_start, command_end = ctx.ast_span(command)
    stmt_start, stmt_end = ctx.ast_span(node)
    return _Spans(receiver_end, call_end, command_start, command_end, stmt_start, stmt_end)


def _ast_dotted(node: object) -> str | None:
    import ast

    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None
