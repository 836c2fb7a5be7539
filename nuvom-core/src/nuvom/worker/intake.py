"""What becomes of a claimed job: read its message and its stored record, then run it or not.

A claimed job is settled without running when its payload cannot be read, its record cannot be
read, it was cancelled, its outcome is already stored (a worker stopped before acknowledging
it), it is poison (see ``docs/worker.md``, "Poison jobs"), or its task is unknown here. A job
over its task's rate or concurrency limit is deferred (see :mod:`.admission`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..backends import Lease, QueueBackend, ResultBackend
from ..errors import CorruptEntry, TaskNotFound
from ..lifecycle import queued_record, unreadable_record
from ..log import name_job_task
from ..message import JobMessage
from ..options import Effective, TaskOptions
from ..plugins.events import job_finished
from ..record import ErrorInfo, JobRecord, JobStatus
from ..registry import RegisteredTask, TaskRegistry, is_sensitive
from ..unconfirmed import taken_as_made
from ..workflows.continuation import continue_workflow
from .admission import FlowControl
from .attempt import Attempt
from .outcomes import Outcomes

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Accepted:
    """A claimed job that is to run now."""

    task: RegisteredTask
    message: JobMessage
    #: Its record as read at the claim (``None``: none is stored).
    existing: JobRecord | None
    #: Its options, the call's over the task's over the settings.
    eff: Effective
    #: It must run alone: it was running each time its last holders stopped.
    alone: bool
    #: When a limit granted its start (epoch seconds); ``None`` when no limit applies.
    started_at: float | None


class Intake:
    """Decides, for each claimed job of one worker, whether it runs now."""

    def __init__(
        self,
        settings: Settings,
        queue: QueueBackend,
        results: ResultBackend,
        tasks: TaskRegistry,
        outcomes: Outcomes,
        flow: FlowControl,
    ) -> None:
        self._settings = settings
        self._max_deliveries = settings.max_deliveries
        self._queue = queue
        self._results = results
        self._tasks = tasks
        self._outcomes = outcomes
        self._flow = flow
        #: By task name: the options of its jobs that override none (with the task's options they
        #: were made from), built once rather than for every job.
        self._plain: dict[str, tuple[TaskOptions, Effective]] = {}

    def receive(self, attempt: Attempt) -> Accepted | None:
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
            existing = self.stored_record(lease, message)
        except CorruptEntry as exc:  # settled now: read again, it would fail at every delivery
            error = ErrorInfo("CorruptEntry", f"the job's stored record cannot be read: {exc.reason}")
            unread = queued_record(message, 0, sensitive=is_sensitive(message.task_name))
            self._outcomes.fail_unrun(attempt, unread, error)
            return None
        return self.decide(attempt, message, existing)

    def stored_record(self, lease: Lease, message: JobMessage) -> JobRecord | None:
        """The claimed job's record: read with the claim while its lease holds, else read now.

        A cancel since the claim is seen while the job runs. ``None`` when no record is stored.

        Raises:
            CorruptEntry: the stored record cannot be read.
        """
        claimed = lease.record
        fresh = claimed is not None and claimed.id == message.id and time.time() < lease.expires_at
        return claimed if fresh else self._results.get_full(message.id)

    def decide(self, attempt: Attempt, message: JobMessage, existing: JobRecord | None) -> Accepted | None:
        """Run the claimed job now, or settle or defer it here and return ``None``."""
        lease = attempt.lease
        if existing is not None and existing.status is JobStatus.CANCELLED:
            if existing.finished_at is None:  # cancelled while a worker that has died ran it
                with taken_as_made(f"job {message.id}: cancelled record"):
                    self._results.save(existing.replace(finished_at=time.time()))
            with taken_as_made(f"job {message.id}: ack"):
                self._queue.ack(lease)
            job_finished(existing)  # monitoring counts the cancel, though the job never ran here
            logger.info("job %s (%s) was cancelled; not run", message.id, message.task_name)
            return None
        if existing is not None and existing.status.is_terminal:
            # Its outcome was stored by a worker that stopped before acknowledging it: finish
            # what that worker left (follow-ups are sent once), without running it again.
            continue_workflow(existing, self._queue, self._results)
            with taken_as_made(f"job {message.id}: ack"):
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
        eff = self._effective(task, message)
        admission = self._flow.admit(task, message, lease, existing)
        if admission.error is not None:
            unrun = existing or queued_record(message, eff.max_retries)
            self._outcomes.fail_unrun(attempt, unrun, admission.error)
            return None
        if not admission.granted:
            return None  # deferred: back in the queue, its record says which limit it waits for
        return Accepted(task, message, existing, eff, alone, admission.started_at)

    def _effective(self, task: RegisteredTask, message: JobMessage) -> Effective:
        """The job's options: the call's over the task's over the settings."""
        if message.retries is not None or message.timeout_secs is not None:
            return Effective.of(task.opts, message, self._settings)
        plain = self._plain.get(task.name)
        if plain is None or plain[0] is not task.opts:
            plain = (task.opts, Effective.of(task.opts, message, self._settings))
            self._plain[task.name] = plain
        return plain[1]

    def _suspected(self, lease: Lease, existing: JobRecord | None) -> bool:
        """Past ``NUVOM_MAX_DELIVERIES``, was the job running when its last holder stopped?

        A job that was only held (waiting for a slot) when its worker died is not suspected: it
        runs as usual. A suspected job runs alone; if its worker stops then too, it is poison.
        """
        over = lease.deliveries > self._max_deliveries
        return over and existing is not None and existing.status is JobStatus.RUNNING
