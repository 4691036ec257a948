"""The command catalog: known facts, consistency with redis-py and the server, freshness."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest
import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.cluster

from pipelint import catalog
from pipelint.catalog import build
from pipelint.server import RedisServer


@pytest.fixture(scope="module")
def raw_catalog() -> dict[str, Any]:
    text = resources.files("pipelint.catalog").joinpath("commands.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@pytest.fixture(scope="module")
def server_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    yield client
    client.close()


def spec(name: str) -> catalog.CommandSpec:
    got = catalog.lookup(name)
    assert got is not None, name
    return got


# ---------------------------------------------------------------- known facts
def test_get() -> None:
    get = spec("get")
    assert get.command == "GET"
    assert get.readonly and not get.write and not get.blocking
    assert get.batchable and get.reason is None
    assert get.cluster_pipeline_ok
    assert get.key_params == ("name",)
    assert get.multi_form is not None
    assert get.multi_form.method == "mget"
    assert get.multi_form.kind == "multi_key"
    assert get.multi_form.per_item_results


def test_set() -> None:
    s = spec("set")
    assert s.command == "SET" and s.write and not s.readonly and s.batchable
    assert s.multi_form is not None and s.multi_form.method == "mset"
    assert {"ex", "px", "nx", "xx", "keepttl", "get"} <= set(s.multi_form.forbidden_kwargs)
    assert "name" not in s.multi_form.forbidden_kwargs
    assert "value" not in s.multi_form.forbidden_kwargs


@pytest.mark.parametrize(
    "name", ["blpop", "brpop", "blmove", "brpoplpush", "bzpopmin", "bzpopmax", "blmpop", "wait"]
)
def test_blocking_not_batchable(name: str) -> None:
    s = spec(name)
    assert s.blocking and not s.batchable and s.reason
    assert s.blocking_kwarg is None


@pytest.mark.parametrize("name", ["xread", "xreadgroup"])
def test_xread_blocks_only_with_kwarg(name: str) -> None:
    s = spec(name)
    assert s.blocking and s.blocking_kwarg == "block"
    assert s.batchable  # without block=
    assert s.key_params == ("streams",)


@pytest.mark.parametrize(
    "name",
    [
        "scan_iter",
        "hscan_iter",
        "sscan_iter",
        "zscan_iter",
        "lock",
        "pipeline",
        "transaction",
        "pubsub",
        "register_script",
        "monitor",
        "watch",
        "unwatch",
        "multi",
        "discard",
        "exec",
        "subscribe",
        "psubscribe",
        "unsubscribe",
        "select",
        "auth",
        "quit",
        "reset",
        "client_setname",
        "readonly",
        "readwrite",
        "shutdown",
        "debug_object",
        "save",
        "bgsave",
    ],
)
def test_not_batchable(name: str) -> None:
    s = spec(name)
    assert not s.batchable
    assert s.reason


@pytest.mark.parametrize("name", ["scan_iter", "lock", "pipeline", "pubsub", "register_script"])
def test_api_members_are_not_commands(name: str) -> None:
    assert spec(name).command is None
    assert not catalog.is_command_method(name)


def test_command_methods() -> None:
    assert catalog.is_command_method("get")
    assert catalog.is_command_method("hset")
    assert not catalog.is_command_method("no_such_method")
    assert catalog.lookup("no_such_method") is None
    assert catalog.lookup("json") is None  # module namespaces are skipped


def test_pipeline_api() -> None:
    for name in ("execute", "reset", "watch", "multi", "immediate_execute_command"):
        assert catalog.is_pipeline_api(name)
    assert not catalog.is_pipeline_api("get")
    assert not spec("execute").batchable


@pytest.mark.parametrize("name", ["mget", "mset", "msetnx", "rename", "keys", "scan", "sort"])
def test_cluster_pipeline_rejects(name: str) -> None:
    assert not spec(name).cluster_pipeline_ok


def test_cluster_pipeline_accepts_single_key() -> None:
    for name in ("get", "set", "hget", "incr", "delete"):
        assert spec(name).cluster_pipeline_ok, name


def test_cluster_rejections_match_facts_note() -> None:
    """The facts note's list, checked against the installed redis-py (via the catalog)."""
    note = [
        "mget",
        "mset",
        "msetnx",
        "evalsha",
        "script_load",
        "script_exists",
        "script_flush",
        "rename",
        "renamenx",
        "sinter",
        "sunion",
        "sdiff",
        "sinterstore",
        "sunionstore",
        "sdiffstore",
        "smove",
        "sort",
        "pfcount",
        "pfmerge",
        "bitop",
        "keys",
        "scan",
        "move",
        "rpoplpush",
        "brpoplpush",
    ]
    for name in note:
        assert not spec(name).cluster_pipeline_ok, name
        assert hasattr(redis.cluster.ClusterPipeline, name)


