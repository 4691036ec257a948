"""RP104 fix: display-only (see rules/RP104.md): one pipeline around the loop, one
``execute()`` after it, replies regrouped per item."""

from __future__ import annotations

from pipelint.analysis.loops import Loop
from pipelint.checker.context import FileContext
from pipelint.diagnostics import Fix
from pipelint.fixes import register

__all__ = ["build_fix"]


@register("RP104")
def build_fix(ctx: FileContext, subject: object) -> Fix | None:
    loop = subject
    assert isinstance(loop, Loop)
    use = loop.pipelines[0]
    where = "create the pipeline before the loop, " if use.created_inside else ""
    regroup = "; regroup the replies per item" if use.result_used else ""
    return Fix(
        "display-only",
        f"{where[:1].upper() + where[1:] if where else ''}"
        f"{'q' if where else 'Q'}ueue every item's commands and call execute() once after "
        f"the loop{regroup} (not automatic: per-item atomicity and errors change)",
        (),
    )
