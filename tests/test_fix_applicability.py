"""RP101 fix applicability: safe for reads, unsafe for writes, display-only when the
rewrite cannot be proven (cluster-rejected commands, rebinding between commands)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pipelint.checker import check_source
from pipelint.config import Config
from pipelint.diagnostics import Diagnostic
from pipelint.fixes.apply import apply_fixes


def diagnose(
    body: str, header: str = "import redis\nr = redis.Redis()\n", **config: object
) -> list[Diagnostic]:
    src = header + "def f(x):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    cfg = Config(root=Path("."), **config)  # type: ignore[arg-type]
    return [d for d in check_source(Path("t.py"), src, cfg).diagnostics if d.code == "RP101"]


def applicability(body: str, **kw: object) -> str:
    (d,) = diagnose(body, **kw)
    assert d.fix is not None
    return d.fix.applicability


def test_reads_are_safe() -> None:
    assert applicability("a = r.get('a')\nb = r.hgetall('b')\nreturn a, b\n") == "safe"


def test_writes_are_unsafe() -> None:
    assert applicability("r.set('a', 1)\nr.expire('b', 5)\n") == "unsafe"  # 'a' twice: RP202
    assert applicability("a = r.get('a')\nr.incr('n')\n") == "unsafe"


def test_cluster_rejected_command_is_display_only() -> None:
    header = "from redis.cluster import RedisCluster\nr = RedisCluster()\n"
    assert (
        applicability("a = r.mget(['a', 'b'])\nb = r.get('c')\n", header=header) == "display-only"
    )
    assert applicability("a = r.get('a')\nb = r.get('c')\n", header=header) == "safe"


def test_target_cluster_config_applies_to_standalone_clients() -> None:
    body = "a = r.get('a')\nr.rename('x', 'y')\n"
    assert applicability(body) == "unsafe"
    assert applicability(body, target="cluster") == "display-only"


def test_rebinding_a_result_name_between_is_display_only() -> None:
    assert applicability("a = r.get('a')\nb = 1\nb = r.get('b')\n") == "display-only"


def test_client_obtained_by_a_call_is_display_only() -> None:
    header = "import redis\ndef get() -> redis.Redis: ...\n"
    body = "get().set('a', 1)\nget().set('b', 1)\n"
    assert applicability(body, header=header) == "display-only"


def test_text_marks_only_applicable_fixes_and_apply_skips_others() -> None:
    (d,) = diagnose("r.set('a', 1)\nr.expire('b', 5)\n")  # unsafe
    src = "x"
    out, counts = apply_fixes(src, [d], unsafe=False)
    assert out == src and not counts


def test_overlapping_fixes_are_applied_one_per_round() -> None:
    from pipelint.diagnostics import Edit, Fix, Location

    loc = Location(1, 1)
    d1 = Diagnostic(
        "RP101", "a", "t.py", loc, loc, Fix("safe", "a", (Edit(0, 5, "AAAAA", loc, loc),))
    )
    d2 = Diagnostic(
        "RP101", "b", "t.py", Location(1, 3), loc, Fix("safe", "b", (Edit(3, 8, "BB", loc, loc),))
    )
    out, counts = apply_fixes("0123456789", [d1, d2], unsafe=False)
    assert out == "AAAAA56789"
    assert counts["RP101"] == 1


def test_opaque_call_in_a_later_argument_is_never_safe() -> None:
    assert applicability("a = r.get('a')\nb = r.get(make_key(x))\n") == "unsafe"
    # in the first command it runs before anything is sent, as in the original
    assert applicability("a = r.get(make_key(x))\nb = r.get('b')\n") == "safe"


def test_cluster_multi_key_call_is_display_only() -> None:
    header = "from redis.cluster import RedisCluster\nr = RedisCluster()\n"
    assert applicability("r.delete('a', 'b')\nr.set('c', 1)\n", header=header) == "display-only"
    assert applicability("r.delete('a')\nr.set('c', 1)\n", header=header) == "unsafe"


def test_class_body_run_is_display_only() -> None:
    src = "import redis\nr = redis.Redis()\nclass C:\n    a = r.get('a')\n    b = r.get('b')\n"
    (d,) = check_source(Path("t.py"), src, Config(root=Path("."))).diagnostics
    assert d.fix is not None and d.fix.applicability == "display-only"


def test_try_whose_except_carries_on_and_results_read_later() -> None:
    body = """
    try:
        a = r.get('a')
        b = r.hget('h', 'b')
    except Exception:
        pass
    return a
    """
    assert applicability(body) == "display-only"
    body_exits = body.replace("pass", "return None")
    assert applicability(body_exits) == "safe"
