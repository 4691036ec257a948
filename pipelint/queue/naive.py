"""The naive task queue: one command per round trip, the way such code usually starts.

Same keys and semantics as :mod:`pipelint.queue.pipelined` (see :mod:`pipelint.queue.base`),
written with sequential ``r.get``/``r.hset``/``r.sadd`` calls, GET-then-act lease checks
and loops of single commands.  It is the "before" picture for ``pipelint check`` and for
the benchmarks, so it is deliberately round-trip heavy -- but it is *correct enough* to
pass the same behaviour tests, including concurrent workers that die holding leases:

* ownership of a task id is handed over with atomic single-command primitives: RPOP
  (one claimer gets the id), ZREM's return value (one promoter moves a delayed task);
* ``claim`` writes the task record while the popped id is its alone, then the lease
  key, and adds the id to ``inprog`` last, so the reaper (which requeues ids in
  ``inprog`` whose lease key is gone) never sees a fresh claim without its lease, and a
  claimer that stalls past its lease never overwrites the record of the worker that got
  the task after it;
* ``submit``, ``nack`` and the reaper's requeue check the lease under
  ``WATCH lease:<id> inprog`` and apply their writes in MULTI/EXEC, retrying on
  WatchError.  Watching ``inprog`` is what stops a submit racing a requeue: a lease can
  expire between the check and EXEC, and the requeue modifies ``inprog``.

Unlike the pipelined queue it does not keep the ``leases`` index: its reaper scans
``inprog`` with SMEMBERS and checks each lease key with EXISTS, one round trip each.
A process killed in the middle of a claim or of a delayed-task promotion can lose that
task (the pipelined queue's scripts cannot); the tests kill workers only while they hold
a lease.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import redis
from redis.cluster import RedisCluster

from pipelint.queue.base import (
    PRIORITIES,
    QueueBase,
    Task,
    backoff_delay,
    check_priority,
    check_status,
    new_task,
    now,
    task_from_record,
    task_to_record,
    text,
    to_ms,
)

__all__ = ["NaiveQueue"]

_MAX_REAP_RETRIES = 20
"""WatchError retries of one requeue; the next reap pass tries again."""


class NaiveQueue(QueueBase):
    """Task queue with one Redis command per round trip.

    ``client`` is a sync ``redis.Redis`` or ``redis.cluster.RedisCluster``; the keys of
    queue ``name`` are ``f"{prefix}{{q:{name}}}:..."``.
    """

    client: redis.Redis | RedisCluster

    # -- producer ------------------------------------------------------------------

    def enqueue(
        self,
        payload: Any,
        priority: int = 5,
        delay: float = 0,
        max_attempts: int = 5,
        idempotency_key: str | None = None,
    ) -> Task:
        check_priority(priority)
        r = self.client
        task_id = uuid.uuid4().hex
        if idempotency_key is not None:
            idem = self.keys.idem(idempotency_key)
            ttl_ms = to_ms(self.options.idempotency_ttl)
            if not r.set(idem, task_id, nx=True, px=ttl_ms):
                existing = text(r.get(idem))
                if existing is not None:
                    # the first enqueuer may not have written the task yet
                    for _ in range(100):
                        found = self.get(existing)
                        if found is not None:
                            return found
                        time.sleep(0.005)
                r.set(idem, task_id, px=ttl_ms)
        task = new_task(task_id, payload, priority, delay, max_attempts)
        r.hset(self.keys.tasks, task_id, task_to_record(task))
        if delay > 0:
            r.zadd(self.keys.delayed, {task_id: task.created_at + delay})
        else:
            r.lpush(self.keys.pending(priority), task_id)
        return task

    # -- worker --------------------------------------------------------------------

    def claim(self, worker_id: str, lease_seconds: float) -> Task | None:
        r = self.client
        self._promote_delayed()
        self._maybe_reap(worker_id)
        for priority in reversed(PRIORITIES):
            task_id = text(r.rpop(self.keys.pending(priority)))
            if task_id is None:
                continue
            # The record is written while the popped id is still invisible to everyone
            # else (no lease key, not in inprog).  Written after the lease key, it could
            # land after a stall past the lease, once the reaper had requeued the task
            # and another worker claimed or completed it, and overwrite their record.
            raw = r.hget(self.keys.tasks, task_id)
            if raw is None:
                continue
            task = task_from_record(raw)
            task.status = "in_progress"
            task.attempts += 1
            task.worker_id = worker_id
            task.lease_until = now() + lease_seconds
            r.hset(self.keys.tasks, task_id, task_to_record(task))
            r.set(self.keys.lease(task_id), worker_id, px=to_ms(lease_seconds))
            r.sadd(self.keys.inprog, task_id)
            return task
        return None

    def _promote_delayed(self) -> None:
        r = self.client
        due = r.zrangebyscore(self.keys.delayed, "-inf", now(), 0, self.options.promote_batch)
        for raw_id in due:
            task_id = str(text(raw_id))
            if not r.zrem(self.keys.delayed, task_id):
                continue  # another claimer promoted it
            raw = r.hget(self.keys.tasks, task_id)
            if raw is None:
                continue
            task = task_from_record(raw)
            task.status = "pending"
            r.hset(self.keys.tasks, task_id, task_to_record(task))
            r.lpush(self.keys.pending(task.priority), task_id)

    def _maybe_reap(self, worker_id: str) -> None:
        r = self.client
        interval = self.options.reap_interval
        if interval > 0 and not r.set(self.keys.reap, worker_id, nx=True, px=to_ms(interval)):
            return
        for raw_id in r.smembers(self.keys.inprog):
            task_id = str(text(raw_id))
            if r.exists(self.keys.lease(task_id)):
                continue
            self._requeue_expired(task_id)

    def _requeue_expired(self, task_id: str) -> None:
        lease_key = self.keys.lease(task_id)
        for _ in range(_MAX_REAP_RETRIES):
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(lease_key, self.keys.inprog)
                    if not pipe.sismember(self.keys.inprog, task_id):
                        return
                    if pipe.exists(lease_key):
                        return
                    raw = pipe.hget(self.keys.tasks, task_id)
                    pipe.multi()
                    pipe.srem(self.keys.inprog, task_id)
                    if raw is not None:
                        task = task_from_record(raw)
                        task.worker_id = None
                        task.lease_until = None
                        task.error = "lease expired"
                        if task.attempts >= task.max_attempts:
                            task.status = "dead"
                            pipe.sadd(self.keys.dlq, task_id)
                        else:
                            task.status = "pending"
                            pipe.rpush(self.keys.pending(task.priority), task_id)
                        pipe.hset(self.keys.tasks, task_id, task_to_record(task))
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    def heartbeat(self, worker_id: str, task_ids: list[str], extend_seconds: float) -> int:
        r = self.client
        renewed = 0
        for task_id in task_ids:
            owner = text(r.get(self.keys.lease(task_id)))
            if owner != worker_id:
                continue
            r.pexpire(self.keys.lease(task_id), to_ms(extend_seconds))
            raw = r.hget(self.keys.tasks, task_id)
            if raw is not None:
                task = task_from_record(raw)
                task.lease_until = now() + extend_seconds
                r.hset(self.keys.tasks, task_id, task_to_record(task))
            renewed += 1
        return renewed

    def _release_owned(
        self, task_id: str, worker_id: str, finish: Callable[[Any, Task], None]
    ) -> bool:
        """End ``worker_id``'s lease on ``task_id`` atomically; False if it does not hold it.

        Checks the lease under ``WATCH lease:<id> inprog``, then, inside MULTI,
        ``finish(pipe, task)`` updates the task and queues its own writes; the lease key,
        the ``inprog`` entry and the updated record follow.  Retries on WatchError;
        every retry re-checks the owner.
        """
        lease_key = self.keys.lease(task_id)
        while True:
            with self.client.pipeline(transaction=True) as pipe:
                try:
                    pipe.watch(lease_key, self.keys.inprog)
                    if text(pipe.get(lease_key)) != worker_id:
                        return False
                    raw = pipe.hget(self.keys.tasks, task_id)
                    if raw is None:
                        return False
                    task = task_from_record(raw)
                    pipe.multi()
                    finish(pipe, task)
                    pipe.hset(self.keys.tasks, task_id, task_to_record(task))
                    pipe.srem(self.keys.inprog, task_id)
                    pipe.delete(lease_key)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    continue

    def nack(
        self, task_id: str, worker_id: str, delay: float | None = None, reason: str = ""
    ) -> bool:
        def retry_or_bury(pipe: Any, task: Task) -> None:
            task.worker_id = None
            task.lease_until = None
            if reason:
                task.error = reason
            if task.attempts >= task.max_attempts:
                task.status = "dead"
                pipe.sadd(self.keys.dlq, task_id)
                return
            if delay is None:
                wait = backoff_delay(
                    task.attempts, self.options.backoff_base, self.options.backoff_cap
                )
            else:
                wait = max(0.0, delay)
            if wait > 0:
                task.status = "delayed"
                pipe.zadd(self.keys.delayed, {task_id: now() + wait})
            else:
                task.status = "pending"
                pipe.lpush(self.keys.pending(task.priority), task_id)

        return self._release_owned(task_id, worker_id, retry_or_bury)

    def submit(self, task_id: str, worker_id: str, result: Any, status: str = "completed") -> bool:
        check_status(status)

        def complete(pipe: Any, task: Task) -> None:
            task.status = status
            task.lease_until = None
            pipe.hset(self.keys.results, task_id, json.dumps(result, separators=(",", ":")))

        return self._release_owned(task_id, worker_id, complete)

    def submit_many(self, worker_id: str, items: list[tuple[str, Any]]) -> int:
        done = 0
        for task_id, result in items:
            if self.submit(task_id, worker_id, result):
                done += 1
        return done

    # -- inspection ----------------------------------------------------------------

    def get(self, task_id: str) -> Task | None:
        r = self.client
        raw = r.hget(self.keys.tasks, task_id)
        result = r.hget(self.keys.results, task_id)
        if raw is None:
            return None
        return task_from_record(raw, result)

    def stats(self) -> dict[str, int]:
        r = self.client
        out: dict[str, int] = {}
        for priority in PRIORITIES:
            out[f"pending:{priority}"] = int(r.llen(self.keys.pending(priority)))
        out["pending"] = sum(out.values())
        out["delayed"] = int(r.zcard(self.keys.delayed))
        out["in_progress"] = int(r.scard(self.keys.inprog))
        out["dead"] = int(r.scard(self.keys.dlq))
        out["total"] = int(r.hlen(self.keys.tasks))
        out["results"] = int(r.hlen(self.keys.results))
        return out
