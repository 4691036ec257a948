"""Lua scripts in fixes: registering a script once, calling it, and showing the shape
of a script for computations pipelint does not translate.

Registration (see "Fix safety" in rules/RP201.md): when the client is a module-level
name (``r = redis.Redis(...)``), the script is registered once, right after that
line: ``_name = r.register_script(\"\"\"...\"\"\")``, and called as
``_name(keys=[...], args=[...])``. Otherwise (a parameter, ``self.redis``) the Lua
source becomes a module-level constant and the call site registers it on its client:
``self.redis.register_script(_NAME_LUA)(keys=[...], args=[...])`` (no round trip:
``register_script`` only hashes the source; ``EVALSHA`` loads it on ``NOSCRIPT``).

A definition is an insertion at the end of a line (after the client's line, or after
the imports). Two fixes that define the same script make the identical edit, which
``apply_fixes`` makes once; a later round finds the definition and reuses it.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from pipelint.analysis.flow import Sym
from pipelint.diagnostics import Edit
from pipelint.fixes.textedit import code, edit

__all__ = ["ScriptUse", "use_script", "lua_literal", "lua_expr", "LuaArgs"]


@dataclass
class ScriptUse:
    call: str  # the expression that runs the script (without ``await``)
    edits: list[Edit] = field(default_factory=list)


def lua_literal(source: str) -> str:
    """The Lua source as a Python triple-quoted string."""
    return '"""\n' + source.strip("\n") + '\n"""'


def use_script(
    ctx: Any,
    base: str,
    source: str,
    receiver: cst.BaseExpression,
    module_client: bool,
    keys: Sequence[str],
    args: Sequence[str],
    own: Sequence[tuple[int, int]],
) -> ScriptUse | None:
    """How to run ``source`` on ``receiver`` with these keys and args (Python code),
    and the edit that defines the script (none when the module already does). None
    when the definition would land inside the fix's own edits (``own`` spans)."""
    try:
        tree = ast.parse(ctx.source)
    except SyntaxError:
        return None
    top = _top_level(tree)
    literal = lua_literal(source)
    call_args = f"keys=[{', '.join(keys)}], args=[{', '.join(args)}]"
    receiver_text = code(receiver)
    nl = ctx.newline
    if module_client and isinstance(receiver, cst.Name):
        client_stmt = _sole_assignment(tree, receiver.value)
        if client_stmt is not None:
            registration = f"{receiver_text}.register_script({literal})"
            name = _name_for(top, f"_{base}", registration)
            use = ScriptUse(f"{name}({call_args})")
            if name in top and _same(top[name], registration):
                return use
            at = _line_end(ctx, ctx.ast_span(client_stmt)[1])
            if any(a < at < b for a, b in own) or at > min((a for a, _ in own), default=at):
                return None  # the client is defined after the code that uses it
            use.edits.append(edit(ctx, at, at, f"{nl}{name} = {registration}"))
            return use
    name = _name_for(top, f"_{base.upper()}_LUA", literal)
    use = ScriptUse(f"{receiver_text}.register_script({name})({call_args})")
    if name in top and _same(top[name], literal):
        return use
    at, text = _after_imports(ctx, tree, f"{name} = {literal}")
    if any(a < at < b for a, b in own):
        return None
    use.edits.append(edit(ctx, at, at, text))
    return use


def _line_end(ctx: Any, offset: int) -> int:
    """The end of the line holding ``offset`` (before its newline)."""
    end = ctx.source.find("\n", offset)
    if end < 0:
        return len(ctx.source)
    return end - 1 if end > 0 and ctx.source[end - 1] == "\r" else end


def _after_imports(ctx: Any, tree: ast.Module, definition: str) -> tuple[int, str]:
    """Where a module-level definition goes: after the leading imports (or the
    docstring), as an insertion at the end of that line; else at the very top."""
    nl = ctx.newline
    last: ast.stmt | None = None
    for i, node in enumerate(tree.body):
        if i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            last = node
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            last = node
            continue
        break
    if last is None:
        return 0, f"{definition}{nl}{nl}{nl}"
    at = _line_end(ctx, ctx.ast_span(last)[1])
    return at, f"{nl}{nl}{definition}"


def _top_level(tree: ast.Module) -> dict[str, ast.AST | None]:
    """Module-level names: an assignment's value (None for other bindings)."""
    out: dict[str, ast.AST | None] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    out[t.id] = node.value if t.id not in out and len(node.targets) == 1 else None
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out[node.name] = None
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                out[(alias.asname or alias.name).split(".")[0]] = None
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
            out[node.target.id] = None
    return out


