"""Build ``commands.json``: the redis-py command catalog.

Run ``python -m pipelint.catalog.build [--out PATH]``. It starts a private
redis-server (:class:`pipelint.server.RedisServer`, never port 6379), reads the
server's ``COMMAND`` (flags, ACL categories, key specs) and ``COMMAND DOCS``
(group, since, deprecation) replies, and joins them with the methods of the
installed redis-py clients.

What comes from where:

* the Redis command a method sends: the method's source, read with :mod:`ast`
  (the string literal first argument of ``execute_command(...)``, of a private
  helper such as ``_zaggregate("ZINTER", ...)``, or the first item of a
  ``pieces = ["ZRANGEBYLEX", ...]`` list), else another ``self.method(...)`` it
  delegates to, else the method name upper-cased with ``_`` -> space when the
  server knows that name;
* flags, ACL categories, key specs: the server, never guessed;
* which methods a cluster pipeline rejects: redis-py itself (the methods that
  ``redis.cluster`` / ``redis.asyncio.cluster`` replace on ``ClusterPipeline``
  from ``PIPELINE_BLOCKED_COMMANDS``);
* batchability policy, multi-key / multi-field counterparts and a few key
  parameter overrides: the hand-written tables below.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.client
import redis.cluster

SCHEMA_VERSION = 1
DEFAULT_OUT = Path(__file__).with_name("commands.json")

#: Client classes whose methods are catalogued, in the order their source is read.
CLIENT_CLASSES: dict[str, type] = {
    "sync": redis.Redis,
    "async": redis.asyncio.Redis,
    "cluster": redis.cluster.RedisCluster,
    "async_cluster": redis.asyncio.cluster.RedisCluster,
}

#: Attributes returning a Redis-module command namespace (RedisJSON, search, ...).
MODULE_NAMESPACES = frozenset({"bf", "cf", "cms", "ft", "json", "tdigest", "topk", "ts", "vset"})

# --------------------------------------------------------------------------
# Policy: API members that are not (single) Redis commands and are never
# batched. ``kind`` is "api" (member of a client) or "pipeline_api" /
# "pubsub_api" (member of a Pipeline / PubSub object).
# --------------------------------------------------------------------------
_ITER = "generator that sends one SCAN-family command per page; iterate it, do not queue it"
API_MEMBERS: dict[str, tuple[str, str]] = {
    "pipeline": ("api", "creates a Pipeline; it is the batching mechanism itself"),
    "transaction": ("api", "runs a WATCH/MULTI/EXEC retry loop around a callable"),
    "lock": ("api", "creates a Lock object; acquire/release need their own round trips"),
    "pubsub": ("api", "creates a PubSub object on a dedicated connection"),
    "monitor": ("api", "creates a Monitor that takes over a connection (MONITOR)"),
    "register_script": (
        "api",
        "creates a Script object; call it (optionally with client=pipe) to run EVALSHA",
    ),
    "client": ("api", "creates another client sharing the connection pool"),
    "bitfield": (
        "api",
        "returns a BitFieldOperation builder; BITFIELD is sent by its execute()",
    ),
    "keyspace_notifications": ("api", "creates a keyspace-notification listener"),
    "scan_iter": ("api", _ITER),
    "sscan_iter": ("api", _ITER),
    "hscan_iter": ("api", _ITER),
    "zscan_iter": ("api", _ITER),
    "execute_command": ("api", "low-level entry point; the command is its first argument"),
    # Pipeline / transaction objects.
    "execute": ("pipeline_api", "sends the queued commands (Pipeline.execute)"),
    "multi": ("pipeline_api", "starts buffering a MULTI/EXEC block (Pipeline.multi)"),
    "discard": ("pipeline_api", "drops the queued transaction (Pipeline.discard)"),
    "exec": ("pipeline_api", "EXEC is sent by Pipeline.execute, not queued"),
    "immediate_execute_command": (
        "pipeline_api",
        "sends a command at once on a watching pipeline",
    ),
    "pipeline_execute_command": ("pipeline_api", "internal: queues a command"),
    "load_scripts": ("pipeline_api", "internal: SCRIPT EXISTS / SCRIPT LOAD before execute"),
    # PubSub objects.
    "subscribe": ("pubsub_api", "puts the connection in subscriber mode (PubSub)"),
    "psubscribe": ("pubsub_api", "puts the connection in subscriber mode (PubSub)"),
    "ssubscribe": ("pubsub_api", "puts the connection in subscriber mode (PubSub)"),
    "unsubscribe": ("pubsub_api", "subscriber-mode command (PubSub)"),
    "punsubscribe": ("pubsub_api", "subscriber-mode command (PubSub)"),
    "sunsubscribe": ("pubsub_api", "subscriber-mode command (PubSub)"),
    "get_message": ("pubsub_api", "reads a pushed message (PubSub)"),
    "get_sharded_message": ("pubsub_api", "reads a pushed message (PubSub)"),
    "listen": ("pubsub_api", "generator over pushed messages (PubSub)"),
    "run_in_thread": ("pubsub_api", "starts a listener thread (PubSub)"),
}

#: Pipeline members: calls on a pipeline with these names are not queued commands.
PIPELINE_API = (
    "discard",
    "execute",
    "immediate_execute_command",
    "multi",
    "reset",
    "unwatch",
    "watch",
)

#: Command methods that are never batchable, by method name, with the reason.
_TX = "transaction control: WATCH/UNWATCH/MULTI/EXEC belong to a pipeline's own API"
NON_BATCHABLE_METHODS: dict[str, str] = {
    "watch": _TX,
    "unwatch": _TX,
    "shutdown": "stops the server",
    "sync": "replication handshake: the connection becomes a replication stream",
    "psync": "replication handshake: the connection becomes a replication stream",
    "mget_nonatomic": "cluster helper that already runs one pipeline per slot",
    "mset_nonatomic": "cluster helper that already runs one pipeline per slot",
}

#: @connection commands that do not change connection state: batching them is harmless.
STATELESS_CONNECTION_COMMANDS = frozenset(
    {
        "PING",
        "ECHO",
        "COMMAND",
        "COMMAND COUNT",
        "COMMAND DOCS",
        "COMMAND GETKEYS",
        "COMMAND GETKEYSANDFLAGS",
        "COMMAND INFO",
        "COMMAND LIST",
    }
)

#: Commands that block the connection although the server table lacks the ``blocking``
#: flag (Redis 7.0 lists WAIT as ``noscript`` + @connection only): WAIT holds the
#: reply until replicas acknowledge or the timeout elapses.
POLICY_BLOCKING = frozenset({"WAIT", "WAITAOF"})

#: Commands flagged ``blocking`` by the server that block only when a kwarg is given.
BLOCKING_KWARG: dict[str, str] = {"XREAD": "block", "XREADGROUP": "block"}

#: Hand-written: counterparts that merge several calls into one command.
#: method -> (multi method, kind, per_item_results, note)
MULTI_FORMS: dict[str, tuple[str, str, bool, str]] = {
    "get": ("mget", "multi_key", True, "mget([k1, k2, ...]) -> values in order, None if missing"),
    "set": (
        "mset",
        "multi_key",
        False,
        "mset({k1: v1, ...}) -> True; only without expiry/condition kwargs; MSET clears TTLs",
    ),
    "hget": ("hmget", "same_key_fields", True, "hmget(name, [f1, f2, ...]) -> values in order"),
    "sismember": (
        "smismember",
        "same_key_fields",
        True,
        "smismember(name, [m1, m2, ...]) -> list of 0/1",
    ),
    "zscore": ("zmscore", "same_key_fields", True, "zmscore(name, [m1, m2, ...]) -> scores"),
    "sadd": ("sadd", "variadic_same_key", False, "sadd(name, *values) -> number added"),
    "srem": ("srem", "variadic_same_key", False, "srem(name, *values) -> number removed"),
    "hdel": ("hdel", "variadic_same_key", False, "hdel(name, *keys) -> number removed"),
    "lpush": (
        "lpush",
        "variadic_same_key",
        False,
        "lpush(name, *values) -> new length; order kept",
    ),
    "rpush": (
        "rpush",
        "variadic_same_key",
        False,
        "rpush(name, *values) -> new length; order kept",
    ),
    "zrem": ("zrem", "variadic_same_key", False, "zrem(name, *values) -> number removed"),
    "pfadd": ("pfadd", "variadic_same_key", False, "pfadd(name, *values) -> 1 if changed"),
    "zadd": ("zadd", "mapping", False, "zadd(name, {m1: s1, ...}) -> number added"),
    "hset": (
        "hset",
        "mapping",
        False,
        "hset(name, mapping={f1: v1, ...}) -> number of new fields",
    ),
    "delete": ("delete", "variadic_keys", False, "delete(*names) -> count deleted"),
    "unlink": ("unlink", "variadic_keys", False, "unlink(*names) -> count unlinked"),
    "exists": ("exists", "variadic_keys", False, "exists(*names) -> count existing"),
    "touch": ("touch", "variadic_keys", False, "touch(*names) -> count touched"),
}

#: Methods whose single-call kwargs have no equivalent in the multi form, besides the
#: ones computed from signatures (``set`` -> every parameter but name/value).
MULTI_FORM_ALLOWED_PARAMS: dict[str, tuple[str, ...]] = {"set": ("name", "value")}

#: Python parameters carrying keys where the argv-order heuristic is wrong.
KEY_PARAM_OVERRIDES: dict[str, tuple[str, ...]] = {
    "object": ("key",),
    "memory_usage": ("key",),
    "debug_object": ("key",),
    "xinfo_stream": ("name",),
    "xinfo_groups": ("name",),
    "xinfo_consumers": ("name",),
    "xgroup_create": ("name",),
    "xgroup_createconsumer": ("name",),
    "xgroup_delconsumer": ("name",),
    "xgroup_destroy": ("name",),
    "xgroup_setid": ("name",),
}


# --------------------------------------------------------------------------
# Server side
# --------------------------------------------------------------------------
def _s(value: Any) -> Any:
    """bytes -> str, recursively through lists."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list | tuple):
        return [_s(v) for v in value]
    return value


