"""Small text edits shared by the atomicity fixes: statement spans, dropping and
replacing statements, rewriting a call's method and keyword arguments.

Fix builders read the file only through ``span``/``location``/``source``/
``line_starts``/``newline`` of the context (and positions of block-level statements),
and render new code from LibCST nodes, which reproduce the original text exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import libcst as cst

from pipelint.diagnostics import Edit

__all__ = [
    "NoFix",
    "code",
    "dotted_names",
    "drop_or_raise",
    "stmt_span",
    "line_span",
    "indent_of",
    "replace_stmt",
    "drop_stmt",
    "with_method",
    "with_kwargs",
    "add_await",
    "cluster_target",
    "edit",
    "header_comment",
    "body_statements",
]

_EMPTY = cst.Module([])


class NoFix(Exception):
    """The rewrite cannot be proven: the fix is display-only, for this reason."""


def code(node: cst.CSTNode) -> str:
    return _EMPTY.code_for_node(node)


def stmt_span(ctx: Any, stmt: cst.CSTNode) -> tuple[int, int]:
    """From a statement's first character to the end of its last line (a trailing
    comment included, the newline excluded)."""
    start, end = ctx.span(stmt)
    line_end = ctx.source.find("\n", end)
    if line_end < 0:
        line_end = len(ctx.source)
    rest = ctx.source[end:line_end].rstrip("\r")
    if rest.strip() and not rest.strip().startswith("#"):
        rest = ""  # something else follows on the line: keep it
    return start, end + len(rest)


def line_span(ctx: Any, stmt: cst.CSTNode) -> tuple[int, int] | None:
    """The whole lines of a statement (indentation and newline included), or None
    when something else shares its first or last line."""
    start, end = stmt_span(ctx, stmt)
    line_start = ctx.source.rfind("\n", 0, start) + 1
    if ctx.source[line_start:start].strip():
        return None
    after = ctx.source[
        end : ctx.source.find("\n", end) + 1 if "\n" in ctx.source[end:] else len(ctx.source)
    ]
    if after.strip():
        return None
    return line_start, end + len(after)


def indent_of(ctx: Any, stmt: cst.CSTNode) -> str:
    start, _ = ctx.span(stmt)
    line_start = ctx.source.rfind("\n", 0, start) + 1
    return ctx.source[line_start:start]


def edit(ctx: Any, start: int, end: int, content: str) -> Edit:
    return Edit(start, end, content, ctx.location(start), ctx.location(end))


def replace_stmt(ctx: Any, stmt: cst.CSTNode, text: str, keep_comment: bool = True) -> Edit:
    """Replace a statement (from its first character; its trailing comment is kept)."""
    start, end = ctx.span(stmt)
    if not keep_comment:
        _, end = stmt_span(ctx, stmt)
    return edit(ctx, start, end, text)


def drop_stmt(ctx: Any, stmt: cst.CSTNode) -> Edit | None:
    """Remove a statement's lines; None when it shares a line with other code."""
    span = line_span(ctx, stmt)
    if span is None:
        return None
    return edit(ctx, span[0], span[1], "")


def header_comment(stmt: cst.BaseCompoundStatement) -> str:
    """The comment on a compound statement's header line (``if x:  # here``), with
    the two spaces before it; empty when there is none."""
    body = stmt.body
    if isinstance(body, cst.IndentedBlock) and body.header.comment is not None:
        return "  " + body.header.comment.value
    return ""


def drop_or_raise(ctx: Any, stmt: cst.CSTNode) -> Edit:
    e = drop_stmt(ctx, stmt)
    if e is None:
        raise NoFix("a statement shares its line with other code")
    return e


def dotted_names(node: cst.CSTNode, calls: bool = True) -> set[str]:
    """The names and attribute chains ``node`` reads (``NoFix`` on a call when
    ``calls`` is false)."""
    from pipelint.clients.scopes import dotted_name, iter_children

    out: set[str] = set()
    stack: list[cst.CSTNode] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, (cst.Name, cst.Attribute)):
            d = dotted_name(n)
            if d is not None:
                out.add(d)
                continue
        if isinstance(n, cst.Call) and not calls:
            raise NoFix("an amount calls a function")
        stack.extend(iter_children(n))
    return out


def with_method(call: cst.Call, method: str) -> cst.Call:
    """The same call on the same receiver, another method."""
    func = call.func
    assert isinstance(func, cst.Attribute)
    return call.with_changes(func=func.with_changes(attr=cst.Name(method)))


def with_kwargs(
    call: cst.Call,
    add: Sequence[tuple[str, cst.BaseExpression]] = (),
    drop: Sequence[str] = (),
    positional: Sequence[cst.BaseExpression] = (),
) -> cst.Call:
    """The call with keyword arguments dropped, positional ones appended after the
    existing positional ones, and keyword ones added at the end."""
    args = [a for a in call.args if a.keyword is None or a.keyword.value not in drop]
    last_pos = max((i for i, a in enumerate(args) if a.keyword is None), default=-1)
    for j, value in enumerate(positional):
        args.insert(last_pos + 1 + j, cst.Arg(value=value))
    for name, value in add:
        args.append(
            cst.Arg(
                value=value,
                keyword=cst.Name(name),
                equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                ),
            )
        )
    if args and len(args) > len(call.args) - len(drop):
        # an argument that was last and ended with a bare comma keeps it; the new
        # last one gets none
        last = args[-1]
        args[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return call.with_changes(args=args)


def cluster_target(ctx: Any) -> bool:
    """Are fixes restricted to what a cluster accepts (``target = "cluster"``)?"""
    target = getattr(ctx, "cluster_target", None)
    if isinstance(target, bool):
        return target
    return bool(ctx.config.target == "cluster")


def add_await(text: str, is_async: bool) -> str:
    return f"await {text}" if is_async else text


def body_statements(suite: cst.BaseSuite) -> Sequence[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return suite.body
    return []
