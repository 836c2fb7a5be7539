"""A fixed set of daemon job threads fed from one queue, with replacement of hung threads.

A thread stuck in a timed-out task keeps running (Python cannot kill a thread), so the worker
retires it and starts a new thread in its place; the retired thread exits once its task returns.
Threads are daemons: a hung task never keeps the process from exiting.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class JobThreads(Generic[T]):
    """``size`` threads, each taking items from a shared queue and calling ``handle(item)``."""

    def __init__(self, handle: Callable[[T], None], size: int, name: str = "nuvom-job") -> None:
        self._handle = handle
        self._size = size
        self._name = name
        self._items: queue.SimpleQueue[T | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._retired: set[int] = set()
        self._threads: list[threading.Thread] = []
        self._counter = itertools.count(1)

    def start(self) -> None:
        """Start the threads."""
        for _ in range(self._size):
            self._spawn()

    def _spawn(self) -> None:
        thread = threading.Thread(target=self._loop, name=f"{self._name}-{next(self._counter)}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def put(self, item: T) -> None:
        """Hand ``item`` to the next free thread."""
        self._items.put(item)

    def take_unstarted(self) -> list[T]:
        """Remove and return the items no thread has taken yet."""
        items: list[T] = []
        while True:
            try:
                item = self._items.get_nowait()
            except queue.Empty:
                return items
            if item is None:
                self._items.put(None)
                return items
            items.append(item)

    def retire(self, ident: int) -> None:
        """Start a replacement for the thread ``ident``, which exits once its current item is done."""
        with self._lock:
            self._retired.add(ident)
        self._spawn()

    def _loop(self) -> None:
        ident = threading.get_ident()
        while True:
            item = self._items.get()
            if item is None:
                self._items.put(None)  # wake the next thread: every thread stops
                return
            try:
                self._handle(item)
            except BaseException:  # the handler handles its own errors; this is a last guard
                logger.exception("a job thread's handler raised")
            with self._lock:
                if ident in self._retired:
                    self._retired.discard(ident)
                    return

    def stop(self) -> None:
        """Let every thread exit once it is done with its current item."""
        self._items.put(None)
