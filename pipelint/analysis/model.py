"""The facts rules read: Redis commands at their call sites and runs of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from pipelint.catalog import CommandSpec
from pipelint.clients.resolve import ClientInfo
from pipelint.clients.scopes import Scope

__all__ = ["Command", "Run", "StatementFacts"]


@dataclass(eq=False)
class StatementFacts:
    reads: frozenset[str]
    writes: frozenset[str]


@dataclass(eq=False)
class Command:
    """One Redis command that a statement sends, and how its result is used.

    ``kind``: "expr" (result unused), "assign" / "annassign" / "augassign"
    (bound to ``targets``), "return". ``wrapped``: the statement does more than
    the command (``json.loads(r.get(k))``); ``value`` is the statement's value
    expression and ``command_expr`` the part replaced by the result (the call,
    or ``await call``).
    """

    stmt: cst.SimpleStatementLine
    small: cst.BaseSmallStatement
    call: cst.Call
    command_expr: cst.BaseExpression
    value: cst.BaseExpression
    receiver: cst.BaseExpression
    client_key: str
    client: ClientInfo
    is_async: bool
    method: str
    spec: CommandSpec
    kind: str
    targets: tuple[cst.BaseExpression, ...]
    wrapped: bool
    reads: frozenset[str]  # read while sending: arguments and receiver
    bind_reads: frozenset[str]  # read while binding the result (wrapper code, target bases)
    writes: frozenset[str]
    simple_targets: bool
    opaque_args: bool = False  # an argument calls code we cannot see into
    redis_args: bool = False  # an argument calls code of this module that uses Redis
    # the command expressions of every command of the statement, in evaluation order
    # (more than one: ``return r.get(a), r.get(b)``)
    siblings: tuple[cst.BaseExpression, ...] = ()
    writes_state: bool = False  # the result goes to an attribute or item, not a local name
    local_calls: bool = False  # an argument calls a function defined in this function

    @property
    def result_used(self) -> bool:
        return self.kind != "expr" or self.wrapped


@dataclass(eq=False)
class Run:
    """Consecutive statements of one block holding >= 1 batchable commands on one
    client, none depending on another's result, nothing else touching Redis."""

    block: Sequence[cst.BaseStatement]
    start: int  # index in block of the first command statement
    end: int  # index in block of the last command statement (inclusive)
    client_key: str
    client: ClientInfo
    is_async: bool
    scope: Scope
    commands: list[Command] = field(default_factory=list)
    # statements between commands (not commands), with their facts
    between: list[tuple[cst.BaseStatement, StatementFacts]] = field(default_factory=list)
    # inside a ``try`` whose ``except`` may swallow an error and carry on
    in_swallowing_try: bool = False
    # the wider runs RP101 reports (analysis/sequences.py): what makes one more than a
    # plain run ("conditional": commands under an ``if`` whose test reads no result;
    # "consumer": statements that read a result and feed no later command; "tested":
    # the last command is tested by an ``if``/``assert``; "or_pipeline": the receiver
    # may be a pipeline passed in), and the round trips on the worst path
    shapes: tuple[str, ...] = ()
    round_trips: int = 0

    @property
    def trips(self) -> int:
        """Round trips the run pays (on its worst path)."""
        return self.round_trips or len(self.commands)

    @property
    def statements(self) -> Sequence[cst.BaseStatement]:
        return self.block[self.start : self.end + 1]