def test_variadic_multi_forms() -> None:
    for name in ("delete", "unlink", "exists", "touch"):
        mf = spec(name).multi_form
        assert mf is not None and mf.kind == "variadic_keys" and not mf.per_item_results
    for name in ("sadd", "srem", "hdel", "lpush", "rpush", "zrem", "pfadd"):
        mf = spec(name).multi_form
        assert mf is not None and mf.method == name and mf.kind == "variadic_same_key"
    assert spec("hget").multi_form == catalog.MultiForm(
        "hmget",
        "same_key_fields",
        True,
        (),
        spec("hget").multi_form.note,  # type: ignore[union-attr]
    )
    assert spec("sismember").multi_form.method == "smismember"  # type: ignore[union-attr]
    assert spec("zscore").multi_form.method == "zmscore"  # type: ignore[union-attr]
    assert spec("zadd").multi_form.kind == "mapping"  # type: ignore[union-attr]
    assert spec("hset").multi_form.kind == "mapping"  # type: ignore[union-attr]
    for name in ("expire", "ttl", "incr", "getdel", "type"):
        assert spec(name).multi_form is None, name


@pytest.mark.parametrize(
    ("name", "command"),
    [
        ("delete", "DEL"),
        ("incr", "INCRBY"),
        ("client_list", "CLIENT LIST"),
        ("script_load", "SCRIPT LOAD"),
        ("xinfo_stream", "XINFO STREAM"),
        ("zinter", "ZINTER"),
        ("zrangebylex", "ZRANGEBYLEX"),
        ("client_tracking_on", "CLIENT TRACKING"),
        ("eval", "EVAL"),
        ("hmset", "HMSET"),
        ("getex", "GETEX"),
    ],
)
def test_command_names(name: str, command: str) -> None:
    assert spec(name).command == command


def test_hmset_deprecated() -> None:
    assert spec("hmset").deprecated
    assert not spec("hset").deprecated


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("get", ("name",)),
        ("mget", ("keys", "*args")),
        ("rename", ("src", "dst")),
        ("hset", ("name",)),
        ("delete", ("*names",)),
        ("blpop", ("keys",)),
        ("mset", ("mapping",)),
        ("zunionstore", ("dest", "keys")),
        ("eval", ("*keys_and_args",)),
        ("sintercard", ("keys",)),
        ("lmpop", ("*args",)),
        ("bitop", ("dest", "*keys")),
        ("object", ("key",)),
        ("publish", ()),
    ],
)
def test_key_params(name: str, params: tuple[str, ...]) -> None:
    assert spec(name).key_params == params


def test_all_commands_is_read_only() -> None:
    mapping = catalog.all_commands()
    assert "get" in mapping
    with pytest.raises(TypeError):
        mapping["x"] = spec("get")  # type: ignore[index]


# ------------------------------------------------- consistency with redis-py
def test_command_methods_exist_on_clients(raw_catalog: dict[str, Any]) -> None:
    classes = build.CLIENT_CLASSES
    for name, entry in raw_catalog["methods"].items():
        if entry["kind"] != "command":
            continue
        assert entry["clients"], name
        for label in entry["clients"]:
            assert hasattr(classes[label], name), (name, label)
        if "sync" in entry["clients"] or "cluster" not in entry["clients"]:
            assert hasattr(redis.Redis, name), name


def test_metadata(raw_catalog: dict[str, Any]) -> None:
    assert catalog.built_from()["redis_py_version"] == raw_catalog["built_from"]["redis_py_version"]
    assert raw_catalog["built_from"]["redis_server_version"]


