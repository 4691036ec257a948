"""``pipelint bench queue``: the naive vs the pipelined task queue under the same load.

Per implementation: pre-enqueue ``--tasks`` tasks (directly, without the latency
proxy), start ``--workers`` worker *processes* (spawn; threads would share one
GIL), wait until every worker is connected, then release them together. Each
worker loops claim -> submit until the queue is empty.

Measured:

* claims per second: successful claims / wall time from release to the last worker done;
* claim latency p50/p95/p99 of successful claims, measured in the workers;
* Redis commands per completed task: ``INFO commandstats`` delta over the worker
  phase (INFO itself excluded; commands run inside Lua scripts and MULTI/EXEC count);
* round trips per claim: the workers count ``send_packed_command`` calls of their
  redis-py connections (a pipeline or a transaction is one send);
* peak connected clients: ``INFO clients`` sampled every few ms during the worker
  phase (includes the benchmark's own 2 connections).
"""

from __future__ import annotations

import importlib
import queue as queue_module
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

import click

from pipelint.bench.common import (
    OTHER_CLIENTS_NOTE,
    Target,
    bench_client,
    delete_prefix,
    env_info,
    fmt_num,
    latency_url,
    make_progress,
    new_prefix,
    output_options,
    parse_csv,
    percentile,
    print_table,
    require_matplotlib,
    write_outputs,
)

if TYPE_CHECKING:
    import redis

IMPLS = {
    "naive": "pipelint.queue:NaiveQueue",
    "pipelined": "pipelint.queue:PipelinedQueue",
}
QUEUE_NAME = "bench"
PAYLOAD_BYTES = 64
EMPTY_RETRIES = 3
SAMPLE_INTERVAL_S = 0.005
WORKER_START_TIMEOUT_S = 60.0


def resolve_impl(spec: str) -> Any:
    """``naive``/``pipelined`` or ``package.module:ClassName`` -> the queue class."""
    target = IMPLS.get(spec, spec)
    module_name, sep, attr = target.partition(":")
    if not sep:
        raise click.BadParameter(
            f"unknown implementation {spec!r}: use naive, pipelined or module:Class",
            param_hint="--impl",
        )
    return getattr(importlib.import_module(module_name), attr)


# --------------------------------------------------------------------------- worker


class _SendCounter:
    """Counts, in this process, ``send_packed_command`` calls (= round trips: a
    pipeline or transaction is sent at once) and packed commands (= commands the
    client sends; not those a Lua script runs)."""

    def __init__(self) -> None:
        self.count = 0
        self.commands = 0

    def install(self) -> None:
        from redis import connection

        original_send = connection.AbstractConnection.send_packed_command
        counter = self

        def counting_send(self: Any, command: Any, check_health: bool = True) -> Any:
            counter.count += 1
            return original_send(self, command, check_health)

        connection.AbstractConnection.send_packed_command = counting_send  # type: ignore[method-assign]

        for cls in (connection.PythonRespSerializer, connection.HiredisRespSerializer):
            original_pack = cls.pack

            def counting_pack(self: Any, *args: Any, _orig: Any = original_pack) -> Any:
                counter.commands += 1
                return _orig(self, *args)

            cls.pack = counting_pack  # type: ignore[method-assign]


def worker_main(
    cfg: dict[str, Any],
    ready: Any,
    start: Any,
    results: Any,
    progress: Any,
) -> None:
    """Entry point of one worker process. Sends one dict on ``results``."""
    index = int(cfg["index"])
    try:
        import redis

        counter = _SendCounter()
        counter.install()
        cls = resolve_impl(cfg["impl_spec"])
        client = redis.Redis.from_url(cfg["url"])
        q = cls(client, cfg["name"], prefix=cfg["prefix"])
        client.ping()  # connect (handshake sends are not counted below)
        worker_id = f"bench-{index}"
        lease = float(cfg["lease"])
        ready.put(index)
        if not start.wait(WORKER_START_TIMEOUT_S):
            raise RuntimeError("never released by the parent")
        latencies: list[float] = []
        claimed_ids: list[str] = []
        claim_sends = submit_sends = empty_claims = submitted_ok = 0
        counter.count = 0
        counter.commands = 0
        clock = time.perf_counter
        empty_streak = 0
        last_done = time.monotonic()
        while True:
            sends0 = counter.count
            t0 = clock()
            task = q.claim(worker_id, lease)
            elapsed = clock() - t0
            if task is None:
                empty_claims += 1
                empty_streak += 1
                if empty_streak >= EMPTY_RETRIES:
                    break
                time.sleep(0.002 * empty_streak)
                continue
            empty_streak = 0
            claim_sends += counter.count - sends0
            latencies.append(elapsed)
            claimed_ids.append(str(task.id))
            sends0 = counter.count
            if q.submit(task.id, worker_id, {"ok": True, "by": worker_id}):
                submitted_ok += 1
            submit_sends += counter.count - sends0
            last_done = time.monotonic()
            if len(latencies) % 50 == 0:
                progress[index] = len(latencies)
        progress[index] = len(latencies)
        results.put(
            {
                "index": index,
                "latencies": latencies,
                "claimed_ids": claimed_ids,
                "claim_sends": claim_sends,
                "submit_sends": submit_sends,
                "empty_claims": empty_claims,
                "submitted_ok": submitted_ok,
                "total_sends": counter.count,
                "client_commands": counter.commands,
                "end": last_done,
                "error": None,
            }
        )
        client.close()
    except BaseException:  # noqa: BLE001 - report anything to the parent
        results.put({"index": index, "error": traceback.format_exc()})


