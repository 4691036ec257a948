"""``pipelint check``: configuration, the run, the report and the exit code."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import errno
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from pipelint.checker.runner import RunOptions, RunResult, _merge, run
from pipelint.config import Config, ConfigError, load_config
from pipelint.diagnostics import Diagnostic
from pipelint.reporters import ReportOptions, report
from pipelint.reporters.style import colour_wanted
from pipelint.reporters.text import statistics, statistics_json

__all__ = ["run_check"]


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        out.extend(c.strip().upper() for c in v.split(",") if c.strip())
    return tuple(out)


def _config_option(values: tuple[str, ...]) -> tuple[Path | None, list[tuple[str, Any]]]:
    """``--config`` values: at most one file, and ``key = value`` overrides (as ruff)."""
    from pipelint.config import parse_config_option

    file: Path | None = None
    overrides: list[tuple[str, Any]] = []
    for value in values:
        if os.path.lexists(value):
            if os.path.isdir(value):
                raise ConfigError(f"--config {value}: is a directory, not a TOML file")
            if file is not None:
                raise ConfigError(
                    f"--config {value}: only one configuration file can be given "
                    f"({file} is one); other --config values must be `key = value` pairs"
                )
            file = Path(value)
            continue
        table = parse_config_option(value)
        if table is None:
            if value.endswith(".toml") or os.sep in value:
                raise ConfigError(f"--config {value}: No such file or directory")
            raise ConfigError(
                f"--config {value!r}: must be the path of a TOML file or a TOML "
                "`key = value` pair such as 'select = [\"RP101\"]'"
            )
        overrides.append((value, table))
    return file, overrides


def _config(paths: list[Path], opts: dict[str, Any]) -> Config:
    from pipelint.config import RuleSelection, check_selectors

    file, overrides = _config_option(tuple(opts.get("config") or ()))
    start = paths[0] if paths else Path.cwd()
    config = load_config(start if os.path.lexists(start) else Path.cwd(), file, tuple(overrides))
    changes: dict[str, Any] = {}
    # the command line is the last selection layer: `--select RP101` wins over the
    # configuration's `ignore = ["RP101"]`, as in ruff
    select = _codes(opts["select"]) if opts.get("select") else None
    extend = _codes(opts.get("extend_select") or ())
    ignore = _codes(opts.get("ignore") or ())
    for key, codes in (
        ("--select", select or ()),
        ("--extend-select", extend),
        ("--ignore", ignore),
    ):
        check_selectors(codes, key, "the command line")
    if select is not None or extend or ignore:
        changes["layers"] = (*config.layers, RuleSelection(select, extend, ignore))
    if opts.get("target"):
        changes["target"] = opts["target"]
    if opts.get("force_exclude") is not None:
        changes["force_exclude"] = opts["force_exclude"]
    for key in ("max_file_size", "max_nesting"):
        if opts.get(key) is not None:
            changes[key] = opts[key]
    if opts.get("client_names"):
        changes["client_names"] = config.client_names + tuple(opts["client_names"])
    return config.with_overrides(**changes) if changes else config


def _usage(opts: dict[str, Any], fmt: str, stdin: bool) -> str | None:
    """Options that cannot go together: the message, or None."""
    if opts.get("add_noqa"):
        for flag in ("fix", "diff"):
            if opts.get(flag):
                return f"--add-noqa cannot be used with --{flag}"
        if stdin:
            return "--add-noqa cannot be used with stdin (--stdin-filename)"
    if opts.get("statistics") and fmt not in _TEXT_FORMATS + ("json",):
        return f"--statistics prints text or json, not {fmt}"
    return None


_TEXT_FORMATS = ("full", "concise", "text")


class _Report:
    """The ``-o`` file, opened before anything else is done (so that a report that
    cannot be written stops the run before ``--fix`` writes a single file), written
    at the end, and removed if the run does not get there and it did not exist."""

    def __init__(self, path: Path) -> None:
        self.path = path
        existed = os.path.lexists(path)
        if os.path.isdir(path):
            raise OSError(errno.EISDIR, "is a directory", str(path))
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        self.created = not existed

    def write(self, text: str) -> None:
        data = text.encode("utf-8", "surrogateescape")
        os.ftruncate(self.fd, 0)
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]
        os.close(self.fd)
        self.fd = -1

    def abandon(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
            if self.created:
                with contextlib.suppress(OSError):
                    os.unlink(self.path)


@contextlib.contextmanager
def _output(report_file: _Report | None) -> Iterator[TextIO]:
    """Where the report goes. File names that are not UTF-8 (decoded with
    surrogateescape) are written back as their own bytes, never an encoding error."""
    if report_file is None:
        with contextlib.suppress(AttributeError, ValueError):
            sys.stdout.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
        yield sys.stdout
        return
    buf = io.StringIO()
    yield buf
    report_file.write(buf.getvalue())


def run_check(paths: list[Path], opts: dict[str, Any]) -> int:
    fmt = opts.get("output_format") or os.environ.get("PIPELINT_OUTPUT_FORMAT") or "full"
    stdin = opts.get("stdin_filename") is not None or paths == [Path("-")]
    problem = _usage(opts, fmt, stdin)
    if problem is not None:
        click.echo(f"pipelint: error: {problem}", err=True)
        return 2
    try:
        config = _config(paths, opts)
    except ConfigError as exc:
        click.echo(f"pipelint: error: {exc}", err=True)
        return 2
    report_file = None
    if opts.get("output_file") is not None:  # checked before anything is written
        try:
            report_file = _Report(opts["output_file"])
        except OSError as exc:
            reason = exc.strerror or str(exc)
            click.echo(f"pipelint: error: cannot write {opts['output_file']}: {reason}", err=True)
            return 2
    try:
        return _run_check(paths, opts, config, report_file, fmt)
    finally:
        if report_file is not None:
            report_file.abandon()


def _warn(opts: dict[str, Any], message: str) -> None:
    """A warning on stderr, as ruff's; ``-q`` and ``-s`` keep it quiet."""
    if not (opts.get("quiet") or opts.get("silent")):
        click.echo(f"pipelint: warning: {message}", err=True)


