"""RP203: the shape of the script that runs a dependent chain in one round trip
(display-only; see rules/RP203.md)."""

from __future__ import annotations

from typing import Any

from pipelint.analysis.atomic import Chain
from pipelint.catalog import command_name
from pipelint.diagnostics import Fix
from pipelint.fixes import register
from pipelint.fixes.lua import LuaArgs, lua_expr
from pipelint.fixes.textedit import cluster_target

__all__ = ["build_fix", "script_shape"]


@register("RP203")
def build_fix(ctx: Any, subject: object) -> Fix | None:
    chain = subject
    assert isinstance(chain, Chain)
    if chain.client.cluster or cluster_target(ctx):
        return None
    reason = _why_not(chain)
    return Fix(
        "display-only",
        f"Run the {len(chain.commands)} commands as one Lua script (not automatic: {reason}); "
        f"its shape: {script_shape(chain)}",
        (),
    )


def _why_not(chain: Chain) -> str:
    if chain.guards:
        return "code between the commands returns or raises on a reply"
    if chain.opaque_between:
        return "code between the commands calls functions pipelint cannot see into"
    return "the replies and the code between them are not translated to Lua"


def script_shape(chain: Chain) -> str:
    """One line per Lua statement, separated by `` | ``."""
    args = LuaArgs()
    replies = [f"r{i + 1}" for i in range(len(chain.commands))]
    lines: list[str] = []
    keys = 0
    for i, (c, cargs) in enumerate(zip(chain.commands, chain.args, strict=True)):
        parts: list[str] = []
        for j, (keyword, sym) in enumerate(cargs):
            text = lua_expr(sym, replies, args) if sym is not None else None
            if j == 0 and keyword is None and sym is not None and sym[0] == "py":
                keys += 1
                args.values.pop() if text and text.startswith(
                    "ARGV["
                ) and text == f"ARGV[{len(args.values)}]" else None
                text = f"KEYS[{keys}]"
            parts.append(text if text is not None else "...")
        call = f"redis.call('{command_name(c.method)}'{''.join(', ' + p for p in parts)})"
        lines.append(f"local {replies[i]} = {call}")
    lines.append("return {" + ", ".join(replies) + "}")
    return " | ".join(lines)
