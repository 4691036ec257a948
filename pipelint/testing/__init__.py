"""Round trips measured at runtime: a command recorder for tests, and a pytest plugin.

>>> from pipelint.testing import record_round_trips
>>> with record_round_trips() as rec:
...     load_dashboard(user_id)
>>> assert rec.round_trips <= 2, rec.report()

Optional: ``pipelint check`` never imports this package. The pytest plugin
(:mod:`pipelint.testing.plugin`, registered through the ``pytest11`` entry point)
stays idle unless a test asks for the ``redis_round_trips`` fixture or the
``max_round_trips`` marker, or the run is given ``--pipelint-trace``; so the names
below are imported on first use, not with the package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelint.testing.recorder import Recorder, record_round_trips
    from pipelint.testing.trips import CallSite, Command, RoundTrip

__all__ = [
    "CallSite",
    "Command",
    "Recorder",
    "RoundTrip",
    "record_round_trips",
]

_WHERE = {
    "Recorder": "recorder",
    "record_round_trips": "recorder",
    "CallSite": "trips",
    "Command": "trips",
    "RoundTrip": "trips",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
