"""Interrupts (issue 18, item 10): Ctrl-C stops a real ``pipelint check --fix`` run
promptly, with exit status 130, and nothing is written after the signal; SIGTERM the
same with 143. Real processes and real signals."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

FILES = 40
#: a file that takes a while to check and fix (150 functions with a finding each)
BODY = "import redis\n\nr = redis.Redis()\n" + "".join(
    f"\n\ndef f{i}(uid):\n    a = r.get(f'a:{{uid}}')\n    b = r.get(f'b:{{uid}}')\n    return a, b\n"
    for i in range(150)
)


def _fixed(app: Path) -> dict[str, float]:
    out = {}
    for p in app.glob("*.py"):
        if "pipe.execute(" in p.read_text():
            out[p.name] = p.stat().st_mtime
    return out


def _as_a_terminal_job() -> None:
    """In the child, before exec: SIGINT as a foreground job in a terminal has it. A
    test run started in the background by a non-interactive shell (`pytest &`, as some
    CI runners do) inherits SIGINT ignored, and a program keeps ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize(
    ("jobs", "sig", "to_group", "status"),
    [
        ("2", signal.SIGINT, True, 130),  # Ctrl-C in a terminal: the whole group
        ("2", signal.SIGINT, False, 130),  # kill -INT of the parent alone
        ("1", signal.SIGINT, True, 130),  # in-process run
        ("2", signal.SIGTERM, False, 143),
    ],
    ids=["pool-ctrl-c", "pool-parent-only", "in-process", "pool-sigterm"],
)
def test_interrupt_stops_at_once_and_writes_nothing_after(
    tmp_path: Path, jobs: str, sig: signal.Signals, to_group: bool, status: int
) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    app = tmp_path / "app"
    app.mkdir()
    for k in range(FILES):
        (app / f"m{k:02d}.py").write_text(BODY)
    env = {**os.environ, "CI": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelint", "check", "--no-cache", "--fix", "--jobs", jobs, "app"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, as a shell job has
        preexec_fn=_as_a_terminal_job,
    )
    try:
        deadline = time.monotonic() + 60
        while not _fixed(app):  # interrupt it in the middle of its work
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no file was fixed in 60 s"
            time.sleep(0.02)
        sent = time.time()
        if to_group:
            os.killpg(proc.pid, sig)
        else:
            os.kill(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=30)
        took = time.time() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == status, stderr.decode()
    assert b"Traceback" not in stderr and b"Aborted!" not in stderr
    assert took < 5, f"took {took:.1f} s to stop"
    fixed = _fixed(app)
    assert 0 < len(fixed) < FILES
    # a write already under way when the signal came may end, none may start after it
    late = {name: t - sent for name, t in fixed.items() if t > sent + 0.1}
    assert not late, f"written after the interrupt: {late}"
    assert not [p for p in app.iterdir() if "pipelint-tmp" in p.name]
    assert _group_gone(proc.pid), "worker processes outlived the run"
    for p in app.glob("*.py"):  # every file is whole: the original or the fixed one
        compile(p.read_text(), str(p), "exec")


def _sigint_ignored() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_a_run_started_with_sigint_ignored_keeps_ignoring_it(tmp_path: Path) -> None:
    """A background job of a non-interactive shell starts with SIGINT ignored: Ctrl-C
    at the terminal is not for it. Neither the parent nor its workers may act on it
    (the workers once abandoned their tasks while the parent carried on: exit 2)."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    app = tmp_path / "app"
    app.mkdir()
    files = 8
    for k in range(files):
        (app / f"m{k:02d}.py").write_text(BODY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelint", "check", "--no-cache", "--fix", "--jobs", "2", "app"],
        cwd=tmp_path,
        env={**os.environ, "CI": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=_sigint_ignored,
    )
    try:
        deadline = time.monotonic() + 60
        while not _fixed(app) and proc.poll() is None:
            assert time.monotonic() < deadline, "no file was fixed in 60 s"
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, stderr.decode()
    assert len(_fixed(app)) == files
