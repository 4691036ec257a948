"""The round-trip recorder (``pipelint.testing``) against a real private Redis.

Exact counts for each shape of redis-py use, and the hooks' hygiene: restored on exit
(also after an exception), nothing left behind, thread- and task-safe.
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from pipelint.server import RedisServer, RedisServerError
from pipelint.server.cluster import LocalCluster
from pipelint.testing import Recorder, hooks, record_round_trips
from pipelint.testing.trips import command_keys, command_name, parse_packed

HERE = str(Path(__file__).resolve())


def _line(marker: str) -> int:
    """The line of this file that ends with ``# <marker>``."""
    for i, text in enumerate(Path(__file__).read_text().splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return i
    raise AssertionError(marker)


def _originals() -> dict[str, Any]:
    out = {}
    for spec, _role in hooks.PATCH_POINTS:
        found = hooks._resolve(spec)
        assert found is not None, spec
        out[spec] = found[2]
    return out


@pytest.fixture()
def r(redis_client: redis.Redis) -> redis.Redis:
    redis_client.ping()  # connected: no set-up inside the blocks below
    return redis_client


@pytest.fixture()
def no_outer_recorder() -> None:
    """These tests check the hooks' install/uninstall; a session trace would keep
    them installed."""
    if hooks.installed():
        pytest.skip("another recorder (e.g. --pipelint-trace) is running")


# --------------------------------------------------------------------------- counts


def test_sequence_counts_each_command_with_its_call_site(r: redis.Redis) -> None:
    with record_round_trips() as rec:
        r.set("a", 1)  # seq-set
        r.get("a")
        r.delete("a")
    assert rec.round_trips == 3
    assert rec.command_names == ["SET", "GET", "DEL"]
    first = rec.trips[0]
    assert first.site.file == HERE
    assert first.site.line == _line("seq-set")
    assert first.site.function == "test_sequence_counts_each_command_with_its_call_site"
    assert [c.keys for c in rec.commands] == [("a",), ("a",), ("a",)]
    assert all(t.kind() == "command" for t in rec.trips)
    assert [t.back_to_back for t in rec.trips[1:]] == [True, True]
    assert rec.housekeeping_trips == []


def test_loop_of_gets_is_one_round_trip_each(r: redis.Redis) -> None:
    with record_round_trips() as rec:
        for i in range(12):
            r.get(f"k{i}")  # loop-get
    assert rec.round_trips == 12
    assert rec.count("GET") == 12
    (site,) = rec.by_site()
    assert (site.path, site.line) == (HERE, _line("loop-get"))
    assert site.round_trips == 12
    assert all(t.back_to_back for t in rec.trips[1:])
    assert "GET ×12 in 12 round trips" in rec.report()


def test_helper_called_in_a_loop_is_repeated_by_the_caller(r: redis.Redis) -> None:
    def fetch(i: int) -> Any:
        return r.hgetall(f"h{i}")  # helper-send

    with record_round_trips() as rec:
        for i in range(5):
            fetch(i)  # caller-loop
    assert rec.round_trips == 5
    later = rec.trips[1:]
    assert not any(t.back_to_back for t in later)  # each fetch() is a new invocation
    assert {t.repeated_by.line for t in later if t.repeated_by} == {_line("caller-loop")}
    assert all(t.repeated_by is not None for t in later)
    assert rec.trips[0].site.line == _line("helper-send")


@pytest.mark.parametrize("transaction", [False, True])
def test_pipeline_is_one_round_trip(r: redis.Redis, transaction: bool) -> None:
    with record_round_trips() as rec:
        with r.pipeline(transaction=transaction) as pipe:
            for i in range(5):
                pipe.set(f"p{i}", i)
            pipe.execute()  # pipe-exec
    assert rec.round_trips == 1
    (trip,) = rec.trips
    assert trip.site.line == _line("pipe-exec")
    assert trip.pipeline == "Pipeline"
    assert trip.transaction is transaction
    names = ["SET"] * 5
    assert list(trip.names) == (["MULTI", *names, "EXEC"] if transaction else names)
    assert trip.kind() == ("transaction" if transaction else "pipeline")
    assert all(c.pipeline for c in trip.commands)


def test_empty_pipeline_sends_nothing(r: redis.Redis) -> None:
    with record_round_trips() as rec:
        with r.pipeline() as pipe:
            assert pipe.execute() == []
    assert rec.round_trips == 0


def test_watch_transaction_pays_each_immediate_command(r: redis.Redis) -> None:
    r.set("counter", 1)

    def incr(pipe: Any) -> None:
        value = int(pipe.get("counter"))
        pipe.multi()
        pipe.set("counter", value + 1)

    with record_round_trips() as rec:
        r.transaction(incr, "counter")
    # WATCH, GET (immediate after WATCH), MULTI+SET+EXEC
    assert [t.names for t in rec.trips] == [
        ("WATCH",),
        ("GET",),
        ("MULTI", "SET", "EXEC"),
    ]
    assert rec.trips[2].transaction
    assert r.get("counter") == b"2"


def test_script_costs_one_evalsha_and_in_a_pipeline_an_extra_script_exists(
    r: redis.Redis,
) -> None:
    script = r.register_script("return redis.call('INCR', KEYS[1])")
    r.script_load(script.script)
    with record_round_trips() as rec:
        script(keys=["n"])
    assert rec.command_names == ["EVALSHA"]
    assert rec.commands[0].keys == ("n",)

    with record_round_trips() as rec:
        for _ in range(3):
            with r.pipeline() as pipe:
                script(keys=["n"], client=pipe)
                pipe.get("n")
                pipe.execute()
    # per execute(): SCRIPT EXISTS (its own round trip), then MULTI EVALSHA GET EXEC
    assert rec.round_trips == 6
    assert rec.count("SCRIPT EXISTS") == 3
    assert [t.names for t in rec.trips[:2]] == [
        ("SCRIPT EXISTS",),
        ("MULTI", "EVALSHA", "GET", "EXEC"),
    ]
    assert all(t.pipeline == "Pipeline" for t in rec.trips)
    assert r.get("n") == b"4"


def test_client_created_inside_the_block(redis_server: RedisServer) -> None:
    with record_round_trips() as rec:
        client = redis.Redis(host=redis_server.host, port=redis_server.port, db=3)
        client.set("x", 1)
        client.get("x")
        client.close()
    assert rec.round_trips == 2
    assert rec.command_names == ["SET", "GET"]
    assert rec.trips[0].server.endswith(f":{redis_server.port}/3")
    # the connection's own set-up is recorded apart: CLIENT SETINFO (and SELECT 3)
    setup = [n for t in rec.housekeeping_trips for n in t.names]
    assert "SELECT" in setup
    assert all(t.housekeeping for t in rec.housekeeping_trips)
    assert "by redis-py itself: set-up, clean-up; not counted" in rec.report()


def test_blocks_nest_and_a_recorder_stops_where_it_is_told(r: redis.Redis) -> None:
    with record_round_trips() as outer:
        r.get("a")
        with record_round_trips() as inner:
            r.get("b")
        r.get("c")
    r.get("d")
    assert outer.round_trips == 3
    assert inner.round_trips == 1
    assert inner.commands[0].keys == ("b",)


def test_unwatch_of_a_collected_pipeline_is_housekeeping(r: redis.Redis) -> None:
    def watch_and_forget() -> None:
        pipe = r.pipeline()
        pipe.watch("w")  # never reset: its __del__ sends UNWATCH

    with record_round_trips() as rec:
        watch_and_forget()
        gc.collect()
        r.get("a")
    assert rec.command_names == ["WATCH", "GET"]
    housekeeping = [t.names for t in rec.housekeeping_trips]
    assert housekeeping.count(("UNWATCH",)) == 1  # (and maybe a new connection's set-up)


# --------------------------------------------------------------------------- hygiene


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_records_nothing(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.ping()
    with record_round_trips(all_threads=True) as everywhere, record_round_trips() as here:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                child = redis.Redis.from_url(redis_server.url)
                child.get("in-child")
                code = 0 if not hooks.context_recorders() else 3
            except BaseException:
                code = 4
            os._exit(code)
        _pid, status = os.waitpid(pid, 0)
        client.get("in-parent")
    assert os.waitstatus_to_exitcode(status) == 0
    assert everywhere.command_names == here.command_names == ["GET"]
    assert here.commands[0].keys == ("in-parent",)
    client.close()


def test_hooks_are_restored_after_an_exception(r: redis.Redis, no_outer_recorder: None) -> None:
    before = _originals()
    with pytest.raises(RuntimeError, match="boom"):
        with record_round_trips() as rec:
            r.get("a")
            assert hooks.installed()
            raise RuntimeError("boom")
    assert _originals() == before
    assert hooks.installed() == []
    assert hooks._state is None
    assert hooks.context_recorders() == ()
    r.get("b")
    assert rec.round_trips == 1
    assert not rec.recording


def test_a_patch_made_over_ours_is_left_in_place(r: redis.Redis, no_outer_recorder: None) -> None:
    from redis.connection import AbstractConnection

    original = AbstractConnection.send_packed_command
    with record_round_trips() as rec:
        ours = AbstractConnection.send_packed_command
        calls: list[int] = []

        def theirs(self: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(1)
            return ours(self, *args, **kwargs)

        AbstractConnection.send_packed_command = theirs  # type: ignore[method-assign]
        r.get("a")
    try:
        assert AbstractConnection.send_packed_command is theirs
        r.get("b")  # ours, still under theirs, passes through
        assert calls == [1, 1]
        assert rec.round_trips == 1
        # a new recorder hooks over theirs; the old hook under it stays out of the way
        with record_round_trips() as again:
            r.get("c")
        assert again.round_trips == 1 and again.commands[0].keys == ("c",)
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]


def test_frames_are_not_kept_once_recording_stops(r: redis.Redis) -> None:
    class Payload:
        pass

    def work() -> weakref.ref[Payload]:
        local = Payload()
        r.get("a")
        return weakref.ref(local)

    with record_round_trips():
        ref = work()
    gc.collect()
    assert ref() is None


def test_threads_record_only_their_own_block(redis_server: RedisServer) -> None:
    results: dict[str, int] = {}
    barrier = threading.Barrier(2)

    def worker(name: str, n: int) -> None:
        client = redis.Redis.from_url(redis_server.url)
        client.ping()
        with record_round_trips() as rec:
            barrier.wait()
            for i in range(n):
                client.incr(f"{name}:{i % 3}")
        results[name] = rec.round_trips
        client.close()

    threads = [
        threading.Thread(target=worker, args=(name, n)) for name, n in (("a", 40), ("b", 25))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"a": 40, "b": 25}


def test_other_threads_are_recorded_only_with_all_threads(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    client.ping()

    def other() -> None:
        client.get("from-thread")

    for all_threads, expected in ((False, 1), (True, 2)):
        with record_round_trips(all_threads=all_threads) as rec:
            t = threading.Thread(target=other)
            t.start()
            t.join()
            client.get("here")
        assert rec.round_trips == expected
    client.close()


# --------------------------------------------------------------------------- asyncio


def test_asyncio_sequence_gather_and_pipeline(redis_server: RedisServer) -> None:
    async def main() -> tuple[Recorder, Recorder, Recorder]:
        client = redis.asyncio.Redis.from_url(redis_server.url)
        await client.ping()
        async with record_round_trips() as seq:
            for i in range(4):
                await client.get(f"a{i}")
        async with record_round_trips() as gathered:
            await asyncio.gather(*(client.get(f"g{i}") for i in range(5)))  # gather-line
        async with record_round_trips() as piped:
            async with client.pipeline(transaction=False) as pipe:
                for i in range(5):
                    pipe.get(f"p{i}")
                await pipe.execute()
        await client.aclose()
        return seq, gathered, piped

    seq, gathered, piped = asyncio.run(main())
    assert seq.round_trips == 4
    assert all(t.asyncio and t.back_to_back for t in seq.trips[1:])
    # concurrent, but still one round trip each (on as many connections)
    assert gathered.round_trips == 5
    assert sorted(c.keys[0] for c in gathered.commands) == [f"g{i}" for i in range(5)]
    assert {t.site.line for t in gathered.trips} == {_line("gather-line")}
    # the generator expression on that line created the coroutines
    assert {t.site.function.rpartition(".<locals>.")[2] for t in gathered.trips} == {"<genexpr>"}
    assert piped.round_trips == 1
    assert piped.trips[0].names == ("GET",) * 5
    assert piped.trips[0].pipeline == "Pipeline"


def test_asyncio_tasks_each_with_its_own_recorder(redis_server: RedisServer) -> None:
    async def task(client: Any, n: int) -> int:
        async with record_round_trips() as rec:
            for i in range(n):
                await client.incr(f"t{n}:{i}")
                await asyncio.sleep(0)
        return rec.round_trips

    async def main() -> list[int]:
        client = redis.asyncio.Redis.from_url(redis_server.url)
        counts = await asyncio.gather(task(client, 7), task(client, 11), task(client, 3))
        await client.aclose()
        return list(counts)

    assert asyncio.run(main()) == [7, 11, 3]


# --------------------------------------------------------------------------- cluster


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    try:
        with LocalCluster(masters=3) as c:
            yield c
    except RedisServerError as exc:  # pragma: no cover - environment problem
        pytest.skip(f"cannot start a local cluster: {exc}")


def _keys_on_nodes(rc: Any, count: int) -> list[str]:
    by_node: dict[str, str] = {}
    for i in range(1000):
        key = f"key{i}"
        by_node.setdefault(rc.get_node_from_key(key).name, key)
        if len(by_node) == count:
            return list(by_node.values())
    raise AssertionError("keys not spread")


def test_cluster_pipeline_is_one_round_trip_per_node(cluster: LocalCluster) -> None:
    rc = cluster.client()
    keys = _keys_on_nodes(rc, 3)
    rc.ping(target_nodes=rc.PRIMARIES)
    for key in keys:
        rc.set(key, 1)  # every node's connection is open
    with record_round_trips() as rec:
        with rc.pipeline() as pipe:
            for key in keys * 2:
                pipe.get(key)
            pipe.execute()
    assert rec.round_trips == 3
    assert len({t.server for t in rec.trips}) == 3
    assert all(t.names == ("GET", "GET") and t.pipeline == "ClusterPipeline" for t in rec.trips)

    with record_round_trips() as rec:
        with rc.pipeline() as pipe:
            pipe.get(keys[0])
            pipe.set(keys[0], 2)
            pipe.execute()
        rc.get(keys[1])
    assert rec.round_trips == 2
    rc.close()


def test_cluster_client_created_inside_the_block(cluster: LocalCluster) -> None:
    with record_round_trips() as rec:
        rc = cluster.client()
        rc.set("x", 1)
        rc.close()
    assert rec.command_names == ["SET"]
    setup = {n for t in rec.housekeeping_trips for n in t.names}
    assert {"CLUSTER SLOTS", "COMMAND"} <= setup


def test_async_cluster_pipeline_is_one_round_trip_per_node(cluster: LocalCluster) -> None:
    async def main() -> Recorder:
        rc = redis.asyncio.cluster.RedisCluster(host=cluster.host, port=cluster.ports[0])
        await rc.initialize()
        keys = _keys_on_nodes(rc, 3)
        for key in keys:
            await rc.set(key, 1)
        async with record_round_trips() as rec:
            async with rc.pipeline() as pipe:
                for key in keys:
                    pipe.get(key)
                await pipe.execute()  # async-cluster-exec
        await rc.aclose()
        return rec

    rec = asyncio.run(main())
    assert rec.round_trips == 3
    assert len({t.server for t in rec.trips}) == 3
    assert {t.site.line for t in rec.trips} == {_line("async-cluster-exec")}
    assert {t.pipeline for t in rec.trips} == {"ClusterPipeline"}


# --------------------------------------------------------------------------- parts


@pytest.mark.parametrize(
    ("args", "name", "keys"),
    [
        (("GET", "k"), "GET", ["k"]),
        (("MSET", "a", 1, "b", 2), "MSET", ["a", "b"]),
        (("EVALSHA", "abc", 2, "k1", "k2", "arg"), "EVALSHA", ["k1", "k2"]),
        (("XREAD", "COUNT", 2, "STREAMS", "s1", "s2", "0", "0"), "XREAD", ["s1", "s2"]),
        (("MEMORY USAGE", "k"), "MEMORY USAGE", ["k"]),
        (("OBJECT", "ENCODING", "k"), "OBJECT ENCODING", []),
        (("SCRIPT EXISTS", "sha1"), "SCRIPT EXISTS", []),
        ((b"CLIENT", b"SETINFO", b"LIB-NAME", b"x"), "CLIENT SETINFO", []),
        (("ZUNIONSTORE", "dst", 2, "s1", "s2"), "ZUNIONSTORE", ["dst", "s1", "s2"]),
    ],
)
def test_command_names_and_keys(args: tuple[Any, ...], name: str, keys: list[str]) -> None:
    assert command_name(args) == name
    assert [k if isinstance(k, str) else k.decode() for k in command_keys(args)] == keys


def test_packed_bytes_fallback() -> None:
    packed = [b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n"]
    assert parse_packed(packed) == ((b"GET", b"k"), (b"PING",))
    assert parse_packed(b"garbage") == ((b"?",),)
