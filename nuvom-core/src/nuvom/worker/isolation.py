"""Which attempts of a worker run together: all of them, except one that must run alone.

A job whose holders kept stopping while it ran is run alone before it is called poison: when a
worker dies, every job it was running shares the blame, and only a death with no neighbour
names the job that caused it (see ``docs/worker.md``, "Poison jobs").
"""

from __future__ import annotations

import threading


class Isolation:
    """A gate around running attempts: many at once, or one alone.

    An attempt that must run alone waits until no other attempt runs, and attempts that want to
    start meanwhile wait until it is done: they stay held, and a death then is not theirs.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._running = 0
        self._alone = False
        self._waiting_alone = 0
        #: Attempts blocked in :meth:`enter`: only then has :meth:`leave` anyone to wake.
        self._blocked = 0

    def enter(self, *, alone: bool) -> None:
        """Block until this attempt may run (alone: until no other attempt runs)."""
        with self._cond:
            if alone:
                self._waiting_alone += 1
                while self._running or self._alone:
                    self._wait()
                self._waiting_alone -= 1
                self._alone = True
            else:
                while self._alone or self._waiting_alone:
                    self._wait()
            self._running += 1

    def leave(self, *, alone: bool) -> None:
        """The attempt no longer runs (it ended, or timed out and gave up its slot)."""
        with self._cond:
            self._running -= 1
            if alone:
                self._alone = False
            if self._blocked:
                self._cond.notify_all()

    def _wait(self) -> None:
        self._blocked += 1
        try:
            self._cond.wait()
        finally:
            self._blocked -= 1