def _pairs(flat: Sequence[Any] | Mapping[Any, Any]) -> dict[str, Any]:
    """A RESP2 flat ``[k1, v1, k2, v2, ...]`` map (or a RESP3 map) as a dict."""
    if isinstance(flat, Mapping):
        return {_s(k): v for k, v in flat.items()}
    return {_s(flat[i]): flat[i + 1] for i in range(0, len(flat) - 1, 2)}


@dataclass
class ServerCommand:
    name: str  # "get", "client|list"
    arity: int
    flags: list[str]
    acl_categories: list[str]
    tips: list[str]
    key_specs: list[dict[str, Any]]
    docs: dict[str, Any]


def _parse_key_spec(flat: Sequence[Any]) -> dict[str, Any]:
    top = _pairs(flat)
    out: dict[str, Any] = {"flags": sorted(_s(top.get("flags", [])))}
    for part in ("begin_search", "find_keys"):
        section = _pairs(top.get(part, []))
        spec = {k: _s(v) for k, v in _pairs(section.get("spec", [])).items()}
        out[part] = {"type": _s(section.get("type", "unknown")), "spec": spec}
    return out


def _parse_command_entry(entry: Sequence[Any], table: dict[str, ServerCommand]) -> None:
    name = _s(entry[0]).lower()
    table[name] = ServerCommand(
        name=name,
        arity=int(entry[1]),
        flags=sorted(_s(entry[2])),
        acl_categories=sorted(_s(entry[6])) if len(entry) > 6 else [],
        tips=sorted(_s(entry[7])) if len(entry) > 7 else [],
        key_specs=[_parse_key_spec(ks) for ks in entry[8]] if len(entry) > 8 else [],
        docs={},
    )
    if len(entry) > 9:
        for sub in entry[9]:
            _parse_command_entry(sub, table)


