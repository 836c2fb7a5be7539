"""The worker's event loop thread, where ``async def`` tasks run, and its loop-lag watchdog.

One loop per worker process runs every coroutine of every async job; job threads submit to it
and go on with their next job. A coroutine that blocks the loop (``time.sleep``, CPU work,
blocking I/O) stalls every other async job, so a watchdog thread pings the loop and logs a
warning, with the loop thread's current stack, when a ping waits longer than ``lag_warn_secs``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import sys
import threading
import time
import traceback
from collections.abc import Coroutine
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: How often the watchdog pings the loop.
_PING_SECS = 0.1


class EventLoopThread:
    """An asyncio loop running forever on its own daemon thread, started on first use."""

    def __init__(self, *, lag_warn_secs: float = 0.5, name: str = "nuvom-asyncio") -> None:
        self.lag_warn_secs = lag_warn_secs
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        #: Blocking episodes the watchdog has seen.
        self.lag_warnings = 0

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop (thread-safe) and return its future."""
        return asyncio.run_coroutine_threadsafe(coro, self._started())

    def stop(self) -> None:
        """Stop the loop once its scheduled callbacks have run, and wait for its thread."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        self._stopped.set()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(target=self._run, args=(loop, ready), name=self._name, daemon=True)
                self._stopped.clear()
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
                watchdog = threading.Thread(
                    target=self._watch, args=(loop, thread), name=f"{self._name}-watchdog", daemon=True
                )
                watchdog.start()
            return self._loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                loop.close()

    def _watch(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        """Ping the loop; warn (once per episode) when a ping is not served in ``lag_warn_secs``."""
        while not self._stopped.wait(_PING_SECS):
            pong = threading.Event()
            sent = time.monotonic()
            try:
                loop.call_soon_threadsafe(pong.set)
            except RuntimeError:  # closed
                return
            if pong.wait(self.lag_warn_secs) or self._stopped.is_set():
                continue
            self.lag_warnings += 1
            frame = sys._current_frames().get(thread.ident or 0)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else ""
            logger.warning(
                "the event loop of async tasks is blocked (no response for %.1f s): a coroutine "
                "is running blocking code; every other async job waits. It is at:\n%s",
                self.lag_warn_secs,
                stack,
            )
            while not pong.wait(_PING_SECS) and not self._stopped.is_set():
                pass
            logger.warning("the event loop was blocked for %.1f s", time.monotonic() - sent)
