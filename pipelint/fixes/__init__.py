"""Fixes: each rule's fix builder, and applying fixes to files."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelint.checker.context import FileContext
    from pipelint.diagnostics import Fix

__all__ = ["fixer_for"]

FixBuilder = Callable[["FileContext", object], "Fix | None"]
_BUILDERS: dict[str, FixBuilder] = {}


def register(code: str) -> Callable[[FixBuilder], FixBuilder]:
    def deco(fn: FixBuilder) -> FixBuilder:
        _BUILDERS[code] = fn
        return fn

    return deco


def fixer_for(code: str, subject: object) -> Callable[[FileContext], Fix | None] | None:
    _load()
    builder = _BUILDERS.get(code)
    if builder is None:
        return None
    return lambda ctx: builder(ctx, subject)


def has_fix(code: str) -> bool:
    _load()
    return code in _BUILDERS


def _load() -> None:
    """Import the fix modules so that they register."""
    import pipelint.fixes.rp101  # noqa: F401
    import pipelint.fixes.rp102  # noqa: F401
    import pipelint.fixes.rp103  # noqa: F401
    import pipelint.fixes.rp104  # noqa: F401
    import pipelint.fixes.rp201  # noqa: F401
    import pipelint.fixes.rp202  # noqa: F401
    import pipelint.fixes.rp203  # noqa: F401
    import pipelint.fixes.rp302  # noqa: F401
    import pipelint.fixes.rp910  # noqa: F401
