"""The differential harness: run a program before and after a fix against a real private
Redis and observe everything a caller could see (issue 16).

A program defines ``main(r)`` (sync or async; ``r`` is a client built here, with
``decode_responses=DECODE``, default True) or ``main()`` (it builds its own client from
``os.environ["PIPELINT_REDIS_URL"]``). The observation holds the return value (its
``repr``), or the exception's type and message; what it printed and logged; the module's
data globals afterwards; and the keyspace of databases 0 and 1 (types, values, TTL set).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import itertools
import logging
import os
import types
from pathlib import Path
from typing import Any

import redis
import redis.asyncio

from pipelint.server import RedisServer

__all__ = ["observe", "seed", "keyspace", "Observation"]

Observation = dict[str, Any]
_counter = itertools.count()


def seed(r: redis.Redis) -> None:
    """The keyspace every program starts from (strings, a hash, a list, a set, a sorted
    set, a stream, a key with a TTL; keys of the RP101 fix cases too)."""
    with r.pipeline(transaction=False) as pipe:
        pipe.mset({"a": "1", "b": "2", "c": "3", "n": "5", "j": '{"x": 1}', "ptr": "a"})
        pipe.set("text", "hello")
        pipe.hset("h", mapping={"f": "v", "g": "w"})
        pipe.rpush("l", "x", "y")
        pipe.sadd("s", "m1", "m2")
        pipe.zadd("z", {"p": 1, "q": 2})
        pipe.set("ttl", "t", ex=1000)
        pipe.xadd("st", {"k": "v"}, id="1-0")
        pipe.set("user:1:name", "ann")
        pipe.set("user:1:email", "ann@example.com")
        pipe.hset("user:1", mapping={"name": "ann", "age": 41})
        pipe.set("count:1", 7)
        pipe.sadd("users", "1", "2")
        pipe.execute()


def value_of(r: redis.Redis, key: Any, kind: str) -> Any:
    """The value of ``key`` of type ``kind``, in a form that compares equal for equal
    contents (sets and hashes sorted; a stream's entries without their ids)."""
    if kind == "string":
        return r.get(key)
    if kind == "hash":
        return sorted(r.hgetall(key).items())
    if kind == "list":
        return r.lrange(key, 0, -1)
    if kind == "set":
        return sorted(r.smembers(key))
    if kind == "zset":
        return r.zrange(key, 0, -1, withscores=True)
    if kind == "stream":
        return [fields for _id, fields in r.xrange(key)]
    return None


def keyspace(url: str) -> dict[str, tuple[str, str, bool]]:
    out: dict[str, tuple[str, str, bool]] = {}
    for db in (0, 1):
        r = redis.Redis.from_url(_db_url(url, db), decode_responses=True)
        for key in sorted(r.keys("*")):
            kind = r.type(key)
            out[f"{db}:{key}"] = (kind, repr(value_of(r, key, kind)), r.ttl(key) > 0)
        r.close()
    return out


def _db_url(url: str, db: int) -> str:
    """``url`` on database ``db`` (a database in the URL's path wins over ``db=``)."""
    base, _, last = url.rpartition("/")
    return f"{base}/{db}" if last.isdigit() and base.count("/") >= 2 else f"{url.rstrip('/')}/{db}"


def _globals(module: types.ModuleType) -> dict[str, str]:
    skip = (types.ModuleType, types.FunctionType, type, types.BuiltinFunctionType)
    out: dict[str, str] = {}
    for name, value in sorted(vars(module).items()):
        if name.startswith("__") or name.isupper() or isinstance(value, skip):
            continue
        if isinstance(value, (redis.Redis, redis.asyncio.Redis, logging.Logger)):
            continue
        out[name] = repr(value)
    return out


def observe(source: str, path: Path, server: RedisServer) -> Observation:
    """Run ``source`` (as module ``path``) on a freshly seeded private server."""
    url = server.url
    for db in (0, 1):
        admin = redis.Redis.from_url(_db_url(url, db))
        admin.flushdb()
        if db == 0:
            seed(admin)
        admin.close()
    os.environ["PIPELINT_REDIS_URL"] = url
    module = types.ModuleType(f"pipelint_differential_{next(_counter)}")
    module.__file__ = str(path)
    printed, logged = io.StringIO(), io.StringIO()
    handler = logging.StreamHandler(logged)
    handler.setFormatter(logging.Formatter("%(name)s:%(levelname)s:%(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    outcome: tuple[str, ...]
    try:
        with contextlib.redirect_stdout(printed):
            try:
                exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - our fixtures
                outcome = ("ok", repr(_call_main(module, url)))
            except Exception as exc:  # noqa: BLE001 - compared between the two runs
                outcome = ("raised", type(exc).__name__, str(exc))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    state = keyspace(url)
    admin = redis.Redis.from_url(url)
    admin.flushall()  # leave nothing behind: other tests share the server
    admin.close()
    return {
        "outcome": outcome,
        "stdout": printed.getvalue(),
        "log": "\n".join(
            ln for ln in logged.getvalue().splitlines() if not ln.startswith("asyncio:")
        ),
        "globals": _globals(module),
        "keyspace": state,
    }


def _call_main(module: types.ModuleType, url: str) -> Any:
    main = module.main
    takes_client = bool(inspect.signature(main).parameters)
    decode = getattr(module, "DECODE", True)
    if inspect.iscoroutinefunction(main):

        async def go() -> Any:
            client = redis.asyncio.Redis.from_url(url, decode_responses=decode)
            try:
                return await (main(client) if takes_client else main())
            finally:
                await client.aclose()

        return asyncio.run(go())
    client = redis.Redis.from_url(url, decode_responses=decode)
    try:
        return main(client) if takes_client else main()
    finally:
        client.close()
