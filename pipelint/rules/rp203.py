"""RP203 dependent-chain: commands that each need an earlier reply."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from pipelint.rules.base import Finding, Rule

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext

__all__ = ["DependentChain"]


class DependentChain(Rule):
    code = "RP203"
    needs = frozenset({"calls2"})
    name = "dependent-chain"
    summary = (
        "Commands that each need an earlier command's reply: one round trip each that no "
        "pipeline can share, and a crash in between leaves the work half done"
    )
    tags = ("performance", "concurrency", "redis")

    def check(self, ctx: FileContext) -> Iterator[Finding]:
        facts = ctx.analysis.atomic
        if facts is None:
            return
        for chain in facts.chains:
            n = len(chain.commands)
            message = (
                f"{n} dependent commands on '{chain.client_key}' cost {n} round trips; "
                "one Lua script needs 1"
            )
            if chain.client.cluster or ctx.config.target == "cluster":
                message += (
                    " (on a cluster the keys the script computes are not declared in KEYS, "
                    "so it may not run there: no fix)"
                )
            yield Finding(
                self.code,
                message,
                chain.site.statements[0],
                chain.site.statements[-1],
                fix=ctx.fixer_for(self.code, chain),
            )
