"""The Lua scripts in ``lua/``, each prefixed with the shared ``lib.lua``.

Scripts run by EVALSHA, also inside pipelines, without the extra round trip redis-py's
``Script`` objects spend on ``SCRIPT EXISTS`` before each pipeline; a server that does not know
a script (first use, or after a restart) answers NOSCRIPT, and the call is made again after
``SCRIPT LOAD``.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

import redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError, ResponseError


@functools.cache
def source(name: str) -> str:
    """The full source of script ``name``: ``lib.lua`` followed by ``<name>.lua``."""
    folder = resources.files("nuvom_redis") / "lua"
    return (folder / "lib.lua").read_text() + "\n" + (folder / f"{name}.lua").read_text()


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


class Scripts:
    """Named scripts run on one client."""

    def __init__(self, client: redis.Redis, *names: str) -> None:
        self._client = client
        self._sha = {name: _sha1(source(name)) for name in names}

    def _load(self) -> None:
        for name in self._sha:
            self._client.script_load(source(name))

    def run(self, name: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run one script and return its reply."""
        try:
            return self._client.evalsha(self._sha[name], len(keys), *keys, *args)
        except NoScriptError:
            self._load()
            return self._client.evalsha(self._sha[name], len(keys), *keys, *args)

    def add(self, pipe: Pipeline, name: str, keys: Sequence[str], args: Sequence[Any]) -> None:
        """Queue one script call on ``pipe``."""
        pipe.evalsha(self._sha[name], len(keys), *keys, *args)

    def pipeline(self, fill: Callable[[Pipeline], None]) -> list[Any]:
        """Run the commands ``fill`` queues on a fresh pipeline, in one round trip.

        On NOSCRIPT no script of the pipeline ran (they are loaded together), so the pipeline
        is filled and sent again once the scripts are loaded; its other commands must be
        idempotent.
        """
        for attempt in (1, 2):
            pipe = self._client.pipeline(transaction=False)
            fill(pipe)
            try:
                return pipe.execute()
            except NoScriptError:
                if attempt == 2:
                    raise
                self._load()
        raise AssertionError("unreachable")

    def stream(self, fills: Sequence[Callable[[Pipeline], None]]) -> list[Any]:
        """Like :meth:`pipeline`, but each of ``fills`` is sent as soon as it is packed.

        Redis runs the commands of one fill while the next is built, and the replies are read
        once all are sent: one round trip's wait in all, with building and running overlapped.
        On NOSCRIPT every fill is sent again once the scripts are loaded (see :meth:`pipeline`).

        Raises:
            ResponseError: the first command that failed (the others still ran).
        """
        for attempt in (1, 2):
            replies = self._stream_once(fills)
            failed = [reply for reply in replies if isinstance(reply, ResponseError)]
            if not failed:
                return replies
            if attempt == 2 or not isinstance(failed[0], NoScriptError):
                raise failed[0]
            self._load()
        raise AssertionError("unreachable")

    def _stream_once(self, fills: Sequence[Callable[[Pipeline], None]]) -> list[Any]:
        pool = self._client.connection_pool
        conn = pool.get_connection("EVALSHA")
        try:
            # A dropped connection sends everything again, as the client's pipelines do.
            replies: list[Any] = conn.retry.call_with_retry(
                lambda: self._send_all(conn, fills), lambda _error: conn.disconnect()
            )
            return replies
        except BaseException:
            conn.disconnect()  # replies may be left unread: never hand this connection out again
            raise
        finally:
            pool.release(conn)

    def _send_all(self, conn: Any, fills: Sequence[Callable[[Pipeline], None]]) -> list[Any]:
        sent = 0
        for fill in fills:
            pipe = self._client.pipeline(transaction=False)
            fill(pipe)
            commands = [args for args, _options in pipe.command_stack]
            conn.send_packed_command(conn.pack_commands(commands))
            sent += len(commands)
        replies: list[Any] = []
        for _ in range(sent):
            try:
                replies.append(conn.read_response())
            except ResponseError as exc:
                replies.append(exc)
        return replies
