"""Checking many files: discovery, per-file checks (and fixes), sorted results."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipelint.checker import check_file
from pipelint.clients.project import ProjectIndex
from pipelint.config import Config
from pipelint.diagnostics import Diagnostic, FileResult
from pipelint.discovery import discover

__all__ = ["RunOptions", "RunResult", "run", "check_one"]


@dataclass(frozen=True)
class RunOptions:
    fix: bool = False
    unsafe_fixes: bool = False
    diff: bool = False
    jobs: int = 1


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

    def is_fixable(self, d: Diagnostic) -> bool:
        if d.fix is None:
            return False
        return d.fix.applicability == "safe" or (
            d.fix.applicability == "unsafe" and self.unsafe_fixes
        )


def _display(path: Path, cwd: Path) -> str:
    try:
        return path.resolve().relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


_PROJECTS: dict[tuple[str, tuple[str, ...]], ProjectIndex] = {}


def _project(config: Config) -> ProjectIndex:
    key = (str(config.root), config.client_names)
    project = _PROJECTS.get(key)
    if project is None:
        project = ProjectIndex(client_names=config.client_names)
        project.add_root(config.root)
        if (config.root / "src").is_dir():
            project.add_root(config.root / "src")
        _PROJECTS[key] = project
    return project


def check_one(path: Path, display: str, config: Config, options: RunOptions) -> FileResult:
    """Check (and with ``options.fix``/``diff``, fix) one file. Never raises on bad input."""
    project = _project(config)
    result, source = check_file(path, config, project, display)
    if source is not None and (options.fix or options.diff) and result.parsed:
        from pipelint.fixes.apply import fix_source

        result = fix_source(path, source, result, config, project, display, options)
    return result


def run(paths: list[Path], config: Config, options: RunOptions) -> RunResult:
    cwd = Path.cwd().resolve()
    out = RunResult(unsafe_fixes=options.unsafe_fixes)
    results: list[FileResult] = []
    for item in discover(paths, config):
        display = _display(item.path, cwd)
        out.files += 1
        results.append(check_one(item.path, display, config, options))
    for res in results:
        out.parsed += int(res.parsed)
        out.lines += res.lines
        for d in res.diagnostics:
            (out.suppressed if d.suppressed else out.diagnostics).append(d)
            if d.code.startswith("RP9"):
                out.not_analysed.append(d)
        if res.fixes_applied:
            out.fixed.update(res.fixes_applied)
            out.fixed_files[res.path] = Counter(res.fixes_applied)
        if res.diff:
            out.diffs.append(res.diff)
    out.diagnostics.sort(key=Diagnostic.sort_key)
    out.suppressed.sort(key=Diagnostic.sort_key)
    out.diffs.sort()
    return out
