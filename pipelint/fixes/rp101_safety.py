"""When may the RP101 rewrite change behaviour? (see "Fix safety" in rules/RP101.md)

The pipeline sends every command at ``execute()``; the original sends each command
where it stands. The fix re-raises the first error reply unchanged and checks each
result before the statement that binds it, so an execution where every step succeeds,
or where the first failure is the only one, behaves the same, provided that:

- nothing between the commands, and no argument of a later command, does anything
  observable or can fail (it now runs before the earlier commands are sent);
- what the original had bound before a failure cannot be seen afterwards: results go to
  plain local names, and no ``try``/``with`` of the function encloses the run;
- the function does not look at its own namespace (``locals()``...), which gains the
  pipeline's names.

This module answers those questions from the syntax and the scope facts only: a name's
spelling never makes code pure; only builtins that are not shadowed, literals and
imports resolved by qualified name do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import libcst as cst

from pipelint.analysis.exprs import names_overlap, target_names
from pipelint.analysis.model import Run
from pipelint.clients.scopes import Scope, dotted_name, iter_children

__all__ = [
    "display_reasons",
    "unsafe_reasons",
    "receiver_is_plain",
    "enclosing_compounds",
]

#: calls that inspect or change the calling frame's names
_NAMESPACE_CALLS = frozenset({"locals", "vars", "dir", "globals", "eval", "exec"})
_FRAME_ATTRS = ("_getframe", "currentframe", "stack", "getouterframes")


def receiver_is_plain(ctx_source: str, receiver_end: int, call_end: int) -> bool:
    """``pipe`` + source[receiver_end:call_end] must be a call on ``pipe``: the text
    must start with ``.method(`` (no closing parenthesis, comment or line break
    between the receiver and the method)."""
    return re.match(r"\.[A-Za-z_][A-Za-z0-9_]*\s*\(", ctx_source[receiver_end:call_end]) is not None


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(iter_children(n))


def enclosing_compounds(fn_node: cst.CSTNode, stmt: cst.CSTNode) -> list[cst.CSTNode] | None:
    """The compound statements of ``fn_node`` (not crossing nested defs) that enclose
    ``stmt``, outermost first; None if ``stmt`` is not found."""
    path: list[cst.CSTNode] = []

    def search(n: cst.CSTNode) -> bool:
        if n is stmt:
            return True
        for child in iter_children(n):
            if child is not stmt and isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
                continue
            is_compound = isinstance(child, cst.BaseCompoundStatement)
            if is_compound:
                path.append(child)
            if search(child):
                return True
            if is_compound:
                path.pop()
        return False

    body = fn_node.body if isinstance(fn_node, (cst.FunctionDef, cst.ClassDef)) else fn_node
    return path if search(body) else None


def _quiet(expr: cst.BaseExpression) -> bool:
    """Evaluating ``expr`` has no effect and does not fail (names, attributes of names,
    literals, f-strings without format specs, displays of those). Converting a value to
    text is assumed not to fail (documented in rules/RP101.md)."""
    if isinstance(expr, (cst.Name, cst.SimpleString, cst.Integer, cst.Float, cst.Imaginary)):
        return True
    if isinstance(expr, cst.Attribute):
        return dotted_name(expr) is not None
    if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, (cst.Minus, cst.Plus)):
        return isinstance(expr.expression, (cst.Integer, cst.Float))  # -1
    if isinstance(expr, cst.ConcatenatedString):
        return _quiet(expr.left) and _quiet(expr.right)
    if isinstance(expr, cst.FormattedString):
        for part in expr.parts:
            if isinstance(part, cst.FormattedStringExpression):
                if part.format_spec or part.equal or not _quiet(part.expression):
                    return False
        return True
    if isinstance(expr, (cst.Tuple, cst.List, cst.Set)):
        return all(
            not isinstance(el, cst.StarredElement) and _quiet(el.value) for el in expr.elements
        )
    if isinstance(expr, cst.Dict):
        return all(
            isinstance(el, cst.DictElement) and _quiet(el.key) and _quiet(el.value)
            for el in expr.elements
        )
    return False


def _nested_scope_names(fn_node: cst.CSTNode) -> set[str]:
    """Names read or written inside defs and lambdas nested in ``fn_node`` (closures)."""
    out: set[str] = set()
    body = fn_node.body if isinstance(fn_node, cst.FunctionDef) else fn_node
    for n in _walk(body):
        if isinstance(n, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            for m in _walk(n):
                if isinstance(m, cst.Name):
                    out.add(m.value)
    return out


def _plain_local(target: cst.BaseExpression, fn: Scope, captured: set[str]) -> bool:
    if isinstance(target, cst.Name):
        name = target.value
        return name not in fn.globals_ and name not in fn.nonlocals and name not in captured
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(_plain_local(el.value, fn, captured) for el in target.elements)
    if isinstance(target, cst.StarredElement):
        return _plain_local(target.value, fn, captured)
    return False


def _inspects_namespace(fn_node: cst.CSTNode) -> bool:
    for n in _walk(fn_node):
        if isinstance(n, cst.Call):
            f = n.func
            if isinstance(f, cst.Name) and f.value in _NAMESPACE_CALLS:
                if f.value in ("vars", "dir") and n.args:
                    continue  # vars(obj), dir(obj): another object's names
                return True
            if isinstance(f, cst.Attribute) and f.attr.value in _FRAME_ATTRS:
                return True
    return False


def _walrus_names(nodes: Sequence[cst.CSTNode]) -> set[str]:
    return {
        name
        for n in nodes
        for m in _walk(n)
        if isinstance(m, cst.NamedExpr)
        for name in target_names(m.target)
    }


def display_reasons(run: Run, module_source: str, fn_node: cst.CSTNode | None) -> list[str]:
    """Reasons the rewrite cannot be offered as an edit that keeps behaviour at all."""
    out: list[str] = []
    cmds = run.commands
    walrus = _walrus_names([a.value for c in cmds for a in c.call.args])
    bound = {n for c in cmds for n in (*c.writes, *c.bind_reads)}
    if any(names_overlap(w, b) for w in walrus for b in bound):
        out.append("an argument binds a name (`:=`) that a result's binding uses")
    for c in cmds:
        for n in _walk(c.value):
            if isinstance(n, cst.FormattedStringExpression) and n.equal is not None:
                out.append("an f-string prints the command's text (`{...=}`)")
                break
    if fn_node is not None and _inspects_namespace(fn_node):
        out.append("the function looks at its own names (locals(), vars()...)")
    if "single_connection_client" in module_source:
        out.append("a single-connection client's pipeline runs on another connection")
    return out


#: this module starts concurrent asyncio tasks
_TASKS = re.compile(
    r"\b(create_task|ensure_future|gather|TaskGroup|as_completed|run_coroutine_threadsafe)\b"
)


def _starts_tasks(fn_node: cst.CSTNode) -> bool:
    """Does the function start concurrent asyncio tasks (``create_task``, ``gather``...)?
    Those run, deterministically, between the original's awaits."""
    for n in _walk(fn_node):
        if isinstance(n, cst.Call):
            name = dotted_name(n.func)
            if name is not None and _TASKS.search(name.rsplit(".", 1)[-1]):
                return True
    return False


def _names_in(node: cst.CSTNode) -> set[str]:
    return {m.value for m in _walk(node) if isinstance(m, cst.Name)}


def _may_observe(compound: cst.CSTNode, roots: set[str], outside_names: set[str]) -> bool:
    """Could this statement around the run see what the original had bound when a
    command failed? A ``with`` may suppress the error; a ``try`` whose handler or
    ``finally`` reads a result, or whose handler carries on to code that reads one."""
    if isinstance(compound, cst.With):
        return True
    if not isinstance(compound, (cst.Try, cst.TryStar)):
        return False
    if compound.finalbody is not None and roots & _names_in(compound.finalbody):
        return True
    for handler in compound.handlers:
        if roots & _names_in(handler.body):
            return True
        body = handler.body.body if isinstance(handler.body, cst.IndentedBlock) else ()
        last = body[-1] if body else None
        exits = (
            isinstance(last, cst.SimpleStatementLine)
            and bool(last.body)
            and isinstance(last.body[-1], (cst.Return, cst.Raise))
        )
        if not exits and roots & outside_names:
            return True
    return False


def unsafe_reasons(
    run: Run,
    fn: Scope | None,
    ctx_compounds: list[cst.CSTNode] | None,
    module_source: str,
    outside_names: set[str] = frozenset(),  # type: ignore[assignment]
) -> list[str]:
    """Why an error in the middle of the run could be seen to behave differently (the
    unsafe reasons of rules/RP101.md that concern failures)."""
    out: list[str] = []
    cmds = run.commands
    if fn is None or run.scope.kind != "function":
        out.append(
            "at module level, the results and the pipeline's names are module globals: "
            "what the original bound before a failing command stays visible"
        )
        return out
    roots = {w.split(".")[0] for c in cmds for w in c.writes}
    if ctx_compounds is None or any(_may_observe(c, roots, outside_names) for c in ctx_compounds):
        out.append(
            "a try/with around the commands could see what the original bound before a "
            "failing command"
        )
    captured = _nested_scope_names(fn.node)
    if not all(_plain_local(t, fn, captured) for c in cmds for t in c.targets):
        out.append(
            "a result goes to an attribute, item, global or closure variable: it is bound "
            "after the later commands are sent, and not at all if one fails"
        )
    if run.is_async and _starts_tasks(fn.node):
        out.append(
            "other tasks of this program may run between the original's commands, and no "
            "longer between the pipeline's"
        )
    later_args = [a for c in cmds[1:] for a in c.call.args]
    if not all(a.star == "" and _quiet(a.value) for a in later_args):
        out.append(
            "a later command's argument is computed before the earlier commands are sent "
            "(if it fails, the error differs)"
        )
    for stmt, _facts in run.between:
        if not _quiet_statement(stmt, fn, captured):
            out.append(
                "code between the commands runs before the earlier commands are sent "
                "(and even when one of them fails)"
            )
            break
    return out


def _quiet_statement(stmt: cst.BaseStatement, fn: Scope, captured: set[str]) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine):
        return False
    for small in stmt.body:
        if isinstance(small, cst.Pass):
            continue
        if isinstance(small, cst.Expr) and isinstance(
            small.value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            continue
        if isinstance(small, (cst.Assign, cst.AnnAssign)):
            if small.value is None or not _quiet(small.value):
                return False
            targets = (
                [t.target for t in small.targets]
                if isinstance(small, cst.Assign)
                else [small.target]
            )
            if not all(_plain_local(t, fn, captured) for t in targets):
                return False
            continue
        return False
    return True


def overriding_subclass(module: cst.Module, evidence: str) -> bool:
    """Is the client an instance of a subclass (of this module, or one pipelint cannot
    see) that may override commands? ``pipeline()`` returns a plain pipeline."""
    if not evidence.startswith("subclass "):
        return False
    name = evidence.split(" ", 1)[1]
    for n in _walk(module):
        if isinstance(n, cst.ClassDef) and n.name.value == name:
            body = n.body.body if isinstance(n.body, cst.IndentedBlock) else ()
            return any(
                isinstance(s, cst.FunctionDef) and s.name.value not in ("__init__", "__repr__")
                for s in body
            )
    return True
