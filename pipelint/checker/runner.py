"""Checking many files: discovery, prefilter, cache, per-file checks (and fixes) in a
process pool, sorted results.

The stages of ``run``:

1. discovery, then each file is read once and decoded (undecodable: RP901);
2. the prefilter (``pipelint.prefilter``) keeps the files that can use a Redis
   client at all; the others are counted but never parsed;
3. the cache (``pipelint.cache``) answers the files it has seen with the same
   content, configuration, version and project digest;
4. the rest are checked: in this process for ``--jobs 1`` or fewer than
   ``POOL_MIN_FILES`` files, else in a pool of worker processes;
5. results are merged and sorted by path and position, whatever the scheduling.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from pipelint.config import Config
from pipelint.diagnostics import Diagnostic, FileResult
from pipelint.discovery import discover

if TYPE_CHECKING:
    from pipelint.clients.project import ProjectIndex

__all__ = ["RunOptions", "RunResult", "run", "check_one", "default_jobs", "POOL_MIN_FILES"]

#: Fewer files than this to analyse: no pool (its start-up costs more than it saves).
POOL_MIN_FILES = 8
#: Show a progress bar (on a terminal) from this many files to analyse.
PROGRESS_MIN_FILES = 40


def default_jobs() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class RunOptions:
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    jobs: int = 1  # 0: one per core; never more than the cores or the files
    cache: bool = False  # the CLI turns it on unless --no-cache
    cache_dir: Path | None = None  # default: .pipelint_cache in the cwd's project root
    # False: parse and analyse every file (tests and bench; env PIPELINT_NO_PREFILTER=1)
    prefilter: bool = field(default_factory=lambda: not os.environ.get("PIPELINT_NO_PREFILTER"))
    progress: bool | None = None  # None: on a terminal outside CI, for long runs


@dataclass
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    suppressed: list[Diagnostic] = field(default_factory=list)
    fixed: Counter[str] = field(default_factory=Counter)
    fixed_files: dict[str, Counter[str]] = field(default_factory=dict)
    diffs: list[str] = field(default_factory=list)
    files: int = 0
    parsed: int = 0
    lines: int = 0
    unsafe_fixes: bool = False
    not_analysed: list[Diagnostic] = field(default_factory=list)  # RP9xx
    warnings: list[str] = field(default_factory=list)  # for stderr, in file order
    # how the run went (pipelint bench lint)
    relevant: int = 0  # files the prefilter kept
    cache_hits: int = 0
    analysed: int = 0  # files checked in this run (not answered by the cache)
    jobs: int = 1  # worker processes used (1: in-process)
    parsed_lines: int = 0
    parsed_paths: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def is_fixable(self, d: Diagnostic) -> bool:
        if d.fix is None:
            return False
        return d.fix.applicability == "safe" or (
            d.fix.applicability == "unsafe" and self.unsafe_fixes
        )


def _display(path: Path, cwd: Path, resolved: Path | None = None) -> str:
    try:
        return (resolved or Path(os.path.realpath(path))).relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


_PROJECTS: dict[tuple[str, tuple[str, ...]], ProjectIndex] = {}
#: Import roots of the current run (set by ``run`` and in each worker), in order.
_ROOTS: list[Path] = []
#: The prefilter's verdict on the project's modules: (paths it read, the relevant ones).
#: A module it read and found irrelevant cannot define a client: the ast project facts
#: never parse it (``pipelint.project.ProjectFacts.may_define``).
_RELEVANCE: list[tuple[frozenset[str], frozenset[str]]] = []


def _may_define(path: Path) -> bool:
    if not _RELEVANCE:
        return True
    known, relevant = _RELEVANCE[0]
    real = os.path.realpath(path)
    return real in relevant or real not in known


def _project(config: Config) -> ProjectIndex:
    from pipelint.clients.project import ProjectIndex

    key = (str(config.root), config.client_names)
    project = _PROJECTS.get(key)
    if project is None:
        project = ProjectIndex(client_names=config.client_names)
        project.add_root(config.root)
        if os.path.isdir(config.root / "src"):
            project.add_root(config.root / "src")
        _PROJECTS[key] = project
    project.facts.may_define = _may_define
    for root in _ROOTS:
        project.add_root(root)
    return project


def check_one(
    path: Path,
    display: str,
    config: Config,
    options: RunOptions,
    data: bytes | None = None,
) -> FileResult:
    """Check (and with ``options.fix``/``diff``, fix) one file. Never raises on bad input."""
    from pipelint.checker import check_data, check_file

    project = _project(config)
    if data is None:
        result, source = check_file(path, config, project, display)
    else:
        result, source = check_data(path, data, config, project, display)
    if source is not None and (options.fix or options.diff) and result.parsed:
        from pipelint.fixes.apply import fix_source

        result = fix_source(path, source, result, config, project, display, options)
    return result


# ---- workers ------------------------------------------------------------------------
_WORKER: tuple[Config, RunOptions] | None = None


def _init_worker(
    config: Config,
    options: RunOptions,
    roots: list[Path],
    relevance: list[tuple[frozenset[str], frozenset[str]]],
) -> None:
    global _WORKER
    _WORKER = (config, options)
    _ROOTS[:] = roots
    _RELEVANCE[:] = relevance


def _work(task: tuple[int, Path, str, bytes]) -> tuple[int, FileResult, float, float]:
    from pipelint.checker import TIMINGS

    assert _WORKER is not None
    config, options = _WORKER
    index, path, display, data = task
    parse0, analysis0 = TIMINGS["parse"], TIMINGS["analysis"]
    result = check_one(path, display, config, options, data)
    return index, result, TIMINGS["parse"] - parse0, TIMINGS["analysis"] - analysis0


def _pool_map(
    tasks: list[tuple[int, Path, str, bytes]],
    config: Config,
    options: RunOptions,
    jobs: int,
) -> Iterator[tuple[int, FileResult, float, float]]:
    """``_work`` on every task in ``jobs`` worker processes (``pipelint.checker.pool``):
    a worker that dies is replaced and the file it was on is reported (RP902), the
    other files' results are kept; an interrupt stops every worker at once."""
    from pipelint.checker.pool import run_pool

    chunk = max(1, min(16, len(tasks) // (jobs * 8)))
    yield from run_pool(
        tasks,
        _work,
        jobs,
        _init_worker,
        (config, options, list(_ROOTS), list(_RELEVANCE)),
        crashed=_crashed,
        failed=_failed,
        chunk=chunk,
    )


def _crashed(
    task: tuple[int, Path, str, bytes], reason: str
) -> tuple[int, FileResult, float, float]:
    index, _path, display, _data = task
    message = (
        f"not analysed: pipelint's worker process died on this file ({reason}); "
        "the other files were checked (please report this)"
    )
    return index, FileResult(display, [_rp902(display, message)]), 0.0, 0.0


def _failed(
    task: tuple[int, Path, str, bytes], failure: Any
) -> tuple[int, FileResult, float, float]:
    index, _path, display, _data = task
    message = f"internal error: {failure.message} (please report this)"
    return index, FileResult(display, [_rp902(display, message)]), 0.0, 0.0


def _rp902(display: str, message: str) -> Diagnostic:
    from pipelint.diagnostics import Location

    loc = Location(1, 1)
    return Diagnostic("RP902", message, display, loc, loc, noqa_row=1)


def _show_progress(options: RunOptions, total: int) -> bool:
    if options.progress is not None:
        return options.progress and total > 0
    if total < PROGRESS_MIN_FILES or os.environ.get("CI"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class _Progress:
    """A rich progress bar on stderr (imported only when shown)."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        self._progress = Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._task = self._progress.add_task("pipelint", total=total)
        self._progress.start()

    def advance(self) -> None:
        self._progress.advance(self._task)

    def close(self) -> None:
        self._progress.stop()


# ---- the run ------------------------------------------------------------------------
def run(paths: list[Path], config: Config, options: RunOptions) -> RunResult:
    from pipelint.checker import DecodeError, check_data, check_file, decode_source, unreadable
    from pipelint.discovery.read import NotRegularFileError, read_regular
    from pipelint.prefilter import ProjectGraph, import_roots

    t0 = perf_counter()
    cwd = Path.cwd().resolve()
    out = RunResult(unsafe_fixes=options.unsafe_fixes)
    items = list(discover(paths, config))
    t_discovery = perf_counter()
    resolved = [i.resolved or Path(os.path.realpath(i.path)) for i in items]
    roots = import_roots(
        config.root,
        [r for i, r in zip(items, resolved, strict=True) if not (i.missing or i.problem)],
    )
    _ROOTS[:] = roots
    _RELEVANCE.clear()
    for project in _PROJECTS.values():
        project.new_run()
    graph = ProjectGraph(roots, config.client_names)
    results: list[FileResult | None] = [None] * len(items)
    displays: list[str] = []
    candidates: list[tuple[int, Path, bytes, tuple[Path, str]]] = []
    for k, item in enumerate(items):
        display = _display(item.path, cwd, resolved[k])
        displays.append(display)
        if item.problem is not None:  # a link loop, an unlistable directory...
            out.files += 1
            results[k] = unreadable(display, item.problem)
            continue
        try:
            data = read_regular(item.path)
        except NotRegularFileError:
            if not item.explicit:
                continue  # a FIFO or a device met while walking: not a source file
            out.files += 1
            results[k] = check_file(item.path, config, None, display)[0]
            continue
        except OSError:
            out.files += 1
            results[k] = check_file(item.path, config, None, display)[0]
            continue
        out.files += 1
        try:
            text = decode_source(data)
        except DecodeError:
            results[k] = check_data(item.path, data, config, None, display)[0]
            continue
        results[k] = FileResult(display, lines=text.count("\n") + 1)
        candidates.append((k, item.path, data, graph.add_file(resolved[k], data, True)))
    t_read = perf_counter()

    if options.prefilter:
        relevant = graph.relevant_set()
        _RELEVANCE[:] = [graph.verdicts()]
        # files named on the command line are always analysed (so a syntax error in
        # a file you name is reported, RP900, whether or not it uses Redis)
        kept = [c for c in candidates if c[3] in relevant or items[c[0]].explicit]
    else:
        kept = candidates
    out.relevant = len(kept)
    t_prefilter = perf_counter()

    cache = None
    digest = ""
    if options.cache and not (options.fix or options.diff) and kept:
        from pipelint.cache import Cache, catalog_hash, default_cache_dir

        directory = options.cache_dir or default_cache_dir()
        cache = Cache(directory, f"{config.fingerprint()}-{catalog_hash()}")
        digest = graph.digest()
    tasks: list[tuple[int, Path, str, bytes]] = []
    keys: dict[int, str] = {}
    for k, path, data, node in kept:
        if cache is not None:
            key = cache.key(cache.content_hash(data), str(node[0]), digest)
            hit = cache.get(key, displays[k])
            if hit is not None:
                results[k] = hit
                out.cache_hits += 1
                continue
            keys[k] = key
        tasks.append((k, path, displays[k], data))
    t_cache = perf_counter()

    # never more workers than cores or files: --jobs 1000 on 1000 files once meant
    # 1000 processes, each importing LibCST, for 2 s of work
    cores = default_jobs()
    jobs = min(options.jobs if options.jobs > 0 else cores, cores, len(tasks))
    parse_t = analysis_t = 0.0
    progress = _Progress(len(tasks)) if _show_progress(options, len(tasks)) else None
    try:
        if jobs <= 1 or len(tasks) < POOL_MIN_FILES:
            out.jobs = 1
            from pipelint.checker import TIMINGS

            p0, a0 = TIMINGS["parse"], TIMINGS["analysis"]
            for k, path, display, data in tasks:
                results[k] = check_one(path, display, config, options, data)
                if progress is not None:
                    progress.advance()
            parse_t, analysis_t = TIMINGS["parse"] - p0, TIMINGS["analysis"] - a0
        else:
            out.jobs = jobs
            # biggest files first: the pool's tail is then made of small files
            tasks.sort(key=lambda t: -len(t[3]))
            for k, res, pt, at in _pool_map(tasks, config, options, jobs):
                results[k] = res
                parse_t += pt
                analysis_t += at
                if progress is not None:
                    progress.advance()
    finally:
        if progress is not None:
            progress.close()
    out.analysed = len(tasks)
    t_check = perf_counter()

    if cache is not None:
        for k, key in keys.items():
            res = results[k]
            if res is not None and not any(d.code == "RP902" for d in res.diagnostics):
                cache.put(key, res)
        cache.clean()
    _merge(out, results, [items[k].path for k, *_ in kept])
    t_end = perf_counter()
    out.timings = {
        "discovery": t_discovery - t0,
        "read": t_read - t_discovery,
        "prefilter": t_prefilter - t_read,
        "cache": t_cache - t_prefilter + (t_end - t_check),
        "check": t_check - t_cache,
        "parse": parse_t,
        "analysis": analysis_t,
        "total": t_end - t0,
    }
    return out


def _merge(out: RunResult, results: Sequence[FileResult | None], kept: list[Path]) -> None:
    by_path = {str(p) for p in kept}
    for res in results:
        if res is None:  # a FIFO or device met while walking: skipped
            continue
        out.parsed += int(res.parsed)
        out.lines += res.lines
        if res.parsed:
            out.parsed_lines += res.lines
        for d in res.diagnostics:
            (out.suppressed if d.suppressed else out.diagnostics).append(d)
            if d.code.startswith("RP90"):  # RP900-RP902: the file was not analysed
                out.not_analysed.append(d)
        if res.fixes_applied:
            out.fixed.update(res.fixes_applied)
            out.fixed_files[res.path] = Counter(res.fixes_applied)
        if res.diff:
            out.diffs.append(res.diff)
        out.warnings.extend(f"{res.path}:{w}" for w in res.warnings)
    out.parsed_paths = [Path(p) for p in sorted(by_path)]
    out.diagnostics.sort(key=Diagnostic.sort_key)
    out.suppressed.sort(key=Diagnostic.sort_key)
    out.diffs.sort()
