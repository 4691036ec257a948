"""The task-queue interface both implementations (naive, pipelined) provide."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol


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


class TaskQueue(Protocol):
    name: str

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
