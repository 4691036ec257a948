"""``pipelint check``: configuration, the run, the report and the exit code."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from pipelint.checker.runner import RunOptions, RunResult, run
from pipelint.config import Config, ConfigError, load_config
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
    config = load_config(start if start.exists() else Path.cwd(), opts.get("config_file"))
    changes: dict[str, Any] = {}
    if opts.get("select"):
        changes["select"] = _codes(opts["select"])
    if opts.get("extend_select"):
        changes["select"] = changes.get("select", config.select) + _codes(opts["extend_select"])
    if opts.get("ignore"):
        changes["ignore"] = config.ignore + _codes(opts["ignore"])
    if opts.get("target"):
        changes["target"] = opts["target"]
    if opts.get("client_names"):
        changes["client_names"] = config.client_names + tuple(opts["client_names"])
    return config.with_overrides(**changes) if changes else config


@contextlib.contextmanager
def _output(path: Path | None) -> Iterator[TextIO]:
    if path is None:
        yield sys.stdout
        return
    buf = io.StringIO()
    yield buf
    path.write_text(buf.getvalue(), encoding="utf-8")


def run_check(paths: list[Path], opts: dict[str, Any]) -> int:
    try:
        config = _config(paths, opts)
    except ConfigError as exc:
        click.echo(f"pipelint: error: {exc}", err=True)
        return 2
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
    if opts.get("stdin_filename") is not None or paths == [Path("-")]:
        stdin_result = _run_stdin(opts.get("stdin_filename") or "-", config, options)
        if not isinstance(stdin_result, RunResult):  # --fix / --diff wrote to stdout
            return 0 if opts.get("exit_zero") else stdin_result
        result = stdin_result
    else:
        result = run(paths or [Path(".")], config, options)
    if trace is not None and not options.diff:
        from pipelint.trace.join import join_trace

        hot_spots = join_trace(result, trace, paths, fmt, bool(opts.get("trace_only_report")))
        if hot_spots is not None:  # --trace-only-report: instead of the findings
            with _output(opts.get("output_file")) as out:
                out.write(hot_spots)
            return 0
    with _output(opts.get("output_file")) as out:
        if options.diff:
            for d in result.diffs:
                out.write(d)
            n = sum(result.fixed.values())
            if not opts.get("quiet"):
                click.echo(
                    f"Would fix {n} error{'s' if n != 1 else ''}."
                    if n
                    else "No errors would be fixed.",
                    err=True,
                )
            return 1 if result.diffs else 0
        if opts.get("statistics"):
            statistics(result, out)
        elif opts.get("quiet") and fmt in ("full", "concise", "text"):
            for d in result.diagnostics:
                out.write(f"{d.path}:{d.location.row}:{d.location.column}: {d.code} {d.message}\n")
        else:
            report_options = ReportOptions(
                config=config, show_suppressed=bool(opts.get("show_suppressed"))
            )
            report(fmt, result, out, report_options)
        if opts.get("show_fixes") and result.fixed_files and fmt in ("full", "concise", "text"):
            _show_fixes(result, out)
    return _exit_code(result, opts)


def _run_stdin(name: str, config: Config, options: RunOptions) -> RunResult | int:
    """Check the source on stdin as if it were the file ``name`` (editor integrations).

    With ``--fix``: the fixed source on stdout, the remaining findings on stderr, exit
    1 if any remain. With ``--diff``: the diff on stdout, exit 1 if there is one."""
    from pipelint.checker import check_data
    from pipelint.clients.project import ProjectIndex
    from pipelint.fixes.apply import fix_text

    path = Path(name)
    data = sys.stdin.buffer.read()
    project = ProjectIndex(client_names=config.client_names)
    project.add_root(config.root)
    file_result, source = check_data(path, data, config, project, name)
    if source is not None and file_result.parsed and (options.fix or options.diff):
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
        sys.stdout.write(new)
        remaining = [d for d in after.diagnostics if not d.suppressed]
        for d in remaining:
            loc = f"{d.path}:{d.location.row}:{d.location.column}"
            click.echo(f"{loc}: {d.code} {d.message}", err=True)
        return 1 if remaining else 0
    result = RunResult(unsafe_fixes=options.unsafe_fixes, files=1, parsed=int(file_result.parsed))
    for d in file_result.diagnostics:
        (result.suppressed if d.suppressed else result.diagnostics).append(d)
        if d.code.startswith("RP9"):
            result.not_analysed.append(d)
    return result


def _show_fixes(result: RunResult, out: TextIO) -> None:
    out.write("\nFixed:\n")
    for path, counts in sorted(result.fixed_files.items()):
        out.write(f"{path}:\n")
        for code, n in sorted(counts.items()):
            out.write(f"    {n} × {code}\n")


def _exit_code(result: RunResult, opts: dict[str, Any]) -> int:
    if opts.get("exit_zero"):
        return 0
    if result.diagnostics:
        return 1
    if opts.get("exit_non_zero_on_fix") and result.fixed:
        return 1
    return 0
