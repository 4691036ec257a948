"""Generate a Redis-heavy source tree from the fixtures (for ``pipelint bench lint``
and the prefilter / parallelism tests).

Every generated module is a fixture with its functions and classes renamed (so no two
files are identical); packages also get a copy of the fixture project's ``app``
package, whose modules import clients from each other (``from app.conn import
client``), and optionally files that do not use Redis at all, a file with a syntax
error and a file that is not UTF-8 (``extras``).

    python -m pipelint.bench.gen_tree OUT --lines 50000 [--fixtures DIR]

The fixtures are not shipped in the package: from an installed pipelint, point
``--fixtures`` at the ``fixtures`` folder of a source checkout (else it stops and says so).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import click

__all__ = ["generate", "FIXTURES", "FixturesMissing"]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

_DEF = re.compile(r"^(\s*(?:async\s+)?(?:def|class)\s+)([A-Za-z_]\w*)", re.MULTILINE)

_PLAIN = '''"""A module without Redis: the prefilter never parses it."""

import json
from dataclasses import dataclass


@dataclass
class Item{n}:
    key: str
    value: int

    def dump(self) -> str:
        return json.dumps({{"key": self.key, "value": self.value}})


def total{n}(items: list[Item{n}]) -> int:
    cache = {{}}
    cache.get("a")
    cache.get("b")
    return sum(i.value for i in items)
'''


class FixturesMissing(Exception):
    """The fixtures the tree is made from are not there (an installed package)."""


def _sources(fixtures: Path) -> list[tuple[str, str]]:
    out = []
    for path in sorted(fixtures.rglob("*.py")):
        if "project" in path.parts or path.name.endswith(".fixed.py"):
            continue
        out.append((path.stem, path.read_text(encoding="utf-8")))
    return out


def _mutate(source: str, n: int) -> str:
    return _DEF.sub(lambda m: f"{m.group(1)}{m.group(2)}_{n}", source)


def generate(
    out: Path, lines: int = 50_000, extras: bool = False, fixtures: Path | None = None
) -> dict[str, int]:
    """Write the tree under ``out`` (replaced); returns counts of files and lines.
    ``fixtures``: the fixtures folder of a source checkout (default: this checkout's);
    raises ``FixturesMissing`` when it holds no fixture."""
    fixtures = fixtures if fixtures is not None else FIXTURES
    sources = _sources(fixtures) if fixtures.is_dir() else []
    if not sources:
        raise FixturesMissing(
            f"no fixtures in {fixtures}: the generated tree is made from pipelint's "
            "fixtures, which the installed package does not ship; pass --fixtures "
            "with the 'fixtures' folder of a pipelint source checkout"
        )
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / "pyproject.toml").write_text('[tool.pipelint]\nclient-names = ["*_redis"]\n')
    project = fixtures / "RP101" / "project" / "app"
    written = files = 0
    n = 0
    while written < lines:
        pkg = out / f"pkg{n // 20:03d}"
        if not pkg.exists():
            pkg.mkdir()
            (pkg / "__init__.py").write_text("")
            app = pkg / "app"
            if project.is_dir():
                shutil.copytree(project, app, ignore=shutil.ignore_patterns("__pycache__"))
                for f in app.rglob("*.py"):
                    text = f.read_text(encoding="utf-8").replace("from app", f"from {pkg.name}.app")
                    f.write_text(text, encoding="utf-8")
                    written += text.count("\n") + 1
                    files += 1
        stem, source = sources[n % len(sources)]
        text = _mutate(source, n)
        (pkg / f"{stem}_{n}.py").write_text(text, encoding="utf-8")
        written += text.count("\n") + 1
        files += 1
        if extras and n % 10 == 0:
            plain = _PLAIN.format(n=n)
            (pkg / f"plain_{n}.py").write_text(plain, encoding="utf-8")
            written += plain.count("\n") + 1
            files += 1
        n += 1
    if extras:
        bad = out / "extras"
        bad.mkdir()
        (bad / "__init__.py").write_text("")
        (bad / "broken_redis.py").write_text("import redis\n\ndef f(:\n    pass\n")
        (bad / "broken_plain.py").write_text("def f(:\n    pass\n")
        (bad / "latin1.py").write_bytes(b"import redis\nx = '\xe9'\n")
        (bad / "uses_app.py").write_text(
            "from pkg000.app.conn import client\n\n\ndef f():\n"
            '    client.get("a")\n    client.get("b")\n'
        )
        files += 5
    return {"files": files, "lines": written}


@click.command("gen-tree")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--lines", type=int, default=50_000, show_default=True)
@click.option("--extras", is_flag=True, help="Add non-Redis, broken and non-UTF-8 files.")
@click.option(
    "--fixtures",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="The fixtures folder of a pipelint source checkout (default: this checkout's).",
)
def main(out: Path, lines: int, extras: bool, fixtures: Path | None) -> None:
    """Generate a Redis-heavy tree of about LINES lines from the fixtures in OUT."""
    try:
        counts = generate(out, lines, extras, fixtures)
    except FixturesMissing as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"{out}: {counts['files']} files, {counts['lines']} lines")


if __name__ == "__main__":
    main()
