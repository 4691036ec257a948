"""RP910 unused-noqa: a suppression comment of pipelint's own codes that suppresses
nothing (ruff's RUF100, for pipelint's codes only).

It reads no model: the checker judges the file's suppression comments once every other
rule has run (``pipelint.checker.noqa``), and asks this rule for the message; the fix
(``pipelint.fixes.rp910``) removes the unused codes, or the whole directive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext
    from pipelint.checker.noqa import Directive

__all__ = ["UnusedNoqa"]


class UnusedNoqa(Rule):
    code = "RP910"
    name = "unused-noqa"
    summary = "A suppression comment names a pipelint rule that reports nothing there"
    tags = ("suppression",)

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        return iter(())  # judged by the checker after the other rules (checker/noqa.py)

    @staticmethod
    def message(directive: Directive, codes: tuple[str, ...]) -> str:
        if not codes:
            return f"Unused blanket `{directive.label}` directive"
        listed = ", ".join(f"`{c}`" for c in codes)
        return f"Unused `{directive.label}` directive (unused: {listed})"
