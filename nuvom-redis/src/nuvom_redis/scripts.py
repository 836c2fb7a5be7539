"""The Lua scripts in ``lua/``, each prefixed with the parts of the shared ``lib.lua`` it uses.

Redis runs a script's whole source on every call, so a script carries only the top-level
definitions of ``lib.lua`` it names, directly or through another definition: a ``.delay()``
then does not build some thirty closures and a table it never calls.

Scripts run by EVALSHA, also inside pipelines, without the extra round trip redis-py's
``Script`` objects spend on ``SCRIPT EXISTS`` before each pipeline; a server that does not know
a script (first use, or after a restart) answers NOSCRIPT, and the call is made again after
``SCRIPT LOAD``.

With ``NUVOM_REDIS_WAIT_REPLICAS=N``, a call of a script whose success a caller is told of
(:data:`ACKNOWLEDGED`: a producer's enqueue, a worker's completion) is followed by ``WAIT N``
on the same connection, in the same round trip, and fails unless N replicas have it. Replication
is in order, so that also covers every write made before it, on any connection.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import re
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError, ResponseError

from .client import Connection, ReplicasBehind

#: redis-py before 5.3 requires a command name to hand out a connection; 5.3 and later deprecate it.
_POOL_NEEDS_COMMAND = (
    inspect.signature(redis.ConnectionPool.get_connection).parameters["command_name"].default
    is inspect.Parameter.empty
)

#: Scripts whose success is reported to a caller: what an enqueue or a completion runs.
ACKNOWLEDGED = frozenset({"enqueue", "send", "send_many", "complete", "ack", "nack"})


class StreamFailed(ResponseError):
    """A command of a stream failed; the others ran (Redis runs every command it is sent).

    The message is the first failure's.
    """

    def __init__(self, first: ResponseError, replies: list[list[Any]]) -> None:
        #: Per fill of the stream, the reply (or :class:`ResponseError`) of each of its commands.
        self.replies = replies
        super().__init__(str(first))


#: A Lua comment, a quoted string, a name, ``..`` or ``...``, or any other character.
_TOKEN = re.compile(r"""(--[^\n]*)|('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")|([A-Za-z_]\w*)|(\.\.\.?|\S)""")
#: A top-level definition of ``lib.lua``: a line starting ``local NAME`` or ``local function NAME``.
_DEFINITION = re.compile(r"local (?:function )?(\w+)")


def _names_used(lua: str) -> set[str]:
    """The names ``lua`` refers to as variables.

    Not in comments or strings, not after ``.`` or ``:`` (a field), not as ``{name =`` or
    ``, name =`` (a table constructor's key).
    """
    tokens = [(name, string or other) for comment, string, name, other in _TOKEN.findall(lua) if not comment]
    used: set[str] = set()
    for i, (name, _other) in enumerate(tokens):
        if not name or (i and tokens[i - 1][1] in (".", ":")):
            continue
        key = i + 2 < len(tokens) and tokens[i + 1][1] == "=" and tokens[i + 2][1] != "="
        if key and i and tokens[i - 1][1] in ("{", ","):
            continue
        used.add(name)
    return used


@functools.cache
def _lib() -> tuple[dict[str, str], dict[str, set[str]]]:
    """``lib.lua`` by top-level definition (each with the comment above it), and what each uses."""
    lines = (resources.files("nuvom_redis") / "lua" / "lib.lua").read_text().splitlines(keepends=True)
    parts: dict[str, list[str]] = {}
    current: list[str] = []  # the header before the first definition is dropped
    for line in lines:
        definition = _DEFINITION.match(line)
        if definition:
            comment: list[str] = []
            while current and current[-1].startswith("--"):
                comment.insert(0, current.pop())
            current = parts[definition.group(1)] = comment
        current.append(line)
    chunks = {name: "".join(part) for name, part in parts.items()}
    return chunks, {name: _names_used(chunk) & chunks.keys() - {name} for name, chunk in chunks.items()}


def lib_parts(lua: str) -> list[str]:
    """The top-level definitions of ``lib.lua`` that ``lua`` uses, transitively, in ``lib.lua``'s order."""
    chunks, uses = _lib()
    needed: set[str] = set()
    todo = _names_used(lua) & chunks.keys()
    while todo:
        name = todo.pop()
        needed.add(name)
        todo |= uses[name] - needed
    return [name for name in chunks if name in needed]


@functools.cache
def source(name: str) -> str:
    """The source of script ``name``: the parts of ``lib.lua`` it uses, then ``<name>.lua``."""
    body = (resources.files("nuvom_redis") / "lua" / f"{name}.lua").read_text()
    chunks, _uses = _lib()
    return "".join(chunks[part] for part in lib_parts(body)) + "\n" + body


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


class Scripts:
    """Named scripts run on one connection."""

    def __init__(self, connection: Connection, *names: str) -> None:
        self._client = connection.client
        self._cluster = connection.is_cluster
        self._sha = {name: _sha1(source(name)) for name in names}
        self._replicas = connection.wait_replicas
        self._wait_ms = max(1, round(connection.wait_timeout_secs * 1000))
        self._acknowledged = {self._sha[name] for name in names if name in ACKNOWLEDGED}

    def _load(self) -> None:
        for name in self._sha:
            self._client.script_load(source(name))

    def run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one script and return its reply.

        Raises:
            ReplicasBehind: an acknowledged script's write did not reach its replicas in time.
        """
        if self._replicas and self._sha[name] in self._acknowledged:
            try:
                return self.pipeline(lambda pipe: self.add(pipe, name, keys, args))[0]
            except ReplicasBehind as behind:
                raise ReplicasBehind(str(behind), result=behind.result[0]) from None
        try:
            return self._client.evalsha(self._sha[name], len(keys), *keys, *args)
        except NoScriptError:
            self._load()
            return self._client.evalsha(self._sha[name], len(keys), *keys, *args)

    def add(self, pipe: Pipeline, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Queue one script call on ``pipe``."""
        pipe.evalsha(self._sha[name], len(keys), *keys, *args)

    def pipeline(self, fill: Callable[[Pipeline], None], *, durable: bool = False) -> list[Any]:
        """Run the commands ``fill`` queues on a fresh pipeline, in one round trip.

        On NOSCRIPT no script of the pipeline ran (they are loaded together), so the pipeline
        is filled and sent again once the scripts are loaded; its other commands must be
        idempotent. A pipeline with an acknowledged script, or ``durable`` with
        ``NUVOM_REDIS_WAIT_REPLICAS`` set, ends in ``WAIT`` (its reply is not returned).

        Raises:
            ReplicasBehind: fewer replicas than asked for have the pipeline's writes.
        """
        for attempt in (1, 2):
            pipe = self._client.pipeline(transaction=False)
            fill(pipe)
            wait = self._replicas > 0 and (durable or self._acknowledges(pipe))
            if wait:
                pipe.wait(self._replicas, self._wait_ms)
            try:
                replies = pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
                self._load()
                continue
            if wait:
                self._check_replicas(replies.pop(), replies)
            return replies
        raise AssertionError("unreachable")

    def _acknowledges(self, pipe: Pipeline) -> bool:
        return any(args[0] == "EVALSHA" and args[1] in self._acknowledged for args, _ in pipe.command_stack)

    def _check_replicas(self, reached: int, replies: list[Any]) -> None:
        if reached < self._replicas:
            raise ReplicasBehind(
                f"the write reached {reached} of the {self._replicas} replica(s) NUVOM_REDIS_WAIT_REPLICAS"
                f" asks for within {self._wait_ms / 1000:g} s (NUVOM_REDIS_WAIT_TIMEOUT_SECS); it is on the"
                " master but not acknowledged, and a failover may lose it",
                result=replies,
            )

    def stream(self, fills: Sequence[Callable[[Pipeline], None]]) -> list[Any]:
        """Like :meth:`pipeline`, but each of ``fills`` is sent as soon as it is packed.

        Redis runs the commands of one fill while the next is built, and the replies are read
        once all are sent: one round trip's wait in all, with building and running overlapped.
        On NOSCRIPT every fill is sent again once the scripts are loaded (see :meth:`pipeline`).
        With ``NUVOM_REDIS_WAIT_REPLICAS`` set, fills holding an acknowledged script end in one
        ``WAIT``, as a pipeline's do.

        On a Redis Cluster the fills make one pipeline, which the client splits by node.

        Raises:
            StreamFailed: a command failed (the others still ran).
            ReplicasBehind: fewer replicas than asked for have the writes.
        """
        if self._cluster:
            return self._stream_on_cluster(fills)
        for attempt in (1, 2):
            by_fill, reached = self._stream_once(fills)
            replies = [reply for fill_replies in by_fill for reply in fill_replies]
            failed = [reply for reply in replies if isinstance(reply, ResponseError)]
            if not failed:
                if reached is not None:
                    self._check_replicas(reached, replies)
                return replies
            if attempt == 2 or not isinstance(failed[0], NoScriptError):
                raise StreamFailed(failed[0], by_fill)
            self._load()
        raise AssertionError("unreachable")

    def _stream_on_cluster(self, fills: Sequence[Callable[[Pipeline], None]]) -> list[Any]:
        """The fills as one pipeline, which the cluster client splits by node; fails as :meth:`stream`."""
        for attempt in (1, 2):
            pipe = self._client.pipeline(transaction=False)
            sizes = []
            for fill in fills:
                before = len(pipe)  # the commands queued: a cluster pipeline keeps no command_stack
                fill(pipe)
                sizes.append(len(pipe) - before)
            replies = pipe.execute(raise_on_error=False)
            failed = [reply for reply in replies if isinstance(reply, Exception)]
            if not failed:
                return replies
            if attempt == 1 and isinstance(failed[0], NoScriptError):
                self._load()
                continue
            refused = [reply for reply in failed if isinstance(reply, ResponseError)]
            if len(refused) < len(failed):  # a node not reached: which commands ran is unknown
                raise next(reply for reply in failed if not isinstance(reply, ResponseError))
            ends = list(itertools.accumulate(sizes))
            by_fill = [replies[end - size : end] for size, end in zip(sizes, ends, strict=True)]
            raise StreamFailed(refused[0], by_fill)
        raise AssertionError("unreachable")

    def _stream_once(self, fills: Sequence[Callable[[Pipeline], None]]) -> tuple[list[list[Any]], int | None]:
        pool = self._client.connection_pool
        conn: Any = pool.get_connection("EVALSHA") if _POOL_NEEDS_COMMAND else pool.get_connection()
        try:
            # A dropped connection sends everything again, as the client's pipelines do.
            replies: tuple[list[list[Any]], int | None] = conn.retry.call_with_retry(
                lambda: self._send_all(conn, fills), lambda _error: conn.disconnect()
            )
            return replies
        except BaseException:
            conn.disconnect()  # replies may be left unread: never hand this connection out again
            raise
        finally:
            pool.release(conn)

    def _send_all(
        self, conn: Any, fills: Sequence[Callable[[Pipeline], None]]
    ) -> tuple[list[list[Any]], int | None]:
        """Send every fill, then ``WAIT`` if one acknowledges: the replies per fill, the replicas reached."""
        sizes = []
        acknowledges = False
        for fill in fills:
            pipe = self._client.pipeline(transaction=False)
            fill(pipe)
            acknowledges = acknowledges or self._acknowledges(pipe)
            commands = [args for args, _options in pipe.command_stack]
            conn.send_packed_command(conn.pack_commands(commands))
            sizes.append(len(commands))
        wait = self._replicas > 0 and acknowledges
        if wait:
            conn.send_command("WAIT", self._replicas, self._wait_ms)
        replies: list[list[Any]] = []
        for size in sizes:
            replies.append([])
            for _ in range(size):
                try:
                    replies[-1].append(conn.read_response())
                except ResponseError as exc:
                    replies[-1].append(exc)
        return replies, (int(conn.read_response()) if wait else None)
