"""What the recorder records: call sites, round trips and the commands they carried.

A :class:`RoundTrip` is one send of bytes to a Redis server followed by the reads of
its replies: one command, a whole pipeline, a MULTI/EXEC transaction, or a cluster
pipeline's share for one node. Its :attr:`~RoundTrip.args` are the argument tuples
redis-py packed (``("GET", "k")``); names and keys are derived from them on demand.

Nothing here imports redis-py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

__all__ = ["CallSite", "Command", "RoundTrip", "UNKNOWN_SITE", "command_name", "command_keys"]

_SUBCOMMAND = re.compile(r"[A-Z][A-Z_-]*")

#: longest key (in characters) a report shows; longer ones are cut with "..."
KEY_DISPLAY_LIMIT = 80


@dataclass(frozen=True, slots=True)
class CallSite:
    """Where user code called into redis-py: the first frame outside redis-py and
    ``pipelint.testing``. ``file`` is absolute; ``function`` is the qualified name."""

    file: str
    line: int
    function: str

    def display(self, cwd: Path | None = None) -> str:
        return f"{display_path(self.file, cwd)}:{self.line} {self.function}"


UNKNOWN_SITE = CallSite("<unknown>", 0, "<unknown>")


def display_path(file: str, cwd: Path | None = None) -> str:
    """``file`` relative to ``cwd`` (default: the current directory) when inside it."""
    if file.startswith("<"):
        return file
    base = cwd or Path.cwd()
    try:
        return Path(file).relative_to(base).as_posix()
    except ValueError:
        return file


@dataclass(slots=True, eq=False)
class RoundTrip:
    """One round trip to one server.

    * ``server``: ``host:port/db`` (or the socket path) of the connection it used.
      redis-py connections do not know their client object, so a client is known by
      the server it talks to (a cluster client by each node).
    * ``asyncio``: sent by a ``redis.asyncio`` connection.
    * ``pipeline``: the class of the pipeline whose ``execute()`` sent it
      (``"Pipeline"``, ``"ClusterPipeline"``), ``None`` for a plain command. A
      Script queued in a pipeline makes ``execute()`` send ``SCRIPT EXISTS`` first:
      that is a round trip of its own, with ``pipeline`` set.
    * ``transaction``: its commands are wrapped in MULTI ... EXEC.
    * ``housekeeping``: sent by redis-py on its own, not for a call of the code:
      connection set-up (HELLO, AUTH, CLIENT SETINFO, SELECT), health-check PINGs,
      cluster discovery (CLUSTER SLOTS, COMMAND), and the UNWATCH a watched pipeline
      sends when it is garbage-collected (at whatever line the collection happens).
      Not counted in ``round_trips``: they depend on the connection pool and the
      garbage collector, not on the code under test.
    * ``back_to_back``: the previous round trip of the same thread or asyncio task
      went to the same server and was sent by the same invocation of the function
      this one was sent from (directly or through a helper it called): the runtime
      shape of RP101 (a sequence) and RP102 (a loop).
    * ``repeated_by``: the previous round trip of the same thread or task went to
      the same server and both were sent while one invocation of a calling
      function stood on the same call (the same bytecode instruction: typically a
      loop calling a helper that sends): that caller's call site. ``None``
      otherwise, and for back-to-back ones. Callers are looked for up to 3 levels
      above the call site, and not past a test runner's or event loop's frame.
    * ``wait_s``: time spent sending (when the connection was already open) and
      reading the replies: the client waiting on the network and the server.
    """

    args: tuple[tuple[Any, ...], ...]
    server: str
    site: CallSite
    asyncio: bool = False
    pipeline: str | None = None
    housekeeping: bool = False
    back_to_back: bool = False
    repeated_by: CallSite | None = None
    wait_s: float = 0.0
    #: objects with a ``wait_s`` attribute that also accumulate this trip's wait
    observers: list[Any] | None = field(default=None, repr=False)
    _names: tuple[str, ...] | None = field(default=None, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        """The commands' names (``"GET"``, ``"SCRIPT EXISTS"``), in order."""
        names = self._names
        if names is None:
            names = self._names = tuple([command_name(a) for a in self.args])
        return names

    @property
    def transaction(self) -> bool:
        return bool(self.args) and self.names[0] == "MULTI"

    @property
    def commands(self) -> list[Command]:
        return [Command(a, self) for a in self.args]

    def add_wait(self, seconds: float) -> None:
        self.wait_s += seconds
        if self.observers:
            for o in self.observers:
                o.wait_s += seconds

    def kind(self) -> str:
        """``"transaction"``, ``"pipeline"`` or ``"command"``."""
        if self.transaction:
            return "transaction"
        if self.pipeline is not None or len(self.args) > 1:
            return "pipeline"
        return "command"


@dataclass(frozen=True, slots=True, eq=False)
class Command:
    """One command as sent: its arguments and the round trip it travelled in."""

    args: tuple[Any, ...]
    round_trip: RoundTrip

    @property
    def name(self) -> str:
        return command_name(self.args)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(_display_arg(k) for k in command_keys(self.args))

    @property
    def client(self) -> str:
        return self.round_trip.server

    @property
    def site(self) -> CallSite:
        return self.round_trip.site

    @property
    def pipeline(self) -> bool:
        return self.round_trip.kind() != "command"

    @property
    def transaction(self) -> bool:
        return self.round_trip.transaction


# --------------------------------------------------------------------------- names


def _text(value: Any) -> str:
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "backslashreplace")
    return str(value)


def _display_arg(value: Any) -> str:
    text = _text(value)
    return text if len(text) <= KEY_DISPLAY_LIMIT else text[: KEY_DISPLAY_LIMIT - 3] + "..."


