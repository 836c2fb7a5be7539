"""Registers the ``redis`` queue, result and scheduler backends through the same hooks as any plugin."""

from __future__ import annotations

from typing import Any

from nuvom.config import PluginSettings
from nuvom.plugins.hookspecs import BackendFactory, hookimpl

from .persistence import warn_if_volatile
from .queue import RedisQueue
from .results import RedisResults
from .scheduler import RedisScheduler
from .settings import RedisSettings


@hookimpl
def nuvom_plugin_settings() -> type[PluginSettings]:
    return RedisSettings


@hookimpl
def nuvom_queue_backends() -> dict[str, BackendFactory]:
    return {"redis": RedisQueue.from_settings}


@hookimpl
def nuvom_result_backends() -> dict[str, BackendFactory]:
    return {"redis": RedisResults.from_settings}


@hookimpl
def nuvom_scheduler_backends() -> dict[str, BackendFactory]:
    return {"redis": RedisScheduler.from_settings}


@hookimpl
def nuvom_worker_started(worker: Any) -> None:
    """A worker on a Redis queue warns once if the server would lose its jobs on a restart."""
    if isinstance(worker.queue, RedisQueue):
        warn_if_volatile(worker.queue.connection)
