"""The fix of RP910 unused-noqa: remove the unused codes from the directive, or the whole
directive when none is left (the whole line when the comment stood alone on it).

Always safe: it only edits a comment. What else the comment holds stays: other tools'
codes (``# noqa: RP101, E501`` becomes ``# noqa: E501``), another comment after it
(``# noqa: RP101  # type: ignore`` becomes ``# type: ignore``) or a reason written
after it (``# noqa: RP101 slow path`` becomes ``# slow path``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelint.diagnostics import Edit, Fix
from pipelint.fixes import register

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext
    from pipelint.checker.noqa import Directive

__all__ = ["remove_unused"]


def _edit(ctx: FileContext, start: int, end: int, content: str) -> Edit:
    return Edit(start, end, content, ctx.location(start), ctx.location(end))


def _remove_directive(ctx: FileContext, d: Directive) -> Edit:
    source = ctx.source
    line_start = source.rfind("\n", 0, d.comment_start) + 1
    line_start = max(line_start, source.rfind("\r", 0, d.comment_start) + 1)
    before = source[line_start : d.comment_start]
    rest = source[d.end : d.comment_end]
    if d.start == d.comment_start and not rest.strip():  # the comment is the directive
        if not before.strip():  # alone on its line: the line goes
            end = d.comment_end
            if source.startswith("\r\n", end):
                end += 2
            elif source.startswith(("\n", "\r"), end):
                end += 1
            elif line_start > 0:  # the last line, without a newline: take the one before
                line_start -= 2 if source[line_start - 2 : line_start] == "\r\n" else 1
            return _edit(ctx, line_start, end, "")
        start = d.comment_start
        while start > line_start and source[start - 1] in " \t":
            start -= 1
        return _edit(ctx, start, d.comment_end, "")
    if d.start == d.comment_start:  # something follows in the same comment
        tail = rest.lstrip()
        keep = tail if tail.startswith("#") else "# " + tail
        return _edit(ctx, d.start, d.comment_end, keep)
    start = d.start  # after other text of the comment: the directive and the space before
    while start > d.comment_start and source[start - 1] in " \t":
        start -= 1
    return _edit(ctx, start, d.end, "")


@register("RP910")
def remove_unused(ctx: FileContext, subject: object) -> Fix | None:
    directive, codes = subject  # type: ignore[misc]
    assert directive.codes is None or all(c in directive.codes for c in codes)
    remaining = [c for c in directive.codes or () if c not in codes]
    if remaining:
        edit = _edit(ctx, directive.codes_start, directive.codes_end, ", ".join(remaining))
        listed = ", ".join(f"`{c}`" for c in codes)
        return Fix("safe", f"Remove unused code{'s' if len(codes) > 1 else ''} {listed}", (edit,))
    return Fix(
        "safe", f"Remove unused `{directive.label}` directive", (_remove_directive(ctx, directive),)
    )
