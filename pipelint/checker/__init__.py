"""Checking one file: read, decode, parse once, build the model, run the rules,
apply suppressions. Bad input becomes a diagnostic (RP900/RP901); a crash in a
rule becomes RP902 for that file only."""

from __future__ import annotations

import hashlib
import io
import os
import tokenize
import traceback
from collections.abc import Sequence
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING

from pipelint.config import Config
from pipelint.diagnostics import Diagnostic, FileResult, Location

if TYPE_CHECKING:
    import ast

    import libcst as cst

    from pipelint.checker.context import FileContext
    from pipelint.clients.project import ProjectIndex
    from pipelint.rules import Rule

# libcst and the analysis are imported on first use: a run whose files are all
# answered by the prefilter or the cache never pays for importing them.

__all__ = [
    "check_file",
    "check_data",
    "check_source",
    "decode_source",
    "DecodeError",
    "unreadable",
    "enabled_rules",
    "TIMINGS",
    "SPEEDUPS",
]

#: Seconds spent in this process parsing and analysing (for ``pipelint bench lint``).
TIMINGS: dict[str, float] = {"parse": 0.0, "analysis": 0.0}
#: The speed-ups that may be turned off (tests compare findings with and without them;
#: env ``PIPELINT_NO_SCREEN=1``): ``screen``, the ``ast`` screen before LibCST
#: (``pipelint.project.screen``); ``project_facts``, the LibCST project index skipping
#: modules whose ``ast`` facts export no possible client; ``shared_parse``, a checked
#: file the project index already parsed (same content) is not parsed again, and a
#: checked file's ``ast`` facts serve the files importing it.
SPEEDUPS: dict[str, bool] = {
    "screen": not os.environ.get("PIPELINT_NO_SCREEN"),
    "project_facts": not os.environ.get("PIPELINT_NO_SCREEN"),
    "shared_parse": not os.environ.get("PIPELINT_NO_SCREEN"),
}


class DecodeError(Exception):
    def __init__(self, message: str, location: Location) -> None:
        super().__init__(message)
        self.location = location


