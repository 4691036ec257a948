"""Running the real CLI on hostile file systems (issue 18).

Permission bits do not stop root, and these machines run the tests as root. Root
without the capabilities that bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) is
held to them like any user, so a pipelint started under ``setpriv`` with those dropped
meets a mode-000 file or directory as a user would. ``unprivileged()`` is the command
prefix for that (empty when not root), or None where it cannot be had."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

FLAGGED = 'import redis\n\nr = redis.Redis()\n\n\ndef f():\n    r.get("a")\n    r.get("b")\n'
_DROP = "--bounding-set=-dac_override,-dac_read_search"


@functools.lru_cache(maxsize=1)
def unprivileged() -> tuple[str, ...] | None:
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:  # does it really hold root to the bits?
        secret = Path(tmp) / "secret"
        secret.write_text("x")
        secret.chmod(0)
        probe = subprocess.run(
            [setpriv, _DROP, sys.executable, "-c", f"open({str(secret)!r}).read()"],
            capture_output=True,
        )
    return (setpriv, _DROP) if probe.returncode != 0 else None


def require_unprivileged() -> tuple[str, ...]:
    prefix = unprivileged()
    if prefix is None:
        pytest.skip("permission bits cannot be enforced here (root without setpriv)")
    return prefix


def pipelint(
    cwd: Path,
    *args: str,
    as_user: bool = False,
    input: bytes | None = None,
    timeout: float = 60,
    cache: bool = False,
    prelude: str = "",
) -> subprocess.CompletedProcess[bytes]:
    """``python -m pipelint check ARGS`` in ``cwd`` (concise output unless ARGS say
    otherwise); ``as_user``: held to permission bits even when run by root;
    ``prelude``: Python run first in the same process (to break pipelint on purpose;
    the workers it forks inherit it)."""
    prefix = require_unprivileged() if as_user else ()
    env = {**os.environ, "CI": "1"}
    env.pop("PIPELINT_OUTPUT_FORMAT", None)
    extra = [] if cache else ["--no-cache"]
    if not any(a.startswith("--output-format") for a in args):
        extra += ["--output-format", "concise"]
    main = ["-m", "pipelint"]
    if prelude:
        script = f"{prelude}\nimport sys\nfrom pipelint.cli import main\nsys.argv[0] = 'pipelint'\nmain()\n"
        main = ["-c", script]
    return subprocess.run(
        [*prefix, sys.executable, *main, "check", *extra, *args],
        cwd=cwd,
        env=env,
        input=input if input is not None else b"",
        capture_output=True,
        timeout=timeout,
    )


def findings(out: bytes) -> dict[str, set[str]]:
    """{path: {codes}} from concise output."""
    found: dict[str, set[str]] = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        parts = line.split(":", 3)
        if len(parts) == 4 and parts[1].isdigit():
            found.setdefault(parts[0], set()).add(parts[3].split()[0])
    return found
