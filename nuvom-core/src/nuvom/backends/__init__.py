"""Backend interfaces and the built-in backends."""

from .base import BaseQueue as BaseQueue
from .base import BaseResults as BaseResults
from .base import Capability as Capability
from .base import CompletingQueue as CompletingQueue
from .base import Completion as Completion
from .base import CreatingResults as CreatingResults
from .base import Envelope as Envelope
from .base import Lease as Lease
from .base import PurgingQueue as PurgingQueue
from .base import QueueBackend as QueueBackend
from .base import QueueStats as QueueStats
from .base import RecordingQueue as RecordingQueue
from .base import ResultBackend as ResultBackend
from .base import SchedulerBackend as SchedulerBackend
from .base import WorkerInfo as WorkerInfo
from .base import WorkerRegistry as WorkerRegistry

__all__ = [
    "BaseQueue",
    "BaseResults",
    "Capability",
    "CompletingQueue",
    "Completion",
    "CreatingResults",
    "Envelope",
    "Lease",
    "PurgingQueue",
    "QueueBackend",
    "QueueStats",
    "RecordingQueue",
    "ResultBackend",
    "SchedulerBackend",
    "WorkerInfo",
    "WorkerRegistry",
]