def decode_source(data: bytes) -> str:
    """Decode Python source bytes as the interpreter would (BOM, coding cookie, UTF-8)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise DecodeError(f"invalid encoding declaration: {exc}", Location(1, 1)) from exc
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        start = getattr(exc, "start", 0)
        line = data.count(b"\n", 0, start) + 1
        col = start - (data.rfind(b"\n", 0, start) + 1) + 1
        raise DecodeError(f"file is not valid {encoding}: {exc}", Location(line, col)) from exc
    if text.startswith("\ufeff"):
        text = text[1:]
    return text


def enabled_rules(config: Config, path: Path | None = None) -> list[Rule]:
    from pipelint.rules import MODEL_RULES

    return [r() for r in MODEL_RULES if config.enabled(r.code, path)]


def _meta(code: str, message: str, display: str, loc: Location) -> Diagnostic:
    return Diagnostic(code, message, display, loc, loc, noqa_row=loc.row)


def check_file(
    path: Path,
    config: Config,
    project: ProjectIndex | None = None,
    display: str | None = None,
) -> tuple[FileResult, str | None]:
    """Check a file on disk; returns the result and the decoded source (None if unreadable)."""
    from pipelint.discovery.read import read_regular

    display = display if display is not None else str(path)
    try:
        data = read_regular(path)
    except FileNotFoundError:
        message = "No such file or directory (removed during the run)"
        if os.path.islink(path):
            message = "cannot read file: broken symbolic link"
        return unreadable(display, message), None
    except OSError as exc:
        return unreadable(display, f"cannot read file: {exc.strerror or exc}"), None
    return check_data(path, data, config, project, display)


def check_data(
    path: Path,
    data: bytes,
    config: Config,
    project: ProjectIndex | None = None,
    display: str | None = None,
) -> tuple[FileResult, str | None]:
    """Check the bytes of ``path``; returns the result and the decoded source."""
    display = display if display is not None else str(path)
    try:
        source = decode_source(data)
    except DecodeError as exc:
        result = FileResult(display)
        if config.enabled("RP901", path):
            result.diagnostics.append(_meta("RP901", str(exc), display, exc.location))
        return result, None
    return check_source(path, source, config, project, display), source


def unreadable(display: str, message: str) -> FileResult:
    """The result of a file that could not be read: RP901 with ``message`` (always
    reported, whatever the configuration)."""
    return FileResult(display, [_meta("RP901", message, display, Location(1, 1))])


def check_source(
    path: Path,
    source: str,
    config: Config,
    project: ProjectIndex | None = None,
    display: str | None = None,
    rules: Sequence[Rule] | None = None,
) -> FileResult:
    import libcst as cst

    from pipelint.checker.limits import nesting_message, screen

    display = display if display is not None else str(path)
    result = FileResult(display, lines=source.count("\n") + 1)
    t0 = perf_counter()
    # never hand LibCST what makes it crash or take quadratic time (see limits.py)
    refusal, tree = screen(source, config.max_file_size, config.max_nesting)
    if refusal is not None:
        if refusal.code != "RP900" or config.enabled("RP900", path):
            result.diagnostics.append(
                _meta(refusal.code, refusal.message, display, refusal.location)
            )
        return result
    if tree is not None and SPEEDUPS["screen"]:
        rules = list(rules) if rules is not None else enabled_rules(config, path)
        if not _may_find(path, source, tree, config, project, rules):
            return result  # no finding possible: LibCST never sees the file
    try:
        known = None
        if project is not None and SPEEDUPS["shared_parse"]:  # the index read it already?
            known = project.parsed(path, source)
        module = known if known is not None else cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        if config.enabled("RP900", path):
            loc, message = _syntax_error(source, exc)
            result.diagnostics.append(_meta("RP900", message, display, loc))
        return result
    except RecursionError:  # valid Python (it passed the screen) nested too deeply
        message = nesting_message(None, config.max_nesting)
        result.diagnostics.append(_meta("RP902", message, display, Location(1, 1)))
        return result
    except MemoryError:
        message = "not analysed: out of memory while parsing; exclude the file"
        result.diagnostics.append(_meta("RP902", message, display, Location(1, 1)))
        return result
    except ValueError as exc:
        result.diagnostics.append(_meta("RP900", f"cannot parse: {exc}", display, Location(1, 1)))
        return result
    t1 = perf_counter()
    TIMINGS["parse"] += t1 - t0
    result.parsed = True
    try:
        _analyse(path, source, module, config, project, display, rules, result, tree)
    finally:
        TIMINGS["analysis"] += perf_counter() - t1
    return result


def _may_find(
    path: Path,
    source: str,
    tree: ast.Module,
    config: Config,
    project: ProjectIndex | None,
    rules: Sequence[Rule],
) -> bool:
    """The ``ast`` screen (``pipelint.project.screen``): can the file hold a finding?"""
    from pipelint.project import Taint
    from pipelint.project.screen import needs_libcst, rule_needs

    try:
        from pipelint.clients.project import module_name_for

        modname, root = module_name_for(path)
        package = modname if path.name == "__init__.py" else modname.rpartition(".")[0]
        facts = None
        if project is not None:
            project.add_root(root)
            facts = project.facts
        share = None
        if facts is not None and SPEEDUPS["shared_parse"]:  # imported elsewhere: one computation
            digest = hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16)
            share = (os.path.realpath(path), digest.digest(), package)
        taint = Taint(tree, package, facts, config.client_names, solve=False, share=share)
        return needs_libcst(tree, source, taint, rule_needs(rules))
    except Exception:  # noqa: BLE001 - a screen that fails keeps the file: the full check decides
        return True


def _analyse(
    path: Path,
    source: str,
    module: cst.Module,
    config: Config,
    project: ProjectIndex | None,
    display: str,
    rules: Sequence[Rule] | None,
    result: FileResult,
    tree: ast.Module | None = None,
) -> None:
    from pipelint.analysis.runs import analyze
    from pipelint.checker.context import FileContext
    from pipelint.clients.project import module_name_for
    from pipelint.clients.resolve import Resolver
    from pipelint.clients.scopes import build_scopes

    rules = list(rules) if rules is not None else enabled_rules(config, path)
    if not rules:
        return
    try:
        modname, root = module_name_for(path)
        package = modname if path.name == "__init__.py" else modname.rpartition(".")[0]
        if project is not None:
            project.add_root(root)
        index = build_scopes(module, package, walrus=":=" in source)
        resolver = Resolver(
            index, config.client_names, project.lookup if project is not None else None
        )
        analysis = analyze(index, resolver)
        ctx = FileContext(path, display, source, module, config, index, resolver, analysis, tree)
    except Exception as exc:  # noqa: BLE001 - a bug in the analysis must not stop the run
        result.diagnostics.append(_internal(display, "analysis", exc))
        return
    found: list[Diagnostic] = []
    crashed = False
    for rule in rules:
        try:
            findings = list(rule.check(ctx))
            for f in findings:
                start = ctx.positions[f.start].start
                end = ctx.positions[f.end].end
                diag = Diagnostic(
                    f.code,
                    f.message,
                    display,
                    Location(start.line, start.column + 1),
                    Location(end.line, end.column + 1),
                    noqa_row=start.line,
                )
                if f.anchors is not None:
                    diag.noqa_rows = tuple(sorted({ctx.positions[a].start.line for a in f.anchors}))
                if f.fix is not None:
                    diag.fix = f.fix(ctx)
                found.append(diag)
        except Exception as exc:  # noqa: BLE001 - one rule's bug is reported, the run goes on
            crashed = True
            result.diagnostics.append(_internal(display, rule.code, exc))
    _suppressions(ctx, config, path, rules, found, result, judge=not crashed)


def _suppressions(
    ctx: FileContext,
    config: Config,
    path: Path,
    rules: Sequence[Rule],
    found: list[Diagnostic],
    result: FileResult,
    judge: bool,
) -> None:
    """Apply the file's suppression comments to the findings; warn about unknown codes
    of pipelint's in them; report the unused ones (RP910), unless a rule crashed (its
    findings are unknown, so no suppression of it can be called unused)."""
    from pipelint.checker.noqa import (
        UNUSED_NOQA,
        read_directives,
        suppress,
        unknown_code_warnings,
        unused,
    )
    from pipelint.rules import ALL_RULES, get_rule

    directives = read_directives(ctx.source, ctx.location)
    for diag in found:
        suppress(diag, directives)
    result.diagnostics.extend(found)
    if not directives:
        return
    result.warnings.extend(unknown_code_warnings(directives, ALL_RULES))
    if not judge or not config.enabled(UNUSED_NOQA, path):
        return
    rule = get_rule(UNUSED_NOQA)
    assert rule is not None
    run = [r.code for r in rules]
    for directive, codes in unused(directives, lambda c: any(r.startswith(c) for r in run)):
        diag = Diagnostic(
            UNUSED_NOQA,
            rule.message(directive, codes),  # type: ignore[attr-defined]
            ctx.display_path,
            directive.location,
            directive.end_location,
            noqa_row=directive.location.row,
        )
        fixer = ctx.fixer_for(UNUSED_NOQA, (directive, codes))
        if fixer is not None:
            diag.fix = fixer(ctx)
        suppress(diag, directives, about=directive)
        result.diagnostics.append(diag)


def _syntax_error(source: str, exc: cst.ParserSyntaxError) -> tuple[Location, str]:
    """Where and what: CPython's own message and position when it agrees the code is
    invalid (it pinpoints better), else LibCST's."""
    try:
        compile(source, "<pipelint>", "exec", dont_inherit=True)
    except SyntaxError as err:
        if err.lineno:
            return Location(err.lineno, max(err.offset or 1, 1)), f"syntax error: {err.msg}"
    except (ValueError, RecursionError, MemoryError):
        pass
    return Location(
        max(exc.raw_line, 1), max(exc.raw_column, 0) + 1
    ), f"syntax error: {exc.message}"


def _internal(display: str, where: str, exc: BaseException) -> Diagnostic:
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {Path(frame.filename).name}:{frame.lineno}" if frame else ""
    message = f"internal error in {where}: {type(exc).__name__}: {exc}{at} (please report this)"
    return _meta("RP902", message, display, Location(1, 1))
