"""``pipelint bench patterns``: sequential commands vs pipeline vs multi-key vs Lua.

For a batch of n items, four patterns (the loop shapes RP102/RP103 report, and the
run RP101 reports):

* ``get``: n GETs (``[r.get(k) for k in keys]``).
* ``hget``: n HGETs of fields of one hash (``[r.hget(h, f) for f in fields]``).
* ``sadd``: n SADDs of members to one set (``for m in members: r.sadd(s, m)``): a
  variadic write.
* ``set_expire``: n times SET + EXPIRE (the shape pipelint flags).

Variants per pattern (all return the same data):

=============  ==========================================  ===========
variant        get                                         set_expire
=============  ==========================================  ===========
sequential     n x GET, one round trip each                n x (SET, EXPIRE): 2n round trips
pipeline_each  a pipeline executed per item (RP104)        same, n round trips
pipeline       pipeline(transaction=False), 1 round trip   same, 1 round trip
pipeline_tx    pipeline(transaction=True): MULTI/EXEC      same
multikey       MGET (hget: HMGET; sadd: one SADD of n)       MSET + n EXPIRE in one non-transactional
                                                           pipeline (no MSET with a TTL exists)
lua            one EVALSHA of a registered script          one EVALSHA (SET + EXPIRE per key)
=============  ==========================================  ===========

Timing: every iteration round runs each variant once, in an order rotated per
round, so drifts in machine load hit all variants alike; speedups are ratios of
medians from the same run. The garbage collector is paused while timing.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from pipelint.bench.common import (
    Target,
    bench_client,
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

VARIANTS = ("sequential", "pipeline_each", "pipeline", "pipeline_tx", "multikey", "lua")
PATTERNS = ("get", "hget", "sadd", "set_expire")
LABELS = {
    "get": "n x GET",
    "hget": "n x HGET (one hash)",
    "sadd": "n x SADD (one set)",
    "set_expire": "n x (SET + EXPIRE)",
}
WARMUP_ROUNDS = 5
KEY_TTL = 600  # seconds; a safety net should cleanup ever be skipped
VALUE = b"v" * 32

LUA_GET = """
local out = {}
for i = 1, #KEYS do
  out[i] = redis.call('GET', KEYS[i])
end
return out
"""

LUA_HGET = """
local out = {}
for i = 1, #ARGV do
  out[i] = redis.call('HGET', KEYS[1], ARGV[i])
end
return out
"""

LUA_SADD = """
local added = 0
for i = 1, #ARGV do
  added = added + redis.call('SADD', KEYS[1], ARGV[i])
end
return added
"""

LUA_SET_EXPIRE = """
local ttl = ARGV[#ARGV]
for i = 1, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i])
  redis.call('EXPIRE', KEYS[i], ttl)
