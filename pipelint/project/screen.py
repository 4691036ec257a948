"""The screen before LibCST: can this file hold a finding of the selected rules at all?

The checker has Python's ``ast`` of every file anyway (``checker/limits.py``). From it
and the possibly-client names (``pipelint.project.Taint``) the screen finds every call
that could be a Redis command (a method called on something that may be a client) and
every call of a function of the module that makes one (a *helper call*), then the
*needs* they satisfy:

- ``"calls2"``: two or more such calls on one client in one function (nested code
  included), or in the module-level code; a client is the receiver's text, as
  ``analysis.runs`` and ``analysis.atomic`` key them (``_receiver_key``: if client
  identity there ever follows aliases, this must too); a helper call counts for any
  client;
- ``"loop"``: such a call inside a loop or a comprehension;
- ``"pipeline"``: a ``.pipeline()``/``.transaction()`` call on a possible client, or a
  pipeline type named anywhere;
- ``"script"``: a ``.register_script()`` call on a possible client, or ``Script`` named.

Each rule declares in ``Rule.needs`` the needs any of which it requires (no
declaration: it always needs LibCST). A file is handed to LibCST when a selected rule's
need is met, or when it holds a suppression comment of pipelint's (RP910 and the
unknown-code warnings read those). Everything over-approximates: skipping a file never
changes the findings (tests compare with and without the screen, all rules selected).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence

from pipelint.project import Taint, dotted

__all__ = ["NEEDS", "satisfied_needs", "needs_libcst", "has_directives"]

#: Every need a rule may declare.
NEEDS = frozenset({"calls2", "loop", "pipeline", "script"})

_PIPELINE_METHODS = frozenset({"pipeline", "transaction"})
#: a comment pipelint reads: ``# pipelint: ...``, or a noqa naming an RP code
_DIRECTIVE = re.compile(r"pipelint|noqa[^\n]*rp", re.IGNORECASE)


def has_directives(source: str) -> bool:
    """Could ``source`` hold a suppression comment of pipelint's? (over-approximates)"""
    return _DIRECTIVE.search(source) is not None


_COMMANDS: set[str] = set()


def _is_command(method: str) -> bool:
    """A catalogued client method (a command or an API member such as ``pipeline``)."""
    if not _COMMANDS:
        from pipelint import catalog

        _COMMANDS.update(catalog.all_commands(), ("execute_command",))
    return method in _COMMANDS


def satisfied_needs(taint: Taint, upper: bool = False) -> set[str]:
    """The needs (see the module docstring) the module of ``taint`` meets; ``upper``:
    as if every receiver were a client (no client resolution, no project read)."""
    collector = taint.collector
    sites = collector.calls
    # a client call: a catalogued method called on something that may be a client
    client: list[bool] = []
    for site in sites:
        func = site.call.func
        client.append(isinstance(func, ast.Attribute) and _is_command(func.attr))
    if not upper:
        taint.solve()
        value = taint.value
        client = [c and value(s.call.func.value) for c, s in zip(client, sites, strict=True)]  # type: ignore[attr-defined]
    # helpers: functions of this module that make a client call, or call a helper
    helpers: set[str] = set()
    changed = True
    while changed:
        changed = False
        for site, is_client in zip(sites, client, strict=True):
            if not (is_client or _callee(site.call) in helpers):
                continue
            for scope in site.scopes:
                name = getattr(scope, "name", None)
                if name is not None and name not in helpers:
                    helpers.add(name)
                    changed = True
    needs: set[str] = set()
    # per scope (each enclosing function, and the module): client calls per client
    # (the receiver's text, as ``analysis.runs`` keys clients), helper calls
    per_client: dict[tuple[int, str], int] = {}
    per_scope_helpers: dict[int, int] = {}
    best: dict[int, int] = {}
    for site, is_client in zip(sites, client, strict=True):
        if not (is_client or _callee(site.call) in helpers):
            continue
        if site.in_loop:
            needs.add("loop")
        keys = (*(id(s) for s in site.scopes), 0) if site.scopes else (0,)
        if is_client:
            func = site.call.func
            assert isinstance(func, ast.Attribute)
            if func.attr in _PIPELINE_METHODS:
                needs.add("pipeline")
            elif func.attr == "register_script":
                needs.add("script")
            receiver = dotted(func.value) or ast.unparse(func.value)
            for key in keys:
                n = per_client[(key, receiver)] = per_client.get((key, receiver), 0) + 1
                best[key] = max(best.get(key, 0), n)
        else:  # a helper's commands may be on any client
            for key in keys:
                per_scope_helpers[key] = per_scope_helpers.get(key, 0) + 1
        for key in keys:
            if best.get(key, 0) + per_scope_helpers.get(key, 0) >= 2:
                needs.add("calls2")
    # a pipeline or Script type named anywhere (an annotation, an isinstance...)
    idents = collector.idents
    if collector.type_strings or any("Pipeline" in i for i in idents):
        needs.add("pipeline")
    if collector.type_strings or any("Script" in i for i in idents):
        needs.add("script")
    return needs


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def needs_libcst(
    tree: ast.Module,
    source: str,
    taint: Taint,
    rule_needs: Iterable[frozenset[str] | None],
    judge_directives: bool = True,
) -> bool:
    """Must this file be parsed by LibCST and analysed for these rules?"""
    if judge_directives and has_directives(source):
        return True
    wanted: set[str] = set()
    for needs in rule_needs:
        if needs is None:
            return True
        wanted |= needs
    if not wanted:
        return False
    # first as if every receiver were a client: most files stop here, unresolved
    if not wanted & satisfied_needs(taint, upper=True):
        return False
    return bool(wanted & satisfied_needs(taint))


def rule_needs(rules: Sequence[object]) -> list[frozenset[str] | None]:
    return [getattr(r, "needs", None) for r in rules]
