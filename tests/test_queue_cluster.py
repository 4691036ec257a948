"""The queue on a local 3-master Redis Cluster (``pipelint.server.cluster.LocalCluster``).

Queue names are chosen so their ``{q:NAME}`` hash tags land on different masters; every
script call passes all its keys in KEYS, in one slot, so the same code runs unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
import redis.cluster

from pipelint.queue import NaiveQueue, PipelinedQueue
from pipelint.queue.base import QueueKeys
from pipelint.server import RedisServerError
from pipelint.server.cluster import CLUSTER_SLOTS, LocalCluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    try:
        with LocalCluster(masters=3) as c:
            yield c
    except RedisServerError as exc:  # pragma: no cover - environment problem
        pytest.skip(f"cannot start a local cluster: {exc}")


@pytest.fixture()
def rc(cluster: LocalCluster) -> Iterator[redis.cluster.RedisCluster]:
    client = cluster.client()
    client.flushall(target_nodes=redis.cluster.RedisCluster.PRIMARIES)
    yield client
    client.close()


def _names_on_distinct_nodes(rc: redis.cluster.RedisCluster, count: int) -> list[str]:
    """Queue names whose hash tags are served by ``count`` different masters."""
    by_node: dict[str, str] = {}
    for i in range(1000):
        name = f"orders{i}"
        node = rc.get_node_from_key(QueueKeys(name).tasks)
        by_node.setdefault(node.name, name)
        if len(by_node) == count:
            break
    return list(by_node.values())


def test_cluster_is_formed(cluster: LocalCluster, rc: redis.cluster.RedisCluster) -> None:
    assert len(cluster.ports) == 3
    primaries = rc.get_primaries()
    assert len(primaries) == 3
    slots = rc.cluster_slots()
    assert sum(end - start + 1 for start, end in slots) == CLUSTER_SLOTS
    for port in cluster.ports:
        node = redis.Redis(host=cluster.host, port=port)
        try:
            assert "cluster_state:ok" in node.execute_command("CLUSTER", "INFO").decode()
        finally:
            node.close()


@pytest.mark.parametrize("cls", [PipelinedQueue, NaiveQueue], ids=["pipelined", "naive"])
def test_queue_on_cluster(
    cls: type[PipelinedQueue] | type[NaiveQueue], rc: redis.cluster.RedisCluster
) -> None:
    names = _names_on_distinct_nodes(rc, 3)
    assert len(names) == 3
    for name in names:
        q = cls(rc, name, prefix="c:", reap_interval=0.05, backoff_base=0.05)
        low = q.enqueue({"n": 1}, priority=1)
        high = q.enqueue({"n": 2}, priority=8, idempotency_key="once")
        assert q.enqueue({"n": 3}, idempotency_key="once").id == high.id

        t = q.claim("w1", 5)
        assert t is not None and t.id == high.id
        assert q.heartbeat("w1", [t.id], 10) == 1
        assert q.heartbeat("w2", [t.id], 10) == 0
        assert q.submit(t.id, "w2", "thief") is False
        assert q.nack(t.id, "w1", reason="retry") is True  # backoff 0.05 s
        # enqueued after the first claim, which must not depend on how fast this runs
        later = q.enqueue({"n": 4}, priority=9, delay=0.1)
        time.sleep(0.12)
        # the delayed priority-9 task and the nacked priority-8 one are both due now
        t = q.claim("w1", 5)
        assert t is not None and t.id == later.id
        assert q.submit(t.id, "w1", {"ok": True}) is True
        t = q.claim("w1", 0.1)
        assert t is not None and t.id == high.id and t.attempts == 2
        time.sleep(0.15)  # lease expires
        t = q.claim("w2", 5)
        assert t is not None and t.id == high.id and t.attempts == 3
        assert q.submit(high.id, "w1", "late") is False
        t2 = q.claim("w2", 5)
        assert t2 is not None and t2.id == low.id
        assert q.submit_many("w2", [(high.id, 1), (low.id, 2)]) == 2
        assert q.claim("w2", 5) is None

        stats = q.stats()
        assert stats["results"] == 3 and stats["total"] == 3
        assert stats["pending"] == stats["in_progress"] == stats["delayed"] == 0
        done = q.get(high.id)
        assert done is not None and done.status == "completed" and done.result == 1

    # each queue's keys all live on the master that owns its hash tag
    for name in names:
        keys = QueueKeys(name, "c:")
        node = rc.get_node_from_key(keys.tasks)
        on_node = {k.decode() for k in rc.keys(target_nodes=node)}
        assert keys.tasks in on_node and keys.results in on_node


def test_pipelined_survives_script_flush(rc: redis.cluster.RedisCluster) -> None:
    q = PipelinedQueue(rc, "flushme", reap_interval=0.01)
    task = q.enqueue("x")
    assert q.claim("w", 0.01) is not None  # loads the claim script
    rc.script_flush()  # every primary
    node = rc.get_node_from_key(q.keys.tasks)
    direct = redis.Redis(host=node.host, port=node.port)
    try:
        assert direct.script_exists(q._claim.sha) == [False]
    finally:
        direct.close()
    time.sleep(0.05)
    t = q.claim("w", 5)  # NOSCRIPT -> SCRIPT LOAD -> EVALSHA
    assert t is not None and t.id == task.id
    assert q.submit(t.id, "w", 1)
