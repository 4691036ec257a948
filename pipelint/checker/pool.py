"""A process pool that outlives its workers and stops at once when interrupted.

``concurrent.futures.ProcessPoolExecutor`` is the wrong tool for a linter: when one
worker dies (a segmentation fault in a native parser, the out-of-memory killer), the
whole pool is broken and every pending result is lost; and on Ctrl-C it waits for the
queued work to finish, so workers go on (and go on fixing files) for many seconds.

Here each worker is a process with a pipe of its own. A worker is given work only when
it is idle (a chunk of tasks; it answers each task as soon as it is done), so the
parent always knows which task a worker was on when it died: that task is answered
with ``crashed(task, reason)``, the rest of its chunk goes back in the queue, and a new
worker takes its place. Results come in completion order.

On an interrupt (``KeyboardInterrupt`` in the parent, or the generator being closed)
the workers are told to stop with SIGTERM, which they turn into ``KeyboardInterrupt``:
a task in progress is abandoned where it is (``write_atomic`` removes its temporary
file; an in-place rewrite holds signals back until it is complete), so nothing is
written after the interrupt, and the workers are killed if they have not gone within
a second.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any, Generic, TypeVar

__all__ = ["run_pool", "Failure"]

T = TypeVar("T")
R = TypeVar("R")

#: How long stopping workers may take before they are killed (seconds).
STOP_GRACE = 1.0


@dataclass(frozen=True)
class Failure:
    """A task that raised in the worker (a bug): its traceback's last line and frame."""

    message: str


@dataclass
class _Worker(Generic[T]):
    process: Any  # multiprocessing.Process
    conn: Connection
    running: deque[tuple[int, T]] = field(default_factory=deque)  # sent, not answered


def run_pool(
    tasks: Sequence[T],
    work: Callable[[T], R],
    jobs: int,
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    crashed: Callable[[T, str], R],
    failed: Callable[[T, Failure], R],
    chunk: int = 1,
) -> Iterator[R]:
    """``work(task)`` for every task in ``jobs`` worker processes, yielding results as
    they come. A task whose worker died yields ``crashed(task, reason)``; one that
    raised, ``failed(task, failure)``."""
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    queue: deque[tuple[int, T]] = deque(enumerate(tasks))
    workers: list[_Worker[T]] = []

    def start() -> None:
        parent, child = ctx.Pipe(duplex=True)
        process = ctx.Process(
            target=_worker_main,
            args=(child, work, initializer, initargs, os.getpid()),
            daemon=True,
            name="pipelint-worker",
        )
        process.start()
        child.close()
        workers.append(_Worker(process, parent))

    try:
        for _ in range(min(jobs, len(queue))):
            start()
        while queue or any(w.running for w in workers):
            for w in workers:
                if not w.running and queue:
                    size = max(1, min(chunk, len(queue) // (2 * len(workers)) or 1))
                    batch = [queue.popleft() for _ in range(min(size, len(queue)))]
                    w.running.extend(batch)
                    try:
                        w.conn.send(batch)
                    except OSError:
                        pass  # it died: its sentinel tells, below
            ready = wait([w.conn for w in workers] + [w.process.sentinel for w in workers])
            for w in list(workers):
                if w.conn in ready:
                    yield from _answers(w, failed)
                if w.process.sentinel in ready or (w.conn in ready and not w.process.is_alive()):
                    w.process.join(STOP_GRACE)
                    if w.process.exitcode is None:
                        continue  # closed its pipe but still running: wait for it
                    yield from _answers(w, failed)  # what it sent before dying
                    if w.running:
                        _index, task = w.running.popleft()
                        yield crashed(task, _reason(w.process.exitcode))
                        queue.extendleft(reversed(w.running))
                        w.running.clear()
                    w.conn.close()
                    workers.remove(w)
                    if queue and len(workers) < jobs:
                        start()
    except BaseException:
        _stop(workers, hard=True)
        raise
    _stop(workers, hard=False)


def _answers(w: _Worker[T], failed: Callable[[T, Failure], R]) -> Iterator[R]:
    """The results ``w`` has sent so far, in order."""
    while w.running:
        try:
            if not w.conn.poll():
                return
            index, result = w.conn.recv()
        except Exception:  # noqa: BLE001 - closed, or cut short by a dying worker
            return
        sent_index, task = w.running.popleft()
        assert index == sent_index, "a worker answers its tasks in order"
        yield failed(task, result) if isinstance(result, Failure) else result


def _reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if -exitcode == signal.SIGKILL:
            return f"killed by {name} (out of memory?)"
        return f"killed by {name}"
    return f"exited with status {exitcode}"


def _stop(workers: list[_Worker[Any]], hard: bool) -> None:
    """Stop the workers: asked to finish (``hard`` False: all work is done) or told to
    drop what they are doing (SIGTERM), then killed after ``STOP_GRACE``."""
    for w in workers:
        try:
            if hard:
                if w.process.is_alive() and w.process.pid is not None:
                    os.kill(w.process.pid, signal.SIGTERM)
            else:
                w.conn.send(None)
        except OSError:
            pass
    deadline = time.monotonic() + STOP_GRACE
    for w in workers:
        w.process.join(max(0.0, deadline - time.monotonic()))
        if w.process.is_alive():
            w.process.kill()
            w.process.join()
        w.conn.close()


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _die_with_parent(parent: int) -> None:
    """SIGTERM this worker when the parent dies, however it dies (Linux), so that an
    orphan never goes on with its chunk (and its fixes)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: BLE001,S110 - best effort: the pipe's EOF also tells
            pass
    if os.getppid() != parent:  # it died before we asked
        os._exit(1)


def _worker_main(
    conn: Connection,
    work: Callable[[Any], Any],
    initializer: Callable[..., None],
    initargs: tuple[Any, ...],
    parent: int,
) -> None:
    # Ctrl-C (SIGINT to the whole process group) and the parent's SIGTERM both abandon
    # the task in progress; the parent reports the interrupt. A run started with SIGINT
    # ignored (a shell's background job) keeps ignoring it, like the parent does
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    _die_with_parent(parent)
    try:
        initializer(*initargs)
        while True:
            try:
                batch = conn.recv()
            except (EOFError, OSError):
                return  # the parent is gone
            if batch is None:
                return
            for index, task in batch:
                try:
                    result: Any = work(task)
                except Exception as exc:  # noqa: BLE001 - a bug on one file: reported
                    result = Failure(_describe(exc))
                conn.send((index, result))
    except KeyboardInterrupt:
        os._exit(130)
    except (BrokenPipeError, EOFError):
        os._exit(1)


def _describe(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {os.path.basename(frame.filename)}:{frame.lineno}" if frame else ""
    return f"{type(exc).__name__}: {exc}{at}"
