"""Loop facts (analysis/loops.py) and the multi-key plans (analysis/multikey.py)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst
import pytest

from pipelint.analysis.loops import Loop
from pipelint.analysis.multikey import hash_tag, plan_loop, plan_run
from pipelint.analysis.runs import analyze
from pipelint.clients import Resolver, build_scopes
from pipelint.config import Config, ConfigError, load_config

HEADER = (
    "import asyncio\nimport redis\nimport redis.asyncio as aioredis\n"
    "r = redis.Redis()\nother = redis.Redis()\nar = aioredis.Redis()\n"
)


def loops(body: str, header: str = HEADER, is_async: bool = False) -> list[Loop]:
    fn = "async def" if is_async else "def"
    src = header + f"{fn} f(keys, ids, flag):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    module = cst.parse_module(src)
    index = build_scopes(module)
    return analyze(index, Resolver(index)).loops


def top(body: str, **kw: object) -> Loop | None:
    found = [lp for lp in loops(body, **kw) if lp.top]  # type: ignore[arg-type]
    assert len(found) <= 1, found
    return found[0] if found else None


def reason(body: str, **kw: object) -> str:
    found = [lp for lp in loops(body, **kw) if lp.commands or lp.reason]  # type: ignore[arg-type]
    assert found
    return found[0].reason


def test_for_loop_facts() -> None:
    loop = top("for k in keys:\n    r.hgetall(k)\n    r.ttl(k)\n")
    assert loop is not None
    assert loop.kind == "for" and loop.client_key == "r" and not loop.is_async
    assert [c.method for c in loop.commands] == ["hgetall", "ttl"]
    assert loop.iterable_kind == "name" and not loop.results_bound and not loop.early_exit


@pytest.mark.parametrize(
    ("iterable", "kind"),
    [
        ("[1, 2]", "literal"),
        ("range(10)", "range"),
        ("r.smembers('s')", "client"),
        ("r.scan_iter('x:*')", "scan"),
        ("sorted(keys)", "call"),
        ("self_keys()", "call"),
        ("keys", "name"),
    ],
)
def test_iterable_kinds(iterable: str, kind: str) -> None:
    loop = top(f"for k in {iterable}:\n    r.delete(k)\n")
    assert loop is not None and loop.iterable_kind == kind


def test_local_container_is_reiterable() -> None:
    loop = top("names = list(keys)\nfor k in names:\n    r.delete(k)\n")
    assert loop is not None and loop.iterable_kind == "local" and loop.reiterable


def test_comprehensions_and_consumers() -> None:
    assert top("return [r.get(k) for k in keys]\n").kind == "listcomp"  # type: ignore[union-attr]
    loop = top("return sum(r.scard(k) for k in keys)\n")
    assert loop is not None and loop.kind == "genexp" and loop.consumer == "sum"
    loop = top("return any(r.exists(k) for k in keys)\n")
    assert loop is not None and loop.early_exit
    assert top("return (r.get(k) for k in keys)\n") is None  # consumed lazily
    assert top("return sink(r.get(k) for k in keys)\n") is None


def test_gather_on_one_async_client() -> None:
    loop = top("return await asyncio.gather(*(ar.get(k) for k in keys))\n", is_async=True)
    assert loop is not None and loop.consumer == "gather" and loop.is_async


def test_nested_loops_report_the_outermost() -> None:
    found = loops("for g in ids:\n    for k in g:\n        r.srem('s', k)\n")
    assert [lp.top for lp in found] == [True, False]
    assert found[0].nested


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("for _ in ids:\n    keys = r.get(keys)\n", "depend on a result"),
        ("for k in keys:\n    if r.exists(k):\n        continue\n    r.set(k, 1)\n", "uses Redis"),
        (
            "for k in keys:\n    v = r.get(k)\n    if v:\n        r.set(k, 1)\n",
            "depends on a result",
        ),
        ("for r in ids:\n    r.get('a')\n", "no command"),
        ("for k in keys:\n    r.get(k)\n    other.get(k)\n", "several clients"),
        ("while True:\n    r.incr('x')\n", "never ends"),
        ("for m in p.listen():\n    r.incr('x')\n", "pub/sub"),
        ("for k in keys:\n    r.delete(*k)\n", "chunked"),
        (
            "b = []\nfor k in keys:\n    b.append(k)\n    if len(b) > 9:\n        r.delete(k)\n",
            "batch",
        ),
        ("for k in keys:\n    if check(k):\n        r.delete(k)\n", "cannot see into"),
        (
            "for k in keys:\n    try:\n        r.get(k)\n    except Exception:\n        pass\n",
            "try",
        ),
    ],
)
def test_not_independent(body: str, why: str) -> None:
    assert top(body) is None
    assert why in reason(body), reason(body)


def test_loop_inside_a_pipeline_block_is_silent() -> None:
    body = "with self_.pipeline():\n    for k in keys:\n        r.delete(k)\n"
    assert top(body) is None


def test_client_rebound_in_the_loop() -> None:
    assert top("for k in keys:\n    r.get(k)\n    r = other\n") is None


def test_pure_condition_is_fine_and_conditional() -> None:
    loop = top("for k in keys:\n    if k.startswith('a'):\n        r.delete(k)\n")
    assert loop is not None and loop.conditional


def test_pipelines_per_iteration() -> None:
    found = loops(
        "for k in keys:\n    with r.pipeline() as p:\n        p.get(k)\n        p.execute()\n"
    )
    assert [(u.name, u.created_inside) for u in found[0].pipelines] == [("p", True)]
    watch = "for k in keys:\n    with r.pipeline() as p:\n        p.watch(k)\n        p.execute()\n"
    assert loops(watch)[0].pipelines == []


def test_plans_follow_version_and_cluster() -> None:
    loop = top("return [r.sismember('s', m) for m in keys]\n")
    assert loop is not None
    assert plan_loop(loop, Config()) is not None
    assert plan_loop(loop, Config(redis_version="6.0")) is None
    gets = top("return [r.get(k) for k in keys]\n")
    assert gets is not None
    assert plan_loop(gets, Config()).multi == "mget"  # type: ignore[union-attr]
    assert plan_loop(gets, Config(target="cluster")) is None
    tagged = top("return [r.get(f'{{u}}:{k}') for k in keys]\n")
    assert plan_loop(tagged, Config(target="cluster")) is not None  # type: ignore[arg-type]


def test_results_that_a_multi_key_form_cannot_keep() -> None:
    for body in (
        "return [r.exists(k) for k in keys]\n",  # a count, not a list
        "return sum(r.lpush('q', k) for k in keys)\n",  # lengths
        "for k in keys:\n    r.set(k, 1, ex=5)\n",  # no MSET with a TTL
        "for k in keys:\n    r.get(k)\n",  # a read nobody uses
    ):
        loop = top(body)
        assert loop is not None and plan_loop(loop, Config()) is None, body


def test_run_plans() -> None:
    src = HEADER + "def f():\n    a = r.hget('h', 'a')\n    b = r.hget('h', 'b')\n"
    index = build_scopes(cst.parse_module(src))
    (run,) = analyze(index, Resolver(index)).runs
    assert plan_run(run, Config()) is not None
    src = HEADER + "def f():\n    a = r.get('a')\n    b = r.get('b')\n"
    index = build_scopes(cst.parse_module(src))
    (run,) = analyze(index, Resolver(index)).runs
    assert plan_run(run, Config()) is None  # MGET would be less safe than RP101's pipeline


def test_hash_tag() -> None:
    assert hash_tag(cst.parse_expression("f'{{user:1}}:{k}'")) == "{user:1}"
    assert hash_tag(cst.parse_expression("'{a}b'")) == "{a}"
    assert hash_tag(cst.parse_expression("f'{k}:{{a}}'")) is None
    assert hash_tag(cst.parse_expression("'{}x'")) is None
    assert hash_tag(cst.parse_expression("k")) is None


def test_redis_version_setting(tmp_path: Path) -> None:
    assert load_config(tmp_path).redis_version == "7.2"
    (tmp_path / "pyproject.toml").write_text('[tool.pipelint]\nredis-version = "6.0"\n')
    assert load_config(tmp_path).redis_version == "6.0"
    (tmp_path / "pyproject.toml").write_text('[tool.pipelint]\nredis-version = "six"\n')
    with pytest.raises(ConfigError):
        load_config(tmp_path)
    assert Config().fingerprint() != Config(redis_version="6.2").fingerprint()


def test_a_loop_fix_never_shows_code_that_is_not_valid() -> None:
    """A command inside a nested block of the loop body: the queueing loop could not hold
    it, so the display-only fix shows no edit (it once showed a `for` with no body)."""
    from pipelint.checker import check_source

    source = textwrap.dedent(
        """
        import redis

        r = redis.Redis()


        def f(pairs):
            found = []
            for old, new in list(pairs):
                if old:
                    a = r.exists(old)
                    b = r.exists(new)
                    found.append((a, b))
            return found
        """
    )
    result = check_source(Path("t.py"), source, Config(root=Path(".")))
    fixes = [d.fix for d in result.diagnostics if d.code == "RP102"]
    assert fixes and fixes[0] is not None
    assert fixes[0].applicability == "display-only"
    for fix in fixes:
        text = source
        for e in sorted(fix.edits, key=lambda e: e.start, reverse=True):
            text = text[: e.start] + e.content + text[e.end :]
        cst.parse_module(text)
