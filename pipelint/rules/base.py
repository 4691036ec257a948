"""What a rule is: a code, a name, a summary, and a check over the file's model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # the registry is read at start-up (rule selectors): no LibCST import here
    import libcst as cst

    from pipelint.checker.context import FileContext
    from pipelint.diagnostics import Fix

__all__ = ["Rule", "Finding"]


@dataclass
class Finding:
    """A rule's report, in terms of nodes; the checker turns it into a Diagnostic."""

    code: str
    message: str
    start: cst.CSTNode
    end: cst.CSTNode
    # builds the fix lazily (positions are needed); None when there is none
    fix: Callable[[FileContext], Fix | None] | None = None
    # where a suppression comment counts besides the finding's first row: the first
    # rows of these nodes (a loop's commands). None: on any row of the finding
    anchors: tuple[cst.CSTNode, ...] | None = None


class Rule:
    code: ClassVar[str]
    name: ClassVar[str]  # kebab-case, e.g. "sequential-commands"
    summary: ClassVar[str]  # one line, used by `pipelint rule --all` and SARIF
    precision: ClassVar[str] = "high"  # SARIF property
    tags: ClassVar[tuple[str, ...]] = ("performance", "redis")
    level: ClassVar[str] = "warning"  # SARIF default level

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        raise NotImplementedError
