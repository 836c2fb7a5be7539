"""Eager mode: ``.delay()`` runs the job inline, through the same encode/decode and record path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..cancellation import CurrentJob
from ..config import get_settings
from ..message import JobMessage
from ..plugins.events import Event, notify
from ..record import JobRecord, JobStatus
from ..runtime import get_results
from ..task import Task
from ..worker.execution import Effective, run_attempt, running_record, settle
from ..worker.worker import finished
from ..workflows.continuation import continue_workflow

EAGER_WORKER_ID = "eager"


def run_inline(task: Task[Any, Any], message: JobMessage) -> JobRecord:
    """Run every attempt of ``message`` now (retries without their delays) and store the outcome.

    Then the follow-ups its links ask for (callbacks, the next chain step) run the same way.
    """
    message = JobMessage.decode(message.encode())  # the same round trip a worker sees
    eff = Effective.of(task, message, get_settings())
    record: JobRecord | None = None
    attempt = 0
    while True:
        attempt += 1
        record = running_record(record, message, attempt, eff.max_retries, EAGER_WORKER_ID)
        notify(Event.JOB_STARTED, job=record)
        job = CurrentJob(message.id, message.task_name, attempt)
        record = settle(record, run_attempt(task, message, eff.store_result, job=job), eff)
        get_results().save(record)
        finished(record)
        if record.status is not JobStatus.RETRYING:
            continue_workflow(record, None, get_results())
            return record


@contextmanager
def eager() -> Iterator[None]:
    """Within the block, ``.delay()`` and ``.map()`` run jobs inline and store their results."""
    settings = get_settings()
    before = settings.eager
    settings.eager = True
    try:
        yield
    finally:
        settings.eager = before
