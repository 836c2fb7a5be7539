"""Whether a claimed job runs: read its message and its stored record, then run it or settle it.

A claimed job is settled without running when its payload cannot be read, its record cannot be
read, it was cancelled, its outcome is already stored (a worker stopped before acknowledging
it), it is poison (see ``docs/worker.md``, "Poison jobs"), or its task is unknown here.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ..backends.base import Lease, QueueBackend, ResultBackend
from ..config import Settings
from ..errors import CorruptEntry, TaskNotFound
from ..events import job_finished
from ..lifecycle import queued_record, unreadable_record
from ..log import name_job_task
from ..message import JobMessage
from ..record import ErrorInfo, JobRecord, JobStatus
from ..registry import RegisteredTask, TaskRegistry, is_sensitive
from ..workflows.continuation import continue_workflow
from .attempt import Attempt
from .outcomes import Outcomes

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Admitted:
    """A claimed job that is to run."""

    task: RegisteredTask
    message: JobMessage
    #: Its record as stored at the claim (``None``: none is stored).
    existing: JobRecord | None
    #: It must run alone: it was running each time its last holders stopped.
    alone: bool


class Admission:
    """Decides, for each claimed job of one worker, whether it runs."""

    def __init__(
        self,
        settings: Settings,
        queue: QueueBackend,
        results: ResultBackend,
        tasks: TaskRegistry,
        outcomes: Outcomes,
    ) -> None:
        self._max_deliveries = settings.max_deliveries
        self._queue = queue
        self._results = results
        self._tasks = tasks
        self._outcomes = outcomes

    def admit(self, attempt: Attempt) -> Admitted | None:
        """Decode the claimed job and read its record; ``None`` when it was settled without running."""
        lease = attempt.lease
        try:
            message = JobMessage.decode(lease.envelope.payload)
        except CorruptEntry as exc:
            error = ErrorInfo("CorruptEntry", exc.reason)
            self._outcomes.fail_unrun(attempt, unreadable_record(lease), error)
            return None
        name_job_task(message.task_name)
        try:
            existing = self.stored_record(message)
        except CorruptEntry as exc:  # settled now: read again, it would fail at every delivery
            error = ErrorInfo("CorruptEntry", f"the job's stored record cannot be read: {exc.reason}")
            unread = queued_record(message, 0, sensitive=is_sensitive(message.task_name))
            self._outcomes.fail_unrun(attempt, unread, error)
            return None
        return self.decide(attempt, message, existing)

    def stored_record(self, message: JobMessage) -> JobRecord | None:
        """The claimed job's record as stored now; ``None`` when none is stored.

        Raises:
            CorruptEntry: the stored record cannot be read.
        """
        return self._results.get_full(message.id)

    def decide(self, attempt: Attempt, message: JobMessage, existing: JobRecord | None) -> Admitted | None:
        """Run the claimed job, or settle it here and return ``None``."""
        lease = attempt.lease
        if existing is not None and existing.status is JobStatus.CANCELLED:
            if existing.finished_at is None:  # cancelled while a worker that has died ran it
                self._results.save(existing.replace(finished_at=time.time()))
            self._queue.ack(lease)
            job_finished(existing)  # monitoring counts the cancel, though the job never ran here
            logger.info("job %s (%s) was cancelled; not run", message.id, message.task_name)
            return None
        if existing is not None and existing.status.is_terminal:
            # Its outcome was stored by a worker that stopped before acknowledging it: finish
            # what that worker left (follow-ups are sent once), without running it again.
            continue_workflow(existing, self._queue, self._results)
            self._queue.ack(lease)
            logger.info(
                "job %s (%s) was already %s; not run again",
                message.id,
                message.task_name,
                existing.status.value,
            )
            return None
        alone = self._suspected(lease, existing)
        if alone and existing is not None and existing.isolated:
            reason = (
                f"its worker stopped while it ran alone, after {lease.deliveries} deliveries to "
                f"workers that stopped while it ran (NUVOM_MAX_DELIVERIES="
                f"{self._max_deliveries}); failed as a poison job"
            )
            self._outcomes.fail_unrun(attempt, existing, ErrorInfo("PoisonJob", reason))
            return None
        task = self._tasks.get(message.task_name)
        if task is None:
            error = ErrorInfo("TaskNotFound", str(TaskNotFound(message.task_name)))
            self._outcomes.fail_unrun(attempt, existing or queued_record(message, 0), error)
            return None
        return Admitted(task, message, existing, alone)

    def _suspected(self, lease: Lease, existing: JobRecord | None) -> bool:
        """Past ``NUVOM_MAX_DELIVERIES``, was the job running when its last holder stopped?

        A job that was only held (waiting for a slot) when its worker died is not suspected: it
        runs as usual. A suspected job runs alone; if its worker stops then too, it is poison.
        """
        over = lease.deliveries > self._max_deliveries
        return over and existing is not None and existing.status is JobStatus.RUNNING
