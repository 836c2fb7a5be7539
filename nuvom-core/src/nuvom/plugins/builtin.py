"""The built-in backends and scheduler stores, registered through the same hooks as any plugin."""

from __future__ import annotations

from ..backends.file_queue import FileQueue
from ..backends.file_results import FileResults
from ..backends.file_scheduler import FileScheduler
from ..backends.memory import MemoryQueue, MemoryResults
from ..backends.memory_scheduler import MemoryScheduler
from .hookspecs import BackendFactory, hookimpl


@hookimpl
def nuvom_queue_backends() -> dict[str, BackendFactory]:
    return {"memory": lambda settings: MemoryQueue(), "file": FileQueue.from_settings}


@hookimpl
def nuvom_result_backends() -> dict[str, BackendFactory]:
    return {"memory": lambda settings: MemoryResults(), "file": FileResults.from_settings}


@hookimpl
def nuvom_scheduler_backends() -> dict[str, BackendFactory]:
    return {"memory": lambda settings: MemoryScheduler(), "file": FileScheduler.from_settings}
