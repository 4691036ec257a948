"""pytest plugin: Redis round trips in tests (registered as ``pipelint`` through the
``pytest11`` entry point; ``-p no:pipelint`` turns it off).

Idle unless asked, and cheap to load (it imports neither redis-py nor the recorder
until something asks for them):

* the ``redis_round_trips`` fixture: a recorder running from the fixture's set-up to
  its teardown;
* ``@pytest.mark.max_round_trips(n)``: the test fails when its body (not its fixtures)
  pays more than ``n`` round trips; the failure shows the recorder's report;
* ``pytest --pipelint-trace[=FILE]``: records the whole session and writes a JSON
  trace (see :mod:`pipelint.trace`) to FILE (default ``pipelint-trace.json``), for
  ``pipelint check --trace FILE``.

The fixture and the marker record every thread of the process while they run (a test
owns the process: its background threads and the event loops of async test plugins
are part of what it pays). Under pytest-xdist each worker writes ``FILE`` with its
worker id before the suffix (``pipelint-trace.gw0.json``); give them all to
``pipelint check --trace``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pipelint.testing.recorder import Recorder
    from pipelint.trace import Trace

DEFAULT_TRACE = "pipelint-trace.json"
MARKER = "max_round_trips"
_PLUGIN_NAME = "pipelint-trace-session"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pipelint", "Redis round trips (pipelint)")
    group.addoption(
        "--pipelint-trace",
        action="store",
        nargs="?",
        const=DEFAULT_TRACE,
        default=None,
        metavar="FILE",
        dest="pipelint_trace",
        help="Record every Redis round trip of the session and write a JSON trace "
        f"to FILE (default: {DEFAULT_TRACE}) for `pipelint check --trace FILE`. "
        "Write it as --pipelint-trace=FILE.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(n): fail the test when its body pays more than n Redis round trips (pipelint).",
    )
    value = config.getoption("pipelint_trace", None)
    if not value:
        return
    path = Path(value)
    if path.is_dir() or path.suffix == ".py" or "::" in value:
        raise pytest.UsageError(
            f"--pipelint-trace {value}: that looks like a test path, not a trace file; "
            "write --pipelint-trace=FILE (or put --pipelint-trace last)"
        )
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        path = path.with_name(f"{path.stem}.{workerinput.get('workerid', 'worker')}{path.suffix}")
    elif _xdist_controller(config):
        return  # the workers record; the controller runs no test
    config.pluginmanager.register(_SessionTrace(config, path), _PLUGIN_NAME)


def _xdist_controller(config: pytest.Config) -> bool:
    try:
        n = config.getoption("numprocesses")
    except ValueError:
        return False
    return bool(n) and config.pluginmanager.hasplugin("xdist")


class _SessionTrace:
    """Records every round trip of the session into a :class:`~pipelint.trace.Trace`."""

    def __init__(self, config: pytest.Config, path: Path) -> None:
        self.config = config
        self.path = path if path.is_absolute() else Path(config.invocation_params.dir) / path
        self.trace: Trace | None = None
        self.recorder: Recorder | None = None
        self.error: str | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        import redis

        from pipelint.testing.recorder import Recorder, trace_listener
        from pipelint.trace import Trace

        self.trace = Trace(root=Path(str(self.config.rootpath)))
        self.trace.meta["redis_py"] = getattr(redis, "__version__", "?")
        listener = trace_listener(self.trace)
        self.recorder = Recorder(all_threads=True, keep=False, listener=listener)
        self.recorder.start()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, Any, Any]:
        trace = self.trace
        if trace is not None:
            trace.current_test = item.nodeid
            trace.tests += 1
        try:
            return (yield)
        finally:
            if trace is not None:
                trace.current_test = None

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.recorder is not None:
            self.recorder.stop()
        if self.trace is None:
            return
        from pipelint.trace import write_trace

        try:
            write_trace(self.path, self.trace)
        except OSError as exc:
            self.error = f"cannot write {self.path}: {exc}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        if self.error:
            tr.write_line(f"pipelint: {self.error}", red=True)
            return
        if self.trace is None:
            return
        totals = self.trace.totals()
        tr.section("pipelint: Redis round trips")
        tr.write_line(
            f"{totals['round_trips']} round trips ({totals['commands']} commands, "
            f"{totals['wait_ms']:.1f} ms waiting) from {totals['call_sites']} call sites "
            f"in {self.trace.tests} tests; trace written to {self.path}"
        )
        root = self.trace.root
        for s in self.trace.ranked()[:5]:
            where = s.to_json(root)
            tr.write_line(
                f"  {where['path']}:{s.line} {s.function}: {s.round_trips} round trips"
                f" ({s.back_to_back} back to back, {s.repeated} repeated by a caller)"
            )


@pytest.fixture
def redis_round_trips() -> Iterator[Recorder]:
    """A recorder of the Redis round trips paid from here to the end of the test.

    ``assert redis_round_trips.round_trips <= 2, redis_round_trips.report()``;
    ``redis_round_trips.clear()`` forgets what earlier fixtures paid."""
    from pipelint.testing.recorder import Recorder

    rec = Recorder(all_threads=True)
    rec.start()
    try:
        yield rec
    finally:
        rec.stop()


def _limit(item: pytest.Item, marker: pytest.Mark) -> int:
    args = list(marker.args) + [v for k, v in marker.kwargs.items() if k == "n"]
    if len(args) != 1 or not isinstance(args[0], int) or isinstance(args[0], bool) or args[0] < 0:
        raise pytest.UsageError(
            f"{item.nodeid}: use @pytest.mark.{MARKER}(n) with one integer n >= 0, "
            f"got {marker.args!r} {marker.kwargs!r}"
        )
    return int(args[0])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return (yield)
    limit = _limit(item, marker)
    from pipelint.testing.recorder import Recorder

    rec = Recorder(all_threads=True)
    rec.start()
    try:
        result = yield
    finally:
        rec.stop()
    if rec.round_trips > limit:
        pytest.fail(
            f"{rec.round_trips} Redis round trips, at most {limit} allowed "
            f"(@pytest.mark.{MARKER}({limit}))\n{rec.report()}",
            pytrace=False,
        )
    return result
