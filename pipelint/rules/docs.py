"""Rule documentation: ``rules/<CODE>.md`` in the repository, shipped in the wheel
as package data (``pipelint/rules/docs/``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["rule_doc", "docs_dir"]


def docs_dir() -> Path | None:
    """The repository's ``rules/`` folder when running from a checkout."""
    repo = Path(__file__).resolve().parents[2] / "rules"
    return repo if repo.is_dir() else None


def rule_doc(code: str) -> str | None:
    repo = docs_dir()
    if repo is not None:
        path = repo / f"{code}.md"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    try:
        return (resources.files("pipelint.rules") / "docs" / f"{code}.md").read_text(
            encoding="utf-8"
        )
    except (FileNotFoundError, OSError, ModuleNotFoundError):
        return None
