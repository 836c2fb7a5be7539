"""The worker's monitor thread: it watches the jobs the worker holds, and tidies up now and then.

Every tick (50 ms) it looks at each running attempt: it stores the "running" record of one that
has run past 50 ms, reads the record of a running job for a cancel, and times out an attempt
past its deadline. Less often it extends the leases of every held job (three times per lease),
with the leases of the limit slots its jobs hold, fails the records of quarantined jobs, and
purges expired results.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..backends import QueueBackend, ResultBackend
from ..record import JobStatus
from .admission import FlowControl
from .attempt import Attempt, AttemptState
from .holdings import Holdings
from .quarantine import settle_quarantined

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

_TICK_SECS = 0.05
_PURGE_EVERY_SECS = 60.0
#: How often the quarantine is read for jobs whose records still wait (see :mod:`.quarantine`).
_QUARANTINE_EVERY_SECS = 5.0
#: A job's "running" record is stored once it has run this long: most jobs finish sooner, and
#: their record goes from queued to its outcome in one write.
_PUBLISH_RUNNING_AFTER_SECS = 0.05
#: How often the record of a running job is read to see whether it was cancelled.
_CANCEL_CHECK_SECS = 0.1


class Monitor:
    """A thread that extends leases and enforces timeouts and cancels for one worker's jobs.

    ``time_out`` is called, on this thread, with each attempt moved to ``TIMED_OUT``; it settles
    the attempt and frees its slot.
    """

    def __init__(
        self,
        settings: Settings,
        queue: QueueBackend,
        results: ResultBackend,
        holdings: Holdings,
        flow: FlowControl,
        time_out: Callable[[Attempt], None],
    ) -> None:
        self._lease_secs = settings.lease_secs
        self._queue = queue
        self._results = results
        self._holdings = holdings
        self._flow = flow
        self._time_out = time_out
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nuvom-monitor", daemon=True)
        #: Quarantined job ids already looked at.
        self._quarantine_seen: set[str] = set()

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching, and wait for the thread to exit."""
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        extend_every = self._lease_secs / 3
        last_extend = last_purge = time.monotonic()
        last_quarantine = -math.inf
        while not self._done.wait(_TICK_SECS):
            now = time.monotonic()
            try:
                self._watch_running(now)
                if now - last_extend >= extend_every:
                    last_extend = now
                    self._extend_leases()
                if now - last_purge >= _PURGE_EVERY_SECS:
                    last_purge = now
                    self._results.purge_expired()
                if now - last_quarantine >= _QUARANTINE_EVERY_SECS:
                    last_quarantine = now
                    settle_quarantined(self._queue, self._results, self._quarantine_seen)
            except Exception:
                logger.exception("worker monitor failed; retrying on the next tick")

    def _extend_leases(self) -> None:
        self._flow.renew()
        for attempt in self._holdings.snapshot():
            if not self._queue.extend(attempt.lease, self._lease_secs):
                logger.warning("lease of job %s was lost; another worker may run it too", attempt.lease.id)

    def _watch_running(self, now: float) -> None:
        """Store "running" for attempts past 50 ms, and time out those past their deadline."""
        for attempt in self._holdings.snapshot():
            with attempt.lock:
                if attempt.state is not AttemptState.RUNNING:
                    continue
                if not attempt.published and now - attempt.started >= _PUBLISH_RUNNING_AFTER_SECS:
                    # Under the attempt's lock, so the outcome can only be stored after this.
                    assert attempt.record is not None
                    if not self._saw_cancel(attempt, now):
                        self._results.save(attempt.record, durable=False)
                    attempt.published = True
                elif attempt.published and now - attempt.checked >= _CANCEL_CHECK_SECS:
                    self._saw_cancel(attempt, now)
                if now < attempt.deadline:
                    continue
                assert attempt.eff is not None
                if attempt.eff.timeout_policy == "ignore":
                    attempt.deadline = math.inf
                    logger.warning(
                        "job %s ran past its timeout of %g s; policy ignore lets it run on",
                        attempt.lease.id,
                        attempt.eff.timeout_secs,
                    )
                    continue
                handled = attempt.timeout_handled = threading.Event()
                attempt.move(AttemptState.TIMED_OUT)
            try:
                self._time_out(attempt)
            finally:
                handled.set()

    def _saw_cancel(self, attempt: Attempt, now: float) -> bool:
        """Read the record of a running job; if it was cancelled, tell the task.

        ``True`` when its "running" record must not be stored: it was cancelled, or it is already
        finished (this worker was stalled past its lease and another one ran it to the end).
        """
        attempt.checked = now
        if attempt.job is None or attempt.job.cancelled:
            return attempt.job is not None
        stored = self._results.get_full(attempt.lease.id)
        if stored is not None and stored.status.is_terminal and stored.status is not JobStatus.CANCELLED:
            return True
        if stored is None or stored.status is not JobStatus.CANCELLED:
            return False
        attempt.job.cancel()
        if stored.finished_at is not None:  # cancelled as queued just as it started: mark it stopping
            self._results.save(stored.replace(finished_at=None), durable=False)
        logger.info("job %s was cancelled while it ran; asking its task to stop", attempt.lease.id)
        return True
