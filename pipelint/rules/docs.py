"""Rule documentation: ``rules/<CODE>.md`` in the repository, shipped in the wheel
as package data (``pipelint/rules/docs/``, copied there by ``setup.py`` at build time).

A doc is a ``# name (CODE)`` title followed by the sections of ``SECTIONS``, each a
``## `` heading, in that order.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

__all__ = [
    "SECTIONS",
    "code_blocks",
    "doc_sections",
    "docs_dir",
    "documented_codes",
    "first_paragraphs",
    "rule_doc",
]

SECTIONS = (
    "What it does",
    "Why is this bad?",
    "Example",
    "Use instead",
    "Fix safety",
    "Options",
    "References",
)

_HEADING = re.compile(r"^## +(?P<title>.+?) *$", re.MULTILINE)
_FENCE = re.compile(
    r"^```(?P<lang>[\w+-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL
)


def docs_dir() -> Path | None:
    """The repository's ``rules/`` folder when running from a checkout."""
    repo = Path(__file__).resolve().parents[2] / "rules"
    return repo if repo.is_dir() else None


def _packaged() -> Path | None:
    try:
        path = resources.files("pipelint.rules") / "docs"
    except ModuleNotFoundError:  # pragma: no cover
        return None
    return Path(str(path)) if path.is_dir() else None


def rule_doc(code: str) -> str | None:
    """The Markdown documentation of rule ``code``; None when there is none."""
    code = code.upper()
    for directory in (docs_dir(), _packaged()):
        if directory is None:
            continue
        path = directory / f"{code}.md"
        try:
            if path.is_file():
                return path.read_text(encoding="utf-8")
        except OSError:
            continue
    return None


def documented_codes() -> list[str]:
    """The codes that have a doc (checkout first, else the packaged docs)."""
    for directory in (docs_dir(), _packaged()):
        if directory is not None:
            return sorted(p.stem for p in directory.glob("*.md"))
    return []


def doc_sections(doc: str) -> dict[str, str]:
    """The ``## `` sections of a doc by title, each one's body stripped."""
    out: dict[str, str] = {}
    matches = list(_HEADING.finditer(doc))
    for m, nxt in zip(matches, [*matches[1:], None], strict=True):
        body = doc[m.end() : nxt.start() if nxt is not None else len(doc)]
        out[m.group("title")] = body.strip()
    return out


def code_blocks(markdown: str, lang: str | None = "python") -> list[str]:
    """The fenced code blocks of ``markdown`` (only ``lang`` ones unless None)."""
    return [
        m.group("body")
        for m in _FENCE.finditer(markdown)
        if lang is None or m.group("lang") == lang
    ]


def first_paragraphs(markdown: str, limit: int) -> str:
    """Plain text of ``markdown`` (code blocks dropped, lines joined) cut to ``limit``
    characters at a word boundary."""
    text = _FENCE.sub("", markdown)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text)]
    joined = "\n\n".join(p for p in paragraphs if p)
    if len(joined) <= limit:
        return joined
    cut = joined[: limit - 1].rsplit(" ", 1)[0].rstrip()
    return cut + "…"