# ---------------------------------------------- against a private server
def test_catalog_commands_exist_on_server(
    raw_catalog: dict[str, Any], server_client: redis.Redis
) -> None:
    table = build.read_server_table(server_client)
    built_on = raw_catalog["built_from"]["redis_server_version"]
    same_server = server_client.info("server")["redis_version"] == built_on
    for name, entry in raw_catalog["methods"].items():
        if entry["kind"] != "command" or not entry["server_known"]:
            continue
        if same_server:
            assert build.table_key(entry["command"]) in table, (name, entry["command"])
    for key in raw_catalog["referenced_commands"]:
        if same_server:
            assert key in table


class _Recorder(redis.Redis):
    """Records the argv a method would send instead of sending it."""

    def __init__(self) -> None:
        self.sent: list[tuple[Any, ...]] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.sent.append(args)
        return None


def _flatten(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [str(value)]


@pytest.mark.parametrize(
    ("name", "args", "kwargs"),
    [
        ("get", ("k1",), {}),
        ("mget", (["k1", "k2"], "k3"), {}),
        ("rename", ("k1", "k2"), {}),
        ("hset", ("k1", "f", "v"), {}),
        ("blpop", (["k1", "k2"], 1), {}),
        ("zunionstore", ("k0", ["k1", "k2"]), {}),
        ("zinter", (["k1", "k2"],), {}),
        ("sintercard", (2, ["k1", "k2"]), {}),
        ("lmpop", (2, "k1", "k2"), {"direction": "LEFT"}),
        ("bitop", ("AND", "k0", "k1", "k2"), {}),
        ("smove", ("k1", "k2", "m"), {}),
        ("xread", ({"k1": 0, "k2": 0},), {}),
        ("copy", ("k1", "k2"), {}),
        ("lmove", ("k1", "k2"), {}),
        ("zrangestore", ("k0", "k1", 0, 1), {}),
        ("georadius", ("k1", 1.0, 2.0, 3.0), {"unit": "m", "store": "k2"}),
        ("memory_usage", ("k1",), {}),
        ("xinfo_stream", ("k1",), {}),
        ("mset", ({"k1": 1, "k2": 2},), {}),
        ("eval", ("return 1", 2, "k1", "k2", "arg"), {}),
    ],
)
def test_key_params_match_server_getkeys(
    name: str, args: tuple[Any, ...], kwargs: dict[str, Any], server_client: redis.Redis
) -> None:
    """The Python parameters the catalog names carry exactly what the server calls keys."""
    import inspect

    s = spec(name)
    rec = _Recorder()
    getattr(rec, name)(*args, **kwargs)
    assert len(rec.sent) == 1
    head, *rest = rec.sent[0]
    argv = [
        *str(head).split(),
        *(a if isinstance(a, bytes | str | int | float) else str(a) for a in rest),
    ]
    reply = server_client.execute_command("COMMAND GETKEYS", *argv)
    server_keys = [k.decode() if isinstance(k, bytes) else str(k) for k in reply]
    bound = inspect.signature(getattr(redis.Redis, name)).bind(rec, *args, **kwargs)
    expected: list[str] = []
    for param in s.key_params:
        pname = param.lstrip("*")
        if pname not in bound.arguments:
            continue
        value = bound.arguments[pname]
        if param == "*keys_and_args":  # EVAL: numkeys tells how many are keys
            value = list(value)[: int(bound.arguments["numkeys"])]
        expected.extend(_flatten(value))
    assert sorted(expected) == sorted(server_keys), (name, argv)


def test_regenerated_catalog_matches_checked_in(raw_catalog: dict[str, Any]) -> None:
    if raw_catalog["built_from"]["redis_py_version"] != redis.__version__:
        pytest.skip("installed redis-py differs from the one the catalog was built from")
    fresh = build.build_with_private_server()
    if (
        fresh["built_from"]["redis_server_version"]
        != (raw_catalog["built_from"]["redis_server_version"])
    ):
        pytest.skip("redis-server version differs from the one the catalog was built from")
    assert json.loads(build.dumps(fresh)) == raw_catalog
    assert build.dumps(fresh) == build.dumps(raw_catalog)
