"""RP302: how to queue a script on a pipeline without SCRIPT EXISTS on every execute
(display-only; see rules/RP302.md)."""

from __future__ import annotations

from typing import Any

from pipelint.analysis.pipelines import ScriptCall
from pipelint.diagnostics import Fix
from pipelint.fixes import register

__all__ = ["build_fix"]


@register("RP302")
def build_fix(ctx: Any, subject: object) -> Fix | None:
    sc = subject
    assert isinstance(sc, ScriptCall)
    pipe = sc.pipeline.name
    return Fix(
        "display-only",
        f"Load the script once (e.g. {sc.script}.sha after client.script_load("
        f"{sc.script}.script)) and queue {pipe}.evalsha({sc.script}.sha, len(keys), *keys, "
        f"*args); handle NoScriptError around {pipe}.execute() by loading it again (after a "
        "restart or SCRIPT FLUSH). When it is the pipeline's only command, call the script "
        "directly instead.",
        (),
    )
