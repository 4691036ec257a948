"""Proof by execution for the atomicity fixes (``fixtures/RP201/fix``, ``RP202/fix``,
``RP203/fix``): every case's ``main(r)`` runs, original and fixed, against a freshly
seeded private Redis. The return value (or the exception, with its message), what it
printed and the final keyspace (types, values, TTL presence) must be equal, and the
fixed code must make fewer round trips (sends on any connection, with the server's
script cache warm: the first ``EVALSHA`` of a fresh server also loads the script).

Each case says which applicability its fix must have (``# applicability: safe``); the
expected output is checked in beside it (``name.fixed.py``); fixing it again changes
nothing. Cases whose module defines a client read its URL from
``PIPELINT_FIXCASE_URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import itertools
import os
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
import redis
import redis.asyncio

from pipelint.checker import check_source
from pipelint.server import RedisServer
from tests.fixture_support import FIXTURES, fixed_text, fixture_config, project_for
from tests.test_fix_differential import keyspace, seed

CASES = sorted(
    p
    for code in ("RP201", "RP202", "RP203")
    for p in (FIXTURES / code / "fix").glob("*.py")
    if not p.name.endswith(".fixed.py")
)
_counter = itertools.count()
_APPLICABILITY = re.compile(r"^# applicability: (safe|unsafe)$", re.MULTILINE)


class Sends:
    """Counts what clients send (a pipeline or a script call is one send)."""

    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def patched(self) -> Iterator[None]:
        sync_orig = redis.connection.AbstractConnection.send_packed_command
        async_orig = redis.asyncio.connection.AbstractConnection.send_packed_command
        counter = self

        def sync_send(conn: Any, command: Any, check_health: bool = True) -> None:
            counter.count += 1
            return sync_orig(conn, command, check_health)

        async def async_send(conn: Any, command: Any, check_health: bool = True) -> None:
            counter.count += 1
            return await async_orig(conn, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = sync_send  # type: ignore[method-assign]
        redis.asyncio.connection.AbstractConnection.send_packed_command = async_send  # type: ignore[method-assign]
        try:
            yield
        finally:
            redis.connection.AbstractConnection.send_packed_command = sync_orig  # type: ignore[method-assign]
            redis.asyncio.connection.AbstractConnection.send_packed_command = async_orig  # type: ignore[method-assign]


def seed_extra(r: redis.Redis) -> None:
    r.set("balance", "10")
    r.set("token", "t0")


def _outcome(call: Any) -> Any:
    try:
        return ("ok", call())
    except Exception as exc:  # noqa: BLE001 - compared between the two runs
        return ("raised", type(exc).__name__, str(exc))


def run_case(source: str, path: Path, server: RedisServer) -> tuple[Any, str, Any, int]:
    """(outcome, printed output, keyspace, sends) of ``main`` on a fresh keyspace."""
    admin = redis.Redis(host=server.host, port=server.port)
    admin.flushall()
    seed(admin)
    seed_extra(admin)
    os.environ["PIPELINT_FIXCASE_URL"] = server.url
    sends = Sends()
    out = io.StringIO()
    module = types.ModuleType(f"pipelint_atomic_case_{next(_counter)}")
    module.__file__ = str(path)
    with contextlib.redirect_stdout(out), sends.patched():
        exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102 - our fixtures
        main = module.main
        if inspect.iscoroutinefunction(main):

            async def go() -> Any:
                client = redis.asyncio.Redis(host=server.host, port=server.port)
                await client.ping()
                before = sends.count
                try:
                    result = ("ok", await main(client))
                except Exception as exc:  # noqa: BLE001
                    result = ("raised", type(exc).__name__, str(exc))
                used = sends.count - before
                await client.aclose()
                return result, used

            outcome, used = asyncio.run(go())
        else:
            client = redis.Redis(host=server.host, port=server.port)
            client.ping()
            before = sends.count
            outcome = _outcome(lambda: main(client))
            used = sends.count - before
            client.close()
        for value in list(vars(module).values()):
            if isinstance(value, redis.Redis):
                value.close()
    state = keyspace(admin)
    admin.close()
    return outcome, out.getvalue(), state, used


def _id(p: Path) -> str:
    return f"{p.parent.parent.name}/{p.stem}"


def test_enough_cases() -> None:
    by_rule = {
        code: [p for p in CASES if p.parent.parent.name == code]
        for code in ("RP201", "RP202", "RP203")
    }
    assert len(by_rule["RP201"]) >= 12
    assert len(by_rule["RP202"]) >= 8
    assert len(by_rule["RP203"]) >= 3
    sources = [p.read_text() for p in CASES]
    assert sum("async def main" in s for s in sources) >= 5
    assert sum("PIPELINT_FIXCASE_URL" in s for s in sources) >= 3  # module-level clients
    assert sum("# applicability: safe" in s for s in sources) >= 4


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_applicability(case: Path) -> None:
    source = case.read_text(encoding="utf-8")
    m = _APPLICABILITY.search(source)
    assert m is not None, "a case says which applicability its fix has"
    config = fixture_config(case, source)
    result = check_source(case, source, config, project_for(config), str(case))
    fixes = [d.fix for d in result.diagnostics if d.code.startswith("RP2")]
    assert fixes and all(f is not None for f in fixes)
    assert {f.applicability for f in fixes} == {m.group(1)}  # type: ignore[union-attr]


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
def test_same_behaviour_fewer_round_trips(case: Path, redis_server: RedisServer) -> None:
    original = case.read_text(encoding="utf-8")
    fixed = case.with_name(case.stem + ".fixed.py").read_text(encoding="utf-8")
    assert fixed != original, "no fix was applied"
    before = run_case(original, case, redis_server)
    warm = run_case(fixed, case, redis_server)  # loads the scripts the fix uses
    after = run_case(fixed, case, redis_server)
    assert warm[:3] == after[:3]
    assert after[:3] == before[:3]
    assert after[3] < before[3], (before[3], after[3])


if __name__ == "__main__":  # regenerate: python -m tests.test_atomic_fix_differential
    for case in CASES:
        case.with_name(case.stem + ".fixed.py").write_text(fixed_text(case), encoding="utf-8")
        print("wrote", case.with_name(case.stem + ".fixed.py"))
