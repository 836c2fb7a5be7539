"""The stored job record: status, timestamps, attempts, and the encoded result or error."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import Any

from .errors import CorruptEntry


class JobStatus(str, enum.Enum):
    """Where a job is in its life."""

    #: Waiting in the queue, due now.
    QUEUED = "queued"
    #: Waiting in the queue for its eta.
    SCHEDULED = "scheduled"
    #: An attempt is running on a worker.
    RUNNING = "running"
    #: An attempt failed; another is due at ``next_retry_at``.
    RETRYING = "retrying"
    #: Finished; the result is stored.
    SUCCESS = "success"
    #: Finished with an error after its retries.
    FAILED = "failed"
    #: Cancelled before it finished.
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        """True for success, failed and cancelled."""
        return self in _TERMINAL


_TERMINAL = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED})


@dataclass(frozen=True)
class ErrorInfo:
    """A failure as stored: the exception's type name, message and formatted traceback."""

    type: str
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class JobRecord:
    """Everything stored about one job. ``args``, ``kwargs`` and ``result`` are msgpack bytes."""

    id: str
    task_name: str
    queue: str
    status: JobStatus
    args: bytes
    kwargs: bytes
    created_at: float
    priority: int = 0
    eta: float | None = None
    max_retries: int = 0
    #: Attempts started so far.
    attempts: int = 0
    #: Encoded result; ``None`` while there is none (an encoded ``None`` is ``b"\xc0"``).
    result: bytes | None = None
    error: ErrorInfo | None = None
    worker_id: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    next_retry_at: float | None = None
    #: When the record may be deleted (from ``result_ttl_secs``).
    expires_at: float | None = None
    #: The workflow continuation (callbacks, rest of a chain, group membership): opaque msgpack
    #: bytes read only by ``nuvom.workflows``; ``None`` for a plain job.
    links: bytes | None = None
    #: The attempt runs alone on its worker: the job was running each time its holders stopped,
    #: past ``NUVOM_MAX_DELIVERIES``; should this worker stop too, the job is a poison job.
    isolated: bool = False
    #: The task is marked ``sensitive``: consoles show neither its arguments nor its result.
    sensitive: bool = False
    #: Why a queued job has not started: the limit it waits for (``rate_limit 20/s of task t``);
    #: ``None`` once it starts, and for a job that waits for nothing but a free worker.
    waiting: str | None = None

    def replace(self, **changes: Any) -> JobRecord:
        """A copy with ``changes`` applied.

        Raises:
            TypeError: a change names no field of the record.
        """
        if not _FIELD_SET.issuperset(changes):
            unknown = sorted(changes.keys() - _FIELD_SET)
            raise TypeError(f"JobRecord has no field {', '.join(unknown)}")
        # What dataclasses.replace does, without re-running __init__ over every field: a record
        # is copied twice per job (running, then settled).
        copy = object.__new__(type(self))
        object.__setattr__(copy, "__dict__", {**self.__dict__, **changes})
        return copy

    def to_dict(self) -> dict[str, Any]:
        """Plain types only, for storage by any backend."""
        data = dict(self.__dict__)  # exactly the fields, in their order: a copy, not a getattr each
        data["status"] = self.status.value
        if self.error is not None:
            data["error"] = dataclasses.asdict(self.error)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobRecord:
        """Rebuild a record written by :meth:`to_dict`.

        Raises:
            CorruptEntry: when fields are missing or of the wrong kind.
        """
        try:
            fields = dict(data)
            fields["status"] = JobStatus(fields["status"])
            error = fields.get("error")
            fields["error"] = ErrorInfo(**error) if error is not None else None
            return cls(**fields)
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptEntry(f"job record is malformed: {exc}") from None


_FIELD_SET = frozenset(f.name for f in dataclasses.fields(JobRecord))
