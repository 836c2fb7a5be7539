"""The scheduler loop: claim due fires, send each as a job with a deterministic id, move on.

Exactly-once per fire, however many schedulers run: ``claim_due`` hands a fire to one scheduler
at a time (a lease), the job id is ``<schedule id>:<fire time in ms>``, and its record is
created only if that id is free (atomically where the result store offers ``save_new``), so a
fire whose job exists (a scheduler died after sending it, before marking the fire) is only
marked, not sent again. A scheduler that dies before sending leaves the claim to lapse, and
another scheduler sends the fire then.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from ..backends.base import SchedulerBackend
from ..config import get_settings
from ..lifecycle import queued_record
from ..message import JobMessage
from ..plugins.events import Event, notify
from ..record import JobStatus
from ..registry import registry
from ..runtime import get_results
from ..sending import save_new, send
from ..unconfirmed import taken_as_made
from .record import ScheduleRecord
from .timing import next_run_after

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

#: Fires claimed per store round trip.
_CLAIM_LIMIT = 100
#: How long a claim keeps other schedulers off a fire. Sending is idempotent (deterministic job
#: ids, records created only if the id is free), so the claim only saves duplicate work, and a
#: short one means a scheduler that dies holding it delays its fires by seconds, not minutes.
CLAIM_SECS = 5.0
#: Fires missed by less than this are still sent, late; older ones are coalesced into one.
MISFIRE_GRACE_SECS = 60.0


def fire_job_id(schedule_id: str, fire_ts: float) -> str:
    """The id of the job sent for ``schedule_id``'s fire at ``fire_ts``: the same in every scheduler."""
    return f"{schedule_id}:{round(fire_ts * 1000)}"


def send_fire(schedule: ScheduleRecord, now: float) -> bool:
    """Send the fire ``schedule.next_run`` as a job unless it was taken already; ``True`` if sent."""
    message = JobMessage(
        id=fire_job_id(schedule.id, schedule.next_run),
        task_name=schedule.task_name,
        args=schedule.args,
        kwargs=schedule.kwargs,
        queue=schedule.queue,
        priority=schedule.priority,
        created_at=now,
        retries=schedule.retries,
        timeout_secs=schedule.timeout_secs,
    )
    task = registry.get(schedule.task_name)
    default_retries = task.opts.retries if task is not None else 0
    record = queued_record(
        message,
        schedule.retries if schedule.retries is not None else default_retries,
        sensitive=task is not None and task.opts.sensitive,
    )
    results = get_results()
    # Sent, though not confirmed durable: the fire is marked, never sent again for it.
    fire = f"schedule {schedule.id}: job {record.id}"
    if save_new(results, record):
        with taken_as_made(fire):
            send([message], [record], stored=[record])
        return True
    # Sent before, by a scheduler that died before marking the fire. If its job is still queued,
    # that scheduler may have died between storing the record and queueing the job: queue it
    # (again). A worker never runs a copy whose outcome is stored, so a fire is never lost, and
    # runs twice only if both copies are claimed before either ends.
    existing = results.get_full(record.id)
    if existing is None or existing.status is not JobStatus.QUEUED:
        return False
    with taken_as_made(fire):
        send([message], [existing], stored=[existing])
    return True


class Scheduler:
    """Dispatches the due fires of one scheduler store until stopped."""

    def __init__(
        self,
        store: SchedulerBackend,
        *,
        poll_secs: float = 1.0,
        lease_secs: float = CLAIM_SECS,
        misfire_grace_secs: float = MISFIRE_GRACE_SECS,
        settings: Settings | None = None,
    ) -> None:
        self.store = store
        self.misfire_grace_secs = misfire_grace_secs
        self.settings = settings or get_settings()
        self.poll_secs = poll_secs
        self.lease_secs = lease_secs
        self.sent = 0
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Stop after the current round (thread-safe)."""
        self._stopping.set()

    def run(self) -> None:
        """Dispatch until :meth:`stop`; a failing round is logged and retried after a poll."""
        logger.info("scheduler started: polling every %g s", self.poll_secs)
        self.warn_unknown_tasks()
        notify(Event.SCHEDULER_STARTED, scheduler=self)
        try:
            while not self._stopping.is_set():
                try:
                    claimed = self.run_once()
                except Exception:
                    logger.exception("scheduler round failed; retrying in %g s", self.poll_secs)
                    claimed = 0
                if claimed < _CLAIM_LIMIT:
                    self._stopping.wait(self.poll_secs)
        finally:
            notify(Event.SCHEDULER_STOPPING, scheduler=self)
        logger.info("scheduler stopped after sending %d jobs", self.sent)

    def run_once(self, now: float | None = None) -> int:
        """Claim and dispatch the fires due at ``now``; return how many were claimed."""
        now = time.time() if now is None else now
        due = self.store.claim_due(now, _CLAIM_LIMIT, lease_secs=self.lease_secs)
        for schedule in due:
            try:
                self.dispatch(schedule, now)
            except Exception:
                logger.exception(
                    "schedule %s: sending its fire failed; it is retried when the claim lapses", schedule.id
                )
        return len(due)

    def dispatch(self, schedule: ScheduleRecord, now: float) -> None:
        """Send a claimed fire and mark it; then any fires since that are due and within the grace.

        Fires missed by less than ``misfire_grace_secs`` (a scheduler died holding the claim, or
        every scheduler was down briefly) are each sent, late; older ones are coalesced into the
        fire just sent. Each fire is marked on its own, so a crash midway loses none.
        """
        while True:
            fire_ts = schedule.next_run
            sent = send_fire(schedule, now)
            self.sent += sent
            following = next_run_after(schedule, fire_ts, now - self.misfire_grace_secs)
            applied = self.store.mark_fired(schedule.id, fire_ts, following)
            logger.info(
                "schedule %s (%s): %s job %s; next run %s",
                schedule.id,
                schedule.task_name,
                "sent" if sent else "already sent",
                fire_job_id(schedule.id, fire_ts),
                "none"
                if following is None
                else time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(following)),
            )
            if not applied or following is None or following > now:
                return  # marked elsewhere (or replaced), finished, or not due yet
            schedule = schedule.replace(next_run=following)

    def warn_unknown_tasks(self) -> None:
        """Log schedules of tasks this process does not know (their jobs fail on the worker)."""
        for schedule in self.store.list():
            if registry.get(schedule.task_name) is None:
                logger.warning(
                    "schedule %s runs task %r, which this scheduler has not imported; "
                    "its jobs still go out, and a worker without it fails them with TaskNotFound",
                    schedule.id,
                    schedule.task_name,
                )
