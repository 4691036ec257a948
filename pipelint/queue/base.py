"""The task model and interface both queue implementations (naive, pipelined) share.

This is a Python port of the task model of codeQ, a Go task queue on Redis.

Key layout
----------
Every key of one queue starts with ``{prefix}{q:NAME}`` (see :class:`QueueKeys`).  The
``{q:NAME}`` hash tag puts all of them in one Redis Cluster slot, so a single Lua script
(or a MULTI/EXEC transaction) may touch any of them, also on a cluster.  The optional
prefix goes *before* the hash tag, so it isolates benchmark runs without changing the
slot logic.

=====================  ======  ==========================================================
key                    type    content
=====================  ======  ==========================================================
``…:tasks``            HASH    task id -> task record (JSON, see :func:`task_to_record`)
``…:pending:<p>``      LIST    ids ready to run, one list per priority ``p`` in 0..9;
                               enqueue LPUSHes, claim RPOPs (FIFO within a priority)
``…:inprog``           SET     ids currently leased to a worker
``…:leases``           ZSET    lease index: id -> lease expiry (unix seconds); lets the
                               reaper find expired leases without scanning ``inprog``
``…:delayed``          ZSET    id -> visible-at (unix seconds)
``…:dlq``              SET     dead-lettered ids (attempts exhausted)
``…:lease:<id>``       STRING  the worker id holding the lease, with a PX TTL
``…:results``          HASH    task id -> result (JSON)
``…:idem:<key>``       STRING  idempotency key -> task id, with a TTL
``…:reap``             STRING  throttle for the lease reaper (SET NX PX)
=====================  ======  ==========================================================

Semantics (identical in both implementations)
---------------------------------------------
* Priorities are 0..9 and **9 is the highest**: ``claim`` pops ``pending:9`` first.
* ``claim`` first moves due delayed tasks to their pending list, then (at most once per
  ``reap_interval`` per queue, guarded by the ``reap`` key) requeues tasks whose lease
  expired: they are in ``inprog`` but ``lease:<id>`` is gone.  Then it pops the highest
  priority task, increments ``attempts`` and records the lease.
* A lease that expires counts as a failed attempt: the reaper requeues the task at the
  *front* of its priority (it waited long enough already) or dead-letters it when
  ``attempts >= max_attempts``.
* ``nack`` (only by the lease owner) retries after ``delay`` or, when ``delay is None``,
  after ``backoff_base * 2 ** (attempts - 1)`` seconds capped at ``backoff_cap``;
  when ``attempts >= max_attempts`` the task goes to the dead-letter set instead.
* ``submit`` is accepted only from the current lease owner (the ``lease:<id>`` key holds
  its worker id and has not expired); it stores the result, marks the task, removes it
  from ``inprog`` and deletes the lease.  So a task is completed at most once, even when
  a worker that lost its lease comes back.
* Times are client wall-clock seconds (``time.time()``), passed to scripts as arguments.

Task records
------------
The record stored in ``tasks`` is the :class:`Task` as JSON, except that ``payload`` and
``extra`` are stored as JSON *text* (a string inside the JSON) and ``result`` lives in the
``results`` hash.  Lua scripts decode and re-encode records with cjson, which would round
numbers to 14 significant digits and turn ``[]`` into ``{}``; keeping the user's data as an
opaque string makes the round trip exact.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeAlias

import redis
import redis.cluster

RedisClient: TypeAlias = redis.Redis | redis.cluster.RedisCluster
"""What a queue is constructed from: a standalone or a cluster client (sync)."""

MIN_PRIORITY = 0
MAX_PRIORITY = 9
PRIORITIES = range(MIN_PRIORITY, MAX_PRIORITY + 1)
"""Priorities, lowest first. Claim pops the highest (``MAX_PRIORITY``) first."""

STATUSES = ("pending", "delayed", "in_progress", "completed", "failed", "dead")


@dataclass
class Task:
    id: str
    payload: Any
    priority: int = 5
    status: str = "pending"  # pending | delayed | in_progress | completed | failed | dead
    attempts: int = 0
    max_attempts: int = 5
    created_at: float = 0.0
    worker_id: str | None = None
    lease_until: float | None = None
    result: Any = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> Task:
        return cls(**json.loads(raw))


def new_task(task_id: str, payload: Any, priority: int, delay: float, max_attempts: int) -> Task:
    """A task enqueued now: ``delayed`` when ``delay > 0``, else ``pending``."""
    return Task(
        id=task_id,
        payload=payload,
        priority=priority,
        status="delayed" if delay > 0 else "pending",
        max_attempts=max_attempts,
        created_at=now(),
    )


def task_to_record(task: Task) -> str:
    """The JSON stored in the ``tasks`` hash (payload/extra as opaque JSON text)."""
    data = asdict(task)
    data["payload"] = json.dumps(task.payload, separators=(",", ":"))
    data["extra"] = json.dumps(task.extra, separators=(",", ":"))
    del data["result"]
    return json.dumps(data, separators=(",", ":"))


def task_from_record(raw: str | bytes, result: str | bytes | None = None) -> Task:
    """Inverse of :func:`task_to_record`; ``result`` is the raw ``results`` hash value."""
    data = json.loads(raw)
    data["payload"] = json.loads(data["payload"])
    extra = data.get("extra")
    data["extra"] = json.loads(extra) if isinstance(extra, str) else (extra or {})
    data["result"] = json.loads(result) if result is not None else None
    return Task(**data)


def text(value: str | bytes | None) -> str | None:
    """Decode a reply that may be bytes (``decode_responses=False``) or str."""
    if isinstance(value, bytes):
        return value.decode()
    return value


def check_priority(priority: int) -> int:
    if not isinstance(priority, int) or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise ValueError(f"priority must be an int in {MIN_PRIORITY}..{MAX_PRIORITY}")
    return priority


def check_status(status: str) -> str:
    """The final status ``submit`` accepts: ``completed`` or ``failed``."""
    if status not in ("completed", "failed"):
        raise ValueError("status must be 'completed' or 'failed'")
    return status


def to_ms(seconds: float) -> int:
    """Seconds to a positive number of milliseconds (Redis TTLs must be >= 1)."""
    return max(1, int(round(seconds * 1000)))


def now() -> float:
    return time.time()


def backoff_delay(attempts: int, base: float, cap: float) -> float:
    """``base * 2 ** (attempts - 1)`` capped at ``cap`` (attempts counts from 1)."""
    return float(min(cap, base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class QueueKeys:
    """Key names of one queue; all share the ``{q:NAME}`` hash tag (one cluster slot)."""

    name: str
    prefix: str = ""

    @property
    def base(self) -> str:
        return f"{self.prefix}{{q:{self.name}}}"

    @property
    def tasks(self) -> str:
        return f"{self.base}:tasks"

    def pending(self, priority: int) -> str:
        return f"{self.base}:pending:{priority}"

    @property
    def all_pending(self) -> list[str]:
        """``pending:0`` .. ``pending:9`` (index = priority)."""
        return [self.pending(p) for p in PRIORITIES]

    @property
    def inprog(self) -> str:
        return f"{self.base}:inprog"

    @property
    def leases(self) -> str:
        return f"{self.base}:leases"

    @property
    def delayed(self) -> str:
        return f"{self.base}:delayed"

    @property
    def dlq(self) -> str:
        return f"{self.base}:dlq"

    def lease(self, task_id: str) -> str:
        return f"{self.base}:lease:{task_id}"

    @property
    def results(self) -> str:
        return f"{self.base}:results"

    def idem(self, key: str) -> str:
        return f"{self.base}:idem:{key}"

    @property
    def reap(self) -> str:
        return f"{self.base}:reap"


@dataclass
class QueueOptions:
    """Tunables shared by both implementations (keyword-only constructor arguments)."""

    idempotency_ttl: float = 24 * 3600.0
    backoff_base: float = 1.0
    backoff_cap: float = 300.0
    reap_interval: float = 1.0
    promote_batch: int = 100
    reap_batch: int = 100


class QueueBase:
    """Construction shared by both implementations.

    ``client`` is a sync ``redis.Redis`` or ``redis.cluster.RedisCluster``; the keys of
    queue ``name`` are ``f"{prefix}{{q:{name}}}:..."``; the other keywords are the
    :class:`QueueOptions` tunables.
    """

    def __init__(
        self,
        client: RedisClient,
        name: str,
        *,
        prefix: str = "",
        idempotency_ttl: float = QueueOptions.idempotency_ttl,
        backoff_base: float = QueueOptions.backoff_base,
        backoff_cap: float = QueueOptions.backoff_cap,
        reap_interval: float = QueueOptions.reap_interval,
    ) -> None:
        self.client = client
        self.name = name
        self.keys = QueueKeys(name, prefix)
        self.options = QueueOptions(
            idempotency_ttl=idempotency_ttl,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            reap_interval=reap_interval,
        )


STATS_FIELDS = ("pending", "delayed", "in_progress", "dead", "total", "results")
"""Keys of :meth:`TaskQueue.stats` besides the per-priority ``pending:<p>`` counts."""


class TaskQueue(Protocol):
    name: str
    keys: QueueKeys

    def enqueue(
        self,
        payload: Any,
        priority: int = 5,
        delay: float = 0,
        max_attempts: int = 5,
        idempotency_key: str | None = None,
    ) -> Task: ...

    def claim(self, worker_id: str, lease_seconds: float) -> Task | None: ...

    def heartbeat(self, worker_id: str, task_ids: list[str], extend_seconds: float) -> int: ...

    def nack(
        self, task_id: str, worker_id: str, delay: float | None = None, reason: str = ""
    ) -> bool: ...

    def submit(
        self, task_id: str, worker_id: str, result: Any, status: str = "completed"
    ) -> bool: ...

    def submit_many(self, worker_id: str, items: list[tuple[str, Any]]) -> int: ...

    def get(self, task_id: str) -> Task | None: ...

    def stats(self) -> dict[str, int]: ...