def _parse_docs(flat: Sequence[Any], table: dict[str, ServerCommand]) -> None:
    for i in range(0, len(flat) - 1, 2):
        name = _s(flat[i]).lower()
        doc = _pairs(flat[i + 1])
        if name in table:
            table[name].docs = {
                "group": _s(doc.get("group")),
                "since": _s(doc.get("since")),
                "deprecated": "deprecated" in _s(doc.get("doc_flags", [])),
                "replaced_by": _s(doc.get("replaced_by")),
            }
        if "subcommands" in doc:
            _parse_docs(doc["subcommands"], table)


def read_server_table(client: redis.Redis) -> dict[str, ServerCommand]:
    """``COMMAND`` + ``COMMAND DOCS`` of a server, keyed ``get`` / ``client|list``."""
    kw = client.connection_pool.connection_kwargs
    raw = redis.Redis(
        host=kw.get("host", "127.0.0.1"), port=kw.get("port", 6379), db=kw.get("db", 0), protocol=2
    )
    raw.response_callbacks.clear()
    table: dict[str, ServerCommand] = {}
    try:
        for entry in raw.execute_command("COMMAND"):
            _parse_command_entry(entry, table)
        _parse_docs(raw.execute_command("COMMAND", "DOCS"), table)
    finally:
        raw.close()
    return table


