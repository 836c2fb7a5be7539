"""The Lua scripts in ``lua/``, each prefixed with the shared ``lib.lua``.

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
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError, ResponseError

from .client import Connection

#: redis-py before 5.3 requires a command name to hand out a connection; 5.3 and later deprecate it.
_POOL_NEEDS_COMMAND = (
    inspect.signature(redis.ConnectionPool.get_connection).parameters["command_name"].default
    is inspect.Parameter.empty
)

#: Scripts whose success is reported to a caller: what an enqueue or a completion runs.
ACKNOWLEDGED = frozenset({"enqueue", "send", "send_many", "complete", "ack", "nack"})


class ReplicasBehind(redis.RedisError):
    """Fewer replicas than ``NUVOM_REDIS_WAIT_REPLICAS`` acknowledged a write in time.

    The write is on the master but not acknowledged: a failover may lose it.
    """


@functools.cache
def source(name: str) -> str:
    """The full source of script ``name``: ``lib.lua`` followed by ``<name>.lua``."""
    folder = resources.files("nuvom_redis") / "lua"
    return (folder / "lib.lua").read_text() + "\n" + (folder / f"{name}.lua").read_text()


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
            return self.pipeline(lambda pipe: self.add(pipe, name, keys, args))[0]
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
                self._check_replicas(replies.pop())
            return replies
        raise AssertionError("unreachable")

    def _acknowledges(self, pipe: Pipeline) -> bool:
        return any(args[0] == "EVALSHA" and args[1] in self._acknowledged for args, _ in pipe.command_stack)

    def _check_replicas(self, reached: int) -> None:
        if reached < self._replicas:
            raise ReplicasBehind(
                f"the write reached {reached} of the {self._replicas} replica(s) NUVOM_REDIS_WAIT_REPLICAS"
                f" asks for within {self._wait_ms / 1000:g} s (NUVOM_REDIS_WAIT_TIMEOUT_SECS); it is on the"
                " master but not acknowledged, and a failover may lose it"
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
            ResponseError: the first command that failed (the others still ran).
            ReplicasBehind: fewer replicas than asked for have the writes.
        """
        if self._cluster:

            def fill_all(pipe: Pipeline) -> None:
                for fill in fills:
                    fill(pipe)

            return self.pipeline(fill_all)
        for attempt in (1, 2):
            replies, reached = self._stream_once(fills)
            failed = [reply for reply in replies if isinstance(reply, ResponseError)]
            if not failed:
                if reached is not None:
                    self._check_replicas(reached)
                return replies
            if attempt == 2 or not isinstance(failed[0], NoScriptError):
                raise failed[0]
            self._load()
        raise AssertionError("unreachable")

    def _stream_once(self, fills: Sequence[Callable[[Pipeline], None]]) -> tuple[list[Any], int | None]:
        pool = self._client.connection_pool
        conn: Any = pool.get_connection("EVALSHA") if _POOL_NEEDS_COMMAND else pool.get_connection()
        try:
            # A dropped connection sends everything again, as the client's pipelines do.
            replies: tuple[list[Any], int | None] = conn.retry.call_with_retry(
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
    ) -> tuple[list[Any], int | None]:
        """Send every fill, then ``WAIT`` if one acknowledges; the replies and the replicas reached."""
        sent = 0
        acknowledges = False
        for fill in fills:
            pipe = self._client.pipeline(transaction=False)
            fill(pipe)
            acknowledges = acknowledges or self._acknowledges(pipe)
            commands = [args for args, _options in pipe.command_stack]
            conn.send_packed_command(conn.pack_commands(commands))
            sent += len(commands)
        wait = self._replicas > 0 and acknowledges
        if wait:
            conn.send_command("WAIT", self._replicas, self._wait_ms)
        replies: list[Any] = []
        for _ in range(sent):
            try:
                replies.append(conn.read_response())
            except ResponseError as exc:
                replies.append(exc)
        return replies, (int(conn.read_response()) if wait else None)
