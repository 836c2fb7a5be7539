"""The data that crosses the backend interface: envelopes, leases, counts and capabilities.

A backend sees envelopes (id, queue, priority, eta, attempts) around an opaque payload, and job
records whose arguments and results are opaque bytes: msgpack stays in ``nuvom.serialization``.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

from ..errors import CorruptEntry
from ..record import JobRecord, JobStatus


class Capability(str, enum.Enum):
    """Optional features a backend declares; the conformance suite skips by capability."""

    #: Claims are atomic across processes (not only threads).
    CROSS_PROCESS = "cross_process"
    #: Jobs survive a restart of the process that enqueued them.
    PERSISTENT = "persistent"
    #: Corrupt entries are moved aside and counted instead of raised.
    QUARANTINE = "quarantine"
    #: Claim order is exact even for a job another client adds with an earlier due time than
    #: jobs a claimer has already seen (without it, such a job may wait a moment longer).
    EXACT_ORDER = "exact_order"


@dataclass(frozen=True)
class Envelope:
    """A queued job as the queue sees it. ``payload`` is opaque bytes, never inspected."""

    id: str
    queue: str
    payload: bytes
    #: 0 (first) to 9 (last).
    priority: int = 0
    #: Epoch seconds before which the job must not be claimed; ``None`` means now.
    eta: float | None = None
    #: Failed attempts so far; ``nack(retry_at=...)`` adds one.
    attempts: int = 0


@dataclass
class Lease:
    """A claim on one job, valid until ``expires_at`` unless extended."""

    envelope: Envelope
    #: Claims since the job was enqueued or last nacked, this one included.
    deliveries: int
    expires_at: float
    #: Backend-specific handle of the claim.
    token: str = ""
    #: The job's record as the backend read it with the claim, if it did (``None``: not read).
    #: The worker uses it instead of reading the record again while the lease holds. A backend
    #: that fills it must read it in the same atomic step as the claim, from the store the
    #: worker's result backend reads, and leave it ``None`` for a missing or expired record.
    record: JobRecord | None = None

    @property
    def id(self) -> str:
        """The job id."""
        return self.envelope.id


@dataclass(frozen=True)
class QueueStats:
    """Counts for ``nuvom queue stats``."""

    ready: int = 0
    scheduled: int = 0
    leased: int = 0
    quarantined: int = 0
    by_queue: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Completion:
    """An attempt's outcome to store and settle: ack when terminal, nack when ``retrying``."""

    lease: Lease
    record: JobRecord

    @property
    def retry_at(self) -> float | None:
        """When a ``retrying`` job is due again; ``None`` for a terminal outcome (ack)."""
        return self.record.next_retry_at if self.record.status is JobStatus.RETRYING else None


@dataclass(frozen=True)
class QueueDepth:
    """One queue's jobs by state, for monitoring."""

    #: Due and not leased: claimable now.
    ready: int = 0
    #: Not due yet (a future eta or retry time), not leased.
    scheduled: int = 0
    #: Claimed by a worker (lease live or lapsed but not yet claimed again).
    leased: int = 0
    #: Epoch seconds at which the longest-waiting ready job became due; ``None`` when none is ready.
    oldest_ready_due: float | None = None


@dataclass(frozen=True)
class QueueDepths:
    """Every queue's :class:`QueueDepth`, and the corrupt entries set aside.

    ``quarantined`` is a backend-wide total: a corrupt entry's queue may be unreadable.
    """

    by_queue: dict[str, QueueDepth] = field(default_factory=dict)
    quarantined: int = 0


@dataclass(frozen=True)
class Quarantined:
    """An entry a queue moved aside because it cannot be delivered."""

    #: The job's id, or ``None`` when not even that can be read.
    job_id: str | None
    reason: str
    #: The queue it was in, when known.
    queue: str | None = None
    #: When it was moved aside (epoch seconds), when known.
    at: float | None = None


@dataclass(frozen=True)
class WorkerInfo:
    """One worker process as it last described itself in the worker registry."""

    #: The worker's id, ``host:pid:random``.
    id: str
    host: str
    pid: int
    #: Queues it serves.
    queues: tuple[str, ...]
    #: ``threads`` or ``processes``.
    pool: str
    #: Concurrent job slots.
    slots: int
    #: Jobs it held at its last heartbeat.
    running: int
    #: Epoch seconds: when it started, and its last heartbeat.
    started_at: float
    heartbeat_at: float

    def alive(self, lapse_secs: float, now: float | None = None) -> bool:
        """True unless its last heartbeat is more than ``lapse_secs`` old."""
        return (now if now is not None else time.time()) - self.heartbeat_at <= lapse_secs

    def to_dict(self) -> dict[str, object]:
        """Plain values (for JSON and for backends that store text)."""
        return {**self.__dict__, "queues": list(self.queues)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorkerInfo:
        """The inverse of :meth:`to_dict`.

        Raises:
            CorruptEntry: when ``data`` is not a worker description.
        """
        try:
            if not isinstance(data["queues"], list):
                raise TypeError("queues is not a list")
            return cls(
                id=str(data["id"]),
                host=str(data["host"]),
                pid=int(data["pid"]),
                queues=tuple(str(q) for q in data["queues"]),
                pool=str(data["pool"]),
                slots=int(data["slots"]),
                running=int(data["running"]),
                started_at=float(data["started_at"]),
                heartbeat_at=float(data["heartbeat_at"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptEntry(f"not a worker description: {exc!r}") from None
