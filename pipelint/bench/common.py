"""Shared plumbing for the benchmarks: target server, key prefix, cleanup, output.

Imports of redis, rich and matplotlib happen inside the functions.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import math
import os
import platform
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import click

if TYPE_CHECKING:
    import redis

PREFIX_ROOT = "pipelint-bench"

OTHER_CLIENTS_NOTE = (
    "note: --redis-url points at a shared server; INFO commandstats deltas and "
    "connected-client counts include other clients' traffic, and their load "
    "skews timings."
)


@dataclass
class Target:
    """The Redis server a benchmark runs against."""

    url: str
    host: str
    port: int
    embedded: bool


@contextlib.contextmanager
def target_server(redis_url: str | None) -> Iterator[Target]:
    """A private redis-server (default) or the server at ``redis_url``."""
    if redis_url is None:
        from pipelint.server import RedisServer, RedisServerError

        try:
            srv = RedisServer().start()
        except RedisServerError as exc:
            raise click.ClickException(f"{exc} (or pass --redis-url)") from exc
        try:
            yield Target(srv.url, srv.host, srv.port, embedded=True)
        finally:
            srv.stop()
        return
    parts = urlsplit(redis_url)
    if parts.scheme not in ("redis", "rediss"):
        raise click.BadParameter(
            "only redis:// and rediss:// URLs are supported", param_hint="--redis-url"
        )
    yield Target(redis_url, parts.hostname or "127.0.0.1", parts.port or 6379, embedded=False)


@contextlib.contextmanager
def bench_client(redis_url: str | None, prefix: str) -> Iterator[tuple[Target, redis.Redis]]:
    """The target server and a client on it; the keys under ``prefix`` are deleted and
    the client closed on the way out."""
    import redis

    with target_server(redis_url) as target:
        client = redis.Redis.from_url(target.url)
        try:
            yield target, client
        finally:
            try:
                delete_prefix(client, prefix)
            finally:
                client.close()


@contextlib.contextmanager
def latency_url(target: Target, rtt_ms: float) -> Iterator[str]:
    """The target's URL, or with ``rtt_ms > 0`` that of a latency proxy in front of it
    (a :class:`~pipelint.bench.proxy.ProxyProcess`, stopped on the way out)."""
    if rtt_ms <= 0:
        yield target.url
        return
    from pipelint.bench.proxy import ProxyProcess

    with ProxyProcess(target.host, target.port, rtt_ms) as proxy:
        yield url_via(target.url, proxy.host, proxy.port)


def url_via(url: str, host: str, port: int) -> str:
    """``url`` with its host:port replaced (credentials, db and query kept)."""
    parts = urlsplit(url)
    userinfo = ""
    if "@" in parts.netloc:
        userinfo = parts.netloc.rsplit("@", 1)[0] + "@"
    return urlunsplit(parts._replace(netloc=f"{userinfo}{host}:{port}"))


def new_prefix() -> str:
    """A random key prefix owned by this run, e.g. ``pipelint-bench:<uuid>:``."""
    return f"{PREFIX_ROOT}:{uuid.uuid4().hex}:"


def delete_prefix(client: redis.Redis, prefix: str) -> int:
    """Delete every key under ``prefix`` (SCAN MATCH + UNLINK; never FLUSH)."""
    pattern = _glob_escape(prefix) + "*"
    deleted = 0
    batch: list[Any] = []
    for key in client.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) >= 500:
            deleted += int(client.unlink(*batch))
            batch.clear()
    if batch:
        deleted += int(client.unlink(*batch))
    return deleted


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def server_version(client: redis.Redis) -> str:
    try:
        return str(client.info("server").get("redis_version", "unknown"))
    except Exception:  # noqa: BLE001 - some proxies/managed servers restrict INFO
        return "unknown"


def env_info(client: redis.Redis, target: Target, **extra: Any) -> dict[str, Any]:
    import redis as redis_module

    env: dict[str, Any] = {
        "python": platform.python_version(),
        "redis_py": redis_module.__version__,
        "redis_server": server_version(client),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "server": "embedded" if target.embedded else "external (--redis-url)",
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    try:
        import hiredis  # type: ignore[import-not-found]  # noqa: F401

        env["parser"] = "hiredis"
    except ImportError:
        env["parser"] = "python"
    env.update(extra)
    return env


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100) of ``values``."""
    if not values:
        return math.nan
    data = sorted(values)
    if len(data) == 1:
        return float(data[0])
    pos = (len(data) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(data) - 1)
    return float(data[lo] + (data[hi] - data[lo]) * (pos - lo))


