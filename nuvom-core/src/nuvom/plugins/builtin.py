"""The built-in backends and scheduler stores, registered through the same hooks as any plugin.

Each factory imports its backend when it is first used, so loading the plugins costs nothing
for backends a process never builds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .hookspecs import BackendFactory, hookimpl

if TYPE_CHECKING:
    from ..settings import Settings


def _memory_queue(settings: Settings) -> Any:
    from ..backends.memory import MemoryQueue

    return MemoryQueue()


def _memory_results(settings: Settings) -> Any:
    from ..backends.memory import MemoryResults

    return MemoryResults()


def _memory_scheduler(settings: Settings) -> Any:
    from ..backends.memory_scheduler import MemoryScheduler

    return MemoryScheduler()


def _file_queue(settings: Settings) -> Any:
    from ..backends.file_queue import FileQueue

    return FileQueue.from_settings(settings)


def _file_results(settings: Settings) -> Any:
    from ..backends.file_results import FileResults

    return FileResults.from_settings(settings)


def _file_scheduler(settings: Settings) -> Any:
    from ..backends.file_scheduler import FileScheduler

    return FileScheduler.from_settings(settings)


@hookimpl
def nuvom_queue_backends() -> dict[str, BackendFactory]:
    return {"memory": _memory_queue, "file": _file_queue}


@hookimpl
def nuvom_result_backends() -> dict[str, BackendFactory]:
    return {"memory": _memory_results, "file": _file_results}


@hookimpl
def nuvom_scheduler_backends() -> dict[str, BackendFactory]:
    return {"memory": _memory_scheduler, "file": _file_scheduler}
