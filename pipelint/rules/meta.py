"""Diagnostics about the input itself rather than about Redis use (RP9xx)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext

__all__ = ["SyntaxErrorRule", "UnreadableFile", "InternalError"]


class _Meta(Rule):
    tags = ("input",)
    level = "error"

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        return iter(())  # emitted by the checker, not from the model


class SyntaxErrorRule(_Meta):
    code = "RP900"
    name = "syntax-error"
    summary = "The file could not be parsed as Python, so it was not analysed"


class UnreadableFile(_Meta):
    code = "RP901"
    name = "unreadable-file"
    summary = "The file could not be read or decoded, so it was not analysed"


class InternalError(_Meta):
    code = "RP902"
    name = "internal-error"
    summary = "pipelint failed while analysing this file; other files were still checked"
