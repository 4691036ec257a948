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
from pipelint.reporters.text import statistics

__all__ = ["run_check"]


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for v in values:
        out.extend(c.strip().upper() for c in v.split(",") if c.strip())
    return tuple(out)


def _config(paths: list[Path], opts: dict[str, Any]) -> Config:
    start = paths[0] if paths else Path.cwd()
    config = load_config(start if os.path.lexists(start) else Path.cwd(), opts.get("config_file"))
    changes: dict[str, Any] = {}
    if opts.get("select"):
        changes["select"] = _codes(opts["select"])
    if opts.get("extend_select"):
        changes["select"] = changes.get("select", config.select) + _codes(opts["extend_select"])
    if opts.get("ignore"):
        changes["ignore"] = config.ignore + _codes(opts["ignore"])
    if opts.get("target"):
        changes["target"] = opts["target"]
    for key in ("max_file_size", "max_nesting"):
        if opts.get(key) is not None:
            changes[key] = opts[key]
    if opts.get("client_names"):
        changes["client_names"] = config.client_names + tuple(opts["client_names"])
    return config.with_overrides(**changes) if changes else config


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
        return _run_check(paths, opts, config, report_file)
    finally:
        if report_file is not None:
            report_file.abandon()


def _run_check(
    paths: list[Path], opts: dict[str, Any], config: Config, report_file: _Report | None
) -> int:
    trace = None
    if opts.get("traces") or opts.get("trace_only_report"):  # runtime traces: pipelint.trace
        from pipelint.trace.join import load_for_cli

        trace = load_for_cli(list(opts.get("traces") or ()))
        if isinstance(trace, int):
            return trace
    fmt = opts.get("output_format") or os.environ.get("PIPELINT_OUTPUT_FORMAT") or "full"
    if not (opts.get("fix") or opts.get("diff")) and fmt not in ("json", "sarif"):
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
            click.echo(
                f"pipelint: warning: ignoring {', '.join(ignored)}: the source is read from "
                "stdin (--stdin-filename)",
                err=True,
            )
        stdin_result = _run_stdin(name, config, options)
        if isinstance(stdin_result, int):  # --fix / --diff wrote to stdout
            return 0 if opts.get("exit_zero") and stdin_result != 2 else stdin_result
        result, texts[name] = stdin_result  # code frames show the stdin text
    else:
        result = run(paths or [Path(".")], config, options)
    if trace is not None and not options.diff:
        from pipelint.trace.join import join_trace

        hot_spots = join_trace(result, trace, paths, fmt, bool(opts.get("trace_only_report")))
        if hot_spots is not None:  # --trace-only-report: instead of the findings
            with _output(report_file) as out:
                out.write(hot_spots)
            return 0
    with _output(report_file) as out:
        if options.diff:
            for d in result.diffs:
                out.write(d)
            failed = _to_stderr(result.not_analysed)  # not checked is not "nothing to fix"
            n = sum(result.fixed.values())
            if not opts.get("quiet"):
                click.echo(
                    f"Would fix {n} error{'s' if n != 1 else ''}."
                    if n
                    else "No errors would be fixed.",
                    err=True,
                )
            return max(failed, 1 if result.diffs else 0)
        if opts.get("statistics"):
            statistics(result, out)
        elif opts.get("quiet") and fmt in ("full", "concise", "text"):
            for d in result.diagnostics:
                out.write(f"{d.path}:{d.location.row}:{d.location.column}: {d.code} {d.message}\n")
        else:
            report_options = ReportOptions(
                config=config, show_suppressed=bool(opts.get("show_suppressed")), texts=texts
            )
            report(fmt, result, out, report_options)
        if opts.get("show_fixes") and result.fixed_files and fmt in ("full", "concise", "text"):
            _show_fixes(result, out)
    return _exit_code(result, opts)


def _run_stdin(
    name: str, config: Config, options: RunOptions
) -> tuple[RunResult, str | None] | int:
    """Check the source on stdin as if it were the file ``name`` (editor integrations).

    Without ``--fix``/``--diff``: the result and the source text (None if it could
    not be decoded), reported as for files (the code frames show the stdin text).
    With ``--fix``: stdout carries the source and nothing else, fixed where it could
    be and byte for byte unchanged where it could not (syntax error, bad encoding);
    what remains goes to stderr; exit 1 if anything remains. With ``--diff``: the
    diff on stdout, exit 1 if there is one; a file that could not be checked is
    reported on stderr (exit 1, not "nothing to fix")."""
    from pipelint.checker import check_data
    from pipelint.clients.project import ProjectIndex
    from pipelint.fixes.apply import fix_text

    path = Path(name)
    data = sys.stdin.buffer.read()
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
        return _to_stderr(file_result.diagnostics)
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
        return 1 if new != source else 0
    if new == source:
        _write_stdout(data)  # unchanged: the very bytes that came in (BOM, encoding)
    else:
        sys.stdout.write(new)
    return _to_stderr(after.diagnostics)


def _write_stdout(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _to_stderr(diagnostics: list[Diagnostic]) -> int:
    """Print what remains on stderr, one line each; the exit code it calls for."""
    remaining = [d for d in diagnostics if not d.suppressed]
    for d in remaining:
        loc = f"{d.path}:{d.location.row}:{d.location.column}"
        click.echo(f"{loc}: {d.code} {d.message}", err=True)
    if any(d.code == "RP902" for d in remaining):
        return 2
    return 1 if remaining else 0


def _show_fixes(result: RunResult, out: TextIO) -> None:
    out.write("\nFixed:\n")
    for path, counts in sorted(result.fixed_files.items()):
        out.write(f"{path}:\n")
        for code, n in sorted(counts.items()):
            out.write(f"    {n} × {code}\n")


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
