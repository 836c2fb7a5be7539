"""Notification hooks by typed name (``notify(Event.JOB_STARTED, job=record)``), and the job events.

A misspelt event is a type error, not a hook that silently never fires. Each plugin's
implementation is called on its own, in pluggy's order (``tryfirst``/``trylast``; wrappers are
refused at registration): one that raises is logged with the plugin's name and the next plugin
is still called; the caller (a job, a worker) never sees the error.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from typing import Any, Final

from ..record import JobRecord, JobStatus
from .manager import Listener, listeners

logger = logging.getLogger(__name__)


class Event(str, enum.Enum):
    """The notification hooks (``nuvom.plugins.hookspecs``), by the name of their hookspec."""

    #: A worker process is ready to claim jobs (``worker=``).
    WORKER_STARTED = "nuvom_worker_started"
    #: A worker process stops claiming (``worker=``).
    WORKER_STOPPING = "nuvom_worker_stopping"
    #: A scheduler loop runs (``scheduler=``).
    SCHEDULER_STARTED = "nuvom_scheduler_started"
    #: A scheduler loop stops (``scheduler=``).
    SCHEDULER_STOPPING = "nuvom_scheduler_stopping"
    #: A job was stored in the queue (``job=``).
    JOB_ENQUEUED = "nuvom_job_enqueued"
    #: An attempt is about to run (``job=``).
    JOB_STARTED = "nuvom_job_started"
    #: An attempt's outcome is stored (``job=, status=, duration_secs=, error=``).
    JOB_FINISHED = "nuvom_job_finished"


def notify(event: Event, **kwargs: Any) -> None:
    """Call ``event``'s hook on every plugin, each on its own; one that raises is logged, never raised."""
    _deliver(event.value, listeners(event.value), kwargs)


def _deliver(hook: str, found: list[Listener], kwargs: dict[str, Any]) -> None:
    for listener in found:
        try:
            listener.function(*[kwargs[name] for name in listener.argnames])
        except Exception:
            logger.exception("plugin %r raised in %s; carrying on", listener.plugin, hook)


def has_listeners(event: Event) -> bool:
    """True when some plugin implements ``event``: callers skip building its arguments otherwise."""
    return bool(listeners(event.value))


# -- the job events, each built and sent from one place -----------------------------------------
# Every sender, the worker and eager mode call these, so a plugin hears the same events whichever
# path a job takes. They run once per job: an event no plugin implements costs one dict lookup
# (pluggy lists only the implementations there are), and nothing is built for it.

_JOB_ENQUEUED: Final = Event.JOB_ENQUEUED.value
_JOB_STARTED: Final = Event.JOB_STARTED.value
_JOB_FINISHED: Final = Event.JOB_FINISHED.value


def job_enqueued(records: Sequence[JobRecord]) -> None:
    """The queued ``records`` are stored and their jobs are in the queue."""
    found = listeners(_JOB_ENQUEUED)
    if found:
        for record in records:
            _deliver(_JOB_ENQUEUED, found, {"job": record})


def job_started(record: JobRecord) -> None:
    """An attempt of the job of ``record`` (its running record) has started."""
    found = listeners(_JOB_STARTED)
    if found:
        _deliver(_JOB_STARTED, found, {"job": record})


def job_finished(record: JobRecord) -> None:
    """An attempt's outcome, ``record``, is stored."""
    found = listeners(_JOB_FINISHED)
    if not found:
        return
    ran = (record.finished_at or 0.0) - record.started_at if record.started_at is not None else 0.0
    error = record.error if record.status is not JobStatus.SUCCESS else None
    kwargs = {"job": record, "status": record.status, "duration_secs": max(0.0, ran), "error": error}
    _deliver(_JOB_FINISHED, found, kwargs)
