"""Behaviour tests of the reference task queue, run against both implementations.

Every test runs on a private redis-server (the ``redis_client`` fixture flushes it) for
``NaiveQueue`` and ``PipelinedQueue``; both must behave identically.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
from redis.crc import key_slot

from pipelint.queue import NaiveQueue, PipelinedQueue, TaskQueue
from pipelint.queue.base import PRIORITIES, STATS_FIELDS
from pipelint.server import RedisServer

IMPLS: dict[str, type[NaiveQueue] | type[PipelinedQueue]] = {
    "naive": NaiveQueue,
    "pipelined": PipelinedQueue,
}

QueueFactory = Callable[..., TaskQueue]

WINDOW = 1.0
"""Seconds a lease, delay or throttle lasts where a test checks what happens *before* it
runs out: far above a scheduling delay on a loaded machine.  Each such check is followed
by :func:`_in_time`, which says so if the machine was slower still."""


def _in_time(until: float, what: str) -> None:
    """Fail, naming the timing, unless the checks made so far ran before ``until``.

    ``until`` is a ``time.time()`` instant no later than the one where ``what`` runs out;
    call this after the checks but before asserting their results."""
    late = time.time() - until
    assert late < 0, f"timing: {what} ran out {late:.3f} s before the checks were done"


def _sleep_past(moment: float) -> None:
    """Sleep until ``time.time()`` is past ``moment``: a sleep is a lower bound anywhere."""
    time.sleep(max(0.0, moment - time.time()) + 0.02)


@pytest.fixture(params=sorted(IMPLS))
def make_queue(request: pytest.FixtureRequest, redis_client: redis.Redis) -> QueueFactory:
    """Build a queue of the parametrized implementation; fast reaper by default."""
    cls = IMPLS[request.param]

    def make(name: str = "jobs", **kwargs: Any) -> TaskQueue:
        kwargs.setdefault("reap_interval", 0.05)
        return cls(redis_client, name, **kwargs)

    return make


@pytest.fixture()
def q(make_queue: QueueFactory) -> TaskQueue:
    return make_queue()


def _claim_all(q: TaskQueue, worker: str = "w", lease: float = 5.0) -> list[Any]:
    out = []
    while (task := q.claim(worker, lease)) is not None:
        out.append(task)
    return out


def test_constructor_signature(redis_client: redis.Redis) -> None:
    for cls in IMPLS.values():
        q = cls(redis_client, "sig", prefix="bench:")
        assert q.name == "sig"
        assert q.keys.tasks == "bench:{q:sig}:tasks"


def test_priority_order_highest_first_fifo_within(q: TaskQueue) -> None:
    prios = [0, 5, 9, 3, 9, 1, 5]
    ids = [q.enqueue({"i": i}, priority=p).id for i, p in enumerate(prios)]
    claimed = _claim_all(q)
    # 9 is the highest priority; equal priorities come out in enqueue order
    expected = [ids[2], ids[4], ids[1], ids[6], ids[3], ids[5], ids[0]]
    assert [t.id for t in claimed] == expected
    assert all(t.status == "in_progress" and t.attempts == 1 for t in claimed)
    assert all(t.worker_id == "w" for t in claimed)


def test_invalid_priority_rejected(q: TaskQueue) -> None:
    for bad in (-1, 10):
        with pytest.raises(ValueError):
            q.enqueue("x", priority=bad)
    assert q.stats()["total"] == 0


def test_payload_round_trip_is_exact(q: TaskQueue) -> None:
    payload = {
        "big": 12345678901234567890,
        "float": 0.1 + 0.2,
        "empty_list": [],
        "empty_dict": {},
        "text": 'h\u00e9llo \u2603 \U0001f600 / \\ "q"',
        "nested": [1, [2, {"a": None, "b": True}]],
    }
    task = q.enqueue(payload)
    assert task.payload == payload
    got = q.get(task.id)
    assert got is not None and got.payload == payload
    claimed = q.claim("w", 5)
    assert claimed is not None and claimed.payload == payload
    assert q.submit(claimed.id, "w", {"echo": payload})
    done = q.get(task.id)
    assert done is not None
    assert done.payload == payload and done.result == {"echo": payload}


def test_get_unknown_is_none(q: TaskQueue) -> None:
    assert q.get("nope") is None


def test_delayed_task_becomes_visible(q: TaskQueue) -> None:
    task = q.enqueue("later", priority=7, delay=WINDOW)
    stats = q.stats()
    early = q.claim("w", 5)
    got = q.get(task.id)
    _in_time(task.created_at + WINDOW, f"the {WINDOW} s delay")
    assert task.status == "delayed"
    assert stats["delayed"] == 1
    assert early is None
    assert got is not None and got.status == "delayed"
    _sleep_past(task.created_at + WINDOW)
    claimed = q.claim("w", 5)
    assert claimed is not None and claimed.id == task.id
    assert claimed.priority == 7 and claimed.status == "in_progress"
    assert q.stats()["delayed"] == 0


def test_promoted_delayed_task_keeps_priority(q: TaskQueue) -> None:
    low = q.enqueue("low", priority=1)
    high = q.enqueue("high", priority=8, delay=0.1)
    time.sleep(0.15)
    assert [t.id for t in _claim_all(q)] == [high.id, low.id]


def test_expired_lease_is_requeued(q: TaskQueue) -> None:
    task = q.enqueue("job")
    start = time.time()
    first = q.claim("w1", WINDOW)
    claimed = time.time()
    early = q.claim("w2", 5)
    _in_time(start + WINDOW, f"w1's {WINDOW} s lease")
    assert first is not None and first.id == task.id
    assert early is None  # still leased
    _sleep_past(claimed + WINDOW)
    second = q.claim("w2", 5)
    assert second is not None and second.id == task.id
    assert second.attempts == 2 and second.worker_id == "w2"
    assert second.error == "lease expired"
    # the worker that lost its lease can neither submit nor renew
    assert q.submit(task.id, "w1", "late") is False
    assert q.heartbeat("w1", [task.id], 5) == 0
    assert q.submit(task.id, "w2", "ok") is True
    done = q.get(task.id)
    assert done is not None and done.status == "completed" and done.result == "ok"


def test_reaper_is_throttled(make_queue: QueueFactory, redis_client: redis.Redis) -> None:
    interval = WINDOW + 0.2
    q = make_queue(reap_interval=interval)
    task = q.enqueue("job")
    start = time.time()
    first = q.claim("w1", 0.1)  # this claim takes the reap throttle
    claimed = time.time()
    throttle_ttl = redis_client.pttl(q.keys.reap)
    _sleep_past(claimed + 0.1)  # w1's lease has run out
    early = q.claim("w2", 5)
    _in_time(start + interval, f"the {interval} s reap throttle")
    assert first is not None
    assert throttle_ttl > 0
    assert early is None  # lease expired, but the reaper may not run yet
    _sleep_past(claimed + interval)
    again = q.claim("w2", 5)
    assert again is not None and again.id == task.id


def test_expired_lease_dead_letters_after_max_attempts(q: TaskQueue) -> None:
    task = q.enqueue("poison", max_attempts=1)
    assert q.claim("w1", 0.1) is not None
    time.sleep(0.2)
    assert q.claim("w2", 5) is None
    got = q.get(task.id)
    assert got is not None and got.status == "dead"
    stats = q.stats()
    assert stats["dead"] == 1 and stats["in_progress"] == 0 and stats["pending"] == 0


def test_heartbeat_extends_only_own_leases(q: TaskQueue, redis_client: redis.Redis) -> None:
    for i in range(3):
        q.enqueue(i)
    extend = 10 * WINDOW
    start = time.time()
    a = q.claim("w1", WINDOW)
    b = q.claim("w1", WINDOW)
    c = q.claim("w2", WINDOW)
    claimed = time.time()
    assert a and b and c
    renewed_count = q.heartbeat("w1", [a.id, b.id, c.id, "missing"], extend)
    ttls = [redis_client.pttl(q.keys.lease(t.id)) for t in (a, b, c)]
    owner_of_c = redis_client.get(q.keys.lease(c.id))
    renewed = q.get(a.id)
    _in_time(start + WINDOW, f"the {WINDOW} s leases")
    assert renewed_count == 2
    assert q.heartbeat("w1", [], extend) == 0
    # a lease that was not extended has at most WINDOW left
    assert ttls[0] > WINDOW * 1000 and ttls[1] > WINDOW * 1000
    assert 0 < ttls[2] <= WINDOW * 1000
    assert owner_of_c == b"w2"
    assert renewed is not None and renewed.lease_until is not None
    assert renewed.lease_until > claimed + WINDOW
    _sleep_past(claimed + WINDOW)
    # only w2's lease expired
    again = q.claim("w3", 5)
    nothing = q.claim("w3", 5)
    submitted = q.submit(a.id, "w1", 1) and q.submit(b.id, "w1", 2)
    _in_time(start + extend, f"the {extend} s extension")
    assert again is not None and again.id == c.id
    assert nothing is None
    assert submitted


def test_nack_backoff_and_dead_letter(make_queue: QueueFactory, redis_client: redis.Redis) -> None:
    q = make_queue(backoff_base=10, backoff_cap=25)
    task = q.enqueue("flaky", priority=2, max_attempts=4)
    expected_delays = [10, 20, 25]  # base * 2**(attempts-1), capped
    for attempt, expected in enumerate(expected_delays, start=1):
        claimed = q.claim("w", 5)
        assert claimed is not None and claimed.id == task.id and claimed.attempts == attempt
        assert q.nack(task.id, "other") is False  # not the lease owner
        before = time.time()
        assert q.nack(task.id, "w", reason=f"boom {attempt}") is True
        score = redis_client.zscore(q.keys.delayed, task.id)
        assert score is not None
        assert before + expected - 0.05 <= score <= time.time() + expected + 0.05
        got = q.get(task.id)
        assert got is not None and got.status == "delayed" and got.error == f"boom {attempt}"
        assert redis_client.exists(q.keys.lease(task.id)) == 0
        assert q.stats()["in_progress"] == 0
        early = q.claim("w", 5)
        _in_time(before + expected, f"the {expected} s backoff")
        assert early is None  # not visible yet
        # the score proved the delay; rather than wait it out, make the task due now
        # (test_nack_with_explicit_delay waits for a real one)
        redis_client.zadd(q.keys.delayed, {task.id: time.time()}, xx=True)
    last = q.claim("w", 5)
    assert last is not None and last.attempts == 4
    assert q.nack(task.id, "w", reason="final") is True
    dead = q.get(task.id)
    assert dead is not None and dead.status == "dead" and dead.error == "final"
    assert redis_client.sismember(q.keys.dlq, task.id)
    stats = q.stats()
    assert stats["dead"] == 1 and stats["delayed"] == 0 and stats["pending"] == 0
    assert q.claim("w", 5) is None


def test_nack_with_explicit_delay(q: TaskQueue) -> None:
    task = q.enqueue("x", max_attempts=10)
    assert q.claim("w", 5) is not None
    assert q.nack(task.id, "w", delay=0) is True
    got = q.get(task.id)
    assert got is not None and got.status == "pending"
    again = q.claim("w", 5)
    assert again is not None and again.id == task.id and again.attempts == 2
    start = time.time()
    assert q.nack(task.id, "w", delay=WINDOW) is True
    nacked = time.time()
    early = q.claim("w", 5)
    _in_time(start + WINDOW, f"the {WINDOW} s nack delay")
    assert early is None
    _sleep_past(nacked + WINDOW)
    third = q.claim("w", 5)
    assert third is not None and third.attempts == 3


def test_idempotent_enqueue(q: TaskQueue, redis_client: redis.Redis) -> None:
    first = q.enqueue({"n": 1}, idempotency_key="order-42")
    dup = q.enqueue({"n": 2}, priority=9, idempotency_key="order-42")
    other = q.enqueue({"n": 3}, idempotency_key="order-43")
    assert dup.id == first.id and dup.payload == {"n": 1}
    assert other.id != first.id
    assert q.stats()["total"] == 2 and q.stats()["pending"] == 2
    ttl = redis_client.ttl(q.keys.idem("order-42"))
    assert 0 < ttl <= 24 * 3600
    claimed = _claim_all(q)
    assert sorted(t.id for t in claimed) == sorted([first.id, other.id])
    assert q.submit(first.id, "w", "done")
    again = q.enqueue({"n": 4}, idempotency_key="order-42")
    assert again.id == first.id and again.status == "completed" and again.result == "done"
    assert q.claim("w", 5) is None


def test_idempotency_key_expires(make_queue: QueueFactory) -> None:
    q = make_queue(idempotency_ttl=0.1)
    first = q.enqueue(1, idempotency_key="k")
    time.sleep(0.15)
    second = q.enqueue(2, idempotency_key="k")
    assert second.id != first.id


def test_submit_only_by_lease_owner(q: TaskQueue, redis_client: redis.Redis) -> None:
    task = q.enqueue("job")
    assert q.submit(task.id, "w1", "too early") is False  # nobody holds it
    assert q.claim("w1", 5) is not None
    assert q.submit(task.id, "w2", "thief") is False
    assert q.submit("missing", "w1", "?") is False
    assert q.submit(task.id, "w1", {"answer": 42}) is True
    assert q.submit(task.id, "w1", "twice") is False
    done = q.get(task.id)
    assert done is not None
    assert done.status == "completed" and done.result == {"answer": 42}
    assert redis_client.exists(q.keys.lease(task.id)) == 0
    assert redis_client.sismember(q.keys.inprog, task.id) == 0
    assert redis_client.hlen(q.keys.results) == 1


def test_submit_failed_status(q: TaskQueue) -> None:
    task = q.enqueue("job")
    assert q.claim("w", 5) is not None
    with pytest.raises(ValueError):
        q.submit(task.id, "w", None, status="bogus")
    assert q.submit(task.id, "w", {"error": "bad input"}, status="failed") is True
    got = q.get(task.id)
    assert got is not None and got.status == "failed" and got.result == {"error": "bad input"}


def test_submit_many(q: TaskQueue) -> None:
    for i in range(7):
        q.enqueue(i)
    mine = [q.claim("w1", 5) for _ in range(5)]
    theirs = q.claim("w2", 5)
    assert all(mine) and theirs is not None
    items = [(t.id, {"sq": t.payload**2}) for t in mine if t is not None]
    items += [(theirs.id, "not mine"), ("missing", 0)]
    assert q.submit_many("w1", items) == 5
    assert q.submit_many("w1", []) == 0
    for t in mine:
        assert t is not None
        got = q.get(t.id)
        assert got is not None and got.status == "completed" and got.result == {"sq": t.payload**2}
    still = q.get(theirs.id)
    assert still is not None and still.status == "in_progress"
    stats = q.stats()
    assert stats["results"] == 5 and stats["in_progress"] == 1 and stats["pending"] == 1


def test_stats(q: TaskQueue) -> None:
    empty = q.stats()
    assert set(STATS_FIELDS) <= set(empty)
    assert all(f"pending:{p}" in empty for p in PRIORITIES)
    assert all(v == 0 for v in empty.values())
    a = q.enqueue("a", priority=9)
    b = q.enqueue("b", priority=9)
    q.enqueue("c", priority=0)
    q.enqueue("e", delay=60)
    d = q.enqueue("d", priority=4, max_attempts=1)
    q.enqueue("f", priority=4)
    assert q.stats()["pending"] == 5
    claimed = [q.claim("w", 5) for _ in range(3)]
    assert [t.id if t else None for t in claimed] == [a.id, b.id, d.id]
    assert q.submit(b.id, "w", "ok") is True
    assert q.nack(d.id, "w") is True  # max_attempts=1: dead-lettered
    stats = q.stats()
    expected = {f"pending:{p}": 0 for p in PRIORITIES}
    expected.update(
        {
            "pending:0": 1,
            "pending:4": 1,
            "pending": 2,
            "delayed": 1,
            "in_progress": 1,
            "dead": 1,
            "total": 6,
            "results": 1,
        }
    )
    assert stats == expected


def test_keys_share_hash_tag_and_prefix(
    make_queue: QueueFactory, redis_client: redis.Redis
) -> None:
    q = make_queue("orders", prefix="bench:")
    task = q.enqueue("x", idempotency_key="k")
    q.enqueue("y", delay=30)
    claimed = q.claim("w", 5)
    assert claimed is not None
    q.claim("w2", 0.05)  # nothing left, but takes the reap throttle
    keys = [k.decode() for k in redis_client.keys("*")]
    assert keys and all(k.startswith("bench:{q:orders}:") for k in keys)
    assert len({key_slot(k.encode()) for k in keys}) == 1
    assert q.keys.lease(task.id) in keys


def test_decode_responses_client(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        for name, cls in IMPLS.items():
            q = cls(client, f"decoded-{name}", reap_interval=0.05)
            task = q.enqueue({"a": 1}, idempotency_key="k")
            assert q.enqueue({"a": 2}, idempotency_key="k").id == task.id
            claimed = q.claim("w", 0.1)
            assert claimed is not None and claimed.id == task.id
            time.sleep(0.15)
            again = q.claim("w2", 5)
            assert again is not None and again.id == task.id
            assert q.heartbeat("w2", [task.id], 5) == 1
            assert q.submit(task.id, "w2", [1, 2])
            got = q.get(task.id)
            assert got is not None and got.result == [1, 2]
    finally:
        client.flushall()
        client.close()


def test_scripts_reload_after_script_flush(redis_client: redis.Redis) -> None:
    q = PipelinedQueue(redis_client, "flush")
    task = q.enqueue("x")
    redis_client.script_flush()
    claimed = q.claim("w", 5)  # EVALSHA -> NOSCRIPT -> SCRIPT LOAD -> EVALSHA
    assert claimed is not None and claimed.id == task.id
    redis_client.script_flush()
    assert q.submit(task.id, "w", 1)


class CommandLog:
    """Top-level commands the server received from clients (MONITOR, scripts excluded)."""

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.commands: list[str] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.client.monitor() as monitor:
            self._ready.set()
            for event in monitor.listen():
                command = str(event["command"])
                if command == "ECHO __stop__":
                    return
                name = command.split()[0].upper()
                # skip script-internal commands and connection handshakes
                if event.get("client_type") != "lua" and name not in ("HELLO", "CLIENT"):
                    self.commands.append(name)

    def __enter__(self) -> CommandLog:
        self._thread.start()
        # MONITOR has replied OK when _ready is set: every later command is seen
        assert self._ready.wait(60), "timing: MONITOR did not start within 60 s"
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.echo("__stop__")
        self._thread.join(60)
        self.client.close()
        assert not self._thread.is_alive(), "timing: MONITOR did not see the end within 60 s"


@pytest.mark.parametrize("impl", sorted(IMPLS))
def test_round_trips(impl: str, redis_client: redis.Redis, redis_server: RedisServer) -> None:
    """Pipelined: one EVALSHA per operation (claim: two); naive: many."""
    q = IMPLS[impl](redis_client, "rt", reap_interval=60)
    for i in range(4):
        q.enqueue(i)
    warm = q.claim("w", 5)  # loads scripts, takes the reap throttle
    assert warm is not None
    q.heartbeat("w", [warm.id], 5)
    q.nack(warm.id, "w", delay=0)
    warm = q.claim("w", 5)
    assert warm is not None and q.submit(warm.id, "w", 0)
    with CommandLog(redis_server.url) as log:
        t = q.claim("w", 5)
        assert t is not None
        assert q.heartbeat("w", [t.id], 5) == 1
        assert q.submit(t.id, "w", 1)
        t2 = q.claim("w", 5)
        assert t2 is not None
        assert q.nack(t2.id, "w", delay=0)
        items = [q.claim("w", 5) for _ in range(2)]
        assert q.submit_many("w", [(x.id, 1) for x in items if x]) == 2
    ops = 8  # 4 claims, heartbeat, submit, nack, submit_many
    if impl == "pipelined":
        # each claim is two scripts: pop + record, then the lease key
        assert log.commands == ["EVALSHA"] * (ops + 4), " ".join(log.commands)
    else:
        assert len(log.commands) > 5 * (ops + 4), log.commands


def test_pipelined_stale_claim_cannot_take_the_lease(redis_client: redis.Redis) -> None:
    """White box: a worker that stalls past its lease between the claim's two scripts."""
    q = PipelinedQueue(redis_client, "stall", reap_interval=0.01)
    task = q.enqueue("x")

    def first_half(worker: str) -> Any:
        reply = q._claim(
            keys=q._claim_keys, args=[worker, f"{time.time():.6f}", 100, 10, 100, 100, "claim"]
        )
        return reply

    def second_half(worker: str, attempts: int) -> int:
        return int(
            q._lease(
                keys=[q.keys.tasks, q.keys.lease(task.id)],
                args=[task.id, worker, attempts, 100],
            )
        )

    assert first_half("stalled")[0] == b"task"  # ...and the worker stalls here
    time.sleep(0.15)
    assert q.claim("reaper", 5) is not None  # reaps the task, then re-claims it
    assert second_half("stalled", 1) == 0
    reclaimed = q.get(task.id)
    assert reclaimed is not None and reclaimed.worker_id == "reaper"
    # the re-claim's own lease step succeeded; the stalled worker cannot submit
    assert q.submit(task.id, "stalled", "late") is False
    assert second_half("reaper", 2) == 0  # NX: a lease key exists already


