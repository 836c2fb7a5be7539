"""The dispatcher: claims as many jobs as the worker has room for and hands them to its job threads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..backends import Lease, QueueBackend
from .attempt import Attempt
from .holdings import Holdings

logger = logging.getLogger(__name__)

#: How long one claim blocks at most for the first due job.
_CLAIM_WAIT_SECS = 0.5
#: The pause after a claim that failed (e.g. the queue's server is down).
_CLAIM_RETRY_SECS = 1.0


class Dispatcher:
    """The loop that claims jobs for one worker until it stops (run by :meth:`Worker.run`).

    With ``burst``, it stops the worker once nothing is due and nothing runs.
    """

    def __init__(
        self,
        queue: QueueBackend,
        queues: tuple[str, ...],
        holdings: Holdings,
        run: Callable[[Attempt], None],
        *,
        batch_size: int,
        lease_secs: float,
        stopping: threading.Event,
        stop: Callable[[], None],
        burst: bool,
        worker_id: str,
    ) -> None:
        self._queue = queue
        self._queues = queues
        self._holdings = holdings
        self._run = run
        self._batch_size = batch_size
        self._lease_secs = lease_secs
        self._stopping = stopping
        self._stop = stop
        self._burst = burst
        self._worker_id = worker_id

    def run(self) -> None:
        """Claim and hand over jobs until ``stopping`` is set."""
        while not self._stopping.is_set():
            room, idle = self._holdings.wait_for_room(self._stopping)
            if self._stopping.is_set():
                return
            try:
                leases = self._claim(min(self._batch_size, room))
            except Exception:
                logger.exception("claiming jobs failed; trying again in %g s", _CLAIM_RETRY_SECS)
                self._stopping.wait(_CLAIM_RETRY_SECS)
                continue
            for lease in leases:
                self._run(self._holdings.hold(lease))
            if not leases and self._burst and idle:
                logger.info("worker %s: nothing is due and nothing runs; stopping (burst)", self._worker_id)
                self._stop()

    def _claim(self, wanted: int) -> list[Lease]:
        return self._queue.pop_batch(
            wanted, queues=self._queues, timeout=_CLAIM_WAIT_SECS, lease_secs=self._lease_secs
        )
