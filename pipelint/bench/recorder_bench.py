"""``pipelint bench recorder``: what the round-trip recorder costs per command.

Modes, measured side by side on the same server and client:

=========  ====================================================================
off        redis-py as shipped: no recorder, no hook installed
block      inside ``with record_round_trips()``: every round trip kept
session    what ``pytest --pipelint-trace`` runs: all threads, no round trip
           kept, each one added to the per-call-site trace
=========  ====================================================================

Workloads: ``get`` (N sequential GETs, one command per round trip), ``pipeline``
(one non-transactional pipeline of N GETs), ``async-get`` (N sequential GETs on a
``redis.asyncio`` client).

Timing: every round runs each mode once, in an order rotated per round, so drifts in
machine load hit all modes alike; the figures are medians over the rounds of the time
per command, and the overhead is the difference to ``off`` in the same run. Only the
commands are timed (not starting or stopping a recorder). The garbage collector is
paused while timing.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pipelint.bench.common import (
    bench_client,
    env_info,
    new_prefix,
    output_options,
    percentile,
    print_table,
    write_outputs,
)

MODES = ("off", "block", "session")
WORKLOADS = ("get", "pipeline", "async-get")


def _recorder(mode: str) -> Any:
    from pipelint.testing.recorder import Recorder

    if mode == "block":
        return Recorder()
    if mode == "session":
        from pipelint.testing.recorder import trace_listener
        from pipelint.trace import Trace

        listener = trace_listener(Trace(root=Path.cwd()))
        return Recorder(all_threads=True, keep=False, listener=listener)
    return None


def _timed(mode: str, run: Callable[[], None]) -> float:
    rec = _recorder(mode)
    if rec is not None:
        rec.start()
    try:
        start = time.perf_counter()
        run()
        return time.perf_counter() - start
    finally:
        if rec is not None:
            rec.stop()


def measure(url: str, prefix: str, commands: int, rounds: int) -> dict[str, Any]:
    """Seconds per command, per workload and mode: medians over ``rounds``."""
    import redis
    import redis.asyncio

    client = redis.Redis.from_url(url)
    keys = [f"{prefix}k{i}" for i in range(commands)]
    client.mset({k: b"v" * 32 for k in keys})
    loop = asyncio.new_event_loop()
    aclient = redis.asyncio.Redis.from_url(url)
    loop.run_until_complete(aclient.ping())

    def get() -> None:
        for k in keys:
            client.get(k)

    def pipeline() -> None:
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.get(k)
        pipe.execute()

    async def async_gets() -> None:
        for k in keys:
            await aclient.get(k)

    def async_get() -> None:
        loop.run_until_complete(async_gets())

    runs = {"get": get, "pipeline": pipeline, "async-get": async_get}
    samples: dict[str, dict[str, list[float]]] = {w: {m: [] for m in MODES} for w in WORKLOADS}
    gc_was_enabled = gc.isenabled()
    try:
        for workload, run in runs.items():
            for mode in MODES:  # warm-up: connections, caches, the hooks' first install
                _timed(mode, run)
            gc.disable()
            for r in range(rounds):
                order = MODES[r % len(MODES) :] + MODES[: r % len(MODES)]
                for mode in order:
                    samples[workload][mode].append(_timed(mode, run) / commands)
            if gc_was_enabled:
                gc.enable()
            gc.collect()
    finally:
        if gc_was_enabled:
            gc.enable()
        client.delete(*keys)
        client.close()
        loop.run_until_complete(aclient.aclose())
        loop.close()
    results: dict[str, Any] = {}
    for workload in WORKLOADS:
        off = percentile(samples[workload]["off"], 50)
        row: dict[str, Any] = {}
        for mode in MODES:
            median = percentile(samples[workload][mode], 50)
            row[mode] = {
                "us_per_command": round(median * 1e6, 3),
                "overhead_us": round((median - off) * 1e6, 3),
                "overhead_pct": round((median - off) / off * 100, 1) if off else None,
            }
        results[workload] = row
    return results


@click.command(
    "recorder", short_help="Overhead of the round-trip recorder per command, on a real Redis."
)
@click.option(
    "--commands", type=click.IntRange(min=1), default=200, show_default=True,
    help="Commands per round and workload.",
)  # fmt: skip
@click.option(
    "--rounds", type=click.IntRange(min=1), default=30, show_default=True,
    help="Rounds (each runs every mode once).",
)  # fmt: skip
@output_options
def recorder_command(
    commands: int,
    rounds: int,
    json_path: str | None,
    plot_path: str | None,
    redis_url: str | None,
) -> None:
    """Overhead per command of the round-trip recorder (pipelint.testing)."""
    if plot_path:
        raise click.BadParameter("no plot for this benchmark", param_hint="--plot")
    prefix = new_prefix()
    with bench_client(redis_url, prefix) as (target, client):
        results = measure(target.url, prefix, commands, rounds)
        env = env_info(client, target, commands=commands, rounds=rounds)
    rows = []
    for workload in WORKLOADS:
        for mode in MODES:
            cell = results[workload][mode]
            rows.append(
                [
                    workload if mode == MODES[0] else "",
                    mode,
                    f"{cell['us_per_command']:.2f}",
                    "" if mode == "off" else f"{cell['overhead_us']:+.2f}",
                    "" if mode == "off" else f"{cell['overhead_pct']:+.1f}%",
                ]
            )
    print_table(
        f"round-trip recorder overhead: {commands} commands x {rounds} rounds, medians",
        [
            ("workload", "left"),
            ("mode", "left"),
            ("µs/command", "right"),
            ("overhead µs", "right"),
            ("overhead", "right"),
        ],
        rows,
        caption="Modes side by side in one run, order rotated per round; only the commands "
        "are timed. 'block': record_round_trips(); 'session': pytest --pipelint-trace.",
        sections=True,
    )
    write_outputs({"results": results, "env": env}, json_path, None, lambda _p: None)


__all__ = ["measure", "recorder_command"]
