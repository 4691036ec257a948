"""Dependency analysis: which statements form runs of batchable commands."""

from __future__ import annotations

import textwrap

import libcst as cst

from pipelint.analysis.runs import analyze
from pipelint.clients import Resolver, build_scopes

HEADER = "import redis\nimport json\nr = redis.Redis()\ns = redis.Redis()\n"


def runs(body: str) -> list[list[str]]:
    """Methods of each run (2+ commands) in a function with the given body."""
    src = HEADER + "def f(x, flag):\n" + textwrap.indent(textwrap.dedent(body), "    ")
    module = cst.parse_module(src)
    index = build_scopes(module)
    analysis = analyze(index, Resolver(index))
    return [[c.method for c in run.commands] for run in analysis.runs if len(run.commands) >= 2]


def test_independent_commands_form_one_run() -> None:
    assert runs("a = r.get('a')\nb = r.get('b')\nr.set('c', 1)\n") == [["get", "get", "set"]]


def test_dependency_through_result_splits() -> None:
    assert runs("a = r.get('a')\nb = r.get(a)\n") == []


def test_dependency_through_derived_variable_splits() -> None:
    assert runs("a = r.get('a')\nk = a + b'x'\nb = r.get(k)\n") == []


def test_dependency_through_attribute_target() -> None:
    assert runs("x.a = r.get('a')\nr.get(x.a)\n") == []
    assert runs("x.a = r.get('a')\nr.get(x.b)\n") == [["get", "get"]]


def test_subscript_target_taints_container() -> None:
    assert runs("d['a'] = r.get('a')\nr.get(d['b'])\n") == []


def test_augmented_binding_is_not_a_dependency_of_the_arguments() -> None:
    assert runs("t = 0\nt += r.llen('a')\nt += r.llen('b')\n") == [["llen", "llen"]]


def test_pure_statements_between_are_allowed() -> None:
    assert runs("r.set('a', 1)\nk = f'{x}:y'\nr.set(k, 2)\n") == [["set", "set"]]


def test_opaque_call_between_is_a_barrier() -> None:
    assert runs("r.set('a', 1)\nsomething()\nr.set('b', 2)\n") == []


def test_other_client_between_is_a_barrier() -> None:
    assert runs("r.set('a', 1)\ns.get('a')\nr.set('b', 2)\n") == []


def test_branch_on_result_is_a_barrier() -> None:
    assert runs("a = r.get('a')\nif a:\n    y = 1\nr.set('b', 2)\n") == []


def test_branch_not_on_result_is_allowed() -> None:
    assert runs("r.get('a')\nif flag:\n    y = 1\nr.set('b', 2)\n") == [["get", "set"]]


def test_compound_statement_boundaries_split() -> None:
    assert runs("r.get('a')\ntry:\n    r.get('b')\nexcept Exception:\n    pass\n") == []
    assert runs("r.get('a')\nwith open('f') as fh:\n    r.get('b')\n") == []
    assert runs("r.get('a')\nfor i in x:\n    r.get('b')\n") == []


def test_runs_inside_nested_blocks() -> None:
    assert runs("for i in x:\n    r.get('a')\n    r.get('b')\n") == [["get", "get"]]
    assert runs("try:\n    r.get('a')\n    r.get('b')\nfinally:\n    pass\n") == [["get", "get"]]


def test_command_forms() -> None:
    body = """
    r.set('a', 1)
    a = r.get('a')
    b, c = r.hmget('h', ['b', 'c'])
    d: bytes = r.get('d')
    e = json.loads(r.get('e') or '{}')
    return r.get('f')
    """
    assert runs(body) == [["set", "get", "hmget", "get", "get", "get"]]


def test_not_batchable_commands_are_barriers() -> None:
    assert runs("r.get('a')\nr.blpop(['q'])\nr.get('b')\n") == []
    assert runs("r.get('a')\nr.xread({'s': 0}, block=10)\nr.get('b')\n") == []
    assert runs("r.get('a')\nfor k in r.scan_iter():\n    pass\n") == []
    assert runs("r.get('a')\nr.watch('a')\nr.get('b')\n") == []
    assert runs("r.get('a')\np = r.pubsub()\nr.get('b')\n") == []


def test_conditional_and_short_circuit_commands_are_not_commands() -> None:
    assert runs("a = r.get('a')\nb = flag and r.get('b')\n") == []
    assert runs("a = r.get('a')\nb = r.get('b') if flag else None\n") == []
    assert runs("a = r.get('a')\nb = [r.get(k) for k in x]\n") == []


def test_several_commands_in_one_statement() -> None:
    assert runs("a = r.get('a')\nb = (r.get('b'), r.get('c'))\n") == [["get", "get", "get"]]
    assert runs("return r.get('a'), r.hget('h', 'b')\n") == [["get", "hget"]]
    assert runs("return r.get(r.get('a'))\n") == []
    assert runs("return r.get('a'), s.get('b')\n") == []


def test_different_clients_never_share_a_run() -> None:
    assert runs("r.get('a')\ns.get('b')\n") == []
