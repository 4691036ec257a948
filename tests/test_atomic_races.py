"""The anomalies RP201, RP202 and RP203 report, shown on a private Redis with the code
of their fix cases (``fixtures/RP20x/fix/``), and gone with the fixed code.

- Lost updates (RP201): clients that all read before any writes. A client subclass
  waits at a barrier after each ``GET`` reply, which forces that interleaving every
  time (no sleeps, no timing): the fixed code sends no ``GET``, so it never waits.
- A crash between two commands (RP202, RP203, and RP201's pop then push): the code
  runs in a child process that is killed right after its first reply arrives, i.e.
  after the first round trip the server has fully executed. The original is then
  caught between its commands (a key without a TTL, a popped task in no list); the
  fixed code did everything in that one round trip. Its scripts are loaded first, as
  on a server that has run them before (else the first reply is ``NOSCRIPT``).

Assertions are on counts and on the keyspace, never on timings.
"""

from __future__ import annotations

import inspect
import multiprocessing
import os
import signal
import threading
import types
from pathlib import Path
from typing import Any

import pytest
import redis
from redis.commands.core import Script

from pipelint.server import RedisServer
from tests.fixture_support import FIXTURES

_FORK = multiprocessing.get_context("fork") if hasattr(os, "fork") else None
pytestmark = pytest.mark.skipif(_FORK is None, reason="needs fork")


def _load(case: str, fixed: bool) -> types.ModuleType:
    path = FIXTURES / case
    if fixed:
        path = path.with_name(path.stem + ".fixed.py")
    module = types.ModuleType(f"race_{path.stem}")
    module.__file__ = str(path)
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)  # noqa: S102
    return module


@pytest.fixture()
def fresh(redis_server: RedisServer) -> Any:
    admin = redis.Redis(host=redis_server.host, port=redis_server.port)
    admin.flushall()
    os.environ["PIPELINT_FIXCASE_URL"] = redis_server.url
    yield admin
    admin.close()


# ---- lost updates ------------------------------------------------------------------------


class ReadsTogether(redis.Redis):
    """Every ``GET`` reply waits until all clients of the barrier have theirs."""

    barrier: threading.Barrier

    def get(self, name: Any) -> Any:
        value = super().get(name)
        self.barrier.wait(timeout=20)
        return value


def _bump_concurrently(
    module: types.ModuleType, server: RedisServer, clients: int, rounds: int
) -> None:
    barrier = threading.Barrier(clients)
    errors: list[BaseException] = []

    def worker() -> None:
        r = ReadsTogether(host=server.host, port=server.port)
        r.barrier = barrier
        try:
            for _ in range(rounds):
                module.bump(r, "hits")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()
        finally:
            r.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


def test_read_modify_write_loses_updates_and_incrby_does_not(
    fresh: redis.Redis, redis_server: RedisServer
) -> None:
    clients, rounds = 4, 5
    original = _load("RP201/fix/counter_get_set.py", fixed=False)
    _bump_concurrently(original, redis_server, clients, rounds)
    # every round all four read the same value and write it plus one
    assert int(fresh.get("hits")) == rounds  # 15 of 20 increments lost
    fresh.delete("hits")
    fixed = _load("RP201/fix/counter_get_set.py", fixed=True)
    _bump_concurrently(fixed, redis_server, clients, rounds)
    assert int(fresh.get("hits")) == clients * rounds


# ---- a crash between two commands --------------------------------------------------------


