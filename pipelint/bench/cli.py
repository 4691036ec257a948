"""``pipelint bench``: prove on a real Redis that the recommended patterns are faster.

The main CLI attaches this group with ``main.add_command(bench)``. Subcommands
live in their own modules and are added below; heavy imports (redis, rich,
matplotlib) happen inside the commands, so ``pipelint --help`` stays fast.

Adding a subcommand from another module: put it in ``pipelint/bench/lint*.py``
and either decorate it with ``@bench.command(...)`` (``from pipelint.bench.cli
import bench``) or expose it as a module-level ``command``; such modules are
imported when this module loads.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from pipelint.bench.patterns import patterns_command
from pipelint.bench.proxy import proxy_command
from pipelint.bench.queue_bench import queue_command
from pipelint.bench.recorder_bench import recorder_command

__all__ = ["bench"]

bench = click.Group(
    "bench",
    help=(
        "Benchmarks on a real Redis. Without --redis-url each run starts a private "
        "redis-server on a free port; with --redis-url only keys under a random "
        "prefix are touched and they are deleted afterwards."
    ),
)
bench.add_command(patterns_command, "patterns")
bench.add_command(queue_command, "queue")
bench.add_command(proxy_command, "proxy")
bench.add_command(recorder_command, "recorder")


def _load_extra_commands() -> None:
    """Import ``pipelint/bench/lint*.py`` modules so they can add their commands."""
    import pipelint.bench as package

    for info in pkgutil.iter_modules(package.__path__):
        if not info.name.startswith("lint"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        command = getattr(module, "command", None)
        if isinstance(command, click.Command) and command.name not in bench.commands:
            bench.add_command(command)


_load_extra_commands()


if __name__ == "__main__":
    # Use the instance in the imported module (not this __main__ copy), so that
    # commands registered by other modules on ``pipelint.bench.cli.bench`` appear.
    from pipelint.bench.cli import bench as _bench

    _bench()
