"""Everything the rules of one file share: source, tree, model, lazy positions."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from pipelint.analysis.runs import Analysis
from pipelint.clients.resolve import Resolver
from pipelint.clients.scopes import ScopeIndex
from pipelint.config import Config
from pipelint.diagnostics import Location

if TYPE_CHECKING:
    from pipelint.diagnostics import Fix

__all__ = ["FileContext"]

_NEWLINE = re.compile(r"\r\n|\r|\n")


@dataclass
class FileContext:
    path: Path
    display_path: str
    source: str
    module: cst.Module
    config: Config
    index: ScopeIndex
    resolver: Resolver
    analysis: Analysis
    _extra: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        """Node positions; computed once, only when some rule reports or fixes."""
        wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
        return wrapper.resolve(PositionProvider)

    @cached_property
    def line_starts(self) -> list[int]:
        starts = [0]
        starts.extend(m.end() for m in _NEWLINE.finditer(self.source))
        return starts

    @cached_property
    def newline(self) -> str:
        m = _NEWLINE.search(self.source)
        return m.group(0) if m else "\n"

    def offset(self, line: int, column: int) -> int:
        """Character offset of a 1-based line and 0-based column."""
        return self.line_starts[line - 1] + column

    def location(self, offset: int) -> Location:
        line = bisect_right(self.line_starts, offset)
        return Location(line, offset - self.line_starts[line - 1] + 1)

    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        rng = self.positions[node]
        return self.offset(rng.start.line, rng.start.column), self.offset(
            rng.end.line, rng.end.column
        )

    def fixer_for(self, code: str, subject: object) -> Callable[[FileContext], Fix | None] | None:
        from pipelint.fixes import fixer_for

        return fixer_for(code, subject)
