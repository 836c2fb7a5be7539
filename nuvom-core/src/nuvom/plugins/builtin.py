"""The built-in memory and file backends, registered through the same hooks as any plugin."""

from __future__ import annotations

from ..backends.file_queue import FileQueue
from ..backends.file_results import FileResults
from ..backends.memory import MemoryQueue, MemoryResults
from ..config import Settings
from .hookspecs import BackendFactory, hookimpl


def _file_queue(settings: Settings) -> FileQueue:
    return FileQueue(settings.data_dir / "queue", fsync=settings.file_fsync)


def _file_results(settings: Settings) -> FileResults:
    return FileResults(settings.data_dir / "results", fsync=settings.file_fsync)


@hookimpl
def nuvom_queue_backends() -> dict[str, BackendFactory]:
    return {"memory": lambda settings: MemoryQueue(), "file": _file_queue}


@hookimpl
def nuvom_result_backends() -> dict[str, BackendFactory]:
    return {"memory": lambda settings: MemoryResults(), "file": _file_results}
