"""RP101's wider runs (analysis/sequences.py) and the client facts they use (issue 9)."""

from __future__ import annotations

import textwrap

import libcst as cst

from pipelint.analysis.runs import analyze
from pipelint.clients import factories
from pipelint.clients.resolve import Resolver
from pipelint.clients.scopes import build_scopes


def _analysis(src: str):  # type: ignore[no-untyped-def]
    index = build_scopes(cst.parse_module(textwrap.dedent(src)))
    return analyze(index, Resolver(index))


def test_worst_path_round_trips_and_shapes() -> None:
    a = _analysis(
        """
        import redis
        r = redis.Redis()
        def f(kind, x, ttl):
            r.incr("n")
            if kind == "cron":
                r.rpush("cron", x)
                r.expire("cron", ttl)
            elif kind:
                r.rpush("other", x)
            r.sadd("seen", x)
        """
    )
    (run,) = a.sequences
    assert run.shapes == ("conditional",)
    assert len(run.commands) == 5
    assert run.trips == 4  # incr, rpush, expire, sadd on the worst path


def test_consumer_and_tested_shapes() -> None:
    a = _analysis(
        """
        import logging
        import redis.asyncio
        log = logging.getLogger(__name__)
        async def f(r: redis.asyncio.Redis, k, cap):
            n = await r.llen(k)
            log.info("n=%d", n)
            await r.ltrim(k, 0, 10)
            if await r.zcount(k, 0, 1) > cap:
                raise ValueError(n)
        """
    )
    (run,) = a.sequences
    assert run.shapes == ("consumer", "tested")
    assert [c.method for c in run.commands] == ["llen", "ltrim", "zcount"]


def test_plain_runs_are_not_repeated_as_wider_runs() -> None:
    a = _analysis(
        """
        import redis
        r = redis.Redis()
        def f():
            r.set("a", 1)
            r.set("b", 1)
        """
    )
    assert len(a.runs) == 1
    assert a.sequences == []


def test_a_client_or_a_pipeline_is_a_receiver_only_when_admitted() -> None:
    src = """
        from redis import Redis
        from redis.client import Pipeline
        def f(conn: Redis, pipeline: Pipeline | None = None):
            connection = pipeline if pipeline is not None else conn
            connection.set("a", 1)
            connection.set("b", 1)
        """
    a = _analysis(src)
    assert a.runs == [] and a.commands == []  # other rules do not see it
    (run,) = a.sequences
    assert run.shapes == ("or_pipeline",)
    index = build_scopes(cst.parse_module(textwrap.dedent(src)))
    resolver = Resolver(index)
    fn = next(s for s in index.by_node.values() if s.name == "f")
    expr = cst.parse_expression("connection")
    assert resolver.receiver(expr, fn) is None
    info = resolver.receiver(expr, fn, admit_pipeline=True)
    assert info is not None and info.or_pipeline and info.is_async is False


def test_pipeline_annotation_alone_is_not_a_client() -> None:
    index = build_scopes(
        cst.parse_module("from redis.client import Pipeline\ndef f(p: Pipeline | None): pass\n")
    )
    resolver = Resolver(index)
    fn = next(s for s in index.by_node.values() if s.name == "f")
    assert resolver.receiver(cst.parse_expression("p"), fn, admit_pipeline=True) is None


def test_factory_syntax_questions() -> None:
    mod = cst.parse_module(
        textwrap.dedent(
            """
            @property
            def a(self): return 1
            @contextlib.contextmanager
            def b(self, c=None):
                if c:
                    yield c
                else:
                    yield make()
            @asynccontextmanager
            def c(self): yield 1
            @property
            @other
            def d(self): return 1
            """
        )
    )
    a, b, c, d = (s for s in mod.body if isinstance(s, cst.FunctionDef))
    assert factories.property_kind(a) and not factories.property_kind(d)
    assert factories.context_manager_kind(b) == "sync"
    assert factories.context_manager_kind(c) is None  # async manager on a sync def
    values = factories.yielded_values(b)
    assert values is not None and len(values) == 2
