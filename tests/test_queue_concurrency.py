"""Concurrency test: many worker processes, some SIGKILLed while holding leases.

For each implementation: 300 tasks, 6 healthy worker processes and 3 doomed ones, all
started together (9 concurrent workers) with short leases (0.5 s).  Healthy workers
claim, sometimes nack (transient failure) or heartbeat, and submit; about 1% of the
time one stalls past its lease before submitting (an abandoned lease whose owner comes
back), and that submit must be refused.  Each doomed worker
processes a few tasks normally, then claims one more, reports it and hangs; the test
SIGKILLs it.  The killed workers' leases expire, the reaper requeues their tasks and
healthy workers finish them.

Checks: every task completed exactly once (each accepted submit is logged, no id twice,
the results hash holds every task), nothing left pending/in progress/dead, and the
tasks held by killed workers were completed by someone else.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
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
LEASE = 0.5
REAP_INTERVAL = 0.1
DEADLINE = 25.0

COMPLETIONS = "test:completions"  # ids whose submit returned True, one entry per accept
HOLDING = "test:holding"
STALE = "test:stale"  # submits refused because the worker had stalled past its lease
SLOW = "test:slow"  # refusals explained by scheduling delays longer than the lease
VIOLATIONS = "test:violations"  # refusals within the lease, or accepted stale submits  # "<worker>:<task id>" from doomed workers holding a lease


def _queue(url: str, impl: str) -> tuple[redis.Redis, Any]:
    client = redis.Redis.from_url(url)
    return client, IMPLS[impl](client, "conc", reap_interval=REAP_INTERVAL, backoff_base=0.01)


def _process(client: redis.Redis, q: Any, worker: str, task: Any, rng: random.Random) -> None:
    claimed_at = time.monotonic()
    if task.attempts == 1 and rng.random() < 0.05:
        if not q.nack(task.id, worker, delay=0, reason="transient"):
            _violation(client, worker, task, claimed_at, "nack refused")
        return
    roll = rng.random()
    if roll < 0.01:
        time.sleep(LEASE + 0.2)  # stalls past its lease without heartbeat: must lose it
    else:
        time.sleep(rng.random() * 0.002)
        if roll < 0.1 and q.heartbeat(worker, [task.id], LEASE) != 1:
            _violation(client, worker, task, claimed_at, "heartbeat refused")
    if q.submit(task.id, worker, {"by": worker, "n": task.payload["n"]}):
        client.rpush(COMPLETIONS, task.id)
        if roll < 0.01:
            client.rpush(VIOLATIONS, f"{worker} {task.id}: submit accepted after its lease")
    elif roll < 0.01:
        client.incr(STALE)
    else:
        _violation(client, worker, task, claimed_at, "submit refused")


def _violation(client: redis.Redis, worker: str, task: Any, claimed_at: float, what: str) -> None:
    """Record a refusal unless the machine was so loaded that the lease really ran out."""
    elapsed = time.monotonic() - claimed_at
    if elapsed < LEASE * 0.8:
        client.rpush(VIOLATIONS, f"{worker} {task.id}: {what} {elapsed:.3f}s after claim")
    else:
        client.incr(SLOW)


def healthy_worker(url: str, impl: str, worker: str, deadline: float) -> None:
    client, q = _queue(url, impl)
    rng = random.Random(worker)
    while time.time() < deadline:
        task = q.claim(worker, LEASE)
        if task is None:
            if client.hlen(q.keys.results) >= TASKS:
                return
            time.sleep(0.01)
            continue
        _process(client, q, worker, task, rng)


def doomed_worker(url: str, impl: str, worker: str, before: int) -> None:
    client, q = _queue(url, impl)
    rng = random.Random(worker)
    done = 0
    while done < before:
        task = q.claim(worker, LEASE)
        if task is not None:
            _process(client, q, worker, task, rng)
            done += 1
    while (task := q.claim(worker, LEASE)) is None:
        time.sleep(0.005)
    client.rpush(HOLDING, f"{worker}:{task.id}")
    time.sleep(120)  # "crashed": holds the lease until SIGKILLed


def _context() -> Any:
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_workers_killed_holding_leases(
    impl: str, redis_client: redis.Redis, redis_server: RedisServer
) -> None:
    _client, q = _queue(redis_server.url, impl)
    ids = [q.enqueue({"n": i}, priority=i % 10, max_attempts=20).id for i in range(TASKS)]
    ctx = _context()
    deadline = time.time() + DEADLINE
    healthy = [
        ctx.Process(target=healthy_worker, args=(redis_server.url, impl, f"h{i}", deadline))
        for i in range(HEALTHY)
    ]
    doomed = [
        ctx.Process(target=doomed_worker, args=(redis_server.url, impl, f"d{i}", 3 + 4 * i))
        for i in range(DOOMED)
    ]
    procs = healthy + doomed
    try:
        for p in procs:
            p.start()
        while redis_client.llen(HOLDING) < DOOMED and time.time() < deadline:
            assert all(p.exitcode is None for p in procs), [p.exitcode for p in procs]
            time.sleep(0.01)
        assert redis_client.llen(HOLDING) == DOOMED, "doomed workers never took their lease"
        for p in doomed:
            assert p.pid is not None
            os.kill(p.pid, signal.SIGKILL)
        for p in healthy:
            p.join(max(0.1, deadline - time.time() + 5))
        for p in doomed:
            p.join(5)
            assert p.exitcode == -signal.SIGKILL
        assert all(p.exitcode == 0 for p in healthy), [p.exitcode for p in healthy]
    finally:
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
        get_result, get_result_2 = pipe.execute()
        stale = int(get_result or 0)
        slow = int(get_result_2 or 0)
    print(f"{impl}: {stale} stale submits refused, {slow} refusals after scheduling delays")
    held = [h.decode().split(":", 1) for h in redis_client.lrange(HOLDING, 0, -1)]
    for worker, task_id in held:
        task = q.get(task_id)
        assert task is not None and task.status == "completed"
        assert task.result["by"] != worker and task.result["by"].startswith("h")
        assert task.attempts >= 2
    for task_id in ids:
        task = q.get(task_id)
        assert task is not None and task.status == "completed"
