"""Concurrency test: many worker processes, some SIGKILLed while holding leases.

For each implementation: 400 tasks, 6 healthy worker processes and 3 doomed ones, all
started together (9 concurrent workers).  Healthy workers claim, sometimes nack
(transient failure) or heartbeat, and submit; now and then one stalls past its lease
before submitting (an abandoned lease whose owner comes back), and that submit must be
refused.  Each doomed worker processes a few tasks normally (``d0`` stalls past its
lease on its first one, so every run has a stale submit), then claims one more, reports
it and hangs; the test SIGKILLs it.  The killed workers' leases expire, the reaper
requeues their tasks and healthy workers finish them.

The outcome does not depend on how the OS schedules the nine processes:

* the healthy workers share a claim budget (``BUDGET``: every task but the ones the
  doomed workers will claim) and wait at a gate once it is spent.  So, whatever the
  scheduling, the queue still holds a task for every claim a doomed worker has yet to
  make: the doomed workers are guaranteed to reach their lease.  The test opens the gate
  only after it has seen all of them holding one and has killed them;
* the doomed workers take their held leases together (a barrier), after the last submit
  of any of them, so a held task can only be completed by a healthy worker, even if its
  lease runs out before the kill;
* a refused submit/heartbeat/nack counts as a queue bug only if it came sooner after
  the claim *started* than the lease lasts (the lease key is written after that
  instant); a worker the machine stalled past its lease is counted, not failed;
* a deliberate stall is a sleep, whose length is a lower bound on any machine;
* every wait has a generous limit whose failure message names it.

Checks: every task completed exactly once (each accepted submit is logged, no id twice,
the results hash holds every task), nothing left pending/in progress/dead, the tasks
held by killed workers were completed by someone else, and at least one stale submit
was refused.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sys
import time
from typing import Any

import pytest
import redis

from pipelint.queue import NaiveQueue, PipelinedQueue
from pipelint.server import RedisServer

IMPLS: dict[str, type[NaiveQueue] | type[PipelinedQueue]] = {
    "naive": NaiveQueue,
    "pipelined": PipelinedQueue,
}

TASKS = 400
HEALTHY = 6
DOOMED = 3
BEFORE = [3 + 4 * i for i in range(DOOMED)]  # tasks each doomed worker finishes first
DOOMED_CLAIMS = sum(BEFORE) + DOOMED  # successful claims the doomed workers make in all
BUDGET = TASKS - DOOMED_CLAIMS  # claims the healthy workers may make before the gate opens
LEASE = 1.0  # seconds; a worker stalled longer by the machine loses it (counted as slow)
STALL = LEASE + 0.2  # a stalled worker sleeps this long before submitting: it lost the lease
REAP_INTERVAL = 0.1
HOLD_TIMEOUT = 120.0  # for all doomed workers to hold their lease
FINISH_TIMEOUT = 180.0  # for the healthy workers to finish every task once the gate opens
DEADLINE_EXIT = 3  # exit code of a healthy worker that ran out of FINISH_TIMEOUT

COMPLETIONS = "test:completions"  # ids whose submit returned True, one entry per accept
HOLDING = "test:holding"  # "<worker>:<task id>" from doomed workers holding a lease
BUDGET_KEY = "test:budget"  # claims the healthy workers may still make before the gate
STALE = "test:stale"  # submits refused because the worker had stalled past its lease
SLOW = "test:slow"  # refusals explained by scheduling delays longer than the lease
VIOLATIONS = "test:violations"  # refusals within the lease, or accepted stale submits


def _queue(url: str, impl: str) -> tuple[redis.Redis, Any]:
    client = redis.Redis.from_url(url)
    return client, IMPLS[impl](client, "conc", reap_interval=REAP_INTERVAL, backoff_base=0.01)


def _claim(q: Any, worker: str) -> tuple[Any, float]:
    """A claim and the instant it started: the lease key is written after that instant."""
    started = time.monotonic()
    return q.claim(worker, LEASE), started


def _process(
    client: redis.Redis,
    q: Any,
    worker: str,
    task: Any,
    claimed_at: float,
    rng: random.Random,
    stall: bool,
) -> None:
    if not stall and task.attempts == 1 and rng.random() < 0.05:
        if not q.nack(task.id, worker, delay=0, reason="transient"):
            _violation(client, worker, task, claimed_at, "nack refused")
        return
    if stall:
        time.sleep(STALL)  # stalls past its lease without heartbeat: must lose it
    else:
        time.sleep(rng.random() * 0.002)
        if rng.random() < 0.1 and q.heartbeat(worker, [task.id], LEASE) != 1:
            _violation(client, worker, task, claimed_at, "heartbeat refused")
    if q.submit(task.id, worker, {"by": worker, "n": task.payload["n"]}):
        client.rpush(COMPLETIONS, task.id)
        if stall:
            client.rpush(VIOLATIONS, f"{worker} {task.id}: submit accepted after its lease")
    elif stall:
        client.incr(STALE)
    else:
        _violation(client, worker, task, claimed_at, "submit refused")


def _violation(client: redis.Redis, worker: str, task: Any, claimed_at: float, what: str) -> None:
    """Record a refusal unless the lease really ran out (the machine stalled the worker).

    ``claimed_at`` is taken before the claim, so a lease that expired in Redis implies
    ``elapsed >= LEASE``; the 10 % are for clock granularity."""
    elapsed = time.monotonic() - claimed_at
    if elapsed < LEASE * 0.9:
        client.rpush(VIOLATIONS, f"{worker} {task.id}: {what} {elapsed:.3f}s after claim")
    else:
        client.incr(SLOW)


def healthy_worker(url: str, impl: str, worker: str, gate: Any) -> None:
    client, q = _queue(url, impl)
    rng = random.Random(worker)
    deadline = None
    while deadline is None or time.monotonic() < deadline:
        if deadline is None and not gate.is_set() and client.decr(BUDGET_KEY) < 0:
            # the doomed workers need the rest of the queue
            if not gate.wait(HOLD_TIMEOUT + FINISH_TIMEOUT):
                sys.exit(DEADLINE_EXIT)  # the test is gone
        if deadline is None and gate.is_set():
            deadline = time.monotonic() + FINISH_TIMEOUT
        task, claimed_at = _claim(q, worker)
        if task is None:
            if client.hlen(q.keys.results) >= TASKS:
                return
            time.sleep(0.01)
            continue
        _process(client, q, worker, task, claimed_at, rng, rng.random() < 0.01)
    sys.exit(DEADLINE_EXIT)


def doomed_worker(url: str, impl: str, worker: str, before: int, together: Any) -> None:
    client, q = _queue(url, impl)
    rng = random.Random(worker)
    for done in range(before):
        task, claimed_at = _claim_next(q, worker)
        stall = (worker == "d0" and done == 0) or rng.random() < 0.01
        _process(client, q, worker, task, claimed_at, rng, stall)
    # Take the held leases together, after every doomed worker's last submit: a doomed
    # worker still processing could otherwise claim and complete another one's held task
    # once its lease ran out.
    together.wait(HOLD_TIMEOUT)
    task, _claimed_at = _claim_next(q, worker)
    client.rpush(HOLDING, f"{worker}:{task.id}")
    time.sleep(600)  # "crashed": holds the lease until SIGKILLed


def _claim_next(q: Any, worker: str) -> tuple[Any, float]:
    """Claim until a task comes: the claim budget guarantees a doomed worker one."""
    while True:
        task, claimed_at = _claim(q, worker)
        if task is not None:
            return task, claimed_at
        time.sleep(0.005)  # the rest is leased for now (e.g. by a stalled worker)


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _wait_for(condition: Any, timeout: float, procs: list[Any]) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` runs out; fail if a worker dies."""
    limit = time.monotonic() + timeout
    while not condition():
        exits = {p.name: p.exitcode for p in procs}
        assert all(code is None for code in exits.values()), f"a worker exited early: {exits}"
        if time.monotonic() > limit:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_workers_killed_holding_leases(
    impl: str, redis_client: redis.Redis, redis_server: RedisServer
) -> None:
    _client, q = _queue(redis_server.url, impl)
    ids = [q.enqueue({"n": i}, priority=i % 10, max_attempts=20).id for i in range(TASKS)]
    redis_client.set(BUDGET_KEY, BUDGET)
    ctx = _context()
    gate = ctx.Event()
    together = ctx.Barrier(DOOMED)
    url = redis_server.url
    healthy = [
        ctx.Process(target=healthy_worker, args=(url, impl, f"h{i}", gate), name=f"h{i}")
        for i in range(HEALTHY)
    ]
    doomed = [
        ctx.Process(target=doomed_worker, args=(url, impl, f"d{i}", n, together), name=f"d{i}")
        for i, n in enumerate(BEFORE)
    ]
    procs = healthy + doomed
    try:
        for p in procs:
            p.start()
        held = _wait_for(lambda: redis_client.llen(HOLDING) >= DOOMED, HOLD_TIMEOUT, procs)
        assert held, (
            f"timing: the doomed workers did not all hold a lease within {HOLD_TIMEOUT} s "
            f"(holding: {redis_client.lrange(HOLDING, 0, -1)}, "
            f"healthy budget left: {redis_client.get(BUDGET_KEY)})"
        )
        for p in doomed:
            assert p.pid is not None
            os.kill(p.pid, signal.SIGKILL)
        for p in doomed:
            p.join(30)
            assert p.exitcode == -signal.SIGKILL, f"{p.name}: exit code {p.exitcode}"
        gate.set()
        finish_by = time.monotonic() + FINISH_TIMEOUT + 30
        for p in healthy:
            p.join(max(0.1, finish_by - time.monotonic()))
        exits = {p.name: p.exitcode for p in healthy}
        assert DEADLINE_EXIT not in exits.values() and None not in exits.values(), (
            f"timing: healthy workers did not finish within {FINISH_TIMEOUT} s of the gate "
            f"({redis_client.hlen(q.keys.results)}/{TASKS} results); exit codes: {exits}"
        )
        assert all(code == 0 for code in exits.values()), f"healthy exit codes: {exits}"
    finally:
        gate.set()
        for p in procs:
            if p.is_alive():
                p.kill()
                p.join(5)

    assert redis_client.lrange(VIOLATIONS, 0, -1) == []
    completions = [c.decode() for c in redis_client.lrange(COMPLETIONS, 0, -1)]
    assert len(completions) == len(set(completions)), "a task was completed twice"
    assert sorted(completions) == sorted(ids), "a task was lost"
    assert redis_client.hlen(q.keys.results) == TASKS
    stats = q.stats()
    assert stats["pending"] == 0 and stats["delayed"] == 0
    assert stats["in_progress"] == 0 and stats["dead"] == 0

    with redis_client.pipeline(transaction=False) as pipe:
        pipe.get(STALE)
        pipe.get(SLOW)
        stale_reply, slow_reply = pipe.execute()
    stale, slow = int(stale_reply or 0), int(slow_reply or 0)
    print(f"{impl}: {stale} stale submits refused, {slow} refusals after scheduling delays")
    assert stale >= 1, "d0's stale submit was not refused"
    held_tasks = [h.decode().split(":", 1) for h in redis_client.lrange(HOLDING, 0, -1)]
    assert len(held_tasks) == DOOMED
    for worker, task_id in held_tasks:
        task = q.get(task_id)
        assert task is not None and task.status == "completed"
        assert task.result["by"] != worker and task.result["by"].startswith("h")
        assert task.attempts >= 2
    for task_id in ids:
        task = q.get(task_id)
        assert task is not None and task.status == "completed"