def argv(args: Sequence[Any]) -> list[Any]:
    """The arguments as the server sees them: redis-py splits a first argument with
    spaces (``"SCRIPT EXISTS"``) into words."""
    if not args:
        return []
    first = args[0]
    if isinstance(first, str | bytes) and (
        " " in first if isinstance(first, str) else b" " in first
    ):
        return [*first.split(), *args[1:]]
    return list(args)


_KNOWN_CONTAINERS = frozenset(
    "ACL CLIENT CLUSTER COMMAND CONFIG FUNCTION LATENCY MEMORY MODULE OBJECT PUBSUB SCRIPT "
    "SLOWLOG XGROUP XINFO".split()
)


@lru_cache(maxsize=1)
def _containers() -> frozenset[str]:
    """Commands with subcommands (``CLIENT``, ``SCRIPT``...), from the catalog."""
    from pipelint.catalog import all_commands

    out = set()
    for spec in all_commands().values():
        if spec.command and " " in spec.command:
            out.add(spec.command.split()[0])
    return frozenset(out | _KNOWN_CONTAINERS)


#: first argument -> name, for the commands whose name is their first argument alone
_SIMPLE_NAMES: dict[Any, str] = {}


def command_name(args: Sequence[Any]) -> str:
    """``"GET"``, ``"SCRIPT EXISTS"``, ``"CLIENT SETINFO"`` (upper case)."""
    if args:
        try:
            cached = _SIMPLE_NAMES.get(args[0])
        except TypeError:  # unhashable (a memoryview)
            cached = None
        if cached is not None:
            return cached
    name = _command_name(args)
    if (
        args
        and isinstance(args[0], str | bytes)
        and " " not in name
        and name not in _containers()
        and len(_SIMPLE_NAMES) < 4096
    ):
        _SIMPLE_NAMES[args[0]] = name
    return name


def _command_name(args: Sequence[Any]) -> str:
    words = argv(args)
    if not words:
        return "?"
    name = _text(words[0]).upper()
    if len(words) > 1 and name in _containers():
        sub = _text(words[1]).upper()
        if _SUBCOMMAND.fullmatch(sub):
            return f"{name} {sub}"
    return name


# --------------------------------------------------------------------------- keys


@lru_cache(maxsize=1)
def _key_specs() -> dict[str, tuple[Any, ...]]:
    from pipelint.catalog import all_commands

    out: dict[str, tuple[Any, ...]] = {}
    for spec in all_commands().values():
        if spec.command and spec.key_specs and spec.command.upper() not in out:
            out[spec.command.upper()] = spec.key_specs
    return out


def command_keys(args: Sequence[Any]) -> list[Any]:
    """The key arguments of a command, read with the server's key specs (``COMMAND
    INFO``, from the catalog). Unknown commands have no keys."""
    words = argv(args)
    specs = _key_specs().get(command_name(args))
    if not specs:
        return []
    keys: list[Any] = []
    for spec in specs:
        try:
            keys.extend(_keys_for(spec, words))
        except (ValueError, TypeError, IndexError):
            continue
    return keys


def _keys_for(spec: Any, words: list[Any]) -> list[Any]:
    n = len(words)
    if spec.begin_search == "index" and spec.index is not None:
        start = spec.index
    elif spec.begin_search == "keyword" and spec.keyword:
        want = spec.keyword.upper()
        begin = spec.index or 0
        positions = range(begin, n) if begin >= 0 else range(n + begin, 0, -1)
        start = -1
        for i in positions:
            if _text(words[i]).upper() == want:
                start = i + 1
                break
        if start < 0:
            return []
    else:
        return []
    if start >= n:
        return []
    if spec.find_keys == "range":
        last = spec.lastkey if spec.lastkey is not None else 0
        step = spec.keystep or 1
        if last >= 0:
            end = start + last
        else:
            end = n + last
            limit = spec.limit or 0
            if limit > 1:
                end = start + (end - start + 1) // limit - 1
        return words[start : min(end, n - 1) + 1 : step]
    if spec.find_keys == "keynum":
        numkeys = int(_text(words[start + (spec.keynumidx or 0)]))
        first = start + (spec.firstkey or 1)
        step = spec.keystep or 1
        return words[first : first + numkeys * step : step]
    return []


# --------------------------------------------------------------------------- fallback


def parse_packed(command: Any) -> tuple[tuple[bytes, ...], ...]:
    """Argument tuples from already packed RESP bytes (``send_packed_command`` called
    without a hooked pack step, e.g. by code outside redis-py). Best effort: what
    does not parse is one unknown command ``("?",)``."""
    try:
        if isinstance(command, str):
            data = command.encode()
        elif isinstance(command, bytes | bytearray | memoryview):
            data = bytes(command)
        else:
            data = b"".join(bytes(c) for c in command)
        out: list[tuple[bytes, ...]] = []
        pos = 0
        while pos < len(data):
            if data[pos : pos + 1] != b"*":
                raise ValueError("not an array")
            eol = data.index(b"\r\n", pos)
            count = int(data[pos + 1 : eol])
            pos = eol + 2
            items: list[bytes] = []
            for _ in range(count):
                if data[pos : pos + 1] != b"$":
                    raise ValueError("not a bulk string")
                eol = data.index(b"\r\n", pos)
                size = int(data[pos + 1 : eol])
                items.append(data[eol + 2 : eol + 2 + size])
                pos = eol + 2 + size + 2
            out.append(tuple(items))
        return tuple(out) or ((b"?",),)
    except (ValueError, TypeError):
        return ((b"?",),)
