"""What a file must look like before LibCST may parse it: its size and how deeply its
expressions nest.

LibCST's native parser is superlinear on deep expressions: its grammar parses
left-recursive rules (``a + b``, ``a.b``, ``f()``, ``a[i]``...) with rust-peg's
``#[cache_left_rec]``, which clones the tree parsed so far at every step of the
recursion, so a chain of n operators costs n² (``a+a+...`` with 4000 terms: 5 s, with
10k: minutes). Deeper still, it overflows its native stack: ``a and a and ...`` with
100k terms, 5000 nested brackets, 10k unary ``-`` end the process with a
segmentation fault, which no ``except`` can catch. Memory grows about 350 times the
size of the source (a 20 MB file: 7 GB and more).

So before LibCST sees a file, Python's own parser (C, linear, about a tenth of LibCST's
time) reads it, and the nesting of every long statement is measured in LibCST's terms
(each operator, call, subscript, attribute, unary operator, bracket... is a level;
``a and b and c`` is two levels, as LibCST nests it; so is each implicitly joined string
literal). A file above ``max-file-size`` or with an expression deeper than
``max-nesting`` is reported (RP902, with the limit and the setting that raises it)
instead of analysed. Python's own limits come first: 1000 nested parentheses are a
syntax error for Python (RP900), as they are at import time.

The ``ast`` module parsed here is handed on to the positions (``FileContext``), which
would otherwise parse it again.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

from pipelint.config import MAX_NESTING_CEILING
from pipelint.diagnostics import Location

__all__ = [
    "Refusal",
    "screen",
    "parseable",
    "nesting_message",
    "size_message",
    "MAX_NESTING_CEILING",
]


_NEWLINE = re.compile(r"\r\n|\r|\n")
#: Python's own messages for input nested too deeply (tokenizer and parser limits)
_PY_NESTING = re.compile(r"too many nested|too many levels|nested too deeply|too complex")
#: ``ast`` nodes that are markers, not syntax that nests
_MARKERS = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
#: fields holding statements: walked as statements, not measured as expressions
_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


@dataclass(frozen=True)
class Refusal:
    """Why a file is not handed to LibCST, as the diagnostic that says so."""

    code: str  # RP900 (Python rejects it too) or RP902 (a limit of pipelint's)
    message: str
    location: Location


def size_message(size: int, limit: int) -> str:
    return (
        f"not analysed: the file is {_mb(size)}, more than max-file-size ({_mb(limit)}); "
        "raise max-file-size in [tool.pipelint] (or --max-file-size), or exclude the file"
    )


def nesting_message(depth: int | None, limit: int) -> str:
    deep = f"nested {depth} levels deep" if depth is not None else "nested too deeply"
    return (
        f"not analysed: an expression is {deep}, more than max-nesting ({limit}); "
        f"raise max-nesting in [tool.pipelint] (at most {MAX_NESTING_CEILING}) "
        "or exclude the file"
    )


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n:,} bytes"


def screen(
    source: str, max_file_size: int, max_nesting: int
) -> tuple[Refusal | None, ast.Module | None]:
    """Whether ``source`` may be handed to LibCST: a refusal (None: it may), and the
    ``ast`` module when Python parsed it."""
    if len(source) * 4 > max_file_size:  # a character is at most 4 bytes
        size = len(source.encode("utf-8", "surrogatepass"))
        if size > max_file_size:
            return Refusal("RP902", size_message(size, max_file_size), Location(1, 1)), None
    nul = source.find("\0")
    if nul >= 0:
        loc = _location(source, nul)
        return Refusal("RP900", "syntax error: source contains a null byte", loc), None
    limit = min(max_nesting, MAX_NESTING_CEILING)
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        if err.msg and _PY_NESTING.search(err.msg):
            loc = Location(max(err.lineno or 1, 1), max(err.offset or 1, 1))
            return Refusal("RP900", f"syntax error: {err.msg}", loc), None
        # not Python this interpreter accepts (broken, or a newer Python's syntax that
        # LibCST may know): measure the nesting on tokens, then let LibCST decide
        depth, row = _token_depth(source, limit)
        if depth > limit:
            return Refusal("RP902", nesting_message(depth, limit), Location(row, 1)), None
        return None, None
    except (RecursionError, MemoryError):
        # Python's own parser gave up on the nesting, far deeper than any limit of ours:
        # the tokens say where
        _depth, row = _token_depth(source, limit)
        return Refusal("RP902", nesting_message(None, limit), Location(row, 1)), None
    except ValueError:  # pragma: no cover - null bytes are handled above
        return None, None
    deepest = _deepest(tree, source, limit)
    if deepest is not None:
        depth, row, col = deepest
        return Refusal("RP902", nesting_message(depth, limit), Location(row, col + 1)), tree
    return None, tree


def parseable(data: bytes) -> bool:
    """May LibCST parse these bytes (decodable, within the default limits)? For modules
    read on the side (the project index), which are skipped rather than reported."""
    from pipelint.checker import DecodeError, decode_source
    from pipelint.config import DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_NESTING

    if len(data) > DEFAULT_MAX_FILE_SIZE:
        return False
    try:
        source = decode_source(data)
    except DecodeError:
        return False
    refusal, _tree = screen(source, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_NESTING)
    return refusal is None


def _location(source: str, offset: int) -> Location:
    line = len(_NEWLINE.findall(source, 0, offset)) + 1
    start = max(source.rfind("\n", 0, offset), source.rfind("\r", 0, offset)) + 1
    return Location(line, offset - start + 1)


# ---- measuring on ``ast`` -------------------------------------------------------------
class _Source:
    """Line starts of a source (for upper bounds on spans, and the text of a node)."""

    def __init__(self, source: str) -> None:
        self.source = source
        starts = [0]
        starts.extend(m.end() for m in _NEWLINE.finditer(source))
        starts.append(len(source))
        self.starts = starts

    def span(self, node: ast.AST) -> int | None:
        """At least the number of characters of ``node`` (None: it has no position)."""
        lo, hi = getattr(node, "lineno", None), getattr(node, "end_lineno", None)
        if lo is None or hi is None:
            return None
        if lo == hi:  # byte offsets: at least as many as characters
            return int(node.end_col_offset) - int(node.col_offset)  # type: ignore[attr-defined]
        return self.starts[min(hi, len(self.starts) - 1)] - self.starts[lo - 1]

    def text(self, node: ast.AST) -> str:
        lo, hi = node.lineno, node.end_lineno  # type: ignore[attr-defined]
        first = self._line(lo).encode("utf-8", "surrogatepass")
        if lo == hi:
            raw = first[node.col_offset : node.end_col_offset]  # type: ignore[attr-defined]
            return raw.decode("utf-8", "replace")
        last = self._line(hi).encode("utf-8", "surrogatepass")
        middle = self.source[self.starts[lo] : self.starts[hi - 1]]
        return (
            first[node.col_offset :].decode("utf-8", "replace")  # type: ignore[attr-defined]
            + middle
            + last[: node.end_col_offset].decode("utf-8", "replace")  # type: ignore[attr-defined]
        )

    def _line(self, n: int) -> str:
        return self.source[self.starts[n - 1] : self.starts[min(n, len(self.starts) - 1)]]


def _deepest(tree: ast.Module, source: str, limit: int) -> tuple[int, int, int] | None:
    """The first expression nested deeper than ``limit`` (depth, line, column), or None.

    Each level of nesting takes at least one character of source, so only the parts of
    statements longer than ``limit // 2`` characters are measured (a tenth of the
    statements of real code, and nothing else is walked)."""
    src = _Source(source)
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        for _name, value in ast.iter_fields(node):
            for child in value if isinstance(value, list) else (value,):
                if isinstance(child, _BLOCKS):
                    todo.append(child)
                elif isinstance(child, ast.AST) and not isinstance(child, _MARKERS):
                    span = src.span(child)
                    if span is not None and span <= limit // 2:
                        continue
                    found = _expression_depth(child, src, limit)
                    if found is not None:
                        return found
    return None


def _expression_depth(root: ast.AST, src: _Source, limit: int) -> tuple[int, int, int] | None:
    stack: list[tuple[ast.AST, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.BoolOp):
            depth += len(node.values) - 2  # LibCST: a and b and c is (a and b) and c
        elif isinstance(node, ast.JoinedStr) or (
            isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)
        ):
            depth += _pieces(node, src) - 1
        if depth > limit:
            return depth, getattr(node, "lineno", 1), getattr(node, "col_offset", 0)
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _MARKERS):
                stack.append((child, depth + 1))
    return None


def _pieces(node: ast.AST, src: _Source) -> int:
    """How many implicitly joined literals make up the string ``node`` (``ast`` joins
    them; LibCST nests them one level each)."""
    span = src.span(node)
    if span is None or span < 8:
        return 1
    text = src.text(node)
    if text.count('"') + text.count("'") < 4:
        return 1
    n = 0
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_START", -1):
                n += 1
    except (tokenize.TokenError, SyntaxError):
        return max(n, 1)
    return max(n, 1)


# ---- measuring on tokens (code this Python does not parse) ---------------------------
_CHAIN_NAMES = frozenset({"and", "or", "not", "if", "else", "lambda", "await", "in", "is"})
_SEPARATORS = frozenset({",", ";", "="})


def _token_depth(source: str, limit: int) -> tuple[int, int]:
    """An upper bound of the nesting (in the same levels), and the line where it is
    deepest: within each bracket, the operators since the last separator add up."""
    counts = [0]  # per open bracket: levels since its last separator
    total = 0  # sum(counts)
    best, row = 0, 1
    previous = None
    fstring_start = getattr(tokenize, "FSTRING_START", -1)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            kind, text = tok.type, tok.string
            level = False  # does this token add a level?
            if kind == tokenize.OP:
                if text in ("(", "[", "{"):
                    counts[-1] += 1
                    total += 1
                    counts.append(0)
                elif text in (")", "]", "}"):
                    if len(counts) > 1:
                        total -= counts.pop()
                elif text in _SEPARATORS:
                    total -= counts[-1]
                    counts[-1] = 0
                else:
                    level = True
            elif kind == tokenize.NAME:
                level = text in _CHAIN_NAMES
            elif kind == tokenize.STRING:
                level = previous == tokenize.STRING  # implicitly joined
            elif kind == fstring_start:
                level = True
            elif kind in (tokenize.NEWLINE, tokenize.ENDMARKER):
                counts, total = [0], 0
            if level:
                counts[-1] += 1
                total += 1
            if kind not in (tokenize.NL, tokenize.COMMENT):
                previous = kind
            if total + len(counts) > best:
                best, row = total + len(counts), tok.start[0]
                if best > limit:
                    break
    except (tokenize.TokenError, SyntaxError):
        pass
    return best, row
