"""Notification hooks by typed name: ``notify(Event.JOB_STARTED, job=record)``.

A misspelt event is a type error, not a hook that silently never fires. Each plugin's
implementation is called through pluggy on its own: one that raises is logged with the plugin's
name and the next plugin is still called; the caller (a job, a worker) never sees the error.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from .manager import plugin_callers

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
    for plugin, caller in plugin_callers(event.value):
        try:
            caller(**kwargs)
        except Exception:
            logger.exception("plugin %r raised in %s; carrying on", plugin, event.value)


def has_listeners(event: Event) -> bool:
    """True when some plugin implements ``event``: callers skip building its arguments otherwise."""
    return bool(plugin_callers(event.value))
