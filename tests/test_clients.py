"""Client resolution: which receivers are redis-py clients, sync or asyncio, cluster."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from pipelint.clients import Resolver, build_scopes
from pipelint.clients.resolve import ClientInfo


def receivers(source: str, client_names: tuple[str, ...] = ()) -> dict[str, ClientInfo | None]:
    """Every `X.method(...)` receiver text in the source -> what the resolver says."""
    module = cst.parse_module(textwrap.dedent(source))
    index = build_scopes(module)
    resolver = Resolver(index, client_names)
    out: dict[str, ClientInfo | None] = {}

    class V(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack = [index.module]

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.stack.append(index.by_node[node])

        def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.stack.pop()

        def visit_ClassDef(self, node: cst.ClassDef) -> None:
            self.stack.append(index.by_node[node])

        def leave_ClassDef(self, node: cst.ClassDef) -> None:
            self.stack.pop()

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value == "probe":
                key = cst.Module([]).code_for_node(node.func.value)
                out[key] = resolver.receiver(node.func.value, self.stack[-1])

    module.visit(V())
    return out


@pytest.mark.parametrize(
    ("source", "is_async", "cluster"),
    [
        ("import redis\nr = redis.Redis()\nr.probe()", False, False),
        ("import redis\nr = redis.StrictRedis.from_url('x')\nr.probe()", False, False),
        ("from redis import Redis as R\nr = R.from_pool(p)\nr.probe()", False, False),
        ("import redis\nr = redis.from_url('x')\nr.probe()", False, False),
        ("import redis.asyncio as aioredis\nr = aioredis.from_url('x')\nr.probe()", True, False),
        ("from redis.asyncio import Redis\nr = Redis()\nr.probe()", True, False),
        ("from redis import asyncio as ar\nr = ar.Redis()\nr.probe()", True, False),
        ("from redis.cluster import RedisCluster\nr = RedisCluster()\nr.probe()", False, True),
        (
            "from redis.asyncio.cluster import RedisCluster\nr = RedisCluster()\nr.probe()",
            True,
            True,
        ),
        ("import valkey as redis\nr = redis.Redis()\nr.probe()", False, False),
        ("import valkey\nr = valkey.Valkey()\nr.probe()", False, False),
        ("from valkey.asyncio import Valkey\nr = Valkey()\nr.probe()", True, False),
        (
            "from django_redis import get_redis_connection\nr = get_redis_connection('default')\nr.probe()",
            False,
            False,
        ),
        (
            "from redis.sentinel import Sentinel\ns = Sentinel([])\nr = s.master_for('m')\nr.probe()",
            False,
            False,
        ),
        (
            "from redis.sentinel import Sentinel\nr = Sentinel([]).slave_for('m')\nr.probe()",
            False,
            False,
        ),
        (
            "from redis.asyncio.sentinel import Sentinel\nr = Sentinel([]).master_for('m')\nr.probe()",
            True,
            False,
        ),
    ],
)
def test_constructors(source: str, is_async: bool, cluster: bool) -> None:
    info = receivers(source)["r"]
    assert info is not None
    assert info.is_async is is_async
    assert info.cluster is cluster


@pytest.mark.parametrize(
    "annotation",
    ["redis.Redis", "Optional[redis.Redis]", "redis.Redis | None", "'redis.Redis'", "'Optional[Redis]'",
     "Union[Redis, None]", "Redis[bytes]", "None | Redis"],
)  # fmt: skip
def test_annotations(annotation: str) -> None:
    src = f"import redis\nfrom redis import Redis\nfrom typing import Optional, Union\ndef f(r: {annotation}):\n    r.probe()\n"
    info = receivers(src)["r"]
    assert info is not None and info.is_async is False


def test_self_attributes_across_methods() -> None:
    src = """
    import redis
    class A:
        def __init__(self, url, conn: redis.Redis):
            self.r = redis.Redis.from_url(url)
            self.c = conn
            self.d = {}
        def m(self):
            self.r.probe()
            self.c.probe()
            self.d.probe()
    """
    got = receivers(src)
    assert got["self.r"] is not None
    assert got["self.c"] is not None
    assert got["self.d"] is None


def test_class_level_annotation_and_inheritance() -> None:
    src = """
    from redis.asyncio import Redis
    class Base:
        redis: Redis
    class Child(Base):
        async def m(self):
            self.redis.probe()
    """
    info = receivers(src)["self.redis"]
    assert info is not None and info.is_async is True


@pytest.mark.parametrize(
    "source",
    [
        "import requests\nr = requests.get('u')\nr.probe()",
        "import httpx\nclient = httpx.Client()\nclient.probe()",
        "from django.core.cache import cache\ncache.probe()",
        "from django.core.cache import cache\ncache.client.probe()",
        "import os\nos.environ.probe()",
        "cache = {}\ncache.probe()",
        "def f(r):\n    r.probe()",
        "import redis\nr = redis.Redis()\nr = {}\nr.probe()",
        "import redis\np = redis.Redis().pipeline()\np.probe()",
        "import redis\ndef f(p: redis.client.Pipeline):\n    p.probe()",
        "import redis\nlock = redis.Redis().lock('x')\nlock.probe()",
    ],
)
def test_not_clients(source: str) -> None:
    got = receivers(source)
    assert all(v is None for v in got.values()), got


def test_configured_names() -> None:
    src = """
    def f(r, my_redis, other):
        r.probe()
        my_redis.probe()
        other.probe()
    class V:
        def m(self):
            self.redis.probe()
    """
    got = receivers(src, ("r", "*_redis", "self.redis"))
    assert got["r"] is not None and got["r"].is_async is None
    assert got["my_redis"] is not None
    assert got["self.redis"] is not None
    assert got["other"] is None


def test_configured_patterns_name_the_receiver_not_what_it_hangs_from() -> None:
    src = """
    def f(client, conn, cache_redis):
        client.profiling.probe()
        conn.queues.probe()
        client.probe()
        cache_redis.probe()
    class V:
        def m(self):
            self._redis.probe()
            self.redis_pool.client.probe()
    """
    got = receivers(src, ("*client*", "*conn*", "*_redis", "*redis*"))
    # a dict on a client, or a list on a connection, is not a client
    assert got["client.profiling"] is None
    assert got["conn.queues"] is None
    assert receivers(src, ("*redis*",))["self.redis_pool.client"] is None
    assert got["client"] is not None
    assert got["cache_redis"] is not None
    assert got["self._redis"] is not None


def test_configured_name_rebound_locally_is_not_a_client() -> None:
    src = "import requests\ndef f():\n    r = requests.get('x')\n    r.probe()\n"
    assert receivers(src, ("r",))["r"] is None


def test_factory_functions_and_globals() -> None:
    src = """
    import redis
    _client = None
    def get() -> redis.Redis:
        global _client
        if _client is None:
            _client = redis.Redis()
        return _client
    def make():
        return redis.Redis()
    async def amake():
        return redis.Redis()
    def use():
        a = get()
        b = make()
        a.probe()
        b.probe()
        _client.probe()
    async def ause():
        c = await amake()
        d = amake()
        c.probe()
        d.probe()
    """
    got = receivers(src)
    assert got["a"] is not None
    assert got["b"] is not None
    assert got["_client"] is not None
    assert got["c"] is not None
    assert got["d"] is None  # an un-awaited coroutine


def test_with_statement_binding() -> None:
    src = "import redis\nwith redis.Redis() as r:\n    r.probe()\nwith redis.Redis().pipeline() as p:\n    p.probe()\n"
    got = receivers(src)
    assert got["r"] is not None
    assert got["p"] is None


def test_imported_from_project_module(tmp_path) -> None:
    from pipelint.checker import check_source
    from pipelint.clients.project import ProjectIndex
    from pipelint.config import Config

    pkg = tmp_path / "app"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "conn.py").write_text("import redis\nclient = redis.Redis()\nplain = object()\n")
    user = pkg / "user.py"
    src = (
        "from app.conn import client, plain\n"
        "def f():\n    client.get('a')\n    client.get('b')\n"
        "def g():\n    plain.get('a')\n    plain.get('b')\n"
    )
    user.write_text(src)
    res = check_source(user, src, Config(root=tmp_path), ProjectIndex(), "app/user.py")
    assert [(d.code, d.location.row) for d in res.diagnostics] == [("RP101", 3)]


def test_param_or_constructor_fallback() -> None:
    src = """
    import redis
    class Q:
        def __init__(self, connection=None, other: dict | None = None):
            self.connection = connection or redis.Redis()
            self.other = other or redis.Redis()
        def m(self):
            self.connection.probe()
            self.other.probe()
    """
    got = receivers(src)
    assert got["self.connection"] is not None
    assert got["self.other"] is None  # annotated as something else


def test_repeated_imports_of_the_same_package() -> None:
    src = "import redis\nimport redis.cluster\ndef f(r: redis.Redis):\n    r.probe()\n"
    assert receivers(src)["r"] is not None


def test_import_with_fallback_placeholder() -> None:
    src = """
    try:
        from redis import Redis
    except ImportError:
        Redis = object
    class Database(Redis):
        pass
    db = Database()
    db.probe()
    """
    assert receivers(src)["db"] is not None


def test_declared_attribute_type_wins_over_opaque_assignments() -> None:
    src = """
    from redis.asyncio import Redis
    class Backend:
        _client: Redis | None
        def __init__(self, factory):
            self._client = factory()
        async def m(self):
            self._client.probe()
    """
    info = receivers(src)["self._client"]
    assert info is not None and info.is_async is True


def test_param_default_and_typing_cast() -> None:
    src = """
    import typing
    import redis
    def f(r=redis.Redis(), d={}):
        r.probe()
        d.probe()
    def g(x):
        c = typing.cast(redis.Redis, x)
        c.probe()
    """
    got = receivers(src)
    assert got["r"] is not None
    assert got["d"] is None
    assert got["c"] is not None


def test_type_alias_annotations() -> None:
    src = """
    from typing import Optional, TypeAlias
    import redis
    from redis.cluster import RedisCluster
    Client: TypeAlias = redis.Redis | RedisCluster
    MaybeClient = Optional[redis.Redis]
    NotAlias = dict | None
    def f(a: Client, b: MaybeClient, c: NotAlias):
        a.probe()
        b.probe()
        c.probe()
    """
    got = receivers(src)
    assert got["a"] is not None and got["a"].cluster
    assert got["b"] is not None
    assert got["c"] is None


def test_global_then_import_inside_a_function() -> None:
    src = "import redis\ndef f():\n    global conn\n    import conn\n    conn.probe()\nr = redis.Redis()\nr.probe()\n"
    got = receivers(src)
    assert got["conn"] is None
    assert got["r"] is not None
