"""The atomicity and pipeline rules together: what RP101 leaves to them, applicability
of their fixes, cluster targets, and scripts defined once when several fixes need one."""

from __future__ import annotations

import textwrap
from pathlib import Path

import libcst as cst

from pipelint.checker import check_source
from pipelint.config import Config
from pipelint.diagnostics import Diagnostic, Edit, Fix, Location
from pipelint.fixes.apply import apply_fixes, fix_text

HEADER = "import redis\n\nr = redis.Redis()\n\n\n"


def diagnose(body: str, **config: object) -> list[Diagnostic]:
    src = HEADER + textwrap.dedent(body)
    cfg = Config(root=Path("."), **config)  # type: ignore[arg-type]
    return check_source(Path("t.py"), src, cfg).diagnostics


def codes(body: str, **config: object) -> list[str]:
    return sorted(d.code for d in diagnose(body, **config))


def fixed(body: str, unsafe: bool = True, **config: object) -> str:
    src = HEADER + textwrap.dedent(body)
    cfg = Config(root=Path("."), **config)  # type: ignore[arg-type]
    result = check_source(Path("t.py"), src, cfg)
    text, _result, _applied, failure = fix_text(
        Path("t.py"), src, result, cfg, None, "t.py", unsafe
    )
    assert failure is None, failure
    return text


SET_EXPIRE = """\
def f(k):
    r.set(k, 1)
    r.expire(k, 60)
"""


def test_rp101_leaves_a_write_and_its_ttl_to_rp202() -> None:
    assert codes(SET_EXPIRE) == ["RP202"]
    # with RP202 off, the run is RP101's again
    assert codes(SET_EXPIRE, ignore=("RP202",)) == ["RP101"]


def test_rp101_leaves_get_then_delete_to_rp201() -> None:
    body = "def f(k):\n    v = r.get(k)\n    r.delete(k)\n    return v\n"
    assert codes(body) == ["RP201"]
    assert codes(body, ignore=("RP201",)) == ["RP101"]


def test_rp101_leaves_a_run_inside_a_chain_to_rp203() -> None:
    body = (
        "def f():\n    a = r.get('p')\n    b = r.get(a)\n    c = r.hgetall(b)\n"
        "    r.sadd('seen', b)\n    return c\n"
    )
    assert codes(body) == ["RP203"]
    assert "RP101" in codes(body, ignore=("RP203",))


def test_rp202_is_safe_only_with_a_literal_ttl_and_nothing_between() -> None:
    def applicability(body: str) -> str:
        (d,) = [d for d in diagnose(body) if d.code == "RP202"]
        assert d.fix is not None
        return d.fix.applicability

    assert applicability(SET_EXPIRE) == "safe"
    assert (
        applicability("TTL = 60 * 60\ndef f(k):\n    r.set(k, 1)\n    r.expire(k, TTL)\n") == "safe"
    )
    assert applicability("def f(k, t):\n    r.set(k, 1)\n    r.expire(k, t)\n") == "unsafe"
    assert applicability("def f(k):\n    r.set(k, 1)\n    x = 1\n    r.expire(k, 60)\n") == "unsafe"
    assert applicability("def f(k):\n    r.set(k, 1)\n    r.expire(k, 0)\n") == "unsafe"
    assert applicability("def f(k):\n    r.setnx(k, 1)\n    r.expire(k, 60)\n") == "unsafe"


def test_rp201_fixes_are_never_safe_and_opaque_code_is_display_only() -> None:
    (d,) = diagnose("def f(k):\n    n = int(r.get(k) or 0)\n    r.set(k, n + 1)\n")
    assert d.code == "RP201" and d.fix is not None and d.fix.applicability == "unsafe"
    (d,) = diagnose("def f(k):\n    n = int(r.get(k) or 0)\n    notify(n)\n    r.set(k, n + 1)\n")
    assert d.fix is not None and d.fix.applicability == "display-only"
    assert "cannot see into" in d.fix.message


