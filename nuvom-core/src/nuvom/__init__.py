"""Nuvom: a plugin-first background task queue. ``@task``, ``.delay()``, a worker, no server needed."""

from typing import TYPE_CHECKING

from .cancellation import CurrentJob as CurrentJob
from .cancellation import current_job as current_job
from .config import get_settings as get_settings
from .errors import ArgumentsTooLarge as ArgumentsTooLarge
from .errors import JobCancelled as JobCancelled
from .errors import JobFailed as JobFailed
from .errors import NuvomError as NuvomError
from .errors import Retry as Retry
from .errors import SerializationError as SerializationError
from .inline import Inline as _Inline
from .job import Job as Job
from .job import get_job as get_job
from .lazy import lazy_exports as _lazy_exports
from .record import JobStatus as JobStatus
from .runtime import set_inline_dispatcher as _set_inline_dispatcher
from .scheduling.api import Schedule as Schedule
from .scheduling.api import get_schedule as get_schedule
from .task import Task as Task
from .task import task as task
from .version import __version__ as __version__
from .workflows import Signature as Signature
from .workflows import chain as chain
from .workflows import get_chain as get_chain
from .workflows import get_group as get_group
from .workflows import group as group

# Eager mode's dispatcher: the runtime holds it, so the send path never imports what runs jobs.
_set_inline_dispatcher(_Inline())
if TYPE_CHECKING:
    from .settings import Settings as Settings

__all__ = [
    "ArgumentsTooLarge",
    "CurrentJob",
    "Job",
    "JobCancelled",
    "JobFailed",
    "JobStatus",
    "NuvomError",
    "Retry",
    "Schedule",
    "SerializationError",
    "Settings",
    "Signature",
    "Task",
    "__version__",
    "chain",
    "current_job",
    "get_chain",
    "get_group",
    "get_job",
    "get_schedule",
    "get_settings",
    "group",
    "task",
]


#: ``Settings``, imported on first use: pydantic-settings is not loaded by ``import nuvom``.
__getattr__ = _lazy_exports(__name__, {"Settings": ".settings"})
