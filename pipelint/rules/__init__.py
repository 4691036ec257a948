"""The rules: each one a small class reading the model (see ``base.Rule``)."""

from __future__ import annotations

from pipelint.rules.base import Finding, Rule
from pipelint.rules.meta import InternalError, SyntaxErrorRule, UnreadableFile
from pipelint.rules.rp101 import SequentialCommands
from pipelint.rules.rp102 import RoundTripInLoop
from pipelint.rules.rp103 import MultiKeyForm
from pipelint.rules.rp104 import PipelinePerIteration
from pipelint.rules.rp201 import ReadModifyWriteRule
from pipelint.rules.rp202 import SetThenExpire
from pipelint.rules.rp203 import DependentChain
from pipelint.rules.rp301 import PipelineNeverExecuted
from pipelint.rules.rp302 import ScriptInPipeline
from pipelint.rules.rp910 import UnusedNoqa

__all__ = ["ALL_RULES", "MODEL_RULES", "Finding", "Rule", "get_rule"]

#: Rules that read the analysis model, in code order.
MODEL_RULES: tuple[type[Rule], ...] = (
    SequentialCommands,
    RoundTripInLoop,
    MultiKeyForm,
    PipelinePerIteration,
    ReadModifyWriteRule,
    SetThenExpire,
    DependentChain,
    PipelineNeverExecuted,
    ScriptInPipeline,
)
#: Every rule, including the RP9xx input diagnostics and RP910 (unused suppressions).
ALL_RULES: dict[str, type[Rule]] = {
    r.code: r for r in (*MODEL_RULES, SyntaxErrorRule, UnreadableFile, InternalError, UnusedNoqa)
}


def get_rule(code: str) -> type[Rule] | None:
    """The rule with this code (RP101) or name (sequential-commands), any case."""
    rule = ALL_RULES.get(code.upper())
    if rule is None:
        rule = next((r for r in ALL_RULES.values() if r.name == code.lower()), None)
    return rule
