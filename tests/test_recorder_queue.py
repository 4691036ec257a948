"""Dogfooding: the recorder on the reference queue's claim paths, against the count
``pipelint bench queue`` reports (its workers count ``send_packed_command`` calls,
``pipelint.bench.queue_bench._SendCounter``).

The bench's counter patches redis-py for good, so each check runs in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from pipelint.server import RedisServer

TASKS = 30

PER_CLAIM = """
import json, sys
import redis
from pipelint.bench.queue_bench import _SendCounter
from pipelint.queue import NaiveQueue, PipelinedQueue
from pipelint.testing import record_round_trips

counter = _SendCounter()
counter.install()
url, tasks = sys.argv[1], int(sys.argv[2])
out = {}
for name, cls in (("naive", NaiveQueue), ("pipelined", PipelinedQueue)):
    client = redis.Redis.from_url(url)
    client.flushall()
    q = cls(client, "dogfood")
    for i in range(tasks):
        q.enqueue({"i": i}, priority=i % 10)
    client.ping()
    claims = []
    while True:
        sends = counter.count
        with record_round_trips() as rec:
            task = q.claim("w1", 30.0)
        if task is None:
            break
        claims.append({
            "bench_sends": counter.count - sends,
            "round_trips": rec.round_trips,
            "setup": len(rec.housekeeping_trips),
            "sites": sorted({t.site.function for t in rec.trips}),
        })
        q.submit(task.id, "w1", {"ok": True})
    out[name] = claims
    client.close()
print(json.dumps(out))
"""

WORKER = """
import json, queue, sys
import redis
from pipelint.bench.queue_bench import worker_main
from pipelint.queue import NaiveQueue, PipelinedQueue
from pipelint.testing import record_round_trips

url, tasks = sys.argv[1], int(sys.argv[2])
out = {}
for name, cls in (("naive", NaiveQueue), ("pipelined", PipelinedQueue)):
    client = redis.Redis.from_url(url)
    client.flushall()
    q = cls(client, "bench")
    for i in range(tasks):
        q.enqueue({"i": i})
    client.close()
    rec = record_round_trips(all_threads=True)

    class Start:  # the parent's "go": the bench zeroes its counter right after it
        def wait(self, timeout):
            rec.clear()
            return True

    results = queue.Queue()
    cfg = {"index": 0, "impl_spec": name, "url": url, "name": "bench", "prefix": "",
           "lease": 30.0}
    with rec:
        worker_main(cfg, queue.Queue(), Start(), results, [0])
    got = results.get()
    assert got["error"] is None, got["error"]
    out[name] = {
        "bench_total_sends": got["total_sends"],
        "bench_claim_sends": got["claim_sends"],
        "claims": len(got["latencies"]),
        "recorded": rec.round_trips + len(rec.housekeeping_trips),
        "recorded_setup": len(rec.housekeeping_trips),
    }
print(json.dumps(out))
"""


def _run(script: str, server: RedisServer) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), server.url, str(TASKS)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return data


@pytest.fixture()
def server() -> Any:
    with RedisServer() as srv:
        yield srv


def test_recorder_counts_each_claim_like_the_bench(server: RedisServer) -> None:
    data = _run(PER_CLAIM, server)
    for name in ("naive", "pipelined"):
        claims = data[name]
        assert len(claims) == TASKS
        for c in claims:
            assert c["setup"] == 0  # the connection is warm
            assert c["round_trips"] == c["bench_sends"], (name, c)
    naive = data["naive"]
    # 1 ZRANGEBYSCORE + 1 SET NX (reap throttle) + one RPOP per empty priority above the
    # task's + 4 (SET lease, SADD, HGET, HSET); the first claim also wins the reap
    # throttle (+1 SMEMBERS)
    assert {c["sites"][0] for c in naive} >= {"NaiveQueue._maybe_reap"}
    assert max(c["round_trips"] for c in naive) >= 11
    pipelined = data["pipelined"]
    # two scripts per claim; the first call of each script also pays NOSCRIPT + SCRIPT LOAD
    assert [c["round_trips"] for c in pipelined[1:]] == [2] * (TASKS - 1)
    assert pipelined[0]["round_trips"] == 6
    assert all(c["sites"] == ["PipelinedQueue.claim"] for c in pipelined)


def test_recorder_agrees_with_the_bench_worker(server: RedisServer) -> None:
    data = _run(WORKER, server)
    for name in ("naive", "pipelined"):
        d = data[name]
        assert d["claims"] == TASKS
        # every send the bench counted after "go", and no other, was recorded
        assert d["recorded"] == d["bench_total_sends"], (name, d)
        assert d["recorded_setup"] == 0
