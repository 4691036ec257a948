"""Where the recorder hooks redis-py, and how it gets out again.

The hooks are installed when the first recorder starts and removed when the last one
stops (also when the code inside raised): every patched class attribute gets its
original back, and the bookkeeping below is dropped. While no recorder is active in
the calling thread or task, each hook costs one check and calls the original.

Patched points (class attributes), one layer per kind of connection
--------------------------------------------------------------------

============================================  ==========================================
``redis.connection.AbstractConnection``       sync clients: ``Redis``, ``RedisCluster``,
                                              their pipelines, Sentinel, PubSub, Lock,
                                              Script (all send through it)
  ``send_command``, ``pack_command``,         the argument tuples about to be sent
  ``pack_commands``
  ``send_packed_command``                     **one round trip**: the bytes leave
  ``read_response``                           the replies come back (wait time)
``redis.asyncio.connection.AbstractConnection``  asyncio clients, same roles:
  ``pack_command``                            (``send_command`` and ``pack_commands``
                                              both call it)
  ``send_packed_command``, ``read_response``
``redis.asyncio.client.Redis.execute_command``,  entry points of asyncio clients: they
``...client.Pipeline.execute``,               note the caller's call site when the
``redis.asyncio.cluster.RedisCluster``        coroutine is *created*, because
``.execute_command``,                         ``asyncio.gather(r.get(a), r.get(b))``
``...cluster.ClusterPipeline.execute``        runs it in a task whose stack holds no
                                              frame of the caller
============================================  ==========================================

A connection sends one request and reads its replies before it sends the next, so one
``send_packed_command`` is one round trip: a command, a whole pipeline or MULTI/EXEC
transaction, or a cluster pipeline's share for one node (``NodeCommands.write``).

Read, never patched: the Python stack at the moment of the send. The call site is the
first frame outside redis-py and ``pipelint.testing``; the frames of the four
``Pipeline.execute`` methods say a pipeline sent it; the frames of connection set-up
(``on_connect_check_health``, ``check_health``), cluster discovery
(``NodesManager.initialize``, ``CommandsParser.initialize``) and redis-py's finalizers
(``Pipeline.__del__`` sends UNWATCH) mark housekeeping round trips.

Thread and task safety: which recorders are active is a :class:`~contextvars.ContextVar`
(asyncio tasks created inside a block inherit it; other threads do not), plus the
recorders started with ``all_threads=True``. A forked child process records nothing
(``os.register_at_fork``; the callback does nothing while no recorder runs). Per-connection bookkeeping is keyed by the
connection, which redis-py never shares between threads or tasks at the same time.

To tell a new invocation of a function from the same one still running, each thread
and task keeps references to the frames of its latest round trip (at most
``CHAIN_DEPTH``) until its next round trip, until the task is collected, or until the
last recorder stops.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import sys
import threading
import weakref
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from time import perf_counter
from types import CodeType, FrameType
from typing import TYPE_CHECKING, Any

from pipelint.testing.trips import UNKNOWN_SITE, CallSite, RoundTrip, parse_packed

if TYPE_CHECKING:
    from pipelint.testing.recorder import Recorder

__all__ = ["PATCH_POINTS", "acquire", "release", "installed", "context_recorders"]

#: user frames remembered per round trip (the call site and its callers)
CHAIN_DEPTH = 4

# frame kinds
_USER, _INTERNAL, _SETUP, _PIPELINE, _FRAMEWORK = range(5)

#: "module:Class.method" -> role; every patched attribute, in install order
PATCH_POINTS: tuple[tuple[str, str], ...] = (
    ("redis.connection:AbstractConnection.send_command", "sync_stash_args"),
    ("redis.connection:AbstractConnection.pack_command", "sync_stash_args"),
    ("redis.connection:AbstractConnection.pack_commands", "sync_stash_list"),
    ("redis.connection:AbstractConnection.send_packed_command", "sync_send"),
    ("redis.connection:AbstractConnection.read_response", "sync_read"),
    ("redis.asyncio.connection:AbstractConnection.pack_command", "async_stash_args"),
    ("redis.asyncio.connection:AbstractConnection.send_packed_command", "async_send"),
    ("redis.asyncio.connection:AbstractConnection.read_response", "async_read"),
    ("redis.asyncio.client:Redis.execute_command", "async_entry"),
    ("redis.asyncio.client:Pipeline.execute", "async_entry"),
    ("redis.asyncio.cluster:RedisCluster.execute_command", "async_entry"),
    ("redis.asyncio.cluster:ClusterPipeline.execute", "async_entry"),
)

#: frames that mark a round trip as housekeeping: connection set-up, health checks,
#: cluster discovery (and, found by name, every ``__del__`` of redis-py)
SETUP_FRAMES: tuple[str, ...] = (
    "redis.connection:AbstractConnection.on_connect",
    "redis.connection:AbstractConnection.on_connect_check_health",
    "redis.connection:AbstractConnection.check_health",
    "redis.connection:AbstractConnection._send_ping",
    "redis.asyncio.connection:AbstractConnection.on_connect",
    "redis.asyncio.connection:AbstractConnection.on_connect_check_health",
    "redis.asyncio.connection:AbstractConnection.check_health",
    "redis.asyncio.connection:AbstractConnection._send_ping",
    "redis.cluster:RedisCluster.on_connect",
    "redis.asyncio.cluster:RedisCluster.on_connect",
    "redis.cluster:NodesManager.initialize",
    "redis.asyncio.cluster:NodesManager.initialize",
    "redis._parsers.commands:CommandsParser.initialize",
    "redis._parsers.commands:AsyncCommandsParser.initialize",
)

#: frames that mark a round trip as sent by a pipeline's execute()
PIPELINE_FRAMES: tuple[str, ...] = (
    "redis.client:Pipeline.execute",
    "redis.asyncio.client:Pipeline.execute",
    "redis.cluster:ClusterPipeline.execute",
    "redis.asyncio.cluster:ClusterPipeline.execute",
)

#: packages whose frames end a call chain (test runners, event loops, thread pools)
_FRAMEWORK_MODULES = ("_pytest", "pytest", "pluggy", "asyncio", "unittest", "concurrent")
_FRAMEWORK_FILES = ("threading", "contextvars", "runpy")

_CONTEXT: ContextVar[tuple[Recorder, ...]] = ContextVar("pipelint_recorders", default=())
#: (chain, pipeline class or None, call site) noted by an asyncio entry point for the coroutine
#: it created, so that a task running it alone still knows its call site
_ASYNC_CHAIN: ContextVar[tuple[Any, ...] | None] = ContextVar("pipelint_async_chain", default=None)

_lock = threading.RLock()
_state: _State | None = None


def _resolve(spec: str) -> tuple[type, str, Any] | None:
    """``"module:Class.attr"`` -> (class, attr, current value), None if absent."""
    module_name, _, qual = spec.partition(":")
    cls_name, _, attr = qual.rpartition(".")
    try:
        owner: Any = importlib.import_module(module_name)
        for part in cls_name.split("."):
            owner = getattr(owner, part)
    except (ImportError, AttributeError):
        return None
    if not isinstance(owner, type) or attr not in vars(owner):
        return None
    return owner, attr, vars(owner)[attr]


def _code_of(spec: str) -> CodeType | None:
    found = _resolve(spec)
    if found is None:
        return None
    func = found[2]
    while hasattr(func, "__wrapped__"):
        func = func.__wrapped__
    return getattr(func, "__code__", None)


def _package_dir(module_name: str) -> str | None:
    """The directory of an already imported package (a framework that is not loaded
    has no frame on any stack)."""
    module = sys.modules.get(module_name)
    file = getattr(module, "__file__", None) if module is not None else None
    if not file:
        return None
    path = os.path.dirname(os.path.abspath(file))
    return path + os.sep


class _State:
    """Everything the hooks need while installed; dropped by the last ``release``."""

    def __init__(self) -> None:
        import redis

        self.users = 0
        self.global_recorders: tuple[Recorder, ...] = ()
        self.pending: dict[int, list[tuple[Any, ...]]] = {}
        self.inflight: dict[int, list[Any]] = {}  # id(conn) -> [RoundTrip, replies left]
        self.thread_last = threading.local()
        self.task_last: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self.patches: list[tuple[type, str, Any, Any]] = []
        # keyed by id(code): hashing a code object hashes its bytecode, every time.
        # ``codes`` holds the code objects, so their ids stay theirs while installed.
        self.codes: dict[int, tuple[Any, ...]] = {}  # (kind, file, qualname, class, code)
        self.kinds: dict[int, int] = {}  # codes[id][0], for speed
        self.sites: dict[tuple[int, int], CallSite] = {}  # (id(code), offset) -> site
        here = os.path.dirname(os.path.abspath(__file__)) + os.sep
        redis_dir = os.path.dirname(os.path.abspath(redis.__file__)) + os.sep
        self.internal = (redis_dir, here)
        framework = [_package_dir(m) for m in _FRAMEWORK_MODULES if m != "pytest"]
        for name in _FRAMEWORK_FILES:
            file = getattr(sys.modules.get(name), "__file__", None)
            if file:
                framework.append(os.path.splitext(os.path.abspath(file))[0])
        pytest_module = sys.modules.get("pytest")
        if pytest_module is not None and getattr(pytest_module, "__file__", None):
            framework.append(os.path.abspath(pytest_module.__file__ or ""))
        self.framework = tuple(p for p in framework if p)
        for spec in SETUP_FRAMES:
            self._register(spec, _SETUP)
        for spec in PIPELINE_FRAMES:
            self._register(spec, _PIPELINE)

    def _register(self, spec: str, kind: int) -> None:
        code = _code_of(spec)
        if code is not None:
            cls_name = spec.partition(":")[2].rpartition(".")[0]
            self.codes[id(code)] = (kind, code.co_filename, _qualname(code), cls_name, code)
            self.kinds[id(code)] = kind

    def classify(self, code: CodeType) -> tuple[Any, ...]:
        file = code.co_filename
        if file.startswith(self.internal):
            # a finalizer of redis-py (Pipeline.__del__ sends UNWATCH) is housekeeping
            kind = _SETUP if code.co_name == "__del__" else _INTERNAL
            info: tuple[Any, ...] = (kind, file, "", None, code)
        else:
            absolute = os.path.abspath(file) if not file.startswith("<") else file
            kind = _FRAMEWORK if absolute.startswith(self.framework) else _USER
            info = (kind, absolute, _qualname(code), None, code)
        self.codes[id(code)] = info
        self.kinds[id(code)] = info[0]
        return info

    def recorders(self) -> tuple[Recorder, ...]:
        ctx = _CONTEXT.get()
        glob = self.global_recorders
        if not glob:
            return ctx
        if not ctx:
            return glob
        return ctx + tuple(r for r in glob if r not in ctx)


_COMPREHENSIONS = (".<locals>.<listcomp>", ".<locals>.<dictcomp>", ".<locals>.<setcomp>")


def _qualname(code: CodeType) -> str:
    """The function's qualified name; a list, dict or set comprehension counts as the
    function it is written in (Python 3.12 inlines them: same name on every version)."""
    name = str(getattr(code, "co_qualname", code.co_name))
    while name.endswith(_COMPREHENSIONS):
        name = name[: name.rindex(".<locals>.")]
    return name


# --------------------------------------------------------------------------- the stack


def _walk(st: _State, frame: FrameType | None) -> tuple[list[Any], str | None, bool]:
    """(chain, pipeline class, housekeeping) for a send made below ``frame``.

    ``chain``: ``(frame, instruction offset, info)`` of the call site (the first
    frame outside redis-py and this package) and of the user frames calling it, up to
    a test runner's or event loop's frame. Offsets, not lines: a line number costs a
    search of the line table, and a loop calls from the same offset anyway."""
    chain: list[Any] = []
    pipeline: str | None = None
    housekeeping = False
    kinds = st.kinds
    internal = _INTERNAL
    f = frame
    while f is not None:
        code = f.f_code
        kind = kinds.get(id(code))
        if kind is None:
            kind = st.classify(code)[0]
        if kind == internal:  # most frames: redis-py's own
            f = f.f_back
            continue
        if kind == _USER:
            chain.append((f, f.f_lasti, st.codes[id(code)]))
            if len(chain) >= CHAIN_DEPTH:
                break
        elif kind == _FRAMEWORK:
            if not chain:
                chain.append((f, f.f_lasti, st.codes[id(code)]))
            break
        elif not chain:
            if kind == _SETUP:
                housekeeping = True
            elif pipeline is None:  # _PIPELINE
                pipeline = st.codes[id(code)][3].rpartition(".")[2]
        f = f.f_back
    return chain, pipeline, housekeeping


def _site(st: _State, chain: list[Any]) -> CallSite:
    if not chain:
        return UNKNOWN_SITE
    f, lasti, info = chain[0]
    key = (id(f.f_code), lasti)
    site = st.sites.get(key)
    if site is None:  # a line number costs a search of the code's line table: once
        site = st.sites[key] = CallSite(info[1], f.f_lineno, info[2])
    return site


def _relation(prev: Any, chain: list[Any], server: str) -> tuple[bool, CallSite | None]:
    """(back to back, repeated by) of a round trip following ``prev`` in its stream."""
    if prev is None or prev[1] != server or not chain:
        return False, None
    prev_chain = prev[0]
    for i, (f, lasti, info) in enumerate(chain):
        for pf, plasti, _pinfo in prev_chain:
            if pf is f:
                if i == 0:
                    return True, None
                if plasti == lasti:  # the same call, again: f is still on it
                    return False, CallSite(info[1], f.f_lineno, info[2])
                return False, None
    return False, None


def _server(conn: Any) -> str:
    db = getattr(conn, "db", 0)
    host = getattr(conn, "host", None)
    if host is None:
        path = getattr(conn, "path", None)
        return f"unix:{path}/{db}" if path else f"?/{db}"
    return f"{host}:{getattr(conn, 'port', '?')}/{db}"


def _current_task() -> Any:
    try:
        return asyncio.current_task()
    except RuntimeError:
        return None


def _new_trip(
    st: _State,
    conn: Any,
    command: Any,
    frame: FrameType | None,
    is_async: bool,
) -> RoundTrip:
    args = st.pending.pop(id(conn), None)
    chain, pipeline, housekeeping = _walk(st, frame)
    site = None
    captured = _ASYNC_CHAIN.get() if is_async else None
    if captured is not None:
        if not chain or chain[0][2][0] == _FRAMEWORK:
            chain, site = list(captured[0]), captured[2]
        if pipeline is None:
            pipeline = captured[1]
    server = _server(conn)
    trip = RoundTrip(
        args=tuple(args) if args else parse_packed(command),
        server=server,
        site=site or _site(st, chain),
        asyncio=is_async,
        pipeline=pipeline,
        housekeeping=housekeeping,
    )
    if not housekeeping:
        task = _current_task() if is_async else None
        if task is not None:
            prev = st.task_last.get(task)
            st.task_last[task] = (chain, server)
        else:
            prev = getattr(st.thread_last, "prev", None)
            st.thread_last.prev = (chain, server)
        trip.back_to_back, trip.repeated_by = _relation(prev, chain, server)
    return trip


def _deliver(
    st: _State, conn: Any, trip: RoundTrip, recorders: tuple[Recorder, ...], sent: float
) -> None:
    """Hand ``trip`` to the recorders once its bytes are out; ``sent`` is the time the
    send took (0 when it opened the connection: that time is set-up's)."""
    trip.wait_s = sent
    st.inflight[id(conn)] = [trip, len(trip.args)]
    for rec in recorders:
        rec._add(trip)


def _read_done(st: _State, key: int, entry: list[Any], seconds: float) -> None:
    entry[0].add_wait(seconds)
    entry[1] -= 1
    if entry[1] <= 0 and st.inflight.get(key) is entry:
        del st.inflight[key]


# --------------------------------------------------------------------------- wrappers


def _sync_stash_args(orig: Callable[..., Any], mine: _State) -> Callable[..., Any]:
    @functools.wraps(orig)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        st = _state
        if st is mine and args and st.recorders():
            st.pending.setdefault(id(self), []).append(args)
        return orig(self, *args, **kwargs)

    return wrapper


_async_stash_args = _sync_stash_args


def _sync_stash_list(orig: Callable[..., Any], mine: _State) -> Callable[..., Any]:
    @functools.wraps(orig)
    def wrapper(self: Any, commands: Iterable[Any]) -> Any:
        st = _state
        if st is mine and st.recorders():
            commands = [tuple(c) for c in commands]
            st.pending.setdefault(id(self), []).extend(commands)
        return orig(self, commands)

    return wrapper


def _sync_send(orig: Callable[..., Any], mine: _State) -> Callable[..., Any]:
    @functools.wraps(orig)
    def wrapper(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        st = _state
        if st is not mine:
            return orig(self, command, *args, **kwargs)
        recorders = st.recorders()
        if not recorders:
            st.pending.pop(id(self), None)
            return orig(self, command, *args, **kwargs)
        trip = _new_trip(st, self, command, sys._getframe(1), False)
        connected = getattr(self, "_sock", None) is not None
        start = perf_counter()
        result = orig(self, command, *args, **kwargs)
        _deliver(st, self, trip, recorders, perf_counter() - start if connected else 0.0)
        return result

    return wrapper


def _async_send(orig: Callable[..., Any], mine: _State) -> Callable[..., Any]:
    @functools.wraps(orig)
    async def wrapper(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        st = _state
        if st is not mine:
            return await orig(self, command, *args, **kwargs)
        recorders = st.recorders()
        if not recorders:
            st.pending.pop(id(self), None)
            return await orig(self, command, *args, **kwargs)
        trip = _new_trip(st, self, command, sys._getframe(1), True)
        connected = bool(getattr(self, "is_connected", False))
        start = perf_counter()
        result = await orig(self, command, *args, **kwargs)
        _deliver(st, self, trip, recorders, perf_counter() - start if connected else 0.0)
        return result

    return wrapper


def _sync_read(orig: Callable[..., Any], mine: _State) -> Callable[..., Any]:
    @functools.wraps(orig)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        st = _state
        entry = st.inflight.get(id(self)) if st is mine else None
        if entry is None:
            return orig(self, *args, **kwargs)
        start = perf_counter()
        try:
            return orig(self, *args, **kwargs)
        finally:
            _read_done(st, id(self), entry, perf_counter() - start)  # type: ignore[arg-type]

    return wrapper


def _async_read(orig: Callable[..., Any], mine: _State) -> Callable[..., Any]:
    @functools.wraps(orig)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        st = _state
        entry = st.inflight.get(id(self)) if st is mine else None
        if entry is None:
            return await orig(self, *args, **kwargs)
        start = perf_counter()
        try:
            return await orig(self, *args, **kwargs)
        finally:
            _read_done(st, id(self), entry, perf_counter() - start)  # type: ignore[arg-type]

    return wrapper


async def _with_chain(coro: Any, captured: tuple[Any, ...]) -> Any:
    token = _ASYNC_CHAIN.set(captured)
    try:
        return await coro
    finally:
        _ASYNC_CHAIN.reset(token)


def _async_entry(orig: Callable[..., Any], mine: _State) -> Callable[..., Any]:
    pipeline = orig.__qualname__.partition(".")[0] if orig.__name__ == "execute" else None

    @functools.wraps(orig)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        st = _state
        if st is not mine or not st.recorders():
            return orig(self, *args, **kwargs)
        chain, _pipeline, _housekeeping = _walk(st, sys._getframe(1))
        coro = orig(self, *args, **kwargs)
        if not chain or chain[0][2][0] == _FRAMEWORK:
            return coro
        return _with_chain(coro, (tuple(chain), pipeline, _site(st, chain)))

    return wrapper


#: role -> wrapper factory. A wrapper serves only the installation that made it: one
#: left in place because someone patched over it passes through for good, also when
#: a later recorder installs fresh hooks (over the other patch)
_WRAPPERS: dict[str, Callable[[Callable[..., Any], _State], Callable[..., Any]]] = {
    "sync_stash_args": _sync_stash_args,
    "sync_stash_list": _sync_stash_list,
    "sync_send": _sync_send,
    "sync_read": _sync_read,
    "async_stash_args": _async_stash_args,
    "async_send": _async_send,
    "async_read": _async_read,
    "async_entry": _async_entry,
}


# --------------------------------------------------------------------------- install


def _install(st: _State) -> None:
    for spec, role in PATCH_POINTS:
        found = _resolve(spec)
        if found is None:  # pragma: no cover - an older or newer redis-py
            continue
        owner, attr, original = found
        wrapper = _WRAPPERS[role](original, st)
        wrapper.__pipelint_hook__ = True  # type: ignore[attr-defined]
        setattr(owner, attr, wrapper)
        st.patches.append((owner, attr, original, wrapper))


def _uninstall(st: _State) -> None:
    for owner, attr, original, wrapper in reversed(st.patches):
        # someone patched over us: leave theirs (ours passes through from now on)
        if vars(owner).get(attr) is wrapper:
            setattr(owner, attr, original)
    st.patches.clear()


def acquire(recorder: Recorder, all_threads: bool) -> Any:
    """Start delivering round trips to ``recorder``; returns a token for ``release``."""
    global _state
    with _lock:
        if _state is None:
            st = _State()
            _install(st)
            _state = st
        _state.users += 1
        if all_threads:
            _state.global_recorders = (*_state.global_recorders, recorder)
    if all_threads:
        return None
    return _CONTEXT.set((*_CONTEXT.get(), recorder))


def release(recorder: Recorder, token: Any) -> None:
    """Stop delivering to ``recorder``; the last one out uninstalls every hook."""
    global _state
    if token is not None:
        try:
            _CONTEXT.reset(token)
        except ValueError:  # stopped in another context than it started in
            _CONTEXT.set(tuple(r for r in _CONTEXT.get() if r is not recorder))
    with _lock:
        st = _state
        if st is None:
            return
        st.global_recorders = tuple(r for r in st.global_recorders if r is not recorder)
        st.users -= 1
        if st.users <= 0:
            _state = None
            _uninstall(st)
            st.pending.clear()
            st.inflight.clear()
            st.task_last.clear()
            st.thread_last = threading.local()


def _after_fork_in_child() -> None:
    """A forked child records nothing (what it sends is not the parent's recording, and
    a lock held by another thread at fork time must not block it)."""
    global _lock
    _lock = threading.RLock()
    st = _state
    if st is not None:
        st.global_recorders = ()
    _CONTEXT.set(())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def installed() -> list[str]:
    """The ``module:Class.attr`` currently hooked (empty when no recorder runs)."""
    st = _state
    if st is None:
        return []
    return [f"{o.__module__}:{o.__qualname__}.{a}" for o, a, _orig, _w in st.patches]


def context_recorders() -> tuple[Recorder, ...]:
    """Recorders active in the calling context (for tests)."""
    return _CONTEXT.get()
