"""Registers the ``sqlite`` queue, result and scheduler backends (entry point group ``nuvom``)."""

from __future__ import annotations

from nuvom.config import PluginSettings
from nuvom.plugins import hookimpl
from nuvom.plugins.hookspecs import BackendFactory

from .queue import SqliteQueue
from .results import SqliteResults
from .scheduler import SqliteScheduler
from .settings import SqliteSettings


@hookimpl
def nuvom_plugin_settings() -> type[PluginSettings]:
    return SqliteSettings


@hookimpl
def nuvom_queue_backends() -> dict[str, BackendFactory]:
    return {"sqlite": SqliteQueue.from_settings}


@hookimpl
def nuvom_result_backends() -> dict[str, BackendFactory]:
    return {"sqlite": SqliteResults.from_settings}


@hookimpl
def nuvom_scheduler_backends() -> dict[str, BackendFactory]:
    return {"sqlite": SqliteScheduler.from_settings}
