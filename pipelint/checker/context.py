"""Everything the rules of one file share: source, tree, model, lazy positions."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import libcst as cst
from libcst.metadata import CodeRange
from libcst.metadata.position_provider import PositionProvidingCodegenState

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
    #: the same source parsed by Python's ``ast`` (by the limits' screen), if it was
    ast_module: Any = None

    @cached_property
    def positions(self) -> Mapping[cst.CSTNode, CodeRange]:
        """Node positions (as LibCST's ``PositionProvider``), computed lazily: only the
        statements holding the nodes asked for are generated (see ``_Positions``)."""
        return _Positions(self)

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

    def ast_statement(self, stmt: cst.CSTNode) -> Any | None:
        """The Python ``ast`` node of a one-statement line (same statement, same source),
        or None when it is not known; for cheap positions of expressions inside."""
        positions = self.positions
        assert isinstance(positions, _Positions)
        return positions.ast_statement(stmt)

    def ast_span(self, node: Any) -> tuple[int, int]:
        """Character offsets of an ``ast`` node (whose columns are UTF-8 byte offsets)."""
        src, starts = self.source, self.line_starts

        def at(line: int, byte_col: int) -> int:
            end = starts[line] if line < len(starts) else len(src)
            return starts[line - 1] + _char_col(src[starts[line - 1] : end], byte_col)

        return at(node.lineno, node.col_offset), at(node.end_lineno, node.end_col_offset)

    def fixer_for(self, code: str, subject: object) -> Callable[[FileContext], Fix | None] | None:
        from pipelint.fixes import fixer_for

        return fixer_for(code, subject)


class _Recorder:
    """Stands in for the metadata provider the position codegen state writes to."""

    def __init__(self, computed: dict[cst.CSTNode, CodeRange]) -> None:
        self._computed = computed


class _Positions(Mapping[cst.CSTNode, CodeRange]):
    """``PositionProvider`` results, without generating the whole module.

    LibCST computes positions by generating the code of the module. Here only the
    statements that hold the nodes asked for are generated: each block-level statement
    gets its first line and indentation from Python's ``ast`` (statements of both trees
    correspond one to one, in order), and its code is generated from there with the
    same codegen state LibCST uses, so every node inside gets the exact same range. The
    generated text is compared with the source; on any mismatch, or for a node whose
    statement is not known, the positions of the whole module are generated instead.
    """

    def __init__(self, ctx: FileContext) -> None:
        self.ctx = ctx
        self._computed: dict[cst.CSTNode, CodeRange] = {}
        self._starts: dict[cst.CSTNode, int] | None = None  # statement -> first line
        # block-level statement -> its first and last ``ast`` statements
        self._ranges: dict[cst.CSTNode, tuple[Any, Any]] = {}
        self._owner: dict[cst.CSTNode, cst.CSTNode] | None = None
        self._done: set[cst.CSTNode] = set()
        self._full = False

    # ---- Mapping ----------------------------------------------------------------------
    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        hit = self._computed.get(node)
        if hit is not None:
            return hit
        if not self._full:
            fast = self._from_ast(node)
            if fast is not None:
                self._computed[node] = fast
                return fast
            stmt = self._statement_of(node)
            if stmt is not None and stmt not in self._done:
                self._done.add(stmt)
                if not self._generate(stmt):
                    self._generate_all()
            hit = self._computed.get(node)
            if hit is not None:
                return hit
            self._generate_all()
        return self._computed[node]

    def __iter__(self) -> Iterator[cst.CSTNode]:
        self._generate_all()
        return iter(self._computed)

    def __len__(self) -> int:
        self._generate_all()
        return len(self._computed)

    def ast_statement(self, stmt: cst.CSTNode) -> Any | None:
        self._statement_starts()
        pair = self._ranges.get(stmt)
        if pair is None or pair[0] is not pair[1]:
            return None
        return pair[0]

    # ---- which statement --------------------------------------------------------------
    def _statement_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        if node in self._statement_starts():
            return node  # a block-level statement itself (a command's line, a function)
        if self._owner is None:
            owner: dict[cst.CSTNode, cst.CSTNode] = {}
            for run in self.ctx.analysis.runs:
                for stmt in run.statements:
                    owner[stmt] = stmt
                for c in run.commands:
                    for n in (c.stmt, c.small, c.command_expr, c.value, c.receiver):
                        owner.setdefault(n, c.stmt)
                    _own_subtree(owner, c.call, c.stmt)  # its arguments (RP103 items)
                    for t in c.targets:
                        owner.setdefault(t, c.stmt)
            for loop in self.ctx.analysis.loops:  # loop facts (RP102-RP104)
                owner.setdefault(loop.node, loop.stmt)
                for c in loop.commands:
                    for n in (c.receiver, c.command_expr, c.value):
                        owner.setdefault(n, c.stmt)
                    _own_subtree(owner, c.call, c.stmt)
                if loop.consumer_node is not None:
                    owner.setdefault(loop.consumer_node, loop.stmt)
                # the loop's header, which the fixes copy: targets, iterables, conditions
                header: list[cst.CSTNode | None] = [
                    loop.target,
                    loop.iterable,
                    getattr(loop.node, "target", None),
                    getattr(loop.node, "iter", None),
                ]
                for_in = getattr(loop.node, "for_in", None)
                while isinstance(for_in, cst.CompFor):
                    header += [for_in.target, for_in.iter, *(i.test for i in for_in.ifs)]
                    for_in = for_in.inner_for_in
                for n in header:
                    if n is not None:
                        _own_subtree(owner, n, loop.stmt)
            self._owner = owner
        return self._owner.get(node)

    def _statement_starts(self) -> dict[cst.CSTNode, int]:
        if self._starts is None:
            import ast

            starts: dict[cst.CSTNode, int] = {}
            try:
                tree = self.ctx.ast_module or ast.parse(self.ctx.source)
                _pair(self.ctx.module.body, tree.body, starts, self._ranges)
            except Exception:  # noqa: BLE001 - any doubt: the whole-module path
                starts = {}
                self._ranges = {}
            self._starts = starts
        return self._starts

    def _from_ast(self, node: cst.CSTNode) -> CodeRange | None:
        """A block-level statement's range straight from ``ast``, no code generated.

        LibCST's range of a simple statement line, or of a compound statement with an
        indented body, starts at its first ast statement and ends where its last one
        ends (checked on Django and the fixtures). Not used when a ``;`` or anything
        but a comment follows on the last line (LibCST and ast differ on that)."""
        self._statement_starts()
        pair = self._ranges.get(node)
        if pair is None:
            return None
        first, last = pair
        src, starts = self.ctx.source, self.ctx.line_starts
        try:
            line0, line1 = first.lineno, last.end_lineno
            text0 = src[starts[line0 - 1] : starts[line0] if line0 < len(starts) else len(src)]
            text1 = src[starts[line1 - 1] : starts[line1] if line1 < len(starts) else len(src)]
            col0 = _char_col(text0, first.col_offset)
            col1 = _char_col(text1, last.end_col_offset)
        except (IndexError, TypeError, UnicodeDecodeError):
            return None
        rest = text1[col1:].strip()
        if rest and not rest.startswith("#"):
            return None
        from libcst.metadata import CodePosition

        return CodeRange(CodePosition(line0, col0), CodePosition(line1, col1))

    # ---- generating -------------------------------------------------------------------
    def _generate(self, stmt: cst.CSTNode) -> bool:
        first = self._statement_starts().get(stmt)
        if first is None:
            return False
        leading = _leading_lines(stmt)
        line = first - leading
        ctx = self.ctx
        if line < 1 or line > len(ctx.line_starts):
            return False
        text_line = ctx.source[ctx.line_starts[first - 1] : ctx.line_starts[first - 1] + 200]
        indent = text_line[: len(text_line) - len(text_line.lstrip(" \t\f"))]
        computed: dict[cst.CSTNode, CodeRange] = {}
        module = ctx.module
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=_Recorder(computed),  # type: ignore[arg-type]
            indent_tokens=[indent] if indent else [],
            line=line,
            column=0,
        )
        stmt._codegen(state)
        code = "".join(state.tokens)
        start = ctx.line_starts[line - 1]
        actual = ctx.source[start : start + len(code)]
        if actual != code and not (
            code.endswith(module.default_newline)
            and start + len(code) - len(module.default_newline) == len(ctx.source)
            and code[: -len(module.default_newline)] == actual
        ):
            return False
        self._computed.update(computed)
        return True

    def _generate_all(self) -> None:
        if self._full:
            return
        self._full = True
        computed: dict[cst.CSTNode, CodeRange] = {}
        module = self.ctx.module
        state = PositionProvidingCodegenState(
            default_indent=module.default_indent,
            default_newline=module.default_newline,
            provider=_Recorder(computed),  # type: ignore[arg-type]
        )
        module._codegen(state)
        self._computed = computed


def _own_subtree(
    owner: dict[cst.CSTNode, cst.CSTNode], node: cst.CSTNode, stmt: cst.CSTNode
) -> None:
    """``node`` and everything inside it belong to the statement ``stmt``."""
    todo = [node]
    while todo:
        n = todo.pop()
        owner.setdefault(n, stmt)
        todo.extend(n.children)


def _leading_lines(stmt: cst.CSTNode) -> int:
    n = len(getattr(stmt, "leading_lines", ()))
    decorators = getattr(stmt, "decorators", ())
    if decorators:
        n += len(decorators[0].leading_lines)
    return n


def _first_line(node: object) -> int:
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        return int(decorators[0].lineno)
    return int(node.lineno)  # type: ignore[attr-defined]


def _suite(suite: cst.BaseSuite) -> Sequence[cst.CSTNode] | None:
    return suite.body if isinstance(suite, cst.IndentedBlock) else None


def _pair(
    body: Sequence[cst.CSTNode] | None,
    nodes: Sequence[object],
    out: dict[cst.CSTNode, int],
    ranges: dict[cst.CSTNode, tuple[Any, Any]] | None = None,
) -> None:
    """Give each block-level LibCST statement of ``body`` the first line of its
    ``ast`` counterpart in ``nodes`` (recursively); raises on any disagreement.
    ``body`` None: a one-line suite (``if x: a; b``), whose statements are not paired."""
    import ast

    if body is None:
        return
    i = 0
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine):
            a = nodes[i]
            out[stmt] = _first_line(a)
            i += len(stmt.body)
            if ranges is not None:
                ranges[stmt] = (a, nodes[i - 1])
            continue
        a = nodes[i]
        i += 1
        out[stmt] = _first_line(a)
        if ranges is not None and isinstance(getattr(stmt, "body", None), cst.IndentedBlock):
            ranges[stmt] = (a, a)
        if isinstance(stmt, (cst.FunctionDef, cst.ClassDef, cst.With, cst.For, cst.While)):
            if not isinstance(
                a,
                (
                    ast.FunctionDef,
                    ast.AsyncFunctionDef,
                    ast.ClassDef,
                    ast.With,
                    ast.AsyncWith,
                    ast.For,
                    ast.AsyncFor,
                    ast.While,
                ),
            ):
                raise ValueError("statement mismatch")
            _pair(_suite(stmt.body), a.body, out, ranges)
            orelse = getattr(stmt, "orelse", None)
            if orelse is not None:
                _pair(_suite(orelse.body), a.orelse, out, ranges)  # type: ignore[attr-defined]
        elif isinstance(stmt, cst.If):
            _pair_if(stmt, a, out, ranges)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            if not isinstance(a, (ast.Try, getattr(ast, "TryStar", ast.Try))):
                raise ValueError("statement mismatch")
            _pair(_suite(stmt.body), a.body, out, ranges)
            for h, ah in zip(stmt.handlers, a.handlers, strict=True):
                _pair(_suite(h.body), ah.body, out, ranges)
            if stmt.orelse is not None:
                _pair(_suite(stmt.orelse.body), a.orelse, out, ranges)
            if stmt.finalbody is not None:
                _pair(_suite(stmt.finalbody.body), a.finalbody, out, ranges)
        elif isinstance(stmt, cst.Match):
            if not isinstance(a, ast.Match):
                raise ValueError("statement mismatch")
            for case, ac in zip(stmt.cases, a.cases, strict=True):
                _pair(_suite(case.body), ac.body, out, ranges)
    if i != len(nodes):
        raise ValueError("statement count mismatch")


def _pair_if(
    stmt: cst.If,
    a: object,
    out: dict[cst.CSTNode, int],
    ranges: dict[cst.CSTNode, tuple[Any, Any]] | None = None,
) -> None:
    import ast

    if not isinstance(a, ast.If):
        raise ValueError("statement mismatch")
    _pair(_suite(stmt.body), a.body, out, ranges)
    orelse = stmt.orelse
    if isinstance(orelse, cst.If):
        if len(a.orelse) != 1:
            raise ValueError("elif mismatch")
        _pair_if(orelse, a.orelse[0], out, ranges)
    elif orelse is not None:
        _pair(_suite(orelse.body), a.orelse, out, ranges)


def _char_col(line: str, byte_col: int) -> int:
    """``ast`` columns count UTF-8 bytes; LibCST's count characters."""
    if line.isascii():
        return byte_col
    return len(line.encode("utf-8")[:byte_col].decode("utf-8"))