end
return #KEYS
"""

VARIANT_NOTES = {
    "get": {
        "sequential": "GET x n",
        "pipeline_each": "a pipeline per item (GET), n executes",
        "pipeline": "GET x n, pipeline",
        "pipeline_tx": "MULTI, GET x n, EXEC",
        "multikey": "MGET",
        "lua": "EVALSHA (GET x n)",
    },
    "hget": {
        "sequential": "HGET x n",
        "pipeline_each": "a pipeline per item (HGET), n executes",
        "pipeline": "HGET x n, pipeline",
        "pipeline_tx": "MULTI, HGET x n, EXEC",
        "multikey": "HMGET",
        "lua": "EVALSHA (HGET x n)",
    },
    "sadd": {
        "sequential": "SADD x n",
        "pipeline_each": "a pipeline per item (SADD), n executes",
        "pipeline": "SADD x n, pipeline",
        "pipeline_tx": "MULTI, SADD x n, EXEC",
        "multikey": "one SADD of n members",
        "lua": "EVALSHA (SADD x n)",
    },
    "set_expire": {
        "sequential": "(SET, EXPIRE) x n",
        "pipeline_each": "a pipeline per item ((SET, EXPIRE)), n executes",
        "pipeline": "(SET, EXPIRE) x n, pipeline",
        "pipeline_tx": "MULTI, (SET, EXPIRE) x n, EXEC",
        "multikey": "MSET + EXPIRE x n, pipeline",
        "lua": "EVALSHA ((SET, EXPIRE) x n)",
    },
}


def round_trips(pattern: str, variant: str, n: int) -> int:
    """Client round trips per batch (once the script is loaded)."""
    if variant == "sequential":
        return 2 * n if pattern == "set_expire" else n
    if variant == "pipeline_each":
        return n
    return 1


def commands(pattern: str, variant: str, n: int) -> int:
    """Commands the client sends per batch (MULTI/EXEC included; not those inside Lua)."""
    per_key = 2 if pattern == "set_expire" else 1
    return {
        "sequential": per_key * n,
        "pipeline_each": per_key * n,
        "pipeline": per_key * n,
        "pipeline_tx": per_key * n + 2,
        "multikey": n + 1 if pattern == "set_expire" else 1,
        "lua": 1,
    }[variant]


def make_variants(
    client: redis.Redis, pattern: str, keys: list[str], values: list[bytes]
) -> dict[str, Callable[[], Any]]:
    """One zero-argument callable per variant, each doing one batch."""
    ttl = KEY_TTL
    if pattern == "get":
        script = client.register_script(LUA_GET)

        def sequential() -> Any:
            return [client.get(k) for k in keys]  # noqa: RP103 - the loop baseline

        def in_pipeline(transaction: bool) -> Callable[[], Any]:
            def run() -> Any:
                pipe = client.pipeline(transaction=transaction)
                for k in keys:
                    pipe.get(k)
                return pipe.execute()

            return run

        def multikey() -> Any:
            return client.mget(keys)

        def each() -> Any:
            out = []
            for k in keys:
                pipe = client.pipeline(transaction=False)
                pipe.get(k)
                out.extend(pipe.execute())  # noqa: RP104 - the pattern being measured
            return out

        def lua() -> Any:
            return script(keys=keys)

    elif pattern in ("hget", "sadd"):
        one = keys[0]
        fields = [k.rsplit(":", 1)[-1] for k in keys]
        method = pattern

        if pattern == "hget":
            script = client.register_script(LUA_HGET)

            def multikey() -> Any:
                return client.hmget(one, fields)

        else:
            script = client.register_script(LUA_SADD)

            def multikey() -> Any:
                return client.sadd(one, *fields)

        def sequential() -> Any:
            send = getattr(client, method)
            return [send(one, f) for f in fields]  # noqa: RP102, RP103 - the baseline

        def in_pipeline(transaction: bool) -> Callable[[], Any]:
            def run() -> Any:
                pipe = client.pipeline(transaction=transaction)
                send = getattr(pipe, method)
                for f in fields:
                    send(one, f)
                return pipe.execute()

            return run

        def lua() -> Any:
            return script(keys=[one], args=fields)

        def each() -> Any:
            out = []
            for f in fields:
                pipe = client.pipeline(transaction=False)
                getattr(pipe, method)(one, f)
                out.extend(pipe.execute())  # noqa: RP104 - the pattern being measured
            return out

    else:
        script = client.register_script(LUA_SET_EXPIRE)
        mapping = dict(zip(keys, values, strict=True))
        lua_args = [*values, ttl]

        def sequential() -> Any:
            for k, v in zip(keys, values, strict=True):
                client.set(k, v)  # noqa: RP101, RP102, RP202 - the sequential baseline, on purpose
                client.expire(k, ttl)

        def in_pipeline(transaction: bool) -> Callable[[], Any]:
            def run() -> Any:
                pipe = client.pipeline(transaction=transaction)
                for k, v in zip(keys, values, strict=True):
                    pipe.set(k, v)
                    pipe.expire(k, ttl)
                return pipe.execute()

            return run

        def multikey() -> Any:
            pipe = client.pipeline(transaction=False)
            pipe.mset(mapping)
            for k in keys:
                pipe.expire(k, ttl)
            return pipe.execute()

        def lua() -> Any:
            return script(keys=keys, args=lua_args)

        def each() -> Any:
            out = []
            for k, v in zip(keys, values, strict=True):
                pipe = client.pipeline(transaction=False)
                pipe.set(k, v)
                pipe.expire(k, ttl)
                out.extend(pipe.execute())  # noqa: RP104 - the pattern being measured
            return out

    return {
        "sequential": sequential,
        "pipeline_each": each,
        "pipeline": in_pipeline(transaction=False),
        "pipeline_tx": in_pipeline(transaction=True),
        "multikey": multikey,
        "lua": lua,
    }


def measure(
    variants: dict[str, Callable[[], Any]],
    iterations: int,
    on_round: Callable[[], None] = lambda: None,
) -> dict[str, list[float]]:
    """Per-variant batch times in microseconds, variants interleaved per round."""
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for rnd in range(WARMUP_ROUNDS + iterations):
            shift = rnd % len(names)
            for name in names[shift:] + names[:shift]:
                fn = variants[name]
                t0 = clock()
                fn()
                elapsed = clock() - t0
                if rnd >= WARMUP_ROUNDS:
                    samples[name].append(elapsed / 1000.0)
            on_round()
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def ping_rtt_us(client: redis.Redis, count: int = 50) -> float:
    times = []
    for _ in range(count):
        t0 = time.perf_counter_ns()
        client.ping()  # noqa: RP102 - one round trip each is what is measured
        times.append((time.perf_counter_ns() - t0) / 1000.0)
    return percentile(times, 50)


def run_patterns(
    target: Target,
    ns: list[int],
    rtts: list[float],
    iterations: int,
    prefix: str,
    progress: Any,
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    import redis

    results: list[dict[str, Any]] = []
    measured_rtt: dict[str, float] = {}
    total = len(rtts) * len(ns) * len(PATTERNS) * (WARMUP_ROUNDS + iterations)
    task = progress.add_task("bench patterns", total=total)

    def advance() -> None:
        progress.advance(task)

    for rtt in rtts:
        with latency_url(target, rtt) as url, redis.Redis.from_url(url) as client:
            measured_rtt[f"{rtt:g}"] = round(ping_rtt_us(client), 1)
            for n in ns:
                for pattern in PATTERNS:
                    progress.update(task, description=f"rtt {rtt:g} ms, n={n}, {pattern}")
                    keys = [f"{prefix}{pattern}:{n}:{i}" for i in range(n)]
                    values = [VALUE] * n
                    if pattern == "get":
                        pipe = client.pipeline(transaction=False)
                        for k in keys:
                            pipe.set(k, VALUE, ex=KEY_TTL)
                        pipe.execute()
                    elif pattern in ("hget", "sadd"):
                        fields = [k.rsplit(":", 1)[-1] for k in keys]
                        with client.pipeline(transaction=False) as pipe:
                            pipe.delete(keys[0])
                            if pattern == "hget":
                                pipe.hset(keys[0], mapping=dict.fromkeys(fields, VALUE))
                            else:
                                pipe.sadd(keys[0], "seed")
                            pipe.expire(keys[0], KEY_TTL)
                            pipe.execute()
                    variants = make_variants(client, pattern, keys, values)
                    samples = measure(variants, iterations, advance)
                    base = percentile(samples["sequential"], 50)
                    for variant in VARIANTS:
                        med = percentile(samples[variant], 50)
                        results.append(
                            {
                                "pattern": pattern,
                                "variant": variant,
                                "n": n,
                                "rtt_ms": rtt,
                                "median_us": round(med, 2),
                                "p99_us": round(percentile(samples[variant], 99), 2),
                                "speedup": round(base / med, 3),
                                "round_trips": round_trips(pattern, variant, n),
                                "commands": commands(pattern, variant, n),
                            }
                        )
    return results, measured_rtt


def print_results(results: list[dict[str, Any]], measured_rtt: dict[str, float]) -> None:
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for row in results:
        groups.setdefault((row["pattern"], row["rtt_ms"]), []).append(row)
    columns = [
        ("n", "right"),
        ("variant", "left"),
        ("cmds", "right"),
        ("RTs", "right"),
        ("median µs", "right"),
        ("p99 µs", "right"),
        ("speedup", "right"),
    ]
    for (pattern, rtt), rows in groups.items():
        label = LABELS[pattern]
        where = "direct loopback" if rtt == 0 else f"+{rtt:g} ms rtt via proxy"
        ping = measured_rtt.get(f"{rtt:g}")
        title = f"{label}, {where}" + (f" (PING {ping:,.0f} µs)" if ping is not None else "")
        table_rows = []
        last_n: int | None = None
        for r in rows:
            table_rows.append(
                [
                    str(r["n"]) if r["n"] != last_n else "",
                    r["variant"],
                    str(r["commands"]),
                    str(r["round_trips"]),
                    fmt_num(r["median_us"], 0 if r["median_us"] >= 100 else 1),
                    fmt_num(r["p99_us"], 0 if r["p99_us"] >= 100 else 1),
                    f"{r['speedup']:.1f}x",
                ]
            )
            last_n = r["n"]
        print_table(title, columns, table_rows, sections=True)


def print_legend() -> None:
    click.echo("Per batch of n keys. cmds: commands sent (MULTI/EXEC included); RTs: round trips;")
    click.echo("speedup: sequential median / variant median, measured side by side in one run.")
    for pattern in PATTERNS:
        label = LABELS[pattern].removeprefix("n x ")
        notes = "; ".join(f"{v} = {VARIANT_NOTES[pattern][v]}" for v in VARIANTS)
        click.echo(f"{label}: {notes}.")
    click.echo(
        "multikey for writes: there is no MSET with a TTL, so MSET and the n EXPIREs share one "
        "non-transactional pipeline (one round trip, not atomic); SET key value EX ttl would "
        "need one command per key."
    )


def plot_results(results: list[dict[str, Any]], path: str) -> None:
    plt = require_matplotlib()
    rtts = sorted({r["rtt_ms"] for r in results})
    fig, axes = plt.subplots(
        len(PATTERNS), len(rtts), figsize=(5.5 * len(rtts), 8), squeeze=False, sharex=True
    )
    for i, pattern in enumerate(PATTERNS):
        for j, rtt in enumerate(rtts):
            ax = axes[i][j]
            for variant in VARIANTS:
                rows = sorted(
                    (
                        r
                        for r in results
                        if r["pattern"] == pattern
                        and r["rtt_ms"] == rtt
                        and r["variant"] == variant
                    ),
                    key=lambda r: r["n"],
                )
                if rows:
                    ax.plot(
                        [r["n"] for r in rows],
                        [r["median_us"] for r in rows],
                        marker="o",
                        label=variant,
                    )
            ax.set_xscale("log")
            ax.set_yscale("log")
            ns = sorted({r["n"] for r in results})
            ax.set_xticks(ns)
            ax.set_xticklabels([str(n) for n in ns])
            ax.tick_params(axis="x", which="minor", bottom=False, labelbottom=False)
            label = LABELS[pattern].removeprefix("n x ")
            ax.set_title(f"{label} x n, rtt +{rtt:g} ms")
            ax.set_xlabel("n (keys per batch)")
            ax.set_ylabel("median µs per batch")
            ax.grid(True, which="both", alpha=0.3)
            ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@click.command(
    "patterns", short_help="GET and SET+EXPIRE batches: sequential, pipeline, multi-key, Lua."
)
@click.option(
    "--n",
    "n_csv",
    default="1,3,10,100",
    show_default=True,
    help="Batch sizes (keys per batch), comma-separated.",
)
@click.option(
    "--rtt-ms",
    "rtt_csv",
    default="0,0.5",
    show_default=True,
    help="Added round-trip times in ms, comma-separated (0 = direct; >0 via a latency proxy).",
)
@click.option(
    "--iterations",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Timed rounds per (rtt, n, pattern); each round runs every variant once.",
)
@click.option(
    "--atomic/--no-atomic",
    default=True,
    show_default=True,
    help="Also time the atomicity patterns (read-modify-write, SET + TTL, dependent "
    "chain, Script in a pipeline; see pipelint/bench/atomic.py).",
)
@output_options
def patterns_command(
    n_csv: str,
    rtt_csv: str,
    iterations: int,
    json_path: str | None,
    plot_path: str | None,
    redis_url: str | None,
    atomic: bool = True,
) -> None:
    """Time GET, HGET, SADD and SET+EXPIRE batches: loop vs pipeline vs multi-key vs Lua."""
    ns = parse_csv(int, n_csv, "--n")
    rtts = parse_csv(float, rtt_csv, "--rtt-ms")
    if any(n < 1 for n in ns):
        raise click.BadParameter("batch sizes must be >= 1", param_hint="--n")
    if any(r < 0 for r in rtts):
        raise click.BadParameter("must be >= 0", param_hint="--rtt-ms")
    if plot_path:
        require_matplotlib()  # fail before a long run, not after

    prefix = new_prefix()
    with bench_client(redis_url, prefix) as (target, client):
        atomic_rows: list[dict[str, Any]] = []
        with make_progress() as progress:
            results, measured_rtt = run_patterns(target, ns, rtts, iterations, prefix, progress)
            if atomic:
                from pipelint.bench.atomic import run_atomic_all

                atomic_rows, _ = run_atomic_all(target, ns, rtts, iterations, prefix, progress)
        env = env_info(
            client,
            target,
            iterations=iterations,
            warmup_rounds=WARMUP_ROUNDS,
            measured_ping_us=measured_rtt,
            key_prefix=prefix,
        )

    print_results(results, measured_rtt)
    print_legend()
    if atomic_rows:
        from pipelint.bench.atomic import print_atomic

        print_atomic(atomic_rows, measured_rtt)
    if not target.embedded:
        click.echo(
            "note: --redis-url points at a shared server; other clients' load skews timings."
        )
    write_outputs(
        {"results": results, "env": env, "atomic": atomic_rows},
        json_path,
        plot_path,
        lambda path: plot_results(results, path),
    )


__all__ = ["patterns_command", "run_patterns"]
