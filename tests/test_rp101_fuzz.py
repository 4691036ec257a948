"""A differential fuzzer for the RP101 fix (issue 16).

Hypothesis writes small functions mixing Redis commands (reads, writes, commands that
fail on a wrongly typed key), Python statements (prints, logging, container writes,
comprehensions, walruses), bindings of every target shape, ``try``/``except``/``finally``
and ``with suppress`` around them, sync and asyncio. Each program runs before and after
plain ``--fix`` (safe fixes only) against a private Redis; everything a caller can see
must be identical (tests/differential.py). ``PIPELINT_FUZZ_EXAMPLES`` sets how many
programs (default 200 in CI; run many thousands before changing the fix).
"""

from __future__ import annotations

import os
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pipelint.server import RedisServer
from tests.differential import observe
from tests.fixture_support import fixed_text

EXAMPLES = int(os.environ.get("PIPELINT_FUZZ_EXAMPLES", "200"))

# (method call text, is a write); keys: a/b/c strings, n a number, text a word, j JSON,
# h a hash, l a list, s a set; "nope" is missing. Several fail on the wrong type.
READS = [
    'get("a")', 'get("b")', 'get("h")', 'get("nope")', 'hget("h", "f")', 'hget("a", "f")',
    'lrange("l", 0, -1)', 'lrange("a", 0, -1)', 'llen("l")', 'smembers("s")', 'smembers("h")',
    'exists("a")', 'hgetall("h")', 'hgetall("a")', 'get("j")', 'get("text")', 'get("n")',
    "get(k)", 'zscore("z", "p")', 'ttl("ttl")',
]  # fmt: skip
WRITES = ['set("w", "1")', 'incr("n")', 'incr("text")', 'lpush("a", "x")', 'hset("h", "f", "2")']
WRAPPERS = ["{}", "str({})", "json.loads({})", "int({})", "{}.upper()", "len({})", "[{}]"]
TARGETS = ["x{i}", "d['k{i}']", "d[k]", "box.v{i}", "total", "x{i}, *rest{i}", "G{i}"]
BETWEEN = [
    "print('between', {i})",
    "log.info('between %s', {i})",
    "d['p{i}'] = {i}",
    "k = 'b'",
    "k = f'{{k}}{i}'",
    "seen = [str(i) for i in range({i})]",
    "out.append({i})",
    "y{i} = {i}",
    "total = 0",
    "pass",
]


@st.composite
def command(draw: st.DrawFn, i: int, is_async: bool) -> str:
    call = draw(st.sampled_from(READS + WRITES if draw(st.integers(0, 3)) == 0 else READS))
    if draw(st.integers(0, 5)) == 0:
        call = call.replace('("', '((k := "', 1).replace('",', '"),', 1)
        if "(k :=" in call and call.count("(") != call.count(")"):
            call = call.replace('")', '"))', 1)
    expr = f"r.{call}"
    if is_async:
        expr = f"(await {expr})"
    wrapper = draw(st.sampled_from(WRAPPERS))
    value = wrapper.format(expr)
    shape = draw(st.integers(0, 14))
    if shape == 0:
        return value  # result unused
    if shape == 1:
        return f"total += len(str({value}))"
    if shape == 2:
        return f"out.append({value})"
    target = draw(st.sampled_from(TARGETS) if shape < 7 else st.just("x{i}")).format(i=i)
    return f"{target} = {value}"


@st.composite
def program(draw: st.DrawFn) -> str:
    is_async = draw(st.booleans())
    n = draw(st.integers(2, 5))
    body: list[str] = []
    for i in range(n):
        body.append(draw(command(i, is_async)))
        if draw(st.integers(0, 4)) == 0:
            body.append(draw(st.sampled_from(BETWEEN)).format(i=i))
    if draw(st.integers(0, 3)) == 0:
        body.append("return " + draw(command(n, is_async)).split(" = ", 1)[-1])
    wrap = draw(
        st.sampled_from(["none", "none", "except_pass", "except_msg", "finally", "suppress"])
    )
    indent = "    "
    lines = [indent + ln for ln in body]
    if wrap == "except_pass":
        lines = [
            "    try:",
            *(indent + ln for ln in lines),
            "    except redis.ResponseError:",
            "        pass",
        ]
    elif wrap == "except_msg":
        lines = [
            "    try:",
            *(indent + ln for ln in lines),
            "    except Exception as e:",
            "        return type(e).__name__, str(e), d, out",
        ]
    elif wrap == "finally":
        lines = [
            "    try:",
            *(indent + ln for ln in lines),
            "    finally:",
            "        print('finally', d, out)",
        ]
    elif wrap == "suppress":
        lines = ["    with suppress(redis.ResponseError):", *(indent + ln for ln in lines)]
    client = "redis.asyncio.Redis" if is_async else "redis.Redis"
    head = "async def" if is_async else "def"
    globals_ = "".join(f"G{i} = None\n" for i in range(n + 1))
    names = [f"{p}{i}" for i in range(n + 1) for p in ("x", "y", "rest")]
    return (
        "import json\nimport logging\nfrom contextlib import suppress\n\nimport redis\n"
        "import redis.asyncio\n\nlog = logging.getLogger('fuzz')\nshared = {}\n"
        f"{globals_}\n\nclass Box:\n    pass\n\n\n"
        f"{head} main(r: {client}):\n"
        f"    global {', '.join(f'G{i}' for i in range(n + 1))}\n"
        "    d = shared\n    out = []\n    box = Box()\n    total = 0\n    k = 'a'\n"
        f"    {' = '.join(names)} = None\n"
        + "\n".join(lines)
        + f"\n    return d, out, vars(box), total, k, {', '.join(names)}\n"
    )


@pytest.fixture(scope="module")
def server() -> RedisServer:
    with RedisServer() as srv:
        yield srv  # type: ignore[misc]


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=os.environ.get("PIPELINT_FUZZ_RANDOM") is None,
)
@given(source=program())
def test_safe_fixes_keep_behaviour(source: str, server: RedisServer) -> None:
    path = Path("fuzz_case.py")
    try:
        compile(source, "fuzz_case.py", "exec")
    except SyntaxError:
        event("not valid Python")
        return
    fixed = fixed_text(path, source, unsafe=False)
    if fixed == source:
        event("no safe fix")
        return
    event("safe fix applied")
    cst.parse_module(fixed)
    assert fixed_text(path, fixed, unsafe=False) == fixed, "not idempotent"
    assert observe(fixed, path, server) == observe(source, path, server), fixed
