"""Tests of ``pipelint bench``: tiny runs, JSON shape, cleanup, the latency proxy.

Timings are never asserted, except lower bounds the latency proxy guarantees.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import redis
from click.testing import CliRunner

from pipelint.bench.cli import bench
from pipelint.bench.common import delete_prefix, percentile, require_matplotlib, url_via
from pipelint.bench.patterns import PATTERNS
from pipelint.bench.proxy import LatencyProxy, ProxyProcess
from pipelint.server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"sequential", "pipeline_each", "pipeline", "pipeline_tx", "multikey", "lua"}
ENV_KEYS = {"python", "redis_py", "redis_server", "cpu_count", "platform", "date"}
QUEUE_METRICS = {
    "claims_per_sec",
    "claim_p50_ms",
    "claim_p95_ms",
    "claim_p99_ms",
    "commands_per_task",
    "round_trips_per_claim",
    "peak_clients",
}


def _invoke(args: list[str]) -> Any:
    result = CliRunner().invoke(bench, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture()
def shared_server() -> Iterator[RedisServer]:
    """A private server standing in for a user's shared one (--redis-url)."""
    with RedisServer() as srv:
        yield srv


@pytest.fixture()
def bystander(shared_server: RedisServer) -> Iterator[redis.Redis]:
    """A client of the shared server that has stored a key of its own there."""
    client = redis.Redis.from_url(shared_server.url)
    client.set("someone-else", "keep me")
    yield client
    client.close()


def test_group_lists_subcommands() -> None:
    result = _invoke(["--help"])
    for name in ("patterns", "queue", "proxy"):
        assert name in result.output


