"""Registers the ``sqlite`` queue, result and scheduler backends (entry point group ``nuvom``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nuvom.backends import QueueBackend, ResultBackend, SchedulerBackend
from nuvom.plugins import hookimpl
from nuvom.plugins.hookspecs import BackendFactory

if TYPE_CHECKING:
    from nuvom.config import PluginSettings, Settings

# Every process that loads plugins loads this module: the stores load only when one is built.


def _queue(settings: Settings) -> QueueBackend:
    from .queue import SqliteQueue

    return SqliteQueue.from_settings(settings)


def _results(settings: Settings) -> ResultBackend:
    from .results import SqliteResults

    return SqliteResults.from_settings(settings)


def _scheduler(settings: Settings) -> SchedulerBackend:
    from .scheduler import SqliteScheduler

    return SqliteScheduler.from_settings(settings)


@hookimpl
def nuvom_plugin_settings() -> type[PluginSettings]:
    from .settings import SqliteSettings

    return SqliteSettings


@hookimpl
def nuvom_queue_backends() -> dict[str, BackendFactory]:
    return {"sqlite": _queue}


@hookimpl
def nuvom_result_backends() -> dict[str, BackendFactory]:
    return {"sqlite": _results}


@hookimpl
def nuvom_scheduler_backends() -> dict[str, BackendFactory]:
    return {"sqlite": _scheduler}
