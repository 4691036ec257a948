"""RP202 set-then-expire: a key written, then given a TTL by a second command."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.catalog import command_name
from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.analysis.atomic import SetExpire
    from pipelint.checker.context import FileContext

__all__ = ["SetThenExpire", "redis_name"]


def redis_name(method: str) -> str:
    """The command as users know it (``incr`` is INCR, though redis-py sends INCRBY)."""
    if method in ("incr", "decr", "setnx"):
        return method.upper()
    return command_name(method)


def describe(f: SetExpire) -> str:
    write = redis_name(f.write_cmd.method)
    ttl = redis_name(f.expire_cmd.method)
    from pipelint.analysis.atomic import key_expr

    node = key_expr(f.expire_cmd.call, f.expire_cmd.spec)
    key = " ".join(_code(node).split()) if node is not None else "?"
    key = key if len(key) <= 40 else key[:37] + "..."
    where = f"'{key}' on '{f.client_key}'"
    if f.kind == "setnx":
        return (
            f"{write} then {ttl} of {where}: 2 round trips, and a crash in between leaves a "
            f"key (a lock) that never expires; SET with nx= and a TTL does both atomically in 1"
        )
    if f.kind == "set":
        option = {"expire": "ex", "pexpire": "px", "expireat": "exat", "pexpireat": "pxat"}[
            f.expire_cmd.method
        ]
        return (
            f"{write} then {ttl} of {where}: 2 round trips, and a crash in between leaves the "
            f"key without a TTL; SET with {option}= does both atomically in 1"
        )
    if f.kind == "first_incr":
        return (
            f"{write} then {ttl} on the first increment of {where}: 2 round trips, and a crash "
            f"in between leaves a counter that never expires; one Lua script does both "
            f"atomically in 1"
        )
    return (
        f"{write} then {ttl} of {where}: 2 round trips, and a crash in between leaves the "
        f"key without a TTL; a transaction pipeline (MULTI/EXEC) does both atomically in 1"
    )


def _code(node: object) -> str:
    import libcst as cst

    return cst.Module([]).code_for_node(node)  # type: ignore[arg-type]


class SetThenExpire(Rule):
    code = "RP202"
    needs = frozenset({"calls2"})
    name = "set-then-expire"
    summary = (
        "A key written and then given a TTL by a second command: a crash in between leaves "
        "it without one, and it costs an extra round trip"
    )
    tags = ("correctness", "concurrency", "redis")

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.analysis.atomic
        if facts is None:
            return
        for f in facts.set_expires:
            yield Finding(
                self.code,
                describe(f),
                f.site.statements[0],
                f.site.statements[-1],
                fix=ctx.fixer_for(self.code, f),
            )
