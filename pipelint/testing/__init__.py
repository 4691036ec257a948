"""Round trips measured at runtime: a command recorder for tests, and a pytest plugin.

>>> from pipelint.testing import record_round_trips
>>> with record_round_trips() as rec:
...     load_dashboard(user_id)
>>> assert rec.round_trips <= 2, rec.report()

Optional: ``pipelint check`` never imports this package. The pytest plugin
(:mod:`pipelint.testing.plugin`, registered through the ``pytest11`` entry point)
stays idle unless a test asks for the ``redis_round_trips`` fixture or the
``max_round_trips`` marker, or the run is given ``--pipelint-trace``.
"""

from pipelint.testing.recorder import Recorder, SiteSummary, record_round_trips
from pipelint.testing.trips import CallSite, Command, RoundTrip

__all__ = [
    "CallSite",
    "Command",
    "Recorder",
    "RoundTrip",
    "SiteSummary",
    "record_round_trips",
]