def normalize_command(literal: str, table: Mapping[str, ServerCommand]) -> tuple[str, bool]:
    """``"client list"`` -> ``("CLIENT LIST", True)``; the bool tells the server knows it.

    redis-py splits a first argument containing spaces into separate tokens, so
    ``"LOLWUT VERSION"`` sends ``LOLWUT`` with an argument.
    """
    tokens = literal.split()
    if not tokens:
        return literal, False
    head = tokens[0].lower()
    if len(tokens) > 1:
        if f"{head}|{tokens[1].lower()}" in table:
            return f"{tokens[0].upper()} {tokens[1].upper()}", True
        if any(name.startswith(f"{head}|") for name in table):
            # a subcommand of a known container that this server lacks
            return f"{tokens[0].upper()} {tokens[1].upper()}", False
    if head in table:
        return tokens[0].upper(), True
    return " ".join(t.upper() for t in tokens), False


def table_key(command: str) -> str:
    return command.lower().replace(" ", "|", 1)


# --------------------------------------------------------------------------
# redis-py side
# --------------------------------------------------------------------------
def _function_ast(fn: Any) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    try:
        src = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError):
        return None
    tree = ast.parse(src)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            return node
    return None


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


def _first_str(args: Sequence[ast.expr]) -> str | None:
    if args and isinstance(args[0], ast.Constant) and isinstance(args[0].value, str):
        return args[0].value
    return None