def test_rp201_derived_help_shows_the_script_shape() -> None:
    (d,) = diagnose(
        "import json\ndef f(k):\n    doc = json.loads(r.get(k))\n    doc['n'] = 1\n"
        "    r.set(k, json.dumps(doc))\n"
    )
    assert d.fix is not None and d.fix.applicability == "display-only"
    assert "redis.call('GET', KEYS[1])" in d.fix.message
    assert "redis.call('SET', KEYS[1]" in d.fix.message


def test_rp203_on_a_cluster_says_why_and_has_no_fix() -> None:
    body = "def f():\n    a = r.get('p')\n    b = r.get(a)\n    return r.get(b)\n"
    (d,) = [d for d in diagnose(body, target="cluster") if d.code == "RP203"]
    assert "not declared in KEYS" in d.message
    assert d.fix is None
    (d,) = [d for d in diagnose(body) if d.code == "RP203"]
    assert d.fix is not None and d.fix.applicability == "unsafe"


def test_lmove_is_not_applied_on_a_cluster() -> None:
    body = "def f():\n    x = r.rpop('a')\n    r.lpush('b', x)\n    return x\n"
    (d,) = diagnose(body, target="cluster")
    assert d.fix is not None and d.fix.applicability == "display-only"


def test_identical_edits_of_two_fixes_are_made_once() -> None:
    loc = Location(1, 1)
    shared = Edit(0, 0, "S\n", loc, loc)
    d1 = Diagnostic(
        "RP201", "a", "t.py", loc, loc, Fix("safe", "a", (shared, Edit(2, 3, "X", loc, loc)))
    )
    d2 = Diagnostic(
        "RP201",
        "b",
        "t.py",
        Location(2, 1),
        loc,
        Fix("safe", "b", (shared, Edit(4, 5, "Y", loc, loc))),
    )
    out, counts = apply_fixes("0123456", [d1, d2], unsafe=False)
    assert out == "S\n01X3Y56"
    assert counts["RP201"] == 2


def test_one_script_definition_for_several_fixes_and_idempotent() -> None:
    body = """\
    def release(lock, token):
        if r.get(lock) == token:
            r.delete(lock)


    def release_other(lock, token):
        if r.get(lock) == token:
            r.delete(lock)


    def release_param(client: redis.Redis, lock, token):
        if client.get(lock) == token:
            client.delete(lock)


    def release_param_2(client: redis.Redis, lock, token):
        if client.get(lock) == token:
            client.delete(lock)
    """
    text = fixed(body)
    assert text.count("_compare_and_delete = r.register_script(") == 1
    assert text.count("_COMPARE_AND_DELETE_LUA = ") == 1
    assert text.count("_compare_and_delete(keys=[lock], args=[token])") == 2
    assert text.count("client.register_script(_COMPARE_AND_DELETE_LUA)(") == 2
    cst.parse_module(text)
    again = check_source(Path("t.py"), text, Config(root=Path(".")))
    assert not [d for d in again.diagnostics if d.code.startswith("RP2")]


def test_a_name_taken_by_something_else_gets_another() -> None:
    body = """\
    _compare_and_delete = None


    def release(lock, token):
        if r.get(lock) == token:
            r.delete(lock)
    """
    text = fixed(body)
    assert "_compare_and_delete_x2 = r.register_script(" in text
    assert "_compare_and_delete_x2(keys=[lock], args=[token])" in text


def test_rp301_and_rp302_have_no_edits() -> None:
    body = """\
    s = r.register_script("return 1")


    def f():
        p = r.pipeline()
        p.set("a", 1)


    def g():
        p = r.pipeline()
        s(keys=["a"], client=p)
        return p.execute()
    """
    found = {d.code: d for d in diagnose(body)}
    assert set(found) == {"RP301", "RP302"}
    assert found["RP301"].fix is None
    fix = found["RP302"].fix
    assert fix is not None and fix.applicability == "display-only" and not fix.edits
