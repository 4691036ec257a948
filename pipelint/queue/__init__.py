"""Reference task queue (a Python port of codeQ's task model) in two implementations.

* :class:`NaiveQueue` -- one command per round trip, the usual first version;
* :class:`PipelinedQueue` -- Lua scripts and pipelines, one round trip per operation.

Both are constructed as ``Queue(client, name, *, prefix="")`` from a sync
``redis.Redis`` or ``redis.cluster.RedisCluster`` and share keys and semantics
(documented in :mod:`pipelint.queue.base`).
"""

from pipelint.queue.base import QueueKeys, QueueOptions, Task, TaskQueue
from pipelint.queue.naive import NaiveQueue
from pipelint.queue.pipelined import PipelinedQueue

__all__ = ["NaiveQueue", "PipelinedQueue", "QueueKeys", "QueueOptions", "Task", "TaskQueue"]
