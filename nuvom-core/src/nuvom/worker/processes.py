"""The parent side of ``--pool processes``: child processes that run attempts, and their upkeep.

Children start with the ``forkserver`` method where the platform has it (Linux, most Unix),
else ``spawn``; either way a child starts from a clean interpreter and imports the task modules
itself. Each job thread of the worker borrows an idle child for one attempt, so there are at
most as many busy children as slots. A child that is killed (timeout, cancel) or dies is
discarded; a new one is started when a slot next needs one. Children past
``max_jobs_per_child`` jobs or ``max_memory_mb`` of peak memory are retired between jobs.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext
from multiprocessing.process import BaseProcess
from typing import cast

from ..lifecycle import Outcome
from ..record import ErrorInfo
from .child import READY, STOP, Reply, Request, Setup, child_main
from .peak_memory import require as require_peak_memory

logger = logging.getLogger(__name__)

#: How often a waiting job thread checks whether its attempt should be stopped.
_POLL_SECS = 0.05
#: Time a new child gets to import the task modules and say it is ready.
START_LIMIT_SECS = 60.0
#: Time a child gets between SIGTERM and SIGKILL.
TERM_GRACE_SECS = 1.0


def start_method() -> str:
    """``forkserver`` where available, else ``spawn`` (never ``fork``: threads and sockets)."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


@dataclass(eq=False)
class _Child:
    process: BaseProcess
    conn: Connection
    jobs: int = 0
    #: It has imported the task modules and said so.
    ready: bool = False

    @property
    def pid(self) -> int:
        return self.process.pid or 0


class ChildPool:
    """Children that run attempts for the worker's job threads."""

    def __init__(
        self,
        modules: Sequence[str],
        *,
        log_level: str = "INFO",
        max_jobs_per_child: int | None = None,
        max_memory_mb: float | None = None,
    ) -> None:
        self._modules = list(modules)
        self._log_level = log_level
        self._max_jobs = max_jobs_per_child
        if max_memory_mb is not None:
            require_peak_memory("--max-memory-per-child")
        self._max_memory_mb = max_memory_mb
        # Typed as spawn's context: forkserver's has the same interface.
        self._ctx = cast(SpawnContext, multiprocessing.get_context(start_method()))
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        #: Children started so far (replacements included).
        self.started = 0

    def prestart(self, count: int) -> None:
        """Start ``count`` idle children now, so the first jobs do not wait for them."""
        children = [self._spawn() for _ in range(count)]
        with self._lock:
            self._idle.extend(children)

    def run(self, request: Request, stop: Callable[[], bool], started: Callable[[], None]) -> Outcome | None:
        """Run ``request`` in a child; ``None`` if ``stop()`` turned true and the child was killed.

        ``started`` is called once a child is ready and the request sent: a child's start-up
        does not count against the job's timeout. A child that dies under the request yields a
        ``WorkerLost`` error outcome. Returns only once the child has replied or is dead, so a
        retry can never overlap this attempt.
        """
        child = self._acquire()
        if not child.ready:
            ready = self._receive(child, stop, time.monotonic() + START_LIMIT_SECS)
            if ready is None or isinstance(ready, Outcome):
                return ready
            assert ready == READY, f"child pid {child.pid} said {ready!r} instead of ready"
            child.ready = True
        try:
            child.conn.send_bytes(request.encode())
        except OSError:
            return self._lost(child)
        started()
        reply = self._receive(child, stop, math.inf)
        if isinstance(reply, bytes):
            decoded = Reply.decode(reply)
            self._done(child, decoded)
            return decoded.outcome
        return reply

    def _receive(self, child: _Child, stop: Callable[[], bool], limit: float) -> bytes | Outcome | None:
        """The child's next message; or ``None`` once it was stopped; or its loss as an outcome."""
        while True:
            if child.conn.poll(_POLL_SECS):
                try:
                    return child.conn.recv_bytes()
                except (EOFError, OSError):
                    return self._lost(child)
            if stop():
                self._kill(child)
                self.prestart(1)  # its replacement
                return None
            if time.monotonic() > limit:
                logger.error("child pid %d did not start within %g s", child.pid, START_LIMIT_SECS)
                return self._lost(child)
            if not child.process.is_alive() and not child.conn.poll():
                return self._lost(child)

    def close(self) -> None:
        """Let the idle children exit and wait for them (the pool starts new ones if used again)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            self._retire(child)

    def _acquire(self) -> _Child:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._spawn()

    def _spawn(self) -> _Child:
        parent_end, child_end = self._ctx.Pipe()
        process = self._ctx.Process(
            target=child_main,
            args=(child_end, Setup.here(self._modules, self._log_level)),
            name="nuvom-child",
            daemon=True,
        )
        process.start()
        child_end.close()
        self.started += 1
        logger.debug("started child pid %s", process.pid)
        return _Child(process, parent_end)

    def _done(self, child: _Child, reply: Reply) -> None:
        child.jobs += 1
        reason = None
        if self._max_jobs is not None and child.jobs >= self._max_jobs:
            reason = f"it ran {child.jobs} jobs (--max-jobs-per-child)"
        elif self._max_memory_mb is not None and (reply.max_rss_mb or 0.0) > self._max_memory_mb:
            reason = f"its memory reached {reply.max_rss_mb:.0f} MB (--max-memory-per-child)"
        if reason is not None:
            logger.info("recycling child pid %d: %s", child.pid, reason)
            self._retire(child)
            return
        with self._lock:
            self._idle.append(child)

    def _retire(self, child: _Child) -> None:
        """Let an idle child exit on its own; kill it if it does not."""
        try:
            child.conn.send_bytes(STOP)
        except OSError:
            pass
        child.process.join(TERM_GRACE_SECS)
        self._kill(child)

    @staticmethod
    def _kill(child: _Child) -> int | None:
        """SIGTERM, a short grace, then SIGKILL; returns the exit code once the child is dead."""
        if child.process.is_alive():
            child.process.terminate()
            child.process.join(TERM_GRACE_SECS)
        if child.process.is_alive():
            child.process.kill()
        child.process.join()
        code = child.process.exitcode
        child.conn.close()
        child.process.close()
        return code

    def _lost(self, child: _Child) -> Outcome:
        """The outcome of an attempt whose child died under it (killed by the OS, ``os._exit``...)."""
        pid = child.pid
        code = self._kill(child)
        message = f"child pid {pid} exited with code {code} before replying"
        logger.error("%s; it is replaced", message)
        self.prestart(1)
        return Outcome(error=ErrorInfo("WorkerLost", message))


def task_modules(modules: Sequence[str]) -> list[str]:
    """The importable modules among ``modules`` (``__main__`` cannot be imported by a child)."""
    wanted = sorted(set(modules))
    if "__main__" in wanted:
        logger.warning(
            "tasks defined in %s (__main__) cannot run in child processes: move them to a module",
            sys.argv[0] or "the main script",
        )
    return [m for m in wanted if m != "__main__"]