# --------------------------------------------------------------------------- parent


def commandstats(client: redis.Redis) -> dict[str, int]:
    stats = client.info("commandstats")
    out: dict[str, int] = {}
    for key, value in stats.items():
        name = str(key).removeprefix("cmdstat_")
        if isinstance(value, dict) and "calls" in value:
            out[name] = int(value["calls"])
    return out


class ClientSampler(threading.Thread):
    """Samples ``connected_clients`` until stopped; keeps the peak."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True, name="bench-clients-sampler")
        import redis

        self.client = redis.Redis.from_url(url)
        self.client.ping()
        self.peak = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> int:
        value = int(self.client.info("clients").get("connected_clients", 0))
        self.peak = max(self.peak, value)
        self.samples += 1
        return value

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.sample()
            except Exception:  # noqa: BLE001 - sampling is best effort
                pass
            self._stop_event.wait(SAMPLE_INTERVAL_S)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)
        self.client.close()


def enqueue_all(q: Any, tasks: int, progress: Any, task_id: Any) -> float:
    """Enqueue ``tasks`` tasks; returns enqueues per second."""
    payload_pad = "x" * PAYLOAD_BYTES
    t0 = time.perf_counter()
    for i in range(tasks):
        q.enqueue({"i": i, "pad": payload_pad})
        if i % 200 == 199:
            progress.update(task_id, completed=i + 1)
    progress.update(task_id, completed=tasks)
    elapsed = time.perf_counter() - t0
    return tasks / elapsed if elapsed > 0 else float("nan")


def run_impl(
    impl: str,
    target: Target,
    worker_url: str,
    client: redis.Redis,
    *,
    workers: int,
    tasks: int,
    lease: float,
    prefix: str,
    progress: Any,
) -> dict[str, Any]:
    import multiprocessing as mp

    cls = resolve_impl(impl)
    impl_prefix = f"{prefix}{impl.replace(':', '.')}:"
    q = cls(client, QUEUE_NAME, prefix=impl_prefix)

    enq_task = progress.add_task(f"{impl}: enqueue", total=tasks)
    enqueue_rate = enqueue_all(q, tasks, progress, enq_task)

    sampler = ClientSampler(target.url)
    baseline_clients = sampler.sample()  # parent + sampler (+ anyone else on the server)

    ctx = mp.get_context("spawn")
    ready = ctx.Queue()
    results = ctx.Queue()
    start = ctx.Event()
    counts = ctx.Array("q", workers, lock=False)
    procs: list[Any] = []
    reports: dict[int, dict[str, Any]] = {}
    try:
        for index in range(workers):
            cfg = {
                "index": index,
                "impl_spec": IMPLS.get(impl, impl),
                "url": worker_url,
                "name": QUEUE_NAME,
                "prefix": impl_prefix,
                "lease": lease,
            }
            proc = ctx.Process(
                target=worker_main,
                args=(cfg, ready, start, results, counts),
                name=f"pipelint-bench-worker-{index}",
                daemon=True,
            )
            proc.start()
            procs.append(proc)

        deadline = time.monotonic() + WORKER_START_TIMEOUT_S
        ready_count = 0
        while ready_count < workers:
            try:
                ready.get(timeout=0.2)
                ready_count += 1
            except queue_module.Empty:
                _collect_errors(results, reports)
                if time.monotonic() > deadline or any(p.exitcode is not None for p in procs):
                    raise click.ClickException(
                        f"{impl}: workers did not start" + _first_error(reports)
                    ) from None

        before = commandstats(client)
        sampler.start()
        claim_task = progress.add_task(f"{impl}: claim+submit", total=tasks)
        t_start = time.monotonic()
        start.set()
        while len(reports) < workers:
            try:
                msg = results.get(timeout=0.1)
                reports[int(msg["index"])] = msg
            except queue_module.Empty:
                dead = [
                    p for i, p in enumerate(procs) if p.exitcode is not None and i not in reports
                ]
                if dead:
                    time.sleep(0.5)
                    _collect_errors(results, reports)
                    if len(reports) < workers:
                        raise click.ClickException(
                            f"{impl}: a worker exited without reporting" + _first_error(reports)
                        ) from None
            progress.update(claim_task, completed=sum(counts))
        sampler.stop()
        after = commandstats(client)
    finally:
        start.set()  # release waiting workers if we bail out
        if sampler.is_alive():
            sampler.stop()
        else:
            sampler.client.close()
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join()

    errors = [r["error"] for r in reports.values() if r.get("error")]
    if errors:
        raise click.ClickException(f"{impl}: worker failed:\n{errors[0]}")

    latencies = [x for r in reports.values() for x in r["latencies"]]
    claims = len(latencies)
    all_ids = [i for r in reports.values() for i in r["claimed_ids"]]
    completed = sum(int(r["submitted_ok"]) for r in reports.values())
    wall = max(float(r["end"]) for r in reports.values()) - t_start
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    delta.pop("info", None)
    delta = {k: v for k, v in delta.items() if v > 0}
    total_cmds = sum(delta.values())
    claim_sends = sum(int(r["claim_sends"]) for r in reports.values())
    submit_sends = sum(int(r["submit_sends"]) for r in reports.values())
    per_task = max(completed, 1)
    stats = q.stats()
    return {
        "claims_per_sec": round(claims / wall, 1) if wall > 0 else None,
        "claim_p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "claim_p95_ms": round(percentile(latencies, 95) * 1000, 3),
        "claim_p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "commands_per_task": round(total_cmds / per_task, 3),
        "round_trips_per_claim": round(claim_sends / max(claims, 1), 3),
        "peak_clients": sampler.peak,
        # extras
        "round_trips_per_submit": round(submit_sends / max(claims, 1), 3),
        "client_commands_per_task": round(
            sum(int(r["client_commands"]) for r in reports.values()) / per_task, 3
        ),
        "baseline_clients": baseline_clients,
        "tasks": tasks,
        "claims": claims,
        "completed": completed,
        "duplicate_claims": len(all_ids) - len(set(all_ids)),
        "rejected_submits": claims - completed,
        "empty_claims": sum(int(r["empty_claims"]) for r in reports.values()),
        "wall_s": round(wall, 3),
        "enqueue_per_sec": round(enqueue_rate, 1),
        "commands_breakdown_per_task": {
            k: round(v / per_task, 3) for k, v in sorted(delta.items(), key=lambda kv: -kv[1])
        },
        "final_stats": stats,
    }


def _collect_errors(results: Any, reports: dict[int, dict[str, Any]]) -> None:
    while True:
        try:
            msg = results.get_nowait()
        except queue_module.Empty:
            return
        reports[int(msg["index"])] = msg


def _first_error(reports: dict[int, dict[str, Any]]) -> str:
    for r in reports.values():
        if r.get("error"):
            return ":\n" + str(r["error"])
    return ""


def print_results(impls: dict[str, dict[str, Any]], env: dict[str, Any]) -> None:
    names = list(impls)
    metrics = [
        ("claims per second", "claims_per_sec", 0),
        ("claim p50 ms", "claim_p50_ms", 3),
        ("claim p95 ms", "claim_p95_ms", 3),
        ("claim p99 ms", "claim_p99_ms", 3),
        ("Redis commands per task", "commands_per_task", 2),
        ("commands sent by client per task", "client_commands_per_task", 2),
        ("round trips per claim", "round_trips_per_claim", 2),
        ("round trips per submit", "round_trips_per_submit", 2),
        ("peak connected clients", "peak_clients", 0),
        ("tasks completed", "completed", 0),
        ("submits rejected (False)", "rejected_submits", 0),
        ("duplicate claims", "duplicate_claims", 0),
    ]
    rows = []
    for label, key, digits in metrics:
        row = [label]
        for name in names:
            value = impls[name].get(key)
            row.append("-" if value is None else fmt_num(float(value), digits))
        rows.append(row)
    rtt = env.get("rtt_ms", 0)
    title = f"task queue: {env.get('workers')} worker processes, {env.get('tasks')} tasks, " + (
        "direct loopback" if not rtt else f"+{rtt:g} ms rtt via proxy"
    )
    caption = (
        "Redis commands per task: INFO commandstats delta over the worker phase (includes "
        "commands run inside Lua scripts, and MULTI/EXEC) / completed tasks. 'Sent by client' "
        "counts what redis-py packed: an EVALSHA is one, and commands queued in a MULTI "
        "that WATCH aborted are sent but never run. Round trips: sends per call, a "
        "pipeline being one. Peak clients "
        f"includes the {impls[names[0]].get('baseline_clients', 2)} connections open before the "
        "workers started (the benchmark's own 2 on a private server)."
    )
    print_table(
        title,
        [("metric", "left")] + [(n, "right") for n in names],
        rows,
        caption,
    )


def plot_results(impls: dict[str, dict[str, Any]], path: str) -> None:
    plt = require_matplotlib()
    names = list(impls)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7))
    colors = [f"C{i}" for i in range(len(names))]
    panels = [
        (axes[0][0], "claims per second", ["claims_per_sec"]),
        (axes[0][1], "claim latency (ms)", ["claim_p50_ms", "claim_p95_ms", "claim_p99_ms"]),
        (axes[1][0], "Redis commands per task", ["commands_per_task"]),
        (axes[1][1], "round trips per claim", ["round_trips_per_claim"]),
    ]
    for ax, title, keys in panels:
        width = 0.8 / len(names)
        for i, name in enumerate(names):
            xs = [k + i * width for k in range(len(keys))]
            ys = [float(impls[name].get(key) or 0) for key in keys]
            ax.bar(xs, ys, width=width, label=name, color=colors[i])
        ax.set_xticks([k + width * (len(names) - 1) / 2 for k in range(len(keys))])
        ax.set_xticklabels([k.replace("claim_", "").replace("_ms", "") for k in keys])
        ax.set_title(title)
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@click.command("queue", short_help="The reference queue, naive vs pipelined: throughput, latency.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Worker processes claiming tasks.",
)
@click.option(
    "--tasks",
    type=click.IntRange(min=1),
    default=20000,
    show_default=True,
    help="Tasks enqueued, then claimed until the queue is empty.",
)
@click.option(
    "--impl",
    "impl_csv",
    default="naive,pipelined",
    show_default=True,
    help="Implementations, comma-separated: naive, pipelined, or module:Class.",
)
@click.option(
    "--rtt-ms",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Added round-trip time between workers and Redis (latency proxy).",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=0.001),
    default=30.0,
    show_default=True,
    help="Lease seconds passed to claim().",
)
@output_options
def queue_command(
    workers: int,
    tasks: int,
    impl_csv: str,
    rtt_ms: float,
    lease: float,
    json_path: str | None,
    plot_path: str | None,
    redis_url: str | None,
) -> None:
    """Claim throughput, latency, commands and round trips: naive vs pipelined queue."""
    impl_names = parse_csv(str, impl_csv, "--impl")
    if len(set(impl_names)) != len(impl_names):
        raise click.BadParameter("duplicate implementation", param_hint="--impl")
    for name in impl_names:
        try:
            resolve_impl(name)
        except (ImportError, AttributeError) as exc:
            raise click.BadParameter(f"{name}: {exc}", param_hint="--impl") from exc
    if plot_path:
        require_matplotlib()

    prefix = new_prefix()
    impls: dict[str, dict[str, Any]] = {}
    with (
        bench_client(redis_url, prefix) as (target, client),
        latency_url(target, rtt_ms) as worker_url,
    ):
        with make_progress() as progress:
            for name in impl_names:
                impls[name] = run_impl(
                    name,
                    target,
                    worker_url,
                    client,
                    workers=workers,
                    tasks=tasks,
                    lease=lease,
                    prefix=prefix,
                    progress=progress,
                )
                delete_prefix(client, prefix)
        env = env_info(
            client,
            target,
            workers=workers,
            tasks=tasks,
            rtt_ms=rtt_ms,
            lease_s=lease,
            worker_kind="process (spawn)",
            key_prefix=prefix,
        )

    print_results(impls, env)
    if not target.embedded:
        click.echo(OTHER_CLIENTS_NOTE)
    for name, data in impls.items():
        if data["completed"] < tasks:
            click.echo(f"warning: {name} completed {data['completed']} of {tasks} tasks", err=True)
    write_outputs(
        {"impls": impls, "env": env}, json_path, plot_path, lambda path: plot_results(impls, path)
    )


__all__ = ["queue_command", "run_impl", "worker_main"]