class _StallAfterSadd(redis.Redis):
    """A real client whose first SADD (the naive claim's ``inprog`` write) runs
    ``during_stall`` right after it: what other workers do while this one is descheduled."""

    during_stall: Callable[[], None] | None = None

    def sadd(self, name: Any, *values: Any) -> Any:
        reply = super().sadd(name, *values)
        hook, self.during_stall = self.during_stall, None
        if hook is not None:
            hook()
        return reply


def test_naive_claim_stalled_past_its_lease_keeps_the_record(
    redis_server: RedisServer, redis_client: redis.Redis
) -> None:
    """A claimer descheduled past its lease in the middle of ``claim``: meanwhile the
    reaper requeues the task and another worker completes it; the late claimer must not
    overwrite that record (the naive claim wrote it last, after the lease key)."""
    stalling = _StallAfterSadd.from_url(redis_server.url)
    slow = NaiveQueue(stalling, "stall", reap_interval=60)
    other = NaiveQueue(redis_client, "stall", reap_interval=0)  # reaps on every claim
    task = slow.enqueue("x")

    def other_worker_runs() -> None:
        lease = slow.keys.lease(task.id)
        limit = time.monotonic() + 30
        while redis_client.exists(lease):  # the stalled claimer's lease runs out
            assert time.monotonic() < limit, "timing: a 0.05 s lease still held after 30 s"
            time.sleep(0.01)
        again = other.claim("w2", 5)
        assert again is not None and again.id == task.id
        assert other.submit(task.id, "w2", "done")

    stalling.during_stall = other_worker_runs
    try:
        late = slow.claim("w1", 0.05)
        assert late is None or late.id == task.id
        assert slow.submit(task.id, "w1", "late") is False
        done = slow.get(task.id)
        assert done is not None
        assert (done.status, done.worker_id, done.result) == ("completed", "w2", "done")
        assert redis_client.sismember(slow.keys.inprog, task.id) == 0
    finally:
        stalling.close()