def _killed_after_first_reply(case: str, fixed: bool, call: str, *args: Any) -> bool:
    """Run ``module.<call>(*args)`` in a child killed once its first reply has arrived.
    Returns True when it was killed (False: it finished before any reply arrived)."""
    assert _FORK is not None
    parent_end, child_end = _FORK.Pipe()

    def child() -> None:
        module = _load(case, fixed)
        client = getattr(module, "r", None)
        if client is None:
            client = redis.Redis.from_url(os.environ["PIPELINT_FIXCASE_URL"])
        client.ping()  # connected: what follows is the function's own traffic
        for name, value in vars(module).items():  # a warm server knows the scripts
            if isinstance(value, Script):
                client.script_load(value.script)
            elif isinstance(value, str) and name.endswith("_LUA"):
                client.script_load(value)
        original = redis.connection.AbstractConnection.read_response

        def read_response(conn: Any, *a: Any, **kw: Any) -> Any:
            response = original(conn, *a, **kw)
            child_end.send("replied")
            threading.Event().wait()  # never returns: the parent kills us here
            return response

        redis.connection.AbstractConnection.read_response = read_response  # type: ignore[method-assign]
        fn = getattr(module, call)
        first = next(iter(inspect.signature(fn).parameters), None)
        fn(*([client] if first == "r" else []), *args)  # a client parameter, or a global
        child_end.send("done")

    proc = _FORK.Process(target=child)
    proc.start()
    try:
        assert parent_end.poll(30), "the child neither replied nor finished"
        message = parent_end.recv()
        os.kill(proc.pid, signal.SIGKILL)  # type: ignore[arg-type]
    finally:
        proc.join(30)
    return message == "replied"


@pytest.mark.parametrize(
    ("case", "call", "args"),
    [
        ("RP202/fix/set_expire.py", "save", ("session", "data")),
        ("RP202/fix/setnx_guard.py", "lock", ("lock:1", "me")),
        ("RP202/fix/first_increment.py", "count_request", ("rate:1",)),
        ("RP202/fix/hset_expire.py", "save", ("user:9", {"a": 1})),
    ],
)
def test_crash_between_write_and_ttl_leaves_a_key_without_ttl(
    fresh: redis.Redis, case: str, call: str, args: tuple[Any, ...]
) -> None:
    key = args[0]
    assert _killed_after_first_reply(case, False, call, *args)
    assert fresh.exists(key) and fresh.ttl(key) == -1  # the anomaly: it never expires
    fresh.flushall()
    _killed_after_first_reply(case, True, call, *args)
    assert fresh.exists(key) and fresh.ttl(key) > 0


def test_crash_between_pop_and_lease_loses_the_task(fresh: redis.Redis) -> None:
    def seed() -> None:
        fresh.flushall()
        fresh.rpush("queue", "t1", "t2")
        fresh.hset("task:t1", mapping={"job": "a"})
        fresh.hset("task:t2", mapping={"job": "b"})

    def where(task: bytes) -> list[str]:
        places = []
        if task in fresh.lrange("queue", 0, -1):
            places.append("queue")
        if fresh.zscore("leases", task) is not None:
            places.append("leases")
        return places

    seed()
    assert _killed_after_first_reply("RP203/fix/claim_chain.py", False, "claim", 1000)
    assert where(b"t2") == []  # popped, never leased: lost
    seed()
    _killed_after_first_reply("RP203/fix/claim_chain.py", True, "claim", 1000)
    assert where(b"t2") == ["leases"]


def test_crash_between_pop_and_push_loses_the_element(fresh: redis.Redis) -> None:
    fresh.rpush("list:1", "a", "b")
    assert _killed_after_first_reply("RP201/fix/move_guarded.py", False, "take_job")
    assert fresh.lrange("list:1", 0, -1) == [b"a"] and not fresh.exists("processing")
    fresh.delete("list:1", "processing")
    fresh.rpush("list:1", "a", "b")
    _killed_after_first_reply("RP201/fix/move_guarded.py", True, "take_job")
    assert fresh.lrange("list:1", 0, -1) == [b"a"]
    assert fresh.lrange("processing", 0, -1) == [b"b"]


def test_cases_exist() -> None:
    for case in (
        "RP201/fix/counter_get_set.py",
        "RP201/fix/move_guarded.py",
        "RP202/fix/set_expire.py",
        "RP203/fix/claim_chain.py",
    ):
        assert (FIXTURES / case).is_file()
        assert Path(FIXTURES / case).with_name(Path(case).stem + ".fixed.py").is_file()
