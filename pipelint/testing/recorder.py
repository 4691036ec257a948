"""The command recorder: count the round trips a block of code pays to Redis.

>>> with record_round_trips() as rec:
...     load_dashboard(user_id)
>>> assert rec.round_trips <= 2, rec.report()

What is recorded: every round trip redis-py's connections make while the recorder is
active in this thread (and in the asyncio tasks started inside the block), for sync,
asyncio and cluster clients, their pipelines and transactions, scripts and locks,
including clients created inside the block. See :mod:`pipelint.testing.hooks` for
where redis-py is hooked. What redis-py sends on its own (connection set-up: HELLO,
AUTH, CLIENT SETINFO, SELECT; health checks; cluster discovery; the UNWATCH of a
watched pipeline being garbage-collected) is kept apart in
:attr:`Recorder.housekeeping_trips` and never counted in :attr:`Recorder.round_trips`:
whether a block opens a connection or collects garbage depends on the pool and the
collector, not on the code under test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelint.server import StartStop
from pipelint.testing import hooks
from pipelint.testing.trips import Command, RoundTrip, display_path

if TYPE_CHECKING:
    from pipelint.trace import SiteStats, Trace

__all__ = ["Recorder", "record_round_trips", "trace_listener"]

#: round trips listed one by one by ``report()`` before "... and N more"
REPORT_LIMIT = 40


class Recorder(StartStop):
    """Records the round trips redis-py makes while it is active.

    Use it as a context manager (``with`` or ``async with``), or ``start()`` and
    ``stop()``. ``all_threads=True`` records every thread of the process instead of
    the calling context (and the asyncio tasks it starts). ``keep=False`` keeps no
    round trip, only hands each to ``listener`` (a whole test session's trace).
    """

    def __init__(
        self,
        *,
        all_threads: bool = False,
        keep: bool = True,
        listener: Callable[[RoundTrip], None] | None = None,
    ) -> None:
        self.all_threads = all_threads
        self.keep = keep
        self.listener = listener
        #: round trips paid by the code, in the order they were sent
        self.trips: list[RoundTrip] = []
        #: round trips redis-py made on its own (set-up, clean-up; not counted)
        self.housekeeping_trips: list[RoundTrip] = []
        self._token: Any = None
        self._recording = False
        self._lock = threading.Lock()

    # -- life cycle ----------------------------------------------------------------

    @property
    def recording(self) -> bool:
        return self._recording

    def start(self) -> Recorder:
        if self._recording:
            raise RuntimeError("this recorder is already recording")
        self._token = hooks.acquire(self, self.all_threads)
        self._recording = True
        return self

    def stop(self) -> None:
        if not self._recording:
            return
        self._recording = False
        token, self._token = self._token, None
        hooks.release(self, token)

    async def __aenter__(self) -> Recorder:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.stop()

    def _add(self, trip: RoundTrip) -> None:
        if not self._recording:
            return
        if self.keep:
            (self.housekeeping_trips if trip.housekeeping else self.trips).append(trip)
        if self.listener is not None:
            with self._lock:
                self.listener(trip)

    def clear(self) -> None:
        """Forget what was recorded so far (keeps recording)."""
        self.trips = []
        self.housekeeping_trips = []

    # -- numbers -------------------------------------------------------------------

    @property
    def round_trips(self) -> int:
        """Round trips paid (set-up excluded)."""
        return len(self.trips)

    @property
    def commands(self) -> list[Command]:
        """Every command sent (set-up excluded), MULTI and EXEC included."""
        return [c for t in self.trips for c in t.commands]

    @property
    def command_names(self) -> list[str]:
        return [name for t in self.trips for name in t.names]

    def count(self, name: str) -> int:
        """How many ``name`` commands were sent (``"GET"``, ``"SCRIPT EXISTS"``)."""
        want = name.upper()
        return sum(1 for n in self.command_names if n == want)

    @property
    def wait_s(self) -> float:
        return sum(t.wait_s for t in self.trips)

    @property
    def back_to_back(self) -> int:
        return sum(1 for t in self.trips if t.back_to_back)

    def by_site(self) -> list[SiteStats]:
        """What each call site paid, most round trips first."""
        from pipelint.trace import Trace

        trace = Trace(root=Path.cwd())
        listener = trace_listener(trace)
        for t in self.trips:
            listener(replace(t, observers=None))
        return trace.ranked()

    # -- report --------------------------------------------------------------------

    def report(self, limit: int = REPORT_LIMIT, cwd: Path | None = None) -> str:
        """Round trips grouped by call site (most first), then each round trip."""
        return "\n".join(self._report_lines(limit, cwd))

    def _report_lines(self, limit: int, cwd: Path | None) -> Iterator[str]:
        n = self.round_trips
        commands = sum(len(t.args) for t in self.trips)
        head = (
            f"{n} round trip{'s' if n != 1 else ''}, {commands} command"
            f"{'s' if commands != 1 else ''}, {self.wait_s * 1000:.2f} ms waiting"
        )
        if self.housekeeping_trips:
            head += f" (+{len(self.housekeeping_trips)} by redis-py itself: set-up, clean-up; not counted)"
        yield head
        if not self.trips:
            return
        yield "by call site:"
        for s in self.by_site():
            yield f"  {s.where(cwd)} {s.function}  {s.describe(cwd)}"
        yield "round trips:"
        for i, t in enumerate(self.trips[:limit], 1):
            yield f"  #{i} {_describe_trip(t, cwd)}"
        if n > limit:
            yield f"  ... and {n - limit} more"


def _describe_trip(t: RoundTrip, cwd: Path | None) -> str:
    cmds = t.commands
    shown = ", ".join(_describe_command(c) for c in cmds[:6])
    if len(cmds) > 6:
        shown += f", ... ({len(cmds)} commands)"
    kind = t.kind()
    if kind != "command":
        shown = f"{kind}: {shown}"
    flags = []
    if t.back_to_back:
        flags.append("back to back")
    if t.repeated_by is not None:
        flags.append(f"repeated by {t.repeated_by.display(cwd)}")
    where = f"{display_path(t.site.file, cwd)}:{t.site.line} {t.site.function}"
    text = f"{where}  {t.server}{' (asyncio)' if t.asyncio else ''}  {shown}"
    return text + (f"  [{', '.join(flags)}]" if flags else "")


def _describe_command(c: Command) -> str:
    keys = c.keys
    return f"{c.name} {' '.join(keys)}" if keys else c.name


def record_round_trips(*, all_threads: bool = False) -> Recorder:
    """A recorder to use as ``with record_round_trips() as rec:``."""
    return Recorder(all_threads=all_threads)


def trace_listener(trace: Trace) -> Callable[[RoundTrip], None]:
    """A ``listener`` that adds each round trip to ``trace`` (per call site), its wait
    included: what ``pytest --pipelint-trace`` records."""

    def add(trip: RoundTrip) -> None:
        if trip.housekeeping:
            trace.housekeeping_round_trips += 1
            return
        site, by = trip.site, trip.repeated_by
        stats = trace.add(
            (site.file, site.line, site.function),
            trip.names,
            pipelined=trip.kind() != "command",
            back_to_back=trip.back_to_back,
            repeated_by=(by.file, by.line, by.function) if by is not None else None,
            wait_s=trip.wait_s,
        )
        if trip.observers is None:
            trip.observers = [stats]
        else:
            trip.observers.append(stats)

    return add