def _same(value: ast.AST | None, text: str) -> bool:
    if value is None:
        return False
    try:
        return ast.dump(value) == ast.dump(ast.parse(text, mode="eval").body)
    except SyntaxError:
        return False


def _name_for(top: dict[str, ast.AST | None], base: str, text: str) -> str:
    """``base``, unless the module binds it to something else (then ``base_x2``...;
    ``x`` keeps these apart from names other fixes derive, like ``_f_chain2``)."""
    name, i = base, 2
    while name in top and not _same(top[name], text):
        name = f"{base}_x{i}"
        i += 1
    return name


def _sole_assignment(tree: ast.Module, name: str) -> ast.stmt | None:
    found: list[ast.stmt] = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            found.append(node)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            if node.target.id == name and node.value is not None:
                found.append(node)
    if len(found) != 1 or len(getattr(found[0], "targets", [None])) != 1:
        return None
    return found[0]


# ---- translating values ----------------------------------------------------------------


@dataclass
class LuaArgs:
    """Python values a script receives as ``ARGV`` (their code, in order)."""

    values: list[str] = field(default_factory=list)

    def add(self, text: str) -> str:
        if text in self.values:
            return f"ARGV[{self.values.index(text) + 1}]"
        self.values.append(text)
        return f"ARGV[{len(self.values)}]"


_LUA_OPS = {"==": "==", "!=": "~=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def lua_expr(sym: Sym | None, replies: Sequence[str], args: LuaArgs) -> str | None:
    """A Lua rendering of a value (for showing a script's shape; not exact: Lua's
    ``or``, ``+`` and ``tostring`` differ from Python's). None when it cannot be shown."""
    if sym is None:
        return None
    tag = sym[0]
    if tag == "read":
        return replies[sym[1]]
    if tag == "py":
        node = sym[1]
        if isinstance(node, cst.Integer):
            return node.value
        if isinstance(node, cst.Name) and node.value == "None":
            return "false"
        if isinstance(node, cst.SimpleString) and isinstance(node.evaluated_value, str):
            return "'" + node.evaluated_value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        return args.add(code(node))
    if tag == "call":
        inner = lua_expr(sym[2], replies, args)
        if inner is None:
            return None
        return (
            {"int": "tonumber", "float": "tonumber", "str": "tostring", "bool": "toboolean"}.get(
                sym[1], ""
            )
            + f"({inner})"
            if sym[1] != "len"
            else f"#{inner}"
        )
    if tag == "decode":
        return lua_expr(sym[1], replies, args)
    if tag == "bin":
        left, right = lua_expr(sym[2], replies, args), lua_expr(sym[3], replies, args)
        if left is None or right is None:
            return None
        if sym[1] == "//":
            return f"math.floor({left} / {right})"
        return f"({left} {sym[1]} {right})"
    if tag == "bool":
        left, right = lua_expr(sym[2], replies, args), lua_expr(sym[3], replies, args)
        if left is None or right is None:
            return None
        return f"({left} {sym[1]} {right})"
    if tag == "cmp":
        left, right = lua_expr(sym[2], replies, args), lua_expr(sym[3], replies, args)
        if left is None or right is None:
            return None
        if sym[1] in ("is", "is not"):
            return f"({left} {'==' if sym[1] == 'is' else '~='} {right})"
        return f"({left} {_LUA_OPS[sym[1]]} {right})"
    if tag == "not":
        inner = lua_expr(sym[1], replies, args)
        return None if inner is None else f"not {inner}"
    if tag == "neg":
        inner = lua_expr(sym[1], replies, args)
        return None if inner is None else f"-{inner}"
    if tag == "if":
        parts = [lua_expr(s, replies, args) for s in sym[1:]]
        if any(p is None for p in parts):
            return None
        return f"({parts[0]} and {parts[1]} or {parts[2]})"
    if tag == "fmt":
        out: list[str] = []
        for part in sym[1]:
            if isinstance(part, str):
                if part:
                    out.append("'" + part.replace("\\", "\\\\").replace("'", "\\'") + "'")
            else:
                inner = lua_expr(part, replies, args)
                if inner is None:
                    return None
                out.append(inner)
        return " .. ".join(out) if out else "''"
    return None