def _run_check(
    paths: list[Path],
    opts: dict[str, Any],
    config: Config,
    report_file: _Report | None,
    fmt: str,
) -> int:
    trace = None
    if opts.get("traces") or opts.get("trace_only_report"):  # runtime traces: pipelint.trace
        from pipelint.trace.join import load_for_cli

        trace = load_for_cli(list(opts.get("traces") or ()))
        if isinstance(trace, int):
            return trace
    show_fixes = bool(opts.get("show_fixes")) and fmt in ("full", "text")
    if not (opts.get("fix") or opts.get("diff") or show_fixes) and fmt not in ("json", "sarif"):
        config = config.with_overrides(fix_edits=False)  # only applicability and message shown
    options = RunOptions(
        fix=bool(opts.get("fix")),
        unsafe_fixes=bool(opts.get("unsafe_fixes")),
        diff=bool(opts.get("diff")),
        jobs=opts.get("jobs") or 0,  # 0: one worker per core
        cache=not opts.get("no_cache"),
        cache_dir=opts.get("cache_dir"),
        progress=True if opts.get("progress") else None,
    )
    if options.diff and options.fix:
        options = dataclasses.replace(options, fix=False)
    texts: dict[str, str | None] = {}
    if opts.get("stdin_filename") is not None or paths == [Path("-")]:
        name = opts.get("stdin_filename") or "-"
        ignored = [str(p) for p in paths if p != Path("-")]
        if ignored:  # as ruff: said, not silently dropped
            _warn(
                opts,
                f"ignoring {', '.join(ignored)}: the source is read from stdin (--stdin-filename)",
            )
        stdin_result = _run_stdin(name, config, options, opts)
        if isinstance(stdin_result, int):  # --fix / --diff wrote to stdout
            return 0 if opts.get("exit_zero") and stdin_result != 2 else stdin_result
        result, texts[name] = stdin_result  # code frames show the stdin text
    else:
        result = run(paths or [Path(".")], config, options)
        if result.files == 0:
            _warn(opts, "No Python files found under the given path(s)")
    for warning in result.warnings:
        _warn(opts, warning)
    if opts.get("add_noqa"):
        return _add_noqa(result, opts)
    if trace is not None and not options.diff:
        from pipelint.trace.join import join_trace

        hot_spots = join_trace(result, trace, paths, fmt, bool(opts.get("trace_only_report")))
        if hot_spots is not None:  # --trace-only-report: instead of the findings
            with _output(report_file) as out:
                out.write(hot_spots)
            return 0
    silent = bool(opts.get("silent")) and report_file is None
    colour = fmt in _TEXT_FORMATS and colour_wanted(
        opts.get("color") or "auto", None if report_file is not None else sys.stdout
    )
    with _output(report_file) as real_out:
        out: TextIO = io.StringIO() if silent else real_out
        if options.diff:
            for d in result.diffs:
                out.write(d)
            # not checked is not "nothing to fix", nor is a fix that failed
            failed = _to_stderr(result.not_analysed, bool(opts.get("silent")))
            fix_failures = [
                d
                for d in result.diagnostics
                if d.code == "RP902" and not d.suppressed and d not in result.not_analysed
            ]
            if fix_failures:
                failed = max(failed, _to_stderr(fix_failures, bool(opts.get("silent"))))
            if not (opts.get("quiet") or opts.get("silent")):
                crashed = sum(1 for d in result.not_analysed if d.code == "RP902")
                click.echo(_would_fix(result, len(fix_failures) + crashed), err=True)
            return max(failed, 1 if result.diffs else 0)
        report_options = ReportOptions(
            config=config,
            show_suppressed=bool(opts.get("show_suppressed")),
            texts=texts,
            colour=colour,
            quiet=bool(opts.get("quiet")),
            show_fixes=bool(opts.get("show_fixes")),
        )
        if opts.get("statistics"):
            (statistics_json if fmt == "json" else statistics)(result, out, report_options)
        else:
            report(fmt, result, out, report_options)
    return _exit_code(result, opts)


