"""RP101 fix for a run with conditional commands (see rules/RP101.md, issue 9).

The run's span (first to last statement) moves, as it is, inside one pipeline block,
each command's receiver (and ``await``) replaced by the pipeline::

    with <client>.pipeline(transaction=False) as pipe:
        pipe.set(key, payload)
        if ttl is not None:
            pipe.expire(key, ttl)
        pipe.execute()

The ``if`` keeps its tests and branches; only the commands are queued instead of sent.
Offered only when no command's result is used (their number then depends on the path
taken, and nothing binds them), every command is a statement of its own, and the
receiver is a plain name: the shapes the differential cases prove
(fixtures/RP101/fix/conditional_*.py). Always unsafe: the commands write (an error in
one no longer stops the later ones), as for a plain run of writes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pipelint.clients.scopes import dotted_name
from pipelint.diagnostics import Edit, Fix

if TYPE_CHECKING:
    from pipelint.analysis.model import Run
    from pipelint.checker.context import FileContext

__all__ = ["build_conditional_fix", "offers_conditional_fix"]

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def offers_conditional_fix(run: Run) -> bool:
    """Is the run one this fix rewrites (before looking at its source)?"""
    return (
        run.shapes == ("conditional",)
        and run.scope.kind == "function"
        and not run.client.cluster
        and dotted_name(run.commands[0].receiver) is not None
        and all(not c.result_used and len(c.stmt.body) == 1 for c in run.commands)
    )


def build_conditional_fix(ctx: FileContext, run: Run) -> Fix | None:
    if not offers_conditional_fix(run) or ctx.config.target == "cluster":
        return None
    first, last = run.block[run.start], run.block[run.end]
    start, _ = ctx.span(first)
    _, end = ctx.span(last)
    # to the end of the last line (a trailing comment moves with it)
    line = ctx.positions[last].end.line
    line_end = ctx.line_starts[line] if line < len(ctx.line_starts) else len(ctx.source)
    end += len(ctx.source[end:line_end].rstrip("\r\n"))
    text = ctx.source[start:end]
    if '"""' in text or "'''" in text or "\\\n" in text or "\\\r" in text:
        return None  # re-indenting would change a string or a continuation
    line_start = ctx.line_starts[ctx.positions[first].start.line - 1]
    indent = ctx.source[line_start:start]
    if indent.strip():
        return None  # not at the start of its line
    fn = run.scope.enclosing_function()
    assert fn is not None
    fn_start, fn_end = ctx.span(fn.node)
    used = set(_IDENT.findall(ctx.source[fn_start:fn_end]))
    pipe, i = "pipe", 2
    while pipe in used:
        pipe, i = f"pipe_{i}", i + 1
    # each command: its await and receiver become the pipeline
    edits: list[tuple[int, int, str]] = []
    for c in run.commands:
        command_start, _ = ctx.span(c.command_expr)
        _, receiver_end = ctx.span(c.receiver)
        if not start <= command_start < receiver_end <= end:
            return None
        edits.append((command_start - start, receiver_end - start, pipe))
    for a, b, new in sorted(edits, reverse=True):
        text = text[:a] + new + text[b:]
    nl, unit = ctx.newline, ctx.module.default_indent
    lines = text.split(nl)
    body = [lines[0], *[(unit + ln if ln.strip() else ln) for ln in lines[1:]]]
    receiver = dotted_name(run.commands[0].receiver)
    opener = "async with" if run.is_async else "with"
    execute = f"await {pipe}.execute()" if run.is_async else f"{pipe}.execute()"
    inner = indent + unit
    content = nl.join(
        [
            f"{opener} {receiver}.pipeline(transaction=False) as {pipe}:",
            inner + nl.join(body),
            inner + execute,
        ]
    )
    n = len(run.commands)
    message = (
        f"Queue the {n} commands, the `if` kept, in one pipeline (they write: on an error, "
        "later commands still run)"
    )
    edit = Edit(start, end, content, ctx.location(start), ctx.location(end))
    return Fix("unsafe", message, (edit,))
