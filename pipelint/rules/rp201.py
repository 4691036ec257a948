"""RP201 read-modify-write: a key read, computed on, and written back by separate
commands (see ``analysis/atomic.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.catalog import command_name
from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.analysis.atomic import ReadModifyWrite
    from pipelint.checker.context import FileContext

__all__ = ["ReadModifyWriteRule", "describe"]

#: what one atomic command (or script) does instead, per kind
_INSTEAD = {
    "counter": "{native} does it atomically in 1",
    "derived": "one Lua script does it atomically in 1",
    "exists_guard": "{native} does both atomically in 1",
    "get_delete": "GETDEL does both atomically in 1",
    "swap": "SET with GET returns the old value atomically in 1",
    "move": "LMOVE moves the element atomically in 1",
    "compare_delete": "a compare-and-delete script does both atomically in 1",
}
_RACE = {
    "counter": "concurrent clients lose updates",
    "derived": "concurrent clients lose updates",
    "exists_guard": "another client can create the key in between",
    "get_delete": "a value written in between is deleted unread",
    "swap": "two clients can read the same old value",
    "move": "a crash in between loses the element",
    "compare_delete": "the key can change hands in between and another client's value is deleted",
}


def describe(f: ReadModifyWrite) -> str:
    read, write = command_name(f.read_method), command_name(f.write_method)
    native = {
        ("get", "set"): "INCRBY" if _float(f) != "float" else "INCRBYFLOAT",
        ("hget", "hset"): "HINCRBY" if _float(f) != "float" else "HINCRBYFLOAT",
    }.get((f.read_method, f.write_method), "")
    if f.kind == "exists_guard":
        native = "HSETNX" if f.write_method == "hset" else "SET NX"
    instead = _INSTEAD[f.kind].format(native=native)
    what = "read-modify-write" if f.kind in ("counter", "derived") else f"{read} then {write}"
    return (
        f"{what} of '{_short(f)}' on '{f.client_key}': 2 round trips, and {_RACE[f.kind]}; "
        f"{instead}"
    )


def _float(f: ReadModifyWrite) -> str:
    from pipelint.analysis.flow import counter_of

    shape = counter_of(f.value)
    return shape[0] if shape is not None else "int"


def _short(f: ReadModifyWrite) -> str:
    import libcst as cst

    text = " ".join(cst.Module([]).code_for_node(f.key).split())
    return text if len(text) <= 40 else text[:37] + "..."


class ReadModifyWriteRule(Rule):
    code = "RP201"
    needs = frozenset({"calls2"})
    name = "read-modify-write"
    summary = (
        "A key read, computed on and written back by separate commands: a lost-update race "
        "and an extra round trip"
    )
    tags = ("correctness", "concurrency", "redis")

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.analysis.atomic
        if facts is None:
            return
        for f in facts.read_modify_writes:
            yield Finding(
                self.code,
                describe(f),
                f.site.statements[0],
                f.site.statements[-1],
                fix=ctx.fixer_for(self.code, f),
            )
