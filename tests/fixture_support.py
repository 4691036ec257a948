"""Reading fixtures: inline expectations and per-fixture configuration."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pipelint.clients.project import ProjectIndex
from pipelint.config import Config

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
_EXPECT = re.compile(r"#\s*error:\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*)")
_CONFIG = re.compile(r"^#\s*pipelint-config:\s*(?P<toml>.+)$", re.MULTILINE)


def fixture_files(rule_dir: str | None = None) -> list[Path]:
    base = FIXTURES / rule_dir if rule_dir else FIXTURES
    return sorted(
        p
        for p in base.rglob("*.py")
        if not p.name.endswith(".fixed.py") and "__pycache__" not in p.parts
    )


def expected(source: str) -> set[tuple[int, str]]:
    out = set()
    for lineno, line in enumerate(source.splitlines(), 1):
        m = _EXPECT.search(line)
        if m:
            for code in re.split(r"\s*,\s*", m.group("codes")):
                out.add((lineno, code))
    return out


def fixture_config(path: Path, source: str) -> Config:
    table: dict[str, object] = {}
    for m in _CONFIG.finditer(source):
        table.update(tomllib.loads(m.group("toml")))
    # a rule's folder checks that rule (and the input diagnostics) unless it says more
    rule = next((p for p in path.parts if re.fullmatch(r"RP[0-9]{3}", p)), None)
    cfg = Config(root=path.parent, select=(rule, "RP9") if rule else ("RP",))
    if "client-names" in table:
        cfg = cfg.with_overrides(client_names=tuple(table["client-names"]))  # type: ignore[arg-type]
    if "target" in table:
        cfg = cfg.with_overrides(target=str(table["target"]))
    if "redis-version" in table:
        cfg = cfg.with_overrides(redis_version=str(table["redis-version"]))
    if "select" in table:
        cfg = cfg.with_overrides(select=tuple(table["select"]))  # type: ignore[arg-type]
    return cfg


def project_for(config: Config) -> ProjectIndex:
    return ProjectIndex(client_names=config.client_names)


def count_cases(source: str) -> tuple[int, int]:
    """(positive, negative) cases: `# error:` markers and `# ok:` markers."""
    pos = len(_EXPECT.findall(source))
    neg = len(re.findall(r"#\s*ok:", source))
    return pos, neg


def fixed_text(path: Path, source: str | None = None, unsafe: bool = True) -> str:
    """What `pipelint check --fix --unsafe-fixes` would write for a fixture."""
    from pipelint.checker import check_source
    from pipelint.fixes.apply import fix_text

    source = source if source is not None else path.read_text(encoding="utf-8")
    config = fixture_config(path, source)
    project = project_for(config)
    result = check_source(path, source, config, project, str(path))
    text, _result, _applied, failure = fix_text(
        path, source, result, config, project, str(path), unsafe
    )
    assert failure is None, failure
    return text


def fix_cases(rule: str = "RP101") -> list[Path]:
    return sorted(
        p for p in (FIXTURES / rule / "fix").glob("*.py") if not p.name.endswith(".fixed.py")
    )


def loop_fix_cases() -> list[Path]:
    """Runnable fix cases of the loop rules (``main(r, keys)``)."""
    return sorted(
        p
        for code in ("RP102", "RP103", "RP104")
        for p in (FIXTURES / code / "fix").glob("*.py")
        if not p.name.endswith(".fixed.py")
    )


if __name__ == "__main__":  # regenerate the expected outputs: python -m tests.fixture_support
    for case in [*fix_cases(), *loop_fix_cases(), *fix_cases("RP910")]:
        case.with_name(case.stem + ".fixed.py").write_text(fixed_text(case), encoding="utf-8")
        print("wrote", case.with_name(case.stem + ".fixed.py"))
