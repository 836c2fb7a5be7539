"""Daemon threads that run submitted calls, growing when every thread is busy.

A thread stuck in a timed-out task keeps running (Python cannot kill a thread), so the worker
frees its slot and the pool starts another thread for the next job. Threads are daemons: a hung
task never keeps the process from exiting.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

_STOP = None


class ThreadPool:
    """Runs each submitted call on an idle thread, or on a new one if none is idle."""

    def __init__(self, name: str = "nuvom-job") -> None:
        self._name = name
        self._work: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads: list[threading.Thread] = []
        self._counter = itertools.count(1)

    def submit(self, call: Callable[[], object]) -> None:
        """Run ``call`` on a pool thread."""
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
            else:
                thread = threading.Thread(
                    target=self._loop, name=f"{self._name}-{next(self._counter)}", daemon=True
                )
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                thread.start()
        self._work.put(call)

    def _loop(self) -> None:
        while True:
            call = self._work.get()
            if call is _STOP:
                return
            try:
                call()
            except Exception:  # the calls handle their own errors; this is a last guard
                logger.exception("a pool call raised")
            with self._lock:
                self._idle += 1

    def shutdown(self) -> None:
        """Ask idle threads to exit; busy ones exit after their call."""
        with self._lock:
            for _ in self._threads:
                self._work.put(_STOP)
