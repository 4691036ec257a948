"""The reporters' lines of a file (code frames, SARIF line hashes): a long file is cut
into lines on demand, exactly as ``str.splitlines()`` cuts it (issue 18, item 6: a file
over max-file-size made the `full` format hold a list of its 3.5 million lines)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipelint.reporters._source import LazyLines
from tests.hostile_support import pipelint

ALPHABET = ["a", "b", " ", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u2028"]


def test_lazy_lines_are_splitlines() -> None:
    rng = random.Random(7)
    texts = ["", "a", "a\n", "\n", "\n\n", "a\r\nb", "x\r", "\r\n\r\n"]
    texts += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 14))) for _ in range(2000)]
    for text in texts:
        lines, expected = LazyLines(text), text.splitlines()
        assert list(lines) == expected and len(lines) == len(expected), repr(text)
        for a in range(-2, len(expected) + 2):
            assert lines[a : a + 3] == expected[a : a + 3], repr(text)
    with pytest.raises(IndexError):
        LazyLines("a\nb")[2]


@pytest.mark.parametrize("fmt", ["full", "sarif"])
def test_reports_are_the_same_with_lines_cut_on_demand(tmp_path: Path, fmt: str) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    body = (
        "import redis\r\n\r\nr = redis.Redis()\r\n\r\n\r\ndef f():\r\n"
        "    a = r.get('a')  # noqa: RP999\r\n    b = r.get('b')\r\n    return a, b\r\n"
    )
    (tmp_path / "m.py").write_bytes(body.encode())
    args = ("--output-format", fmt, "m.py")
    eager = pipelint(tmp_path, *args)
    lazy = pipelint(
        tmp_path, *args, prelude="import pipelint.reporters._source as s; s.LAZY_ABOVE = 0"
    )
    assert eager.returncode == lazy.returncode == 1, eager.stderr
    assert b"RP101" in eager.stdout
    assert lazy.stdout == eager.stdout


def test_lazy_and_eager_frames_are_identical(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelint.diagnostics import Diagnostic, Location
    from pipelint.reporters.text import code_frame

    text = "".join(f"line {i}\r\n" for i in range(50)) + "last"
    d = Diagnostic("RP101", "m", "t.py", Location(20, 1), Location(22, 3))
    assert code_frame(d, LazyLines(text)) == code_frame(d, text.splitlines())
