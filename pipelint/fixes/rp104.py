"""RP104 fix: one pipeline around the loop, one ``execute()`` after it (see
rules/RP104.md).

Two shapes are rewritten, when no ``execute()`` result is used:

- ``for ...: with r.pipeline() as pipe: ...; pipe.execute()`` (the ``with`` directly
  in the loop body, ``execute()`` its last statement) becomes
  ``with r.pipeline() as pipe: for ...: ...`` followed by ``pipe.execute()``;
- ``for ...: pipe.<cmd>(...); pipe.execute()`` on a pipeline created before the loop:
  the ``execute()`` statement moves after the loop.

Always unsafe: one ``MULTI``/``EXEC`` (or one pipeline) for every item instead of one
per item, and an error reply no longer stops the later items. Anything else is
display-only.
"""

from __future__ import annotations

import libcst as cst

from pipelint.analysis.loops import Loop, PipelineUse
from pipelint.checker.context import FileContext
from pipelint.diagnostics import Edit, Fix
from pipelint.fixes import register
from pipelint.fixes.rp101 import _has_multiline_string, _line_text

__all__ = ["build_fix"]

_UNSAFE = (
    "one pipeline for every item instead of one per item: with transaction=True one "
    "MULTI/EXEC for all, and an error reply no longer stops the later items"
)


def _is_execute_stmt(stmt: cst.BaseStatement, name: str) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if not isinstance(small, cst.Expr):
        return False
    value = small.value
    if isinstance(value, cst.Await):
        value = value.expression
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "execute"
        and isinstance(value.func.value, cst.Name)
        and value.func.value.value == name
        and not value.args
    )


def _rewrite(loop: Loop, use: PipelineUse) -> cst.BaseStatement | None:
    node = loop.node
    if not isinstance(node, cst.For) or not isinstance(node.body, cst.IndentedBlock):
        return None
    if node.orelse is not None or use.result_used or len(use.executes) != 1:
        return None
    body = list(node.body.body)
    if use.created_inside:
        withs = [s for s in body if s is use.create_stmt]
        if len(withs) != 1 or not isinstance(withs[0], cst.With):
            return None
        with_node = withs[0]
        if not isinstance(with_node.body, cst.IndentedBlock):
            return None
        inner = list(with_node.body.body)
        if not inner or not _is_execute_stmt(inner[-1], use.name):
            return None
        execute = inner[-1]
        i = body.index(with_node)
        new_body = [*body[:i], *inner[:-1], *body[i + 1 :]]
        if not new_body:
            return None
        # the with's own comments now sit above the loop, inside the with
        new_for = node.with_changes(
            body=node.body.with_changes(body=new_body), leading_lines=with_node.leading_lines
        )
        return with_node.with_changes(
            body=with_node.body.with_changes(body=[new_for, execute]), leading_lines=()
        )
    executes = [s for s in body if _is_execute_stmt(s, use.name)]
    if len(executes) != 1:
        return None
    new_body = [s for s in body if s is not executes[0]]
    if not new_body:
        return None
    return node.with_changes(body=node.body.with_changes(body=new_body), leading_lines=())


@register("RP104")
def build_fix(ctx: FileContext, subject: object) -> Fix | None:
    loop = subject
    assert isinstance(loop, Loop)
    use = loop.pipelines[0]
    what = "Queue every item's commands in one pipeline and call execute() once after the loop"
    new = _rewrite(loop, use) if len(loop.pipelines) == 1 else None
    if new is None:
        why = (
            "regroup the replies per item"
            if use.result_used
            else "the loop's shape is not one pipeline block with execute() at its end"
        )
        return Fix("display-only", f"{what} (not automatic: {why})", ())
    start, end = _line_text(ctx, loop.stmt)
    if _has_multiline_string(ctx.source[start:end]):
        return Fix("display-only", f"{what} (not automatic: a multi-line string moves)", ())
    if not ctx.config.fix_edits:
        return Fix("unsafe", f"{what} ({_UNSAFE})", ())
    line_start = ctx.line_starts[ctx.positions[loop.stmt].start.line - 1]
    indent = ctx.source[line_start:start]
    code = ctx.module.code_for_node(new).rstrip("\r\n")
    if not use.created_inside:
        execute = next(
            s
            for s in loop.node.body.body  # type: ignore[union-attr]
            if _is_execute_stmt(s, use.name)
        )
        code += ctx.newline + ctx.module.code_for_node(
            execute.with_changes(leading_lines=())
        ).rstrip("\r\n")
    nl = ctx.newline
    lines = code.split(nl)
    content = nl.join([lines[0], *[(indent + ln if ln.strip() else ln) for ln in lines[1:]]])
    edit = Edit(start, end, content, ctx.location(start), ctx.location(end))
    return Fix("unsafe", f"{what} ({_UNSAFE})", (edit,))
