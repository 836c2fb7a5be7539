"""Eager mode's dispatcher: runs each job in the sending thread instead of queueing it.

The runtime holds it (``nuvom`` installs it on import) and the send path hands it the jobs
while eager mode is on (``NUVOM_EAGER=true`` or ``nuvom.testing.eager()``), the way a test
broker stands in for a real one. A job takes the worker's path minus the queue: the same
encoding round trip, attempt runner, record transitions, events and workflow continuation.
"""

from __future__ import annotations

from collections.abc import Sequence

from .cancellation import CurrentJob
from .config import get_settings
from .errors import TaskNotFound
from .execution import run_attempt
from .lifecycle import running_record, settle
from .message import JobMessage
from .options import Effective
from .plugins.events import job_finished, job_started
from .record import JobRecord, JobStatus
from .registry import registry
from .runtime import get_results
from .workflows.continuation import continue_workflow

#: The ``worker_id`` of records written in eager mode.
EAGER_WORKER_ID = "eager"


class Inline:
    """Runs jobs now, in the calling thread: the dispatcher of eager mode."""

    def run(self, messages: Sequence[JobMessage]) -> None:
        """Run every job of ``messages`` now, in order.

        Raises:
            TaskNotFound: for a task this process does not know.
        """
        for message in messages:
            run_inline(message)


def run_inline(message: JobMessage) -> JobRecord:
    """Run every attempt of ``message`` now (retries without their delays) and store the outcome.

    Then the follow-ups its links ask for (callbacks, the next chain step) are sent, and so run
    the same way.

    Raises:
        TaskNotFound: for a task this process does not know.
    """
    task = registry.get(message.task_name)
    if task is None:
        raise TaskNotFound(message.task_name)
    message = JobMessage.decode(message.encode())  # the same round trip a worker sees
    eff = Effective.of(task.opts, message, get_settings())
    results = get_results()
    record: JobRecord | None = None
    attempt = 0
    while True:
        attempt += 1
        record = running_record(
            record, message, attempt, eff.max_retries, EAGER_WORKER_ID, sensitive=task.opts.sensitive
        )
        job_started(record)
        job = CurrentJob(message.id, message.task_name, attempt)
        record = settle(record, run_attempt(task, message, eff.store_result, job=job), eff)
        results.save(record)
        job_finished(record)
        if record.status is not JobStatus.RETRYING:
            continue_workflow(record, None, results)
            return record
