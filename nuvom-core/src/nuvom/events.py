"""The job events monitoring plugins hear, each built and sent from one place.

Every sender, the worker and eager mode call these, so a plugin sees the same events whichever
path a job takes. An event with no listener costs one lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

from .plugins.manager import has_listeners, notify
from .record import JobRecord, JobStatus


def job_enqueued(records: Sequence[JobRecord]) -> None:
    """The queued ``records`` are stored and their jobs are in the queue."""
    if has_listeners("nuvom_job_enqueued"):
        for record in records:
            notify("nuvom_job_enqueued", job=record)


def job_started(record: JobRecord) -> None:
    """An attempt of the job of ``record`` (its running record) has started."""
    if has_listeners("nuvom_job_started"):
        notify("nuvom_job_started", job=record)


def job_finished(record: JobRecord) -> None:
    """An attempt's outcome, ``record``, is stored."""
    if not has_listeners("nuvom_job_finished"):
        return
    ran = (record.finished_at or 0.0) - record.started_at if record.started_at is not None else 0.0
    notify(
        "nuvom_job_finished",
        job=record,
        status=record.status,
        duration_secs=max(0.0, ran),
        error=record.error if record.status is not JobStatus.SUCCESS else None,
    )
