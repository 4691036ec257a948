"""The command line: ``pipelint check``, ``pipelint rule``, ``pipelint bench``.

``pipelint PATHS`` is ``pipelint check PATHS``. Exit codes as ruff: 0 clean,
1 findings (or a diff / fixes with ``--exit-non-zero-on-fix``), 2 usage or
internal error (RP902 included), 130 interrupted, 143 terminated.
"""

from __future__ import annotations

import contextlib
import signal
import sys
from pathlib import Path
from typing import Any

import click

from pipelint import __version__

__all__ = ["main", "cli"]

OUTPUT_FORMATS = ("full", "concise", "text", "json", "sarif", "github")


class _DefaultCheckGroup(click.Group):
    """A group whose default subcommand is ``check``; ``bench`` is loaded on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), "bench"})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == "bench" and "bench" not in self.commands:
            _attach_bench()
        return super().get_command(ctx, cmd_name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if (
            args
            and args[0] not in self.commands
            and args[0] not in ("bench", "--help", "-h", "--version")
        ):
            args = ["check", *args]
        elif not args:
            args = ["check"]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultCheckGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipelint")
def cli() -> None:
    """pipelint: find Redis commands that pay one round trip each where they could share one."""


@cli.command(short_help="Check PATHS for Redis round-trip problems (the default command).")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path, readable=False))
@click.option(
    "--select",
    multiple=True,
    help="Rule codes or prefixes to enable (comma-separated); replaces the configuration's "
    "selection, its ignore included.",
)
@click.option(
    "--extend-select", multiple=True, help="Codes to enable in addition to the selected ones."
)
@click.option(
    "--ignore", multiple=True, help="Rule codes or prefixes to disable (comma-separated)."
)
@click.option("--fix/--no-fix", default=False, help="Apply safe fixes.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (and show) unsafe fixes.")
@click.option(
    "--diff", is_flag=True, help="Print a diff of the fixes instead of writing them; exit 1 if any."
)
@click.option(
    "--show-fixes",
    is_flag=True,
    help="Show each fix as a diff (full format), and list the fixes --fix applied.",
)
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when fixes were applied.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option(
    "--statistics",
    is_flag=True,
    help="Count findings per rule instead of listing them (text, or json).",
)
@click.option(
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS),
    default=None,
    help="How to print findings (default: full).",
)
@click.option(
    "-o", "--output-file", type=click.Path(path_type=Path), help="Write the report to this file."
)
@click.option(
    "--config",
    "config",
    multiple=True,
    metavar="FILE | KEY=VALUE",
    help="A configuration file to use instead of the nearest one (pyproject.toml, "
    "pipelint.toml), or a TOML `key = value` pair that overrides one setting, e.g. "
    "--config 'select = [\"RP101\"]' (repeatable; overrides win over files).",
)
@click.option(
    "--target",
    type=click.Choice(["standalone", "cluster"]),
    default=None,
    help='The Redis deployment: "cluster" makes fixes use only what a cluster pipeline '
    "accepts (default: standalone).",
)
@click.option(
    "--force-exclude/--no-force-exclude",
    default=None,
    help="Apply exclude/extend-exclude to paths named on the command line too "
    "(pre-commit names every file).",
)
@click.option(
    "--client-name", "client_names", multiple=True, help="Extra client name pattern (repeatable)."
)
@click.option(
    "--stdin-filename",
    default=None,
    help="Read the source from stdin and report it under this name (paths: none or '-'). "
    "With --fix the fixed source goes to stdout and what remains to stderr.",
)
@click.option(
    "--show-suppressed",
    is_flag=True,
    help="Include suppressed findings (SARIF: with suppressions).",
)
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=0),
    default=None,
    help="Worker processes (0, the default: one per core; never more than the cores).",
)
@click.option(
    "--max-file-size",
    callback=lambda ctx, param, value: _limit(value, "size"),
    help='Report larger files instead of analysing them (bytes, or e.g. "5MB"; default 2MB).',
)
@click.option(
    "--max-nesting",
    type=int,
    callback=lambda ctx, param, value: _limit(value, "nesting"),
    help="Report files with expressions nested deeper instead of analysing them "
    "(default 500, at most 1000).",
)
@click.option("--no-cache", is_flag=True, help="Do not read or write the cache.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path, readable=False),
    default=None,
    help="Cache directory (one that cannot be used: no caching).",
)
@click.option(
    "--progress", is_flag=True, help="Show a progress bar even when stderr is not a terminal."
)
@click.option(
    "--add-noqa",
    is_flag=True,
    help="Add `# noqa: CODE` to every line with a finding (to adopt pipelint on an existing "
    "codebase), then exit 0.",
)
@click.option(
    "--color",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help="Colour the text output. auto: on a terminal, off with NO_COLOR, on with FORCE_COLOR.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Print the findings in the chosen format, nothing else."
)
@click.option(
    "-s",
    "--silent",
    is_flag=True,
    help="Print nothing (the exit code still says whether there are findings).",
)
@click.option(
    "--trace",
    "traces",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="A runtime trace (pytest --pipelint-trace=FILE): findings say what their lines "
    "paid. Repeatable (one per pytest-xdist worker).",
)
@click.option(
    "--trace-only-report",
    is_flag=True,
    help="With --trace: list the runtime hot spots no rule found, instead of the findings.",
)
def check(paths: tuple[Path, ...], **opts: Any) -> None:
    """Check PATHS (default: the current directory) for Redis round-trip problems."""
    from pipelint.cli.check import run_check

    sys.exit(run_check(list(paths), opts))


@cli.command(short_help="Show a rule's documentation (by code or name), or list them all.")
@click.argument("code", required=False)
@click.option("--all", "all_", is_flag=True, help="List every rule with its summary.")
@click.option(
    "--output-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Markdown text, or one JSON object per rule.",
)
def rule(code: str | None, all_: bool, output_format: str) -> None:
    """Show the documentation of rule CODE, given by code (RP101) or name
    (sequential-commands); or list every rule with --all."""
    from pipelint.cli.rule import run_rule

    sys.exit(run_rule(code, all_, output_format))


def _limit(value: Any, kind: str) -> int | None:
    if value is None:
        return None
    from pipelint.config import ConfigError, parse_nesting, parse_size

    try:
        if kind == "size":
            return parse_size(int(value) if value.strip().isdigit() else value)
        return parse_nesting(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc)) from None


def _attach_bench() -> None:
    """Add ``pipelint bench`` (with ``bench lint``); called on first use of ``bench`` so
    that ``pipelint check`` never imports the benchmarks."""
    try:
        from pipelint.bench.cli import bench
        from pipelint.bench.lint import lint
    except ImportError:  # pragma: no cover - the benchmarks are optional at import time
        return
    if "lint" not in bench.commands:
        bench.add_command(lint)
    cli.add_command(bench)


class Terminated(BaseException):
    """SIGTERM: the run stops as on Ctrl-C (nothing more is written), exit 143."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def main() -> None:
    """The ``pipelint`` command. Ctrl-C (SIGINT) exits 130 and SIGTERM 143, as other
    tools do, once the workers are stopped; nothing is written after the signal."""
    with contextlib.suppress(ValueError):  # not the main thread: leave it alone
        signal.signal(signal.SIGTERM, _terminated)
    try:
        rv = cli.main(prog_name="pipelint", standalone_mode=False)
    except SystemExit:
        raise
    except (KeyboardInterrupt, click.Abort):  # click turns Ctrl-C into Abort
        sys.exit(130)
    except Terminated:
        sys.exit(143)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - never a traceback on user input
        click.echo(f"pipelint: error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
    sys.exit(rv if isinstance(rv, int) else 0)
