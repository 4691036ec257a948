"""Proof by execution: every RP101 fix case runs, original and fixed, against a fresh
private Redis seeded the same way. Return values (or the exception raised) and the
final keyspace (types, values, TTL presence) must be equal, and the fixed code must
make fewer round trips (sends on the client's connections). The expected fix output
is checked in beside each case (``name.fixed.py``) and fixing it again changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import itertools
import logging
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
import redis
import redis.asyncio

from pipelint.server import RedisServer
from tests.differential import value_of
from tests.fixture_support import FIXTURES, fix_cases, fixed_text

CASES = fix_cases()
_counter = itertools.count()


class CountingConnection(redis.Connection):
    sends = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        CountingConnection.sends += 1
        super().send_packed_command(command, check_health)


class AsyncCountingConnection(redis.asyncio.Connection):
    sends = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        AsyncCountingConnection.sends += 1
        await super().send_packed_command(command, check_health)


def seed(r: redis.Redis) -> None:
    with r.pipeline(transaction=False) as pipe:
        pipe.set("user:1:name", "ann")
        pipe.set("user:1:email", "ann@example.com")
        pipe.hset("user:1", mapping={"name": "ann", "age": 41})
        pipe.set("profile:1", '{"lang": "en"}')
        pipe.set("count:1", 7)
        pipe.rpush("list:1", "a", "b")
        pipe.rpush("list:2", "c")
        pipe.set("ptr:1", "user:1:name")
        pipe.set("ptr:2", "user:1:email")
        pipe.sadd("users", "1", "2")
        pipe.set("expiring", "x", ex=1000)
        pipe.execute()


def keyspace(r: redis.Redis) -> dict[bytes, tuple[str, Any, bool]]:
    out: dict[bytes, tuple[str, Any, bool]] = {}
    for key in sorted(r.keys("*")):
        kind = r.type(key).decode()
        out[key] = (kind, value_of(r, key, kind), r.ttl(key) > 0)
    return out


@pytest.fixture()
def fresh_server(redis_server: RedisServer) -> Iterator[RedisServer]:
    admin = redis.Redis.from_url(redis_server.url)
    admin.flushall()
    yield redis_server
    admin.close()


def _load(source: str, path: Path) -> types.ModuleType:
    module = types.ModuleType(f"pipelint_fixcase_{next(_counter)}")
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - our own fixtures
    return module


def execute(source: str, path: Path, server: RedisServer) -> tuple[Any, dict[Any, Any], int]:
    """Run the case's ``main(r)`` on a freshly seeded keyspace; (outcome, keyspace, sends).
    The outcome holds what the run printed and logged too."""
    printed, logged = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logged)
    handler.setFormatter(logging.Formatter("%(levelname)s:%(message)s"))
    # the program's records (its module's name differs between the two runs), not the
    # client library's (the fixed code opens fewer connections)
    handler.addFilter(lambda rec: not rec.name.startswith(("redis", "asyncio")))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with contextlib.redirect_stdout(printed):
            outcome, state, sends = _execute(source, path, server)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    return (outcome, printed.getvalue(), logged.getvalue()), state, sends


def _execute(source: str, path: Path, server: RedisServer) -> tuple[Any, dict[Any, Any], int]:
    admin = redis.Redis.from_url(server.url)
    admin.flushall()
    seed(admin)
    module = _load(source, path)
    main = module.main
    if inspect.iscoroutinefunction(main):

        async def go() -> tuple[Any, int]:
            pool = redis.asyncio.ConnectionPool(
                host=server.host, port=server.port, connection_class=AsyncCountingConnection
            )
            client = redis.asyncio.Redis(connection_pool=pool)
            await client.ping()  # the handshake is not what we count
            AsyncCountingConnection.sends = 0
            try:
                outcome: Any = ("ok", await main(client))
            except Exception as exc:  # noqa: BLE001 - compared between the two runs
                outcome = ("raised", type(exc).__name__, str(exc))
            sends = AsyncCountingConnection.sends
            await client.aclose()
            await pool.disconnect()
            return outcome, sends

        outcome, sends = asyncio.run(go())
    else:
        pool = redis.ConnectionPool(
            host=server.host, port=server.port, connection_class=CountingConnection
        )
        client = redis.Redis(connection_pool=pool)
        client.ping()
        CountingConnection.sends = 0
        try:
            outcome = ("ok", main(client))
        except Exception as exc:  # noqa: BLE001 - compared between the two runs
            outcome = ("raised", type(exc).__name__, str(exc))
        sends = CountingConnection.sends
        client.close()
        pool.disconnect()
    state = keyspace(admin)
    admin.close()
    return outcome, state, sends


def _id(p: Path) -> str:
    return p.stem


def test_enough_cases() -> None:
    assert len(CASES) >= 20
    sources = [p.read_text() for p in CASES]
    assert sum("async def main" in s for s in sources) >= 5
    assert any("self." in s for s in sources)
    assert any("try:" in s for s in sources)
    assert any("#" in s.split("def main", 1)[-1] for s in sources)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_expected_output(case: Path) -> None:
    expected = case.with_name(case.stem + ".fixed.py").read_text(encoding="utf-8")
    assert fixed_text(case) == expected


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_idempotent_and_parses(case: Path) -> None:
    fixed_path = case.with_name(case.stem + ".fixed.py")
    fixed = fixed_path.read_text(encoding="utf-8")
    cst.parse_module(fixed)
    compile(fixed, str(fixed_path), "exec")
    assert fixed_text(fixed_path, fixed) == fixed


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_same_behaviour_fewer_round_trips(case: Path, fresh_server: RedisServer) -> None:
    original = case.read_text(encoding="utf-8")
    fixed = fixed_text(case)
    assert fixed != original, "no fix was applied"
    out1, state1, sends1 = execute(original, case, fresh_server)
    out2, state2, sends2 = execute(fixed, case, fresh_server)
    assert out2 == out1
    assert state2 == state1
    assert sends2 < sends1, (sends1, sends2)


def test_fixture_folder_is_where_cases_live() -> None:
    assert all(FIXTURES in p.parents for p in CASES)
