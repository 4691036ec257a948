"""The atomicity rows of ``pipelint bench patterns`` (RP201, RP202, RP203, RP302).

For a batch of n items, four patterns, each with the variant pipelint finds first
and the rewrites it recommends (all variants leave the same data):

=================  =====================================  ==================================
pattern            variants                               round trips per batch
=================  =====================================  ==================================
rmw                get_set: GET, int + 1, SET (RP201)     2n
                   incrby: INCRBY (the native fix)        n
                   lua: EVALSHA of GET/+1/SET             n
set_ttl            set_expire: SET, EXPIRE (RP202)        2n
                   set_ex: SET ... EX                     n
                   transaction: MULTI SET EXPIRE EXEC     n
chain              sequential: GET id, HGETALL task:id,   3n
                   ZADD leases id (RP203)
                   lua: one EVALSHA per item              n
script_pipeline    script: n Script calls queued with     2 (SCRIPT EXISTS, then the
                   client=pipe, one execute (RP302)       pipeline)
                   evalsha: n pipe.evalsha, one execute   1
=================  =====================================  ==================================

Timing is the same as the other patterns (``patterns.measure``): variants interleaved
per round, ratios of medians from one run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pipelint.bench.common import fmt_num, percentile, print_table

if TYPE_CHECKING:
    import redis

__all__ = ["ATOMIC_VARIANTS", "make_atomic_variants", "atomic_round_trips", "run_atomic"]

ATOMIC_VARIANTS: dict[str, tuple[str, ...]] = {
    "rmw": ("get_set", "incrby", "lua"),
    "set_ttl": ("set_expire", "set_ex", "transaction"),
    "chain": ("sequential", "lua"),
    "script_pipeline": ("script", "evalsha"),
}
LABELS = {
    "rmw": "n x read-modify-write of a counter",
    "set_ttl": "n x (SET + TTL)",
    "chain": "n x a 3-command dependent chain",
    "script_pipeline": "a pipeline of n script calls",
}

LUA_RMW = """
local v = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
redis.call('SET', KEYS[1], v)
return v
"""

LUA_CHAIN = """
local id = redis.call('GET', KEYS[1])
local task = redis.call('HGETALL', ARGV[1] .. id)
redis.call('ZADD', KEYS[2], ARGV[2], id)
return {id, task}
"""

LUA_ECHO = "return ARGV[1]"


def atomic_round_trips(pattern: str, variant: str, n: int) -> int:
    """Client round trips per batch (scripts loaded)."""
    if pattern == "script_pipeline":
        return 2 if variant == "script" else 1
    if pattern == "chain":
        return 3 * n if variant == "sequential" else n
    if variant in ("get_set", "set_expire"):
        return 2 * n
    return n


def make_atomic_variants(
    client: redis.Redis, pattern: str, keys: list[str], ttl: int
) -> dict[str, Callable[[], Any]]:
    """One zero-argument callable per variant, each doing one batch."""
    if pattern == "rmw":
        script = client.register_script(LUA_RMW)

        def get_set() -> Any:
            out = []
            for k in keys:
                value = int(client.get(k) or 0) + 1  # noqa: RP201 - the pattern measured
                client.set(k, value)
                out.append(value)
            return out

        def incrby() -> Any:
            return [client.incrby(k, 1) for k in keys]

        def lua() -> Any:
            return [script(keys=[k]) for k in keys]

        return {"get_set": get_set, "incrby": incrby, "lua": lua}
    if pattern == "set_ttl":

        def set_expire() -> Any:
            for k in keys:
                client.set(k, b"v")  # noqa: RP202 - the pattern measured
                client.expire(k, ttl)

        def set_ex() -> Any:
            for k in keys:
                client.set(k, b"v", ex=ttl)

        def transaction() -> Any:
            for k in keys:
                with client.pipeline(transaction=True) as pipe:
                    pipe.set(k, b"v")
                    pipe.expire(k, ttl)
                    pipe.execute()

        return {"set_expire": set_expire, "set_ex": set_ex, "transaction": transaction}
    if pattern == "chain":
        script = client.register_script(LUA_CHAIN)
        leases = keys[0] + ":leases"
        task_prefix = keys[0] + ":task:"

        def sequential() -> Any:
            out = []
            for k in keys:
                task_id = client.get(k)  # noqa: RP203 - the pattern measured
                task = client.hgetall(task_prefix + task_id.decode())
                client.zadd(leases, {task_id: 1})
                out.append(task)
            return out

        def lua() -> Any:
            return [script(keys=[k, leases], args=[task_prefix, 1]) for k in keys]

        return {"sequential": sequential, "lua": lua}
    if pattern == "script_pipeline":
        script = client.register_script(LUA_ECHO)
        client.script_load(LUA_ECHO)

        def with_script() -> Any:
            pipe = client.pipeline(transaction=False)
            for k in keys:
                script(args=[k], client=pipe)  # noqa: RP302 - the pattern measured
            return pipe.execute()

        def evalsha() -> Any:
            pipe = client.pipeline(transaction=False)
            for k in keys:
                pipe.evalsha(script.sha, 0, k)
            return pipe.execute()

        return {"script": with_script, "evalsha": evalsha}
    raise ValueError(pattern)


def seed_atomic(client: redis.Redis, pattern: str, keys: list[str], ttl: int) -> None:
    """The data a pattern reads (the chain's ids and tasks)."""
    if pattern != "chain":
        return
    with client.pipeline(transaction=False) as pipe:
        for i, k in enumerate(keys):
            pipe.set(k, str(i), ex=ttl)
            pipe.hset(f"{keys[0]}:task:{i}", mapping={"id": str(i), "payload": "x" * 32})
            pipe.expire(f"{keys[0]}:task:{i}", ttl)
        pipe.execute()


def run_atomic(
    client: redis.Redis,
    rtt: float,
    ns: list[int],
    iterations: int,
    prefix: str,
    ttl: int,
    measure: Callable[..., dict[str, list[float]]],
    advance: Callable[[], None],
) -> list[dict[str, Any]]:
    """One row per (pattern, n, variant) at this RTT."""
    rows: list[dict[str, Any]] = []
    for n in ns:
        for pattern, variants in ATOMIC_VARIANTS.items():
            keys = [f"{prefix}{pattern}:{n}:{i}" for i in range(n)]
            seed_atomic(client, pattern, keys, ttl)
            samples = measure(make_atomic_variants(client, pattern, keys, ttl), iterations, advance)
            base = percentile(samples[variants[0]], 50)
            for variant in variants:
                med = percentile(samples[variant], 50)
                rows.append(
                    {
                        "pattern": pattern,
                        "variant": variant,
                        "n": n,
                        "rtt_ms": rtt,
                        "median_us": round(med, 2),
                        "p99_us": round(percentile(samples[variant], 99), 2),
                        "speedup": round(base / med, 3),
                        "round_trips": atomic_round_trips(pattern, variant, n),
                    }
                )
            client.delete(*keys)
    return rows


def run_atomic_all(
    target: Any, ns: list[int], rtts: list[float], iterations: int, prefix: str, progress: Any
) -> tuple[list[dict[str, Any]], dict[str, float]]:
    """The atomicity rows at every RTT (direct, or through the latency proxy)."""
    import redis

    from pipelint.bench.common import latency_url
    from pipelint.bench.patterns import KEY_TTL, WARMUP_ROUNDS, measure, ping_rtt_us

    rows: list[dict[str, Any]] = []
    measured: dict[str, float] = {}
    total = len(rtts) * len(ns) * len(ATOMIC_VARIANTS) * (WARMUP_ROUNDS + iterations)
    task = progress.add_task("bench atomicity", total=total)

    def advance() -> None:
        progress.advance(task)

    for rtt in rtts:
        with latency_url(target, rtt) as url, redis.Redis.from_url(url) as client:
            measured[f"{rtt:g}"] = round(ping_rtt_us(client), 1)
            rows.extend(run_atomic(client, rtt, ns, iterations, prefix, KEY_TTL, measure, advance))
    return rows, measured


def print_atomic(rows: list[dict[str, Any]], measured_rtt: dict[str, float]) -> None:
    columns = [
        ("n", "right"),
        ("variant", "left"),
        ("RTs", "right"),
        ("median µs", "right"),
        ("p99 µs", "right"),
        ("speedup", "right"),
    ]
    groups: dict[tuple[str, float], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["pattern"], row["rtt_ms"]), []).append(row)
    for (pattern, rtt), group in groups.items():
        where = "direct loopback" if rtt == 0 else f"+{rtt:g} ms rtt via proxy"
        ping = measured_rtt.get(f"{rtt:g}")
        title = f"{LABELS[pattern]}, {where}" + (
            f" (PING {ping:,.0f} µs)" if ping is not None else ""
        )
        table: list[list[str]] = []
        last_n: int | None = None
        for r in group:
            table.append(
                [
                    str(r["n"]) if r["n"] != last_n else "",
                    r["variant"],
                    str(r["round_trips"]),
                    fmt_num(r["median_us"], 0 if r["median_us"] >= 100 else 1),
                    fmt_num(r["p99_us"], 0 if r["p99_us"] >= 100 else 1),
                    f"{r['speedup']:.1f}x",
                ]
            )
            last_n = r["n"]
        print_table(title, columns, table, sections=True)
    import click

    click.echo(
        "Atomicity: rmw = GET, +1, SET (RP201) vs INCRBY vs a script; set_ttl = SET then "
        "EXPIRE (RP202) vs SET EX vs MULTI/EXEC; chain = GET id, HGETALL task:id, ZADD "
        "(RP203) vs one script; script_pipeline = Script(client=pipe), which sends SCRIPT "
        "EXISTS before every execute (RP302), vs pipe.evalsha. speedup: over the first row."
    )
