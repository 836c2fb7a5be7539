"""Registers the ``redis`` queue, result and scheduler backends through the same hooks as any plugin."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from nuvom.backends import QueueBackend, ResultBackend, SchedulerBackend
from nuvom.plugins.hookspecs import BackendFactory, hookimpl

if TYPE_CHECKING:
    from nuvom.config import PluginSettings, Settings

# Every process that loads plugins loads this module, so redis-py is imported only when a Redis
# backend is built (or a worker runs on one), never just to offer the backends.


def _queue(settings: Settings) -> QueueBackend:
    from .queue import RedisQueue

    return RedisQueue.from_settings(settings)


def _results(settings: Settings) -> ResultBackend:
    from .results import RedisResults

    return RedisResults.from_settings(settings)


def _scheduler(settings: Settings) -> SchedulerBackend:
    from .scheduler import RedisScheduler

    return RedisScheduler.from_settings(settings)


@hookimpl
def nuvom_plugin_settings() -> type[PluginSettings]:
    from .settings import RedisSettings

    return RedisSettings


@hookimpl
def nuvom_queue_backends() -> dict[str, BackendFactory]:
    return {"redis": _queue}


@hookimpl
def nuvom_result_backends() -> dict[str, BackendFactory]:
    return {"redis": _results}


@hookimpl
def nuvom_scheduler_backends() -> dict[str, BackendFactory]:
    return {"redis": _scheduler}


@hookimpl
def nuvom_worker_started(worker: Any) -> None:
    """A worker on a Redis queue warns once if the server would lose its jobs on a restart."""
    queues = sys.modules.get(f"{__package__}.queue")  # not imported: the queue is not a Redis one
    if queues is not None and isinstance(worker.queue, queues.RedisQueue):
        from .persistence import warn_if_volatile

        warn_if_volatile(worker.queue.connection)