def parse_csv(kind: type[int] | type[float] | type[str], value: str, name: str) -> list[Any]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise click.BadParameter("needs at least one value", param_hint=name)
    try:
        return [kind(v) for v in items]
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=name) from exc


class NullProgress:
    """Stand-in for rich.progress.Progress when stderr is not a terminal."""

    def __enter__(self) -> NullProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **kw: Any) -> int:
        return 0

    def update(self, task_id: int, **kw: Any) -> None:
        return None

    def advance(self, task_id: int, advance: float = 1) -> None:
        return None


def make_progress() -> Any:
    """A rich Progress on stderr when stderr is a TTY, else a no-op."""
    if not sys.stderr.isatty():
        return NullProgress()
    try:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )
    except ImportError:
        return NullProgress()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def print_table(
    title: str,
    columns: Sequence[tuple[str, str]],
    rows: Sequence[Sequence[str]],
    caption: str = "",
    *,
    sections: bool = False,
) -> None:
    """Print a table on stdout: rich when available, plain text otherwise.

    ``columns`` are (header, justify) pairs, justify being "left" or "right".
    With ``sections``, a rule separates rows whose first cell is not empty.
    """
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        _print_plain_table(title, columns, rows, caption)
        return
    click.echo(title)
    table = Table()
    for header, justify in columns:
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    previous: str | None = None
    for row in rows:
        if sections and previous is not None and row[0] != previous and row[0] != "":
            table.add_section()
        if row[0] != "":
            previous = row[0]
        table.add_row(*row)
    console = Console(soft_wrap=False)
    console.print(table)
    if caption:
        click.echo(caption)
    click.echo()


def _print_plain_table(
    title: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]], caption: str
) -> None:
    widths = [len(h) for h, _ in columns]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]

    def fmt(cells: Sequence[str]) -> str:
        out = []
        for cell, width, (_h, justify) in zip(cells, widths, columns, strict=False):
            out.append(cell.rjust(width) if justify == "right" else cell.ljust(width))
        return "  ".join(out).rstrip()

    click.echo(title)
    click.echo(fmt([h for h, _ in columns]))
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo(fmt(row))
    if caption:
        click.echo(caption)
    click.echo()


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--json``, ``--plot`` and ``--redis-url`` options of a benchmark command."""
    command = click.option(
        "--redis-url",
        default=None,
        help=(
            "Use this server instead of a private one "
            "(only keys under a random prefix are touched)."
        ),
    )(command)
    command = click.option(
        "--plot", "plot_path", type=click.Path(dir_okay=False), help="Write a PNG chart."
    )(command)
    return click.option(
        "--json", "json_path", type=click.Path(dir_okay=False), help="Write results as JSON."
    )(command)


def write_outputs(
    payload: Mapping[str, Any],
    json_path: str | None,
    plot_path: str | None,
    plot: Callable[[str], None],
) -> None:
    """Write ``payload`` to ``--json`` and call ``plot(path)`` for ``--plot``, when given."""
    if json_path:
        Path(json_path).write_text(json.dumps(payload, indent=2, default=str) + "\n")
        click.echo(f"wrote {json_path}", err=True)
    if plot_path:
        plot(plot_path)
        click.echo(f"wrote {plot_path}", err=True)


def require_matplotlib() -> Any:
    """``matplotlib.pyplot`` with the Agg backend, or a ClickException saying how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise click.ClickException(
            "--plot needs matplotlib: pip install 'pipelint[plot]' (or pip install matplotlib)"
        ) from exc
    return plt


def fmt_num(value: float, digits: int = 0) -> str:
    if value != value:  # NaN
        return "-"
    return f"{value:,.{digits}f}"
