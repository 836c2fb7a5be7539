"""Backend interfaces and the built-in backends.

Every interface and data type a backend author needs is importable from here: the required
protocols and base classes (:mod:`.base`), the data they exchange (:mod:`.data`) and the optional
interfaces (:mod:`.optional`).
"""

from .base import BaseQueue as BaseQueue
from .base import BaseResults as BaseResults
from .base import QueueBackend as QueueBackend
from .base import ResultBackend as ResultBackend
from .base import SchedulerBackend as SchedulerBackend
from .data import Capability as Capability
from .data import Completion as Completion
from .data import Envelope as Envelope
from .data import Lease as Lease
from .data import Quarantined as Quarantined
from .data import QueueDepth as QueueDepth
from .data import QueueDepths as QueueDepths
from .data import QueueStats as QueueStats
from .data import WorkerInfo as WorkerInfo
from .optional import CompletingQueue as CompletingQueue
from .optional import CreatingResults as CreatingResults
from .optional import DepthQueue as DepthQueue
from .optional import NamespacedStore as NamespacedStore
from .optional import PurgingQueue as PurgingQueue
from .optional import QuarantineListing as QuarantineListing
from .optional import RecordingQueue as RecordingQueue
from .optional import WorkerRegistry as WorkerRegistry

__all__ = [
    "BaseQueue",
    "BaseResults",
    "Capability",
    "CompletingQueue",
    "Completion",
    "CreatingResults",
    "DepthQueue",
    "Envelope",
    "Lease",
    "NamespacedStore",
    "PurgingQueue",
    "QuarantineListing",
    "Quarantined",
    "QueueBackend",
    "QueueDepth",
    "QueueDepths",
    "QueueStats",
    "RecordingQueue",
    "ResultBackend",
    "SchedulerBackend",
    "WorkerInfo",
    "WorkerRegistry",
]