def _would_fix(result: RunResult, failures: int = 0) -> str:
    """``--diff``'s last line, in ruff's words, saying what ``--unsafe-fixes`` would add
    (and that fixes failed, if any did: never "No errors would be fixed" then)."""
    from pipelint.reporters.text import plural

    if failures:
        n = sum(result.fixed.values())
        return (
            f"Fixes failed or files were not analysed ({plural(failures, 'file')}, see above); "
            f"{plural(n, 'error')} would be fixed elsewhere."
        )

    n = sum(result.fixed.values())
    hidden = sum(
        1
        for d in result.diagnostics
        if d.fix is not None and d.fix.applicability == "unsafe" and not result.unsafe_fixes
    )
    if n:
        more = (
            f" ({plural(hidden, 'additional fix', 'additional fixes')} available with "
            "`--unsafe-fixes`)"
            if hidden
            else ""
        )
        return f"Would fix {plural(n, 'error')}{more}."
    more = f" ({plural(hidden, 'fix', 'fixes')} available with `--unsafe-fixes`)" if hidden else ""
    return f"No errors would be fixed{more}."


def _add_noqa(result: RunResult, opts: dict[str, Any]) -> int:
    """``--add-noqa``: a ``# noqa: CODE`` for every finding left, written atomically;
    exit 0 (as ruff), 2 when a file could not be written."""
    from pipelint.checker.noqa import add_noqa_to_files

    added, failures = add_noqa_to_files(result.diagnostics)
    for failure in failures:
        click.echo(f"pipelint: error: {failure}", err=True)
    if added and not (opts.get("quiet") or opts.get("silent")):
        click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.", err=True)
    return 2 if failures else 0


