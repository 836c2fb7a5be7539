"""Registers the ``sqlite`` queue and result backends through the hooks (entry point group ``nuvom``)."""

from __future__ import annotations

from nuvom.plugins import hookimpl
from nuvom.plugins.hookspecs import BackendFactory

from .queue import SqliteQueue
from .results import SqliteResults


@hookimpl
def nuvom_queue_backends() -> dict[str, BackendFactory]:
    return {"sqlite": SqliteQueue.from_settings}


@hookimpl
def nuvom_result_backends() -> dict[str, BackendFactory]:
    return {"sqlite": SqliteResults.from_settings}