def test_patterns_json_shape(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    result = _invoke(
        ["patterns", "--n", "1,3", "--rtt-ms", "0", "--iterations", "20", "--json", str(out)]
    )
    assert "speedup" in result.output
    data = json.loads(out.read_text())
    assert ENV_KEYS <= set(data["env"])
    assert data["env"]["iterations"] == 20
    rows = data["results"]
    assert len(rows) == 2 * len(PATTERNS) * len(VARIANTS)
    keys = {(r["pattern"], r["variant"], r["n"], r["rtt_ms"]) for r in rows}
    assert len(keys) == len(rows)
    assert {r["pattern"] for r in rows} == {"get", "hget", "sadd", "set_expire"}
    assert {r["variant"] for r in rows} == VARIANTS
    for r in rows:
        assert r["median_us"] > 0
        assert r["p99_us"] >= r["median_us"]
        assert r["speedup"] > 0
        if r["variant"] == "sequential":
            assert r["speedup"] == pytest.approx(1.0)
            assert r["round_trips"] == r["n"] * (2 if r["pattern"] == "set_expire" else 1)
        elif r["variant"] == "pipeline_each":
            assert r["round_trips"] == r["n"]
        else:
            assert r["round_trips"] == 1


def test_patterns_with_rtt_on_shared_server_cleans_up(
    tmp_path: Path, shared_server: RedisServer, bystander: redis.Redis
) -> None:
    out = tmp_path / "p.json"
    result = _invoke(
        [
            "patterns",
            "--n",
            "1,3",
            "--rtt-ms",
            "0.5",
            "--iterations",
            "10",
            "--json",
            str(out),
            "--redis-url",
            shared_server.url,
        ]
    )
    assert "shared server" in result.output
    data = json.loads(out.read_text())
    assert {r["rtt_ms"] for r in data["results"]} == {0.5}
    # the proxy delays each direction by rtt/2, so a PING takes at least rtt
    assert data["env"]["measured_ping_us"]["0.5"] >= 500
    assert data["env"]["key_prefix"].startswith("pipelint-bench:")
    assert bystander.keys("*") == [b"someone-else"]


def test_patterns_as_module() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "pipelint.bench.cli", "patterns", "--n", "2", "--rtt-ms", "0"]
        + ["--iterations", "3"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "sequential" in proc.stdout


def test_queue_json_shape(tmp_path: Path) -> None:
    out = tmp_path / "q.json"
    _invoke(["queue", "--tasks", "200", "--workers", "2", "--json", str(out)])
    data = json.loads(out.read_text())
    assert ENV_KEYS <= set(data["env"])
    impls = data["impls"]
    assert set(impls) == {"naive", "pipelined"}
    for name, m in impls.items():
        assert QUEUE_METRICS <= set(m), name
        # tiny load: no lease expires, so every task is claimed and completed once
        assert m["completed"] == 200
        assert m["claims"] == 200
        assert m["duplicate_claims"] >= 0
        assert m["rejected_submits"] == m["claims"] - m["completed"]
        assert m["claims_per_sec"] > 0
        assert 0 < m["claim_p50_ms"] <= m["claim_p95_ms"] <= m["claim_p99_ms"]
        assert m["commands_per_task"] > 0
        assert m["round_trips_per_claim"] >= 1
        # 2 workers + the bench's own client and sampler
        assert m["peak_clients"] >= 2 + 2
    # a fact about command counts, not timing: the pipelined claim is fewer round trips
    assert impls["pipelined"]["round_trips_per_claim"] < impls["naive"]["round_trips_per_claim"]


def test_queue_with_rtt_on_shared_server_cleans_up(
    tmp_path: Path, shared_server: RedisServer, bystander: redis.Redis
) -> None:
    out = tmp_path / "q.json"
    result = _invoke(
        ["queue", "--tasks", "60", "--workers", "2", "--rtt-ms", "0.5", "--json", str(out)]
        + ["--redis-url", shared_server.url]
    )
    assert "other clients' traffic" in result.output
    data = json.loads(out.read_text())
    assert data["env"]["rtt_ms"] == 0.5
    for m in data["impls"].values():
        assert m["completed"] == 60
        # every claim needs at least one round trip through the proxy (>= 0.5 ms)
        assert m["claim_p50_ms"] >= 0.5
    assert bystander.keys("*") == [b"someone-else"]


def test_unknown_impl_is_a_usage_error() -> None:
    result = CliRunner().invoke(bench, ["queue", "--impl", "nope"])
    assert result.exit_code == 2
    assert "unknown implementation" in result.output


def _raw_ping(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t0 = time.perf_counter()
        s.sendall(b"PING\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            chunk = s.recv(64)
            assert chunk, "proxy closed the connection"
            reply += chunk
        elapsed = time.perf_counter() - t0
    assert reply == b"+PONG\r\n"
    return elapsed


def test_proxy_forwards_and_delays(redis_server: RedisServer) -> None:
    with LatencyProxy(redis_server.host, redis_server.port, rtt_ms=0) as proxy:
        client = redis.Redis(host=proxy.host, port=proxy.port)
        assert client.ping() is True
        pipe = client.pipeline(transaction=False)
        for i in range(200):
            pipe.echo(f"m{i}")
        assert pipe.execute() == [f"m{i}".encode() for i in range(200)]
        client.close()
    with LatencyProxy(redis_server.host, redis_server.port, rtt_ms=20) as proxy:
        assert proxy.port != redis_server.port
        assert _raw_ping(proxy.port) >= 0.020
        client = redis.Redis(host=proxy.host, port=proxy.port)
        client.ping()  # connect (handshake round trips)
        t0 = time.perf_counter()
        assert client.ping() is True
        assert time.perf_counter() - t0 >= 0.020
        client.close()


def test_proxy_process(redis_server: RedisServer) -> None:
    with ProxyProcess(redis_server.host, redis_server.port, rtt_ms=20) as proxy:
        assert _raw_ping(proxy.port) >= 0.020
        client = redis.Redis.from_url(url_via(redis_server.url, proxy.host, proxy.port))
        assert client.ping() is True
        client.close()


def test_delete_prefix_touches_only_its_keys(redis_client: redis.Redis) -> None:
    prefix = "pipelint-bench:t[1]*:"
    redis_client.mset({f"{prefix}a": 1, f"{prefix}b": 2, "pipelint-bench:t1x:a": 3, "other": 4})
    assert delete_prefix(redis_client, prefix) == 2
    assert sorted(redis_client.keys("*")) == [b"other", b"pipelint-bench:t1x:a"]


def test_percentile() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([1.0, 2.0], 50) == 1.5
    assert percentile([5.0], 99) == 5.0


def test_url_via_keeps_credentials_and_db() -> None:
    assert url_via("redis://u:p@db.example:6380/3", "127.0.0.1", 9) == "redis://u:p@127.0.0.1:9/3"


def test_plot_without_matplotlib_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(click.ClickException, match=r"pip install 'pipelint\[plot\]'"):
        require_matplotlib()


def test_patterns_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "p.png"
    _invoke(["patterns", "--n", "1,2", "--rtt-ms", "0", "--iterations", "3", "--plot", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pattern_variants_return_the_same(redis_client: Any) -> None:
    """Every variant of a read pattern returns the data the loop returns; every
    variant of a write pattern leaves the same keyspace."""
    from pipelint.bench.patterns import make_variants

    keys = [f"bench-test:{i}" for i in range(5)]
    redis_client.hset(keys[0], mapping={str(i): f"v{i}" for i in range(1, 5)})
    for pattern in ("hget",):
        variants = make_variants(redis_client, pattern, keys, [b"v"] * 5)
        results = {name: fn() for name, fn in variants.items()}
        expected = results.pop("sequential")
        assert expected[1:] == [b"v1", b"v2", b"v3", b"v4"]
        for name, got in results.items():
            assert list(got) == expected, name
    states = {}
    for name in sorted(VARIANTS):
        redis_client.delete(keys[0])
        make_variants(redis_client, "sadd", keys, [b"v"] * 5)[name]()
        states[name] = redis_client.smembers(keys[0])
    assert all(v == states["sequential"] for v in states.values())
    assert len(states["sequential"]) == 5