def _run_stdin(
    name: str, config: Config, options: RunOptions, opts: dict[str, Any]
) -> tuple[RunResult, str | None] | int:
    """Check the source on stdin as if it were the file ``name`` (editor integrations).

    Without ``--fix``/``--diff``: the result and the source text (None if it could
    not be decoded), reported as for files (the code frames show the stdin text).
    With ``--fix``: stdout carries the source and nothing else, fixed where it could
    be and byte for byte unchanged where it could not (syntax error, bad encoding);
    what remains goes to stderr; exit 1 if anything remains. With ``--diff``: the
    diff on stdout, exit 1 if there is one; a file that could not be checked is
    reported on stderr (exit 1, not "nothing to fix"). A name that ``--force-exclude``
    excludes is not checked (with ``--fix`` the source comes back unchanged), as ruff."""
    from pipelint.checker import check_data
    from pipelint.clients.project import ProjectIndex
    from pipelint.discovery import excluded
    from pipelint.fixes.apply import fix_text

    path = Path(name)
    data = sys.stdin.buffer.read()
    silent = bool(opts.get("silent"))
    if config.force_exclude and excluded(path, config):
        if options.fix:
            _write_stdout(data)
        if options.fix or options.diff:
            return 0
        return RunResult(unsafe_fixes=options.unsafe_fixes), None
    project = ProjectIndex(client_names=config.client_names)
    project.add_root(config.root)
    file_result, source = check_data(path, data, config, project, name)
    if not (options.fix or options.diff):
        result = RunResult(
            unsafe_fixes=options.unsafe_fixes, files=1, parsed=int(file_result.parsed)
        )
        _merge(result, [file_result], [path])
        return result, source
    if source is None or not file_result.parsed:
        if options.fix:
            _write_stdout(data)  # the editor's buffer stays as it was
        return _to_stderr(file_result.diagnostics, silent)
    new, after, _applied, failure = fix_text(
        path, source, file_result, config, project, name, options.unsafe_fixes
    )
    if failure is not None:
        click.echo(f"pipelint: {name}: {failure}", err=True)
    if options.diff:
        diff = difflib.unified_diff(
            source.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"a/{name}",
            tofile=f"b/{name}",
        )
        sys.stdout.write("".join(diff))
        if failure is not None:
            return 2  # a fix failed: not "nothing to fix" (as with paths)
        return 1 if new != source else 0
    if new == source:
        _write_stdout(data)  # unchanged: the very bytes that came in (BOM, encoding)
    else:
        sys.stdout.write(new)
    if failure is not None:
        _to_stderr(after.diagnostics, silent)
        return 2
    return _to_stderr(after.diagnostics, silent)


def _write_stdout(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _to_stderr(diagnostics: list[Diagnostic], silent: bool = False) -> int:
    """Print what remains on stderr, one line each (not with ``-s``); the exit code it
    calls for."""
    remaining = [d for d in diagnostics if not d.suppressed]
    for d in remaining if not silent else ():
        loc = f"{d.path}:{d.location.row}:{d.location.column}"
        click.echo(f"{loc}: {d.code} {d.message}", err=True)
    if any(d.code == "RP902" for d in remaining):
        return 2
    return 1 if remaining else 0


def _exit_code(result: RunResult, opts: dict[str, Any]) -> int:
    if any(d.code == "RP902" for d in result.diagnostics):
        return 2  # pipelint could not analyse a file: an internal error, as documented
    if opts.get("exit_zero"):
        return 0
    if result.diagnostics:
        return 1
    if opts.get("exit_non_zero_on_fix") and result.fixed:
        return 1
    return 0
