"""A small TCP proxy on loopback that adds round-trip latency.

Every chunk of bytes read in either direction is forwarded ``rtt / 2`` seconds
after it arrived, so one request/response exchange costs one extra ``rtt`` while
bandwidth and pipelining are untouched (it delays, it does not throttle): a
pipeline of 100 commands still pays the delay once.

Threads, not asyncio: asyncio's epoll wait rounds timeouts up to whole
milliseconds, which would turn a 0.25 ms delay into 1 ms. ``time.sleep`` is
precise to tens of microseconds on Linux, and the last stretch is spun to cut
the overshoot further.

Benchmarks run it in a separate process (``ProxyProcess``) so that its threads
do not compete with the measured client for the GIL. ``LatencyProxy`` runs
in-process (tests, embedding). ``pipelint bench proxy`` runs it in the
foreground to try a workload at network distance by hand.
"""

from __future__ import annotations

import collections
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import click

from pipelint.server import StartStop

__all__ = ["LatencyProxy", "ProxyProcess", "proxy_command"]

_CHUNK = 256 * 1024
# The last part of a delay is spun instead of slept: sleep() overshoots by
# ~50-80 us on Linux (timer slack), which would inflate a 0.5 ms rtt by ~25%.
_SPIN_S = 100e-6


def _wait_until(deadline: float) -> None:
    remaining = deadline - time.perf_counter()
    if remaining > _SPIN_S:
        time.sleep(remaining - _SPIN_S)
    while time.perf_counter() < deadline:
        pass


class _Direction:
    """Copies src -> dst, each chunk ``delay`` seconds after it was read."""

    def __init__(self, src: socket.socket, dst: socket.socket, delay: float, done: Done) -> None:
        self.src = src
        self.dst = dst
        self.delay = delay
        self.done = done
        self.queue: collections.deque[tuple[float, bytes]] = collections.deque()
        self.cond = threading.Condition()
        self.threads = [
            threading.Thread(target=self._read, daemon=True, name="proxy-read"),
            threading.Thread(target=self._write, daemon=True, name="proxy-write"),
        ]
        if delay <= 0:
            self.threads = [threading.Thread(target=self._copy, daemon=True, name="proxy-copy")]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def _copy(self) -> None:
        try:
            while True:
                data = self.src.recv(_CHUNK)
                if not data:
                    break
                self.dst.sendall(data)
        except OSError:
            pass
        self.done()

    def _read(self) -> None:
        try:
            while True:
                data = self.src.recv(_CHUNK)
                when = time.perf_counter() + self.delay
                with self.cond:
                    self.queue.append((when, data))
                    self.cond.notify()
                if not data:
                    return
        except OSError:
            with self.cond:
                self.queue.append((0.0, b""))
                self.cond.notify()

    def _write(self) -> None:
        try:
            while True:
                with self.cond:
                    while not self.queue:
                        self.cond.wait()
                    when, data = self.queue.popleft()
                if not data:
                    break
                _wait_until(when)
                self.dst.sendall(data)
        except OSError:
            pass
        self.done()


class Done:
    """Closes both sockets of a connection once either direction ends."""

    def __init__(self, *socks: socket.socket) -> None:
        self.socks = socks
        self.lock = threading.Lock()
        self.closed = False

    def __call__(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in self.socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


class LatencyProxy(StartStop):
    """Listens on 127.0.0.1 (a free port by default) and forwards to ``target``.

    >>> with LatencyProxy("127.0.0.1", srv.port, rtt_ms=0.5) as proxy:
    ...     client = redis.Redis(host=proxy.host, port=proxy.port)
    """

    def __init__(
        self,
        target_host: str,
        target_port: int,
        rtt_ms: float,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if rtt_ms < 0:
            raise ValueError("rtt_ms must be >= 0")
        self.target = (target_host, target_port)
        self.rtt_ms = rtt_ms
        self.host = host
        self.port = port
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._conns: list[Done] = []
        self._lock = threading.Lock()
        self._stopping = False

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> LatencyProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        self.port = int(listener.getsockname()[1])
        self._listener = listener
        self._accept_thread = threading.Thread(
            target=self._accept_loop, daemon=True, name="proxy-accept"
        )
        self._accept_thread.start()
        return self

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _addr = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            done = Done(client, upstream)
            with self._lock:
                if self._stopping:
                    done()
                    return
                self._conns.append(done)
            delay = self.rtt_ms / 2000.0
            _Direction(client, upstream, delay, done).start()
            _Direction(upstream, client, delay, done).start()

    def stop(self) -> None:
        with self._lock:
            self._stopping = True
            conns = list(self._conns)
            self._conns.clear()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        for done in conns:
            done()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=2)
            self._accept_thread = None

    def serve_forever(self) -> None:
        assert self._accept_thread is not None
        self._accept_thread.join()


class ProxyProcess(StartStop):
    """A ``LatencyProxy`` in a child process (``python -m pipelint.bench.proxy``).

    Keeps the proxy's threads off the GIL of the process being measured.
    """

    def __init__(self, target_host: str, target_port: int, rtt_ms: float) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.rtt_ms = rtt_ms
        self.host = "127.0.0.1"
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> ProxyProcess:
        # The child must import this very package, even when it is not installed.
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipelint.bench.proxy",
                "--to",
                f"{self.target_host}:{self.target_port}",
                "--rtt-ms",
                repr(self.rtt_ms),
                "--port",
                "0",
                "--quiet",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.startswith("LISTEN "):
            self.stop()
            raise RuntimeError(f"latency proxy did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def stop(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        if proc.stdin is not None:
            try:
                proc.stdin.close()  # the child exits when its stdin closes
            except OSError:
                pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _parse_target(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise click.BadParameter("expected HOST:PORT")
    return host or "127.0.0.1", int(port)


@click.command("proxy", short_help="A TCP proxy that adds round-trip time to a Redis server.")
@click.option(
    "--to", "target", required=True, metavar="HOST:PORT", help="Redis server to forward to."
)
@click.option(
    "--rtt-ms",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Added round-trip time (each direction is delayed by half).",
)
@click.option("--port", type=int, default=0, help="Port to listen on (default: a free one).")
@click.option(
    "--quiet", is_flag=True, hidden=True, help="Machine mode: print 'LISTEN <port>' only."
)
def proxy_command(target: str, rtt_ms: float, port: int, quiet: bool) -> None:
    """Forward 127.0.0.1:PORT to HOST:PORT with added round-trip latency.

    Point a client at the printed URL to feel a workload at network distance.
    Stops on Ctrl-C (or when stdin closes, in --quiet mode).
    """
    host, tport = _parse_target(target)
    proxy = LatencyProxy(host, tport, rtt_ms, port=port).start()
    try:
        if quiet:
            print(f"LISTEN {proxy.port}", flush=True)
            sys.stdin.read()  # parent closes stdin to stop us
        else:
            click.echo(
                f"{proxy.url} -> {host}:{tport} with +{rtt_ms:g} ms round trip (Ctrl-C stops)"
            )
            proxy.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        proxy.stop()


if __name__ == "__main__":
    proxy_command()
