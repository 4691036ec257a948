"""``pipelint bench lint [PATHS]``: how fast is ``pipelint check`` on a tree?

Runs the same pipeline as ``pipelint check`` (discovery, prefilter, cache, workers)
and reports files found and parsed, lines, wall time, files/s, lines/s, the time
in each stage, and peak memory (``ru_maxrss`` of this process and of its children).
``--compare-ruff`` runs ``ruff check --select ALL --no-cache`` on the same paths in
the same run; ``--baseline-parse`` times bare ``libcst.parse_module`` on the files
pipelint parsed, to report the analysis overhead over parsing.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

__all__ = ["command", "lint", "measure"]


def _maxrss_mb(who: int) -> float:
    rss = resource.getrusage(who).ru_maxrss
    return rss / 1024 / (1024 if sys.platform == "darwin" else 1)


def measure(
    paths: list[Path],
    *,
    jobs: int = 0,
    cache: bool = False,
    cache_dir: Path | None = None,
    prefilter: bool = True,
    baseline_parse: bool = False,
    compare_ruff: bool = False,
) -> dict[str, Any]:
    """Run pipelint on ``paths`` and return the figures (see the module docstring)."""
    from pipelint.checker.runner import RunOptions, run
    from pipelint.config import load_config

    config = load_config(paths[0] if paths and paths[0].exists() else Path.cwd())
    # as `pipelint check` with text output: fixes are summarised, their edits not built
    config = config.with_overrides(fix_edits=False)
    options = RunOptions(
        jobs=jobs, cache=cache, cache_dir=cache_dir, prefilter=prefilter, progress=False
    )
    t0 = time.perf_counter()
    result = run(paths, config, options)
    t_run = time.perf_counter() - t0
    t1 = time.perf_counter()
    from pipelint.reporters import report

    class _Null:
        def write(self, s: str) -> int:
            return len(s)

    report("full", result, _Null())  # type: ignore[arg-type]
    t_output = time.perf_counter() - t1
    wall = t_run + t_output
    timings = result.timings
    out: dict[str, Any] = {
        "paths": [str(p) for p in paths],
        "date": time.strftime("%Y-%m-%d"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "jobs": result.jobs,
        "files": result.files,
        "files_relevant": result.relevant,
        "files_parsed": result.parsed,
        "files_from_cache": result.cache_hits,
        "lines": result.lines,
        "lines_parsed": result.parsed_lines,
        "findings": len(result.diagnostics),
        "wall_s": round(wall, 4),
        "files_per_s": round(result.files / wall, 1) if wall else None,
        "lines_per_s": round(result.lines / wall, 1) if wall else None,
        "stages_s": {
            "discovery": round(timings.get("discovery", 0.0), 4),
            "read_and_prefilter": round(
                timings.get("read", 0.0) + timings.get("prefilter", 0.0), 4
            ),
            "cache": round(timings.get("cache", 0.0), 4),
            "check_wall": round(timings.get("check", 0.0), 4),
            "output": round(t_output, 4),
        },
        # CPU seconds summed over workers
        "parse_cpu_s": round(timings.get("parse", 0.0), 4),
        "analysis_cpu_s": round(timings.get("analysis", 0.0), 4),
    }
    if baseline_parse:
        import libcst as cst

        from pipelint.checker import DecodeError, decode_source

        t = 0.0
        for path in result.parsed_paths:
            try:
                source = decode_source(path.read_bytes())
            except (OSError, DecodeError):
                continue
            s = time.perf_counter()
            try:
                cst.parse_module(source)
            except Exception:  # noqa: BLE001 - a file that does not parse costs its attempt
                pass
            t += time.perf_counter() - s
        out["baseline_parse_s"] = round(t, 4)
        analysis = timings.get("analysis", 0.0)
        out["analysis_overhead"] = round(analysis / t, 3) if t else None
    out["peak_rss_mb"] = round(_maxrss_mb(resource.RUSAGE_SELF), 1)
    out["peak_rss_children_mb"] = round(_maxrss_mb(resource.RUSAGE_CHILDREN), 1)
    out["cli"] = _cli(paths, jobs, cache, cache_dir, prefilter)
    if compare_ruff:
        out["ruff"] = _ruff(paths)
        if out["ruff"].get("wall_s") and out["cli"].get("wall_s"):
            out["ratio_vs_ruff"] = round(out["cli"]["wall_s"] / out["ruff"]["wall_s"], 3)
    return out


def _cli(
    paths: list[Path], jobs: int, cache: bool, cache_dir: Path | None, prefilter: bool
) -> dict[str, Any]:
    """``pipelint check`` as a user runs it: a new process, start-up and imports included."""
    cmd = [sys.executable, "-m", "pipelint", "check", "-q", "--exit-zero"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    if not cache:
        cmd.append("--no-cache")
    if cache_dir is not None:
        cmd += ["--cache-dir", str(cache_dir)]
    env = dict(os.environ)
    if not prefilter:
        env["PIPELINT_NO_PREFILTER"] = "1"
    before = _maxrss_mb(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(
        [*cmd, *map(str, paths)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
        env=env,
    )
    wall = time.perf_counter() - t
    after = _maxrss_mb(resource.RUSAGE_CHILDREN)
    return {
        "command": " ".join(["pipelint", *cmd[3:]]),
        "wall_s": round(wall, 4),
        "exit": proc.returncode,
        "peak_rss_mb": round(after, 1) if after > before else None,
    }


def _ruff(paths: list[Path]) -> dict[str, Any]:
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        return {"error": "ruff not found"}
    cmd = [exe, "check", "--select", "ALL", "--no-cache", "--exit-zero", "-q", *map(str, paths)]
    t = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - t
    return {"command": " ".join(cmd[1:]), "wall_s": round(wall, 4), "exit": proc.returncode}


def _print(m: dict[str, Any]) -> None:
    st = m["stages_s"]
    lines = [
        f"files found      {m['files']}  (kept by the prefilter: {m['files_relevant']}, "
        f"from cache: {m['files_from_cache']}, parsed: {m['files_parsed']})",
        f"lines            {m['lines']}  (parsed: {m['lines_parsed']})",
        f"wall time        {m['wall_s']:.3f} s  (in-process run, jobs={m['jobs']})",
        f"throughput       {m['files_per_s']} files/s, {m['lines_per_s']} lines/s",
        f"stages           discovery {st['discovery']:.3f} s, read+prefilter "
        f"{st['read_and_prefilter']:.3f} s, cache {st['cache']:.3f} s, check {st['check_wall']:.3f} s,"
        f" output {st['output']:.3f} s",
        f"cpu              parsing {m['parse_cpu_s']:.3f} s, analysis {m['analysis_cpu_s']:.3f} s",
        f"peak memory      {m['peak_rss_mb']} MB (workers: {m['peak_rss_children_mb']} MB)",
    ]
    if "baseline_parse_s" in m:
        ov = m["analysis_overhead"]
        lines.append(
            f"bare parse       {m['baseline_parse_s']:.3f} s (libcst.parse_module); analysis adds "
            f"{ov * 100:.0f}%"
            if ov is not None
            else "bare parse       n/a"
        )
    c = m["cli"]
    lines.append(
        f"command line     {c['wall_s']:.3f} s ({c['command']}; start-up included), "
        f"peak memory {c['peak_rss_mb']} MB"
    )
    if "ruff" in m:
        r = m["ruff"]
        if "wall_s" in r:
            lines.append(
                f"ruff             {r['wall_s']:.3f} s ({r['command']}); "
                f"pipelint/ruff = {m.get('ratio_vs_ruff', float('nan')):.2f}"
            )
        else:
            lines.append(f"ruff             {r.get('error')}")
    click.echo("\n".join(lines))


@click.command(
    "lint", short_help="Time `pipelint check` on PATHS (default: the current directory)."
)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-j", "--jobs", type=int, default=0, help="Workers (default: one per core).")
@click.option("--cache/--no-cache", default=False, show_default=True, help="Use the cache.")
@click.option(
    "--cache-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Cache directory (with --cache).",
)
@click.option("--no-prefilter", is_flag=True, help="Parse and analyse every file.")
@click.option("--baseline-parse", is_flag=True, help="Also time bare libcst.parse_module.")
@click.option("--compare-ruff", is_flag=True, help="Also time ruff check --select ALL.")
@click.option("--json", "json_file", type=click.Path(path_type=Path), help="Write figures here.")
def lint(
    paths: tuple[Path, ...],
    jobs: int,
    cache: bool,
    cache_dir: Path | None,
    no_prefilter: bool,
    baseline_parse: bool,
    compare_ruff: bool,
    json_file: Path | None,
) -> None:
    """Time `pipelint check` on PATHS (default: the current directory)."""
    figures = measure(
        list(paths) or [Path(".")],
        jobs=jobs,
        cache=cache,
        cache_dir=cache_dir,
        prefilter=not no_prefilter,
        baseline_parse=baseline_parse,
        compare_ruff=compare_ruff,
    )
    _print(figures)
    if json_file is not None:
        json_file.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


command = lint
