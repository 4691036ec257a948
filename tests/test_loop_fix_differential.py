"""Proof by execution for the loop fixes (RP102, RP103, RP104 cases in
``fixtures/RP10x/fix/``): every case's ``main(r, keys)`` runs, original and fixed,
against a freshly seeded private Redis (or the local test cluster for cases that say
``target = "cluster"``), once per input: no items, one, many, duplicates, a
generator, and a key of the wrong type in the middle (an error reply mid-loop).

For every input the return value or exception (type and message), printed output and
final keyspace must be equal, with one exception the rule docs list: an *unsafe* fix
may differ when the original raised. The fixed code must never make more round trips,
and fewer for several items. The expected output is checked in beside each case
(``name.fixed.py``); fixing it again changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import itertools
import json
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from pipelint.checker import check_source
from pipelint.server import RedisServer, RedisServerError
from pipelint.server.cluster import LocalCluster
from tests.fixture_support import fixed_text, fixture_config, loop_fix_cases, project_for
from tests.test_fix_differential import keyspace

_counter = itertools.count()


CASES = loop_fix_cases()

#: the inputs every case runs with (a factory each: a generator is used up once)
INPUTS: dict[str, Callable[[], Any]] = {
    "empty": lambda: [],
    "one": lambda: ["k:1"],
    "many": lambda: ["k:1", "k:2", "k:3", "nope"],
    "duplicates": lambda: ["k:2", "k:1", "k:2"],
    "generator": lambda: (k for k in ["k:3", "k:1"]),
    "wrong_type": lambda: ["k:1", "h:1", "k:2"],
}


def seed(r: Any, tag: str = "") -> None:
    """The same data on a node or a cluster (``tag``: a hash tag prefix for cluster
    cases that need several keys in one slot)."""
    for prefix in ("", "{t}:") if tag else ("",):
        r.set(f"{prefix}k:1", json.dumps({"v": 1}))
        r.set(f"{prefix}k:2", json.dumps({"v": 2}))
        r.set(f"{prefix}k:3", "3")
        r.hset(f"{prefix}h:1", mapping={"k:1": "a", "k:2": "b"})
        r.sadd(f"{prefix}s:1", "k:1", "k:3")
        r.zadd(f"{prefix}z:1", {"k:1": 1.5, "k:2": 2})
        r.rpush(f"{prefix}l:1", "a", "b")
        r.set(f"{prefix}k:1:ttl", "x", ex=1000)


def keyspace_of(clients: list[redis.Redis]) -> dict[bytes, tuple[str, Any, bool]]:
    """The keyspace of every node (one for a server, each master of a cluster)."""
    out: dict[bytes, tuple[str, Any, bool]] = {}
    for r in clients:
        out.update(keyspace(r))
    return dict(sorted(out.items()))


class _Counter:
    """Counts what the client sends: every ``send_packed_command`` is a round trip
    (a pipeline sends all its commands in one)."""

    def __init__(self) -> None:
        self.sends = 0

    @contextlib.contextmanager
    def patched(self) -> Iterator[None]:
        sync_orig = redis.connection.AbstractConnection.send_packed_command
        async_orig = redis.asyncio.connection.AbstractConnection.send_packed_command
        counter = self

        def sync_send(conn: Any, command: Any, check_health: bool = True) -> None:
            counter.sends += 1
            return sync_orig(conn, command, check_health)

        async def async_send(conn: Any, command: Any, check_health: bool = True) -> None:
            counter.sends += 1
            return await async_orig(conn, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = sync_send  # type: ignore[method-assign]
        redis.asyncio.connection.AbstractConnection.send_packed_command = async_send  # type: ignore[method-assign]
        try:
            yield
        finally:
            redis.connection.AbstractConnection.send_packed_command = sync_orig  # type: ignore[method-assign]
            redis.asyncio.connection.AbstractConnection.send_packed_command = async_orig  # type: ignore[method-assign]


def _load(source: str, path: Path) -> types.ModuleType:
    module = types.ModuleType(f"pipelint_loopcase_{next(_counter)}")
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - our own fixtures
    return module


class Target:
    """Where a case runs: a private server, or the local cluster."""

    def __init__(self, server: RedisServer | None, cluster: LocalCluster | None) -> None:
        self.server = server
        self.cluster = cluster

    def nodes(self) -> list[redis.Redis]:
        if self.cluster is not None:
            return [redis.Redis(host=self.cluster.host, port=p) for p in self.cluster.ports]
        assert self.server is not None
        return [redis.Redis.from_url(self.server.url)]

    def reset(self) -> None:
        nodes = self.nodes()
        for n in nodes:
            n.flushall()
            n.close()
        if self.cluster is not None:
            rc = self.cluster.client()
            seed(rc, tag="{t}")
            rc.close()
        else:
            r = self.nodes()[0]
            seed(r)
            r.close()

    def sync_client(self) -> Any:
        if self.cluster is not None:
            return self.cluster.client()
        assert self.server is not None
        return redis.Redis(host=self.server.host, port=self.server.port)

    def async_client(self) -> Any:
        if self.cluster is not None:
            return redis.asyncio.cluster.RedisCluster(
                host=self.cluster.host, port=self.cluster.ports[0]
            )
        assert self.server is not None
        return redis.asyncio.Redis(host=self.server.host, port=self.server.port)


def run(source: str, path: Path, target: Target, make_keys: Callable[[], Any]) -> dict[str, Any]:
    """Run ``main(r, keys)`` on a freshly seeded keyspace."""
    target.reset()
    module = _load(source, path)
    main = module.main
    counter = _Counter()
    printed = io.StringIO()
    outcome: Any
    if inspect.iscoroutinefunction(main):

        async def go() -> Any:
            client = target.async_client()
            await client.ping()  # connect first: the handshake is not what we count
            try:
                with counter.patched(), contextlib.redirect_stdout(printed):
                    try:
                        return ("ok", await main(client, make_keys()))
                    except Exception as exc:  # noqa: BLE001 - compared between runs
                        return ("raised", type(exc).__name__, str(exc))
            finally:
                await client.aclose()

        outcome = asyncio.run(go())
    else:
        client = target.sync_client()
        client.ping()
        try:
            with counter.patched(), contextlib.redirect_stdout(printed):
                try:
                    outcome = ("ok", main(client, make_keys()))
                except Exception as exc:  # noqa: BLE001 - compared between runs
                    outcome = ("raised", type(exc).__name__, str(exc))
        finally:
            client.close()
    nodes = target.nodes()
    state = keyspace_of(nodes)
    for n in nodes:
        n.close()
    return {
        "outcome": outcome,
        "printed": printed.getvalue(),
        "keyspace": state,
        "sends": counter.sends,
    }


def applicability(case: Path) -> set[str]:
    source = case.read_text(encoding="utf-8")
    config = fixture_config(case, source)
    result = check_source(case, source, config, project_for(config), str(case))
    return {d.fix.applicability for d in result.diagnostics if d.fix is not None and d.fix.edits}


def _is_cluster(case: Path) -> bool:
    return 'target = "cluster"' in case.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster | None]:
    if not any(_is_cluster(c) for c in CASES):
        yield None
        return
    try:
        with LocalCluster(masters=3) as c:
            yield c
    except RedisServerError as exc:  # pragma: no cover - environment problem
        pytest.skip(f"cannot start a local cluster: {exc}")


def test_enough_cases() -> None:
    sources = {p: p.read_text(encoding="utf-8") for p in CASES}
    for code in ("RP102", "RP103"):
        mine = [s for p, s in sources.items() if code in p.parts]
        assert len(mine) >= 8, code
        assert sum("async def main" in s for s in mine) >= 2, code
        assert any('target = "cluster"' in s for s in mine), code


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_expected_output_idempotent(case: Path) -> None:
    fixed_path = case.with_name(case.stem + ".fixed.py")
    expected = fixed_path.read_text(encoding="utf-8")
    assert fixed_text(case) == expected
    cst.parse_module(expected)
    compile(expected, str(fixed_path), "exec")
    assert fixed_text(fixed_path, expected) == expected


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.parent.name}/{p.stem}")
def test_same_behaviour_fewer_round_trips(
    case: Path, redis_server: RedisServer, cluster: LocalCluster | None
) -> None:
    original = case.read_text(encoding="utf-8")
    fixed = fixed_text(case)
    assert fixed != original, "no fix was applied"
    kinds = applicability(case)
    assert kinds, "no fix with edits"
    target = Target(None, cluster) if _is_cluster(case) else Target(redis_server, None)
    for name, make_keys in INPUTS.items():
        before = run(original, case, target, make_keys)
        after = run(fixed, case, target, make_keys)
        if before["outcome"][0] == "raised" and kinds != {"safe"}:
            continue  # an unsafe fix may differ after an error (see the rule's doc)
        assert after["outcome"] == before["outcome"], name
        assert after["printed"] == before["printed"], name
        assert after["keyspace"] == before["keyspace"], name
        assert after["sends"] <= before["sends"], (name, before["sends"], after["sends"])
        if name == "many" and before["outcome"][0] == "ok":
            assert after["sends"] < before["sends"], (name, before["sends"], after["sends"])


def test_safe_cases_exist() -> None:
    """Safe fixes are proven on the error input too: there must be some."""
    assert sum("safe" in applicability(c) for c in CASES) >= 6
