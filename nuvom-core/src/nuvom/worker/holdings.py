"""The jobs a worker holds, and how many more it may claim.

A claimed job takes a *slot* from its claim until its outcome is handed to the committer (or,
when its outcome is stored at once, until it is stored); it stays *held* until its outcome is
stored and the job acknowledged, and its lease is extended all that time. A worker claims only
while it holds fewer than ``capacity`` jobs: what a ``kill -9`` makes run again is bounded.
"""

from __future__ import annotations

import logging
import threading
import time

from ..backends import Lease
from .attempt import Attempt

logger = logging.getLogger(__name__)

#: How long the dispatcher waits at most for room before it looks at ``stopping`` again.
_ROOM_POLL_SECS = 0.5


class Holdings:
    """The attempts a worker holds, its busy slots and its outcomes not stored yet (thread-safe)."""

    def __init__(self, capacity: int) -> None:
        #: Jobs held at most, in all (busy and committing).
        self.capacity = capacity
        self._cond = threading.Condition(threading.Lock())
        #: Claimed jobs that occupy a slot or wait for one.
        self._busy = 0
        #: Outcomes handed to the committer and not stored yet.
        self._committing = 0
        self._attempts: dict[str, Attempt] = {}
        #: Jobs whose processing ended (stored, settled without running, or given up).
        self.processed = 0

    def __len__(self) -> int:
        with self._cond:
            return len(self._attempts)

    def snapshot(self) -> list[Attempt]:
        """The attempts held now."""
        with self._cond:
            return list(self._attempts.values())

    def hold(self, lease: Lease) -> Attempt:
        """Hold a job just claimed; it takes a slot."""
        attempt = Attempt(lease)
        with self._cond:
            self._busy += 1
            self._attempts[lease.id] = attempt
        return attempt

    def wait_for_room(self, stopping: threading.Event) -> tuple[int, bool]:
        """Block until fewer than ``capacity`` jobs are held or ``stopping`` is set.

        Returns:
            How many more jobs may be held, and whether nothing at all is held (then no retry
            of this worker's can come due while it claims).
        """
        with self._cond:
            while self._held() >= self.capacity and not stopping.is_set():
                self._cond.wait(_ROOM_POLL_SECS)
            return self.capacity - self._held(), not self._attempts and self._held() == 0

    def wake(self) -> None:
        """Wake the threads waiting here (e.g. the worker is stopping)."""
        with self._cond:
            self._cond.notify_all()

    def hand_over(self) -> None:
        """An outcome went to the committer: its slot is free, the job stays held."""
        with self._cond:
            self._busy -= 1
            self._committing += 1
            self._cond.notify_all()

    def release(
        self, attempt: Attempt, *, slot: bool, held: bool, processed: int = 0, committed: bool = False
    ) -> None:
        """Give back the attempt's slot (``slot``), stop holding it (``held``), or both.

        ``committed``: its outcome was handed over and is now stored (or given up).
        """
        with self._cond:
            self.processed += processed
            if committed:
                self._committing -= 1
            if slot:
                self._busy -= 1
            if held and self._attempts.get(attempt.lease.id) is attempt:
                del self._attempts[attempt.lease.id]
            self._cond.notify_all()

    def wait_until_empty(self, grace: float) -> bool:
        """Wait up to ``grace`` seconds for the held jobs to end; ``True`` when none is left."""
        deadline = time.monotonic() + grace
        with self._cond:
            while self._attempts and time.monotonic() < deadline:
                self._cond.wait(min(0.1, max(0.0, deadline - time.monotonic())))
            left = len(self._attempts)
        if left:
            logger.error(
                "%d job(s) still running after the %g s grace period; their leases will lapse "
                "and they will be delivered again",
                left,
                grace,
            )
        return left == 0

    def _held(self) -> int:
        return self._busy + self._committing
