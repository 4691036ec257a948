"""The atomicity rows of ``pipelint bench patterns``: each variant makes the round
trips its row claims (counted on the connection, not timed) and leaves the same data
as the pattern it replaces; the JSON carries the rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from pipelint.bench.atomic import (
    ATOMIC_VARIANTS,
    atomic_round_trips,
    make_atomic_variants,
    seed_atomic,
)
from pipelint.bench.cli import bench
from pipelint.server import RedisServer
from tests.test_fix_differential import keyspace


class _Counting(redis.Connection):
    sends = 0

    def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        _Counting.sends += 1
        super().send_packed_command(command, check_health)


@pytest.fixture()
def counting(redis_server: RedisServer) -> Any:
    pool = redis.ConnectionPool(
        host=redis_server.host, port=redis_server.port, connection_class=_Counting
    )
    client = redis.Redis(connection_pool=pool)
    client.flushall()
    yield client
    client.close()
    pool.disconnect()


@pytest.mark.parametrize("pattern", list(ATOMIC_VARIANTS))
def test_round_trips_as_claimed(counting: redis.Redis, pattern: str) -> None:
    n = 3
    keys = [f"b:{pattern}:{i}" for i in range(n)]
    seed_atomic(counting, pattern, keys, 600)
    variants = make_atomic_variants(counting, pattern, keys, 600)
    for name, run in variants.items():
        run()  # loads scripts
        _Counting.sends = 0
        run()
        assert _Counting.sends == atomic_round_trips(pattern, name, n), name


@pytest.mark.parametrize("pattern", ["rmw", "set_ttl", "chain"])
def test_variants_leave_the_same_data(counting: redis.Redis, pattern: str) -> None:
    keys = [f"b:{pattern}:{i}" for i in range(3)]
    states = {}
    for name in ATOMIC_VARIANTS[pattern]:
        counting.flushall()
        seed_atomic(counting, pattern, keys, 600)
        make_atomic_variants(counting, pattern, keys, 600)[name]()
        states[name] = keyspace(counting)
    first = states[ATOMIC_VARIANTS[pattern][0]]
    assert first
    for name, state in states.items():
        assert state == first, name


def test_patterns_json_has_the_atomic_rows(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    result = CliRunner().invoke(
        bench,
        ["patterns", "--n", "1", "--rtt-ms", "0", "--iterations", "3", "--json", str(out)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    assert "dependent chain" in result.output
    rows = json.loads(out.read_text())["atomic"]
    assert {(r["pattern"], r["variant"]) for r in rows} == {
        (p, v) for p, vs in ATOMIC_VARIANTS.items() for v in vs
    }
    for row in rows:
        assert row["round_trips"] == atomic_round_trips(row["pattern"], row["variant"], 1)
        assert row["median_us"] > 0