def only_raises_not_implemented(fn: Any) -> bool:
    """True when the method body (after its docstring) is ``raise NotImplementedError``."""
    node = _function_ast(fn)
    if node is None:
        return False
    body = list(node.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def warns_deprecated(fn: Any) -> bool:
    """True when the method's source mentions ``DeprecationWarning`` or ``@deprecated``."""
    node = _function_ast(fn)
    if node is None:
        return False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in ("DeprecationWarning", "deprecated"):
            return True
        if isinstance(sub, ast.Call) and _call_name(sub) in ("deprecated_function",):
            return True
    return any(
        isinstance(d, ast.Call) and _call_name(d) in ("deprecated_function", "deprecated")
        for d in node.decorator_list
    )


def command_literals(fn: Any) -> tuple[list[str], list[str], list[str], list[str]]:
    """String literals that may name the command a method sends.

    Returns (execute_command first args, private-helper first args, first items of
    list literals, ``self.<method>`` names called).
    """
    node = _function_ast(fn)
    if node is None:
        return [], [], [], []
    direct: list[str] = []
    helper: list[str] = []
    lists: list[str] = []
    delegates: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            name = _call_name(sub)
            lit = _first_str(sub.args)
            if name == "execute_command" and lit is not None:
                direct.append(lit)
            elif name is not None and name.startswith("_") and lit is not None:
                helper.append(lit)
            if (
                isinstance(sub.func, ast.Attribute)
                and isinstance(sub.func.value, ast.Name)
                and sub.func.value.id == "self"
                and not sub.func.attr.startswith("_")
            ):
                delegates.append(sub.func.attr)
        elif isinstance(sub, ast.List):
            lit = _first_str(sub.elts)
            if lit is not None:
                lists.append(lit)
    return direct, helper, lists, delegates


def resolve_command(
    name: str,
    owners: Mapping[str, type],
    table: Mapping[str, ServerCommand],
    _seen: tuple[str, ...] = (),
) -> tuple[str, bool, tuple[str, ...]] | None:
    """The Redis command method ``name`` sends, whether the server knows it, and the
    chain of ``self.<method>`` delegations followed to find it (``sort_ro`` -> ``sort``).
    """
    fns = [getattr(cls, name) for cls in owners.values() if hasattr(cls, name)]
    for fn in fns:
        direct, helper, lists, delegates = command_literals(fn)
        for group in (direct, helper, lists):
            found = [normalize_command(lit, table) for lit in group]
            known = [f for f in found if f[1]]
            if known:
                return (*known[0], _seen)
            if group is direct and found:
                return (*found[0], _seen)
        for other in delegates:
            if other != name and other not in _seen and other not in API_MEMBERS:
                got = resolve_command(other, owners, table, (*_seen, other))
                if got is not None:
                    return got
        for fallback in (name.upper(), name.upper().replace("_", " ")):
            fb = normalize_command(fallback, table)
            if fb[1] and table_key(fb[0]) == table_key(fallback):
                return (*fb, _seen)
    return None


def positional_params(fn: Any) -> list[inspect.Parameter]:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return []
    params = list(sig.parameters.values())
    if params and params[0].name == "self":
        params = params[1:]
    return [
        p
        for p in params
        if p.kind
        in (
            inspect.Parameter.POSITIONAL_ONLY,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.VAR_POSITIONAL,
        )
    ]


def _pname(p: inspect.Parameter) -> str:
    return f"*{p.name}" if p.kind is inspect.Parameter.VAR_POSITIONAL else p.name


def _span(params: list[inspect.Parameter], start: int, lastkey: int, step: int) -> list[str]:
    """Python params for a ``range`` key spec starting at python index ``start``."""
    if start < 0 or start >= len(params):
        return []
    out: list[str] = []
    if lastkey >= 0:
        idx = list(range(start, start + lastkey + 1, max(step, 1)))
    else:
        var = [i for i, p in enumerate(params) if p.kind is inspect.Parameter.VAR_POSITIONAL]
        end = var[0] if var and var[0] >= start else len(params) + lastkey
        idx = list(range(start, max(end, start) + 1))
    for i in idx:
        if i >= len(params):
            break
        out.append(_pname(params[i]))
        if params[i].kind is inspect.Parameter.VAR_POSITIONAL:
            break
    return out


def derive_key_params(fn: Any, command: str, specs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Python parameter names carrying keys, from the server key specs.

    Assumes the Python positional parameters after ``self`` follow Redis argv
    order (true for nearly every redis-py method); ``numkeys`` arguments that
    redis-py computes itself shift the mapping, which is handled for ``keynum``
    specs. ``KEY_PARAM_OVERRIDES`` fixes the rest.
    """
    params = positional_params(fn)
    names = [p.name for p in params]
    offset = len(command.split())
    out: list[str] = []
    for spec in specs:
        if "not_key" in [f.lower() for f in spec["flags"]]:
            continue  # e.g. SPUBLISH's shard channel: hashed like a key, but not a key
        bs, fk = spec["begin_search"], spec["find_keys"]
        if bs["type"] == "index":
            start = int(bs["spec"]["index"]) - offset
        elif bs["type"] == "keyword":
            kw = str(bs["spec"]["keyword"]).lower()
            try:
                sig = inspect.signature(fn)
            except (TypeError, ValueError):
                continue
            cand = [p for p in sig.parameters if p.replace("_", "") == kw.replace("_", "")]
            out.extend(c for c in cand if c not in out)
            continue
        else:
            continue
        if fk["type"] == "range":
            got = _span(params, start, int(fk["spec"]["lastkey"]), int(fk["spec"]["keystep"]))
        elif fk["type"] == "keynum":
            numidx = start + int(fk["spec"]["keynumidx"])
            if 0 <= numidx < len(names) and "num" in names[numidx]:
                first = start + int(fk["spec"]["firstkey"])
                got = [_pname(params[first])] if first < len(params) else []
            else:
                got = [_pname(params[start])] if 0 <= start < len(params) else []
        else:
            got = []
        out.extend(g for g in got if g not in out)
    return out


def cluster_blocked_methods() -> dict[str, list[str]]:
    """Method name -> the cluster pipeline classes (sync/async) that reject it."""
    out: dict[str, list[str]] = {}
    pipes = {
        "sync": redis.cluster.ClusterPipeline,
        "async": redis.asyncio.cluster.ClusterPipeline,
    }
    for label, cls in pipes.items():
        for name in dir(cls):
            attr = getattr(cls, name, None)
            qual = getattr(attr, "__qualname__", "")
            if qual.startswith("block_pipeline_command."):
                out.setdefault(name, []).append(label)
    return out


def public_methods(cls: type) -> list[str]:
    out = []
    for name in dir(cls):
        if name.startswith("_") or name in MODULE_NAMESPACES:
            continue
        if callable(getattr(cls, name, None)) and not inspect.isclass(getattr(cls, name)):
            out.append(name)
    return out


# --------------------------------------------------------------------------
# Joining
# --------------------------------------------------------------------------
def _batch_policy(
    method: str, command: str, info: ServerCommand | None, blocking: bool, kwarg: str | None
) -> str | None:
    """Why a command method is not batchable (None: batchable)."""
    if method in NON_BATCHABLE_METHODS:
        return NON_BATCHABLE_METHODS[method]
    if info is None:
        return (
            "command unknown to the Redis server the catalog was built from: "
            "flags unavailable, so batching is not suggested"
        )
    if blocking and kwarg is None:
        return "blocking command: it holds its connection (and a pipeline) until it returns"
    if "@connection" in info.acl_categories and command not in STATELESS_CONNECTION_COMMANDS:
        return "connection-state command (@connection): it acts on the connection it runs on"
    if "admin" in info.flags:
        return (
            "administrative command (server flag 'admin'): server-wide effect, "
            "not a data-path round trip worth batching"
        )
    if "pubsub" in info.flags and "@pubsub" in info.acl_categories and command != "PUBLISH":
        if command.startswith(("SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUB", "PUNSUB")):
            return "subscriber-mode command"
    return None


def _api_member(name: str, fns: Sequence[Any]) -> tuple[str, str] | None:
    """``(kind, reason)`` for a member that is not a (single) Redis command, else None."""
    if name in API_MEMBERS:
        return API_MEMBERS[name]
    if name.endswith("_iter"):
        return "api", _ITER
    if fns and only_raises_not_implemented(fns[0]):
        return "api", "not implemented in redis-py (raises NotImplementedError)"
    return None


def build_catalog(client: redis.Redis) -> dict[str, Any]:
    table = read_server_table(client)
    info = client.info("server")
    blocked = cluster_blocked_methods()

    owners_of: dict[str, dict[str, type]] = {}
    for label, cls in CLIENT_CLASSES.items():
        for name in public_methods(cls):
            owners_of.setdefault(name, {})[label] = cls

    methods: dict[str, dict[str, Any]] = {}
    for name in sorted(set(owners_of) | set(API_MEMBERS)):
        owners = owners_of.get(name, {})
        entry: dict[str, Any] = {"clients": sorted(owners)}
        cluster_ok = name not in blocked
        if not cluster_ok:
            entry["cluster_pipeline_rejected_by"] = sorted(blocked[name])
        fns = [getattr(c, name) for c in owners.values()]
        api = _api_member(name, fns)
        if api is not None:
            kind, reason = api
            entry.update(
                kind=kind,
                command=None,
                batchable=False,
                reason=reason,
                cluster_pipeline_ok=cluster_ok,
            )
            methods[name] = entry
            continue
        resolved = resolve_command(name, owners, table)
        if resolved is None:
            continue  # client plumbing (close, get_encoder, ...): sends no command
        command, known, via = resolved
        if via:
            entry["via"] = list(via)
            rejected = {label for m in via for label in blocked.get(m, [])}
            if rejected:
                cluster_ok = False
                entry["cluster_pipeline_rejected_by"] = sorted(
                    rejected | set(entry.get("cluster_pipeline_rejected_by", []))
                )
        sc = table.get(table_key(command)) if known else None
        flags = sc.flags if sc else []
        acl = sc.acl_categories if sc else []
        kwarg = BLOCKING_KWARG.get(command)
        blocking = bool(sc) and (
            "blocking" in flags or command in POLICY_BLOCKING or kwarg is not None
        )
        reason = _batch_policy(name, command, sc, blocking, kwarg)
        fn = fns[0]
        if name in KEY_PARAM_OVERRIDES:
            key_params = list(KEY_PARAM_OVERRIDES[name])
        elif sc is not None:
            key_params = derive_key_params(fn, command, sc.key_specs)
        else:
            key_params = []
        entry.update(
            kind="command",
            command=command,
            py_deprecated=warns_deprecated(fn),
            server_known=known,
            flags=flags,
            acl_categories=acl,
            readonly="readonly" in flags,
            write="write" in flags,
            blocking=blocking,
            blocking_kwarg=kwarg,
            noscript="noscript" in flags,
            key_specs=sc.key_specs if sc else [],
            key_params=key_params,
            batchable=reason is None,
            reason=reason,
            cluster_pipeline_ok=cluster_ok,
        )
        if sc is not None:
            entry["docs"] = sc.docs
        if name in MULTI_FORMS:
            target, kind, per_item, note = MULTI_FORMS[name]
            allowed = MULTI_FORM_ALLOWED_PARAMS.get(name)
            forbidden: list[str] = []
            if allowed is not None:
                forbidden = [
                    p for p in inspect.signature(fn).parameters if p not in (*allowed, "self")
                ]
            entry["multi_form"] = {
                "method": target,
                "kind": kind,
                "per_item_results": per_item,
                "forbidden_kwargs": forbidden,
                "note": note,
            }
        else:
            entry["multi_form"] = None
        methods[name] = entry

    referenced = sorted(
        {table_key(m["command"]) for m in methods.values() if m.get("server_known")}
    )
    return {
        "schema_version": SCHEMA_VERSION,
        "built_from": {
            "redis_server_version": info["redis_version"],
            "redis_py_version": redis.__version__,
        },
        "pipeline_api": list(PIPELINE_API),
        "server_commands": sorted(table),
        "methods": methods,
        "referenced_commands": referenced,
    }


def dumps(catalog: Mapping[str, Any]) -> str:
    return json.dumps(catalog, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_with_private_server() -> dict[str, Any]:
    from pipelint.server import RedisServer

    with RedisServer() as srv:
        client = redis.Redis.from_url(srv.url)
        try:
            return build_catalog(client)
        finally:
            client.close()


def main(argv: Iterable[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelint.catalog.build")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output JSON path")
    args = parser.parse_args(list(argv) if argv is not None else None)
    catalog = build_with_private_server()
    args.out.write_text(dumps(catalog), encoding="utf-8")
    methods = catalog["methods"]
    out(
        f"wrote {args.out}: {len(methods)} methods, "
        f"{sum(1 for m in methods.values() if m['batchable'])} batchable"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
