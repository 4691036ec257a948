"""Colour for the text output, as ruff decides it.

``--color always`` and ``--color never`` win; with ``auto`` (the default) a non-empty
``NO_COLOR`` turns colour off, else a non-empty ``FORCE_COLOR`` turns it on
(https://no-color.org, https://force-color.org), else the output is coloured when it
is a terminal. A report written to a file (``-o``) is coloured only with ``always``.
Only the text formats (full, concise, statistics) are ever coloured.
"""

from __future__ import annotations

import os
from typing import TextIO

__all__ = ["Style", "colour_wanted"]

_CODES = {
    "bold": "1",
    "red": "31",
    "green": "32",
    "cyan": "36",
    "bright_red": "91",
    "bright_blue": "94",
    "bright_cyan": "96",
}


def colour_wanted(choice: str, stream: TextIO | None) -> bool:
    """``choice``: auto | always | never; ``stream``: where the text goes (None: a file)."""
    if choice in ("always", "never"):
        return choice == "always"
    if os.environ.get("NO_COLOR"):
        return False
    if stream is None:
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Style:
    """``style(text, "bold", "red")``: ``text`` in those styles, or as it is when off."""

    def __init__(self, enabled: bool = False) -> None:
        self.enabled = enabled

    def __call__(self, text: str, *styles: str) -> str:
        if not self.enabled or not text:
            return text
        codes = "".join(f"\x1b[{_CODES[s]}m" for s in styles)
        return f"{codes}{text}\x1b[0m"
