"""The end of a claimed job's path: its final record stored, then the job acknowledged, then released.

Three ways lead here: an attempt that returned (:meth:`Outcomes.commit`), a job settled without
running (:meth:`Outcomes.fail_unrun`), and an attempt the monitor timed out
(:meth:`Outcomes.store_timeout`). At-least-once holds on each: a job is acknowledged only after
its outcome is stored, and a job whose outcome could not be stored is delivered again.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import sys
import traceback

from ..backends import Completion, QueueBackend, ResultBackend
from ..errors import JobTimeout
from ..execution import run_hook
from ..lifecycle import Outcome, failed_record, settle
from ..plugins.events import job_finished
from ..record import ErrorInfo, JobRecord, JobStatus
from ..unconfirmed import taken_as_made
from ..workflows.continuation import continue_workflow
from .attempt import Attempt
from .committer import Commit, Committer, OutcomeStore, Stored, acknowledge
from .faults import fault
from .holdings import Holdings

logger = logging.getLogger(__name__)


class Outcomes:
    """Stores the outcomes of one worker's attempts and acknowledges their jobs.

    While :meth:`start`-ed, outcomes go to a :class:`~.committer.Committer` thread that stores
    them in batches, and the job's slot is free at once; otherwise (draining) each is stored here.
    """

    def __init__(self, queue: QueueBackend, results: ResultBackend, holdings: Holdings) -> None:
        self._queue = queue
        self._results = results
        self._holdings = holdings
        self._store = OutcomeStore(queue, results)
        self._committer: Committer | None = None

    def start(self) -> None:
        """Store outcomes in batches on a committer thread from now on."""
        self._committer = Committer(self._store)
        self._committer.start()

    def stop(self) -> None:
        """Store what was handed over (what fails is delivered again); then store each at once."""
        if self._committer is not None:
            self._committer.stop()
            self._committer = None

    def commit(self, attempt: Attempt, record: JobRecord) -> None:
        """Store the outcome, then ack or nack: through the committer when it runs, else now.

        Handing over frees the job's slot at once; the lease stays held (and extended) until
        the outcome is stored and the job acknowledged. A finished job with workflow links is
        stored, continued and acknowledged here, in that order (see :meth:`_commit_linked`).
        """
        fault("completing")
        if record.links is not None and record.status.is_terminal:
            self._commit_linked(attempt, record)
            return
        if self._committer is None:
            (stored,) = self._store.store([Completion(attempt.lease, record)])
            attempt.handed_over = True
            self._committed(attempt, record, stored, slot=True)
            return
        attempt.handed_over = True
        self._holdings.hand_over()
        # Run by the committer thread in this job's logging context.
        committed = functools.partial(self._committed, attempt, record, slot=False)
        then = functools.partial(contextvars.copy_context().run, committed)
        self._committer.submit(Commit(record, attempt.lease, then))

    def fail_unrun(self, attempt: Attempt, record: JobRecord, error: ErrorInfo) -> None:
        """Fail a job that could not run (unreadable, unknown task, poison) with ``error``."""
        logger.error("job %s failed without running: %s: %s", attempt.lease.id, error.type, error.message)
        self.commit(attempt, failed_record(record, error))

    def store_timeout(self, attempt: Attempt) -> None:
        """Store the outcome of an attempt past its deadline: failed, or retrying under policy retry.

        A job to retry is nacked (at ``attempt.retry_at``) by its thread once the attempt exits,
        so that a retry never runs while the timed-out attempt still does; any other is
        acknowledged here.
        """
        assert attempt.record is not None and attempt.eff is not None and attempt.task is not None
        exc = JobTimeout(attempt.eff.timeout_secs)
        stack = sys._current_frames().get(attempt.thread_id or 0)
        where = "".join(traceback.format_stack(stack)) if stack is not None else ""
        error = ErrorInfo("JobTimeout", str(exc), where)
        run_hook(attempt.task, attempt.task.opts.on_error, exc)
        if attempt.eff.timeout_policy == "retry":
            record = settle(attempt.record, Outcome(error=error), attempt.eff)
        else:
            record = failed_record(attempt.record, error, ttl=attempt.eff.result_ttl_secs)
        with taken_as_made(f"job {attempt.lease.id}: outcome"):
            self._results.save(record)
        if record.status is JobStatus.RETRYING:
            attempt.retry_at = record.next_retry_at
        else:
            try:
                continue_workflow(record, self._queue, self._results)
                with taken_as_made(f"job {attempt.lease.id}: ack"):
                    self._queue.ack(attempt.lease)
            except Exception:  # not acked: delivered again, and the follow-ups are sent then
                logger.exception(
                    "job %s: sending its follow-ups failed; it will be delivered again", attempt.lease.id
                )
        job_finished(record)
        logger.error(
            "job %s (%s) timed out after %g s: %s; its slot is given to the next job",
            attempt.lease.id,
            attempt.task.name,
            attempt.eff.timeout_secs,
            "retry after the attempt exits" if attempt.retry_at is not None else "failed",
        )

    def _commit_linked(self, attempt: Attempt, record: JobRecord) -> None:
        """Store, send the follow-ups, then ack.

        Never through ``complete_many``: it acks in the same step as the store, which leaves no
        point where a crash keeps the job queued until its follow-ups are sent.
        """
        try:
            with taken_as_made(f"job {attempt.lease.id}: outcome"):
                self._results.save(record)
            fault("stored")
            continue_workflow(record, self._queue, self._results)
            fault("linked")
            stored = Stored.STORED
        except Exception:
            logger.exception(
                "job %s: storing or continuing its outcome failed; it will be delivered again",
                attempt.lease.id,
            )
            stored = Stored.FAILED
        attempt.handed_over = True
        self._committed(attempt, record, stored, slot=True)

    def _committed(self, attempt: Attempt, record: JobRecord, stored: Stored, *, slot: bool) -> None:
        """Acknowledge the job by what became of its outcome, then release it."""
        try:
            if acknowledge(self._queue, attempt.lease, record, stored):
                fault("acked")
                job_finished(record)
        finally:
            attempt.leave_gate()  # one that ran alone: its neighbours may start now
            self._holdings.release(attempt, slot=slot, held=True, processed=1, committed=not slot)
