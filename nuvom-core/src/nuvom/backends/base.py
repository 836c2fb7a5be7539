"""Backend interfaces: what a queue and a result store must do, as checkable sentences.

A backend sees envelopes (id, queue, priority, eta, attempts) around an opaque payload, and job
records whose arguments and results are opaque bytes: msgpack stays in ``nuvom.serialization``.
"""

from __future__ import annotations

import builtins
import enum
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from ..errors import CorruptEntry
from ..record import ErrorInfo, JobRecord, JobStatus
from ..scheduling.record import ScheduleRecord


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


@runtime_checkable
class QueueBackend(Protocol):
    """A queue with leases.

    - ``enqueue`` returns only once the job is stored as durably as the backend promises.
    - A job is never claimable before its ``eta``.
    - Among due jobs of the asked queues, lower ``priority`` is claimed first, then earlier due time.
    - Claims are atomic: two claimers never hold live leases on the same job.
    - A job whose lease expires without ``ack``/``nack`` is claimable again (at-least-once), and
      its next lease counts one more delivery.
    - ``ack`` removes the job for good and is idempotent; ``ack`` or ``nack`` of a lease that was
      lost (expired and claimed elsewhere) does nothing to the new holder's claim.
    - ``nack(retry_at=t)`` returns the job, claimable from ``t``, with ``attempts`` one higher;
      ``nack()`` without ``retry_at`` returns it claimable now with ``attempts`` unchanged.
      Either resets the delivery count.
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def enqueue(self, envelope: Envelope) -> None:
        """Store one job."""

    def enqueue_many(self, envelopes: Sequence[Envelope]) -> None:
        """Store many jobs, in one round trip where the backend can."""

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        """Claim up to ``n`` due jobs, waiting up to ``timeout`` seconds for the first."""

    def dequeue(
        self, timeout: float, *, queues: Sequence[str] = ("default",), lease_secs: float = 30.0
    ) -> Lease | None:
        """Claim one due job, or return ``None`` after ``timeout`` seconds."""

    def ack(self, lease: Lease) -> None:
        """Remove the job for good: its outcome is stored."""

    def nack(self, lease: Lease, *, retry_at: float | None = None) -> None:
        """Return the job to the queue (see the class docstring)."""

    def extend(self, lease: Lease, lease_secs: float) -> bool:
        """Push the lease's expiry to ``lease_secs`` from now; ``False`` if the lease was lost."""

    def qsize(self, queue: str | None = None) -> int:
        """Jobs waiting (due or not, not leased) in ``queue``, or in all queues."""

    def stats(self) -> QueueStats:
        """Counts of ready, scheduled, leased and quarantined jobs."""

    def clear(self) -> int:
        """Delete every job of every queue; return how many were deleted."""

    def close(self) -> None:
        """Release connections and files. Idempotent."""


@dataclass(frozen=True)
class Completion:
    """An attempt's outcome to store and settle: ack when terminal, nack when ``retrying``."""

    lease: Lease
    record: JobRecord

    @property
    def retry_at(self) -> float | None:
        """When a ``retrying`` job is due again; ``None`` for a terminal outcome (ack)."""
        return self.record.next_retry_at if self.record.status is JobStatus.RETRYING else None


@runtime_checkable
class CompletingQueue(Protocol):
    """Optional: a queue that stores outcomes and settles their leases in one fenced step.

    A queue whose result store can live in the same database (SQLite, Redis) implements
    ``complete_many`` so that a worker whose lease was lost (it stalled past expiry and another
    worker claimed the job) can neither ack the job nor overwrite the new holder's outcome.
    """

    def complete_many(self, completions: Sequence[Completion], results: ResultBackend) -> list[bool] | None:
        """Store each record and settle its lease, atomically per completion.

        For each completion whose lease is still held (same token, even if past its expiry
        while nobody re-claimed it): save the record into ``results`` and ``ack`` the job, or
        ``nack(retry_at=completion.retry_at)`` it when the record is ``retrying``. A completion
        whose lease is lost writes nothing. Returns one flag per completion, ``True`` when
        applied, or ``None`` without doing anything when ``results`` is not a store this queue
        can write with it (the worker then saves and acks separately).
        """


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


@runtime_checkable
class DepthQueue(Protocol):
    """Optional: a queue that counts its jobs by queue and state from its own indexes.

    The fleet exporter (``nuvom prometheus serve``) reads it on every scrape, so it must stay
    cheap on a large backlog: counts come from what the backend keeps ordered anyway (sorted
    sets, partial indexes, file names), never from decoding jobs.
    """

    def depths(self, now: float) -> QueueDepths:
        """Counts per queue as of ``now``; queues with no job may be left out."""


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


@runtime_checkable
class QuarantineListing(Protocol):
    """Optional: a queue with :attr:`Capability.QUARANTINE` that can list what it moved aside.

    The worker reads the list to fail the record of each job whose entry was quarantined
    (``CorruptEntry`` with the reason), so that ``job.get()`` raises instead of waiting forever.
    """

    def quarantined(self, limit: int = 1000) -> builtins.list[Quarantined]:
        """Up to ``limit`` quarantined entries, oldest first where the queue knows the order.

        Read-only: the entries stay where they are, for inspection.
        """


@runtime_checkable
class RecordingQueue(Protocol):
    """Optional: a queue that stores the queued records and enqueues their jobs in one round trip.

    A queue whose result store can live on the same server (Redis) implements
    ``enqueue_recorded`` so that ``.delay()`` costs one round trip instead of two.
    """

    def enqueue_recorded(
        self, envelopes: Sequence[Envelope], records: Sequence[JobRecord], results: ResultBackend
    ) -> bool:
        """Save ``records`` into ``results``, then enqueue ``envelopes``, in one round trip.

        Each record is stored before its job can be claimed, as with ``save_many`` followed by
        ``enqueue_many``. Returns ``False`` without doing anything when ``results`` is not a
        store this queue can write with (the sender then saves and enqueues separately).
        """


@runtime_checkable
class ResultBackend(Protocol):
    """A store of job records.

    - ``save`` replaces the whole record for its id; a later ``get_full`` returns it exactly.
    - A record whose ``expires_at`` has passed is never returned.
    - ``list_jobs`` returns newest first (by ``created_at``).
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def save(self, record: JobRecord, *, durable: bool = True) -> None:
        """Store the record. ``durable=False`` allows skipping fsync for transient states."""

    def save_many(self, records: Sequence[JobRecord], *, durable: bool = True) -> None:
        """Store many records."""

    def get_full(self, job_id: str) -> JobRecord | None:
        """The record, or ``None`` if there is none."""

    def get_result(self, job_id: str) -> bytes | None:
        """The encoded result of a successful job, else ``None``."""

    def get_error(self, job_id: str) -> ErrorInfo | None:
        """The stored error of a failed or retrying job, else ``None``."""

    def list_jobs(self, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[JobRecord]:
        """Records, newest first, optionally only those with ``status``."""

    def delete(self, job_id: str) -> bool:
        """Delete the record; ``True`` if there was one."""

    def purge_expired(self, now: float | None = None) -> int:
        """Delete records past their ``expires_at``; return how many."""

    def close(self) -> None:
        """Release connections and files. Idempotent."""


@runtime_checkable
class SchedulerBackend(Protocol):
    """A store of schedules that hands out each fire to exactly one scheduler.

    - ``add`` stores the schedule, replacing any with the same id.
    - ``claim_due(now, limit, lease_secs)`` atomically claims up to ``limit`` schedules whose
      ``next_run <= now`` and that no live claim holds, earliest first, setting their
      ``claimed_until`` to ``now + lease_secs``; a claim that lapses makes the fire claimable again.
    - ``mark_fired(id, fire_ts, next_run)`` applies only while the schedule's ``next_run`` is
      still ``fire_ts`` (so a second call, or a call for a replaced schedule, does nothing): it
      counts the run, sets ``last_run`` and ``next_run`` and clears the claim; ``next_run=None``
      deletes the schedule (a one-off that fired).
    - ``cancel`` deletes the schedule: it is never claimed again.
    """

    name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def add(self, schedule: ScheduleRecord) -> None:
        """Store ``schedule``, replacing any schedule with its id."""

    def get(self, schedule_id: str) -> ScheduleRecord | None:
        """The schedule, or ``None``."""

    def list(self) -> builtins.list[ScheduleRecord]:
        """Every schedule, soonest ``next_run`` first."""

    def cancel(self, schedule_id: str) -> bool:
        """Delete the schedule; ``True`` if there was one."""

    def claim_due(self, now: float, limit: int, *, lease_secs: float = 30.0) -> builtins.list[ScheduleRecord]:
        """Claim due schedules (see the class docstring); each carries its fire time in ``next_run``."""

    def mark_fired(self, schedule_id: str, fire_ts: float, next_run: float | None) -> bool:
        """Record the fire at ``fire_ts``; ``True`` if it applied."""

    def close(self) -> None:
        """Release connections and files. Idempotent."""


def due_order(schedules: Iterable[ScheduleRecord], now: float, limit: int) -> list[ScheduleRecord]:
    """The claimable schedules among ``schedules``, earliest first: the common core of ``claim_due``."""
    due = [s for s in schedules if s.next_run <= now and (s.claimed_until is None or s.claimed_until <= now)]
    due.sort(key=lambda s: (s.next_run, s.id))
    return due[:limit]


def fired(schedule: ScheduleRecord, fire_ts: float, next_run: float) -> ScheduleRecord:
    """``schedule`` after its fire at ``fire_ts``: the common core of ``mark_fired``."""
    return schedule.replace(
        next_run=next_run, last_run=fire_ts, run_count=schedule.run_count + 1, claimed_until=None
    )


@runtime_checkable
class CreatingResults(Protocol):
    """Optional: a result store that can store a record only if its id is free, atomically.

    Unique jobs (``job_id``, ``unique_for``) and workflow follow-ups (callbacks, chain steps)
    use it to enqueue a job id once however many senders race. Without it they read, then
    write: two senders racing within that gap may both enqueue.
    """

    def save_new(self, record: JobRecord, *, durable: bool = True) -> bool:
        """Store ``record`` only if no record (expired or not) is stored under its id.

        Must be atomic across every client this store promises to serve: of two concurrent
        calls for one id, exactly one returns ``True``. Returns ``False`` and stores nothing
        when the id is taken.
        """


@runtime_checkable
class NamespacedStore(Protocol):
    """Optional: a store kept outside the data directory (on a server) that can empty its namespace.

    The conformance suite hands each check a fresh data directory and its own
    ``NUVOM_SUITE_NAMESPACE``. A store that keeps its data elsewhere (keys on a server, say) keeps
    it under that namespace and implements ``drop_namespace`` so that the suite leaves nothing
    behind on the server it was pointed at.
    """

    def drop_namespace(self) -> int:
        """Delete everything stored under this instance's namespace; return how many entries went.

        Called only while ``NUVOM_SUITE_NAMESPACE`` is set; a second call returns 0.
        """


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


@runtime_checkable
class WorkerRegistry(Protocol):
    """Optional, on a queue: where workers publish heartbeats, so ``nuvom workers`` sees them all.

    - ``beat`` stores ``info`` under ``info.id``, replacing what was there; every client of the
      queue (other processes, other hosts where the queue is shared) sees it in ``workers``.
    - ``workers`` returns every stored description, dead ones included, sorted by id; a
      description that cannot be read is skipped, never raised.
    - ``forget_worker`` deletes the description; ``True`` if there was one.
    """

    def beat(self, info: WorkerInfo) -> None:
        """Store ``info`` (the worker's heartbeat)."""

    def workers(self) -> list[WorkerInfo]:
        """Every stored worker description, sorted by id."""

    def forget_worker(self, worker_id: str) -> bool:
        """Delete a worker's description (a clean exit, or pruning a dead one)."""


@runtime_checkable
class PurgingQueue(Protocol):
    """Optional: a queue that can drop every waiting job of one queue (``nuvom queue purge``)."""

    def purge(self, queue: str) -> list[str]:
        """Delete the jobs of ``queue`` that wait (due or not); return their ids.

        Leased (running) jobs are left alone; jobs of other queues too.
        """


class BaseQueue:
    """Optional base class: derived helpers on top of the primitives, never weaker than them."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def enqueue(self, envelope: Envelope) -> None:
        raise NotImplementedError

    def enqueue_many(self, envelopes: Sequence[Envelope]) -> None:
        """Enqueue one by one; override when the backend has a bulk path."""
        for envelope in envelopes:
            self.enqueue(envelope)

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        raise NotImplementedError

    def dequeue(
        self, timeout: float, *, queues: Sequence[str] = ("default",), lease_secs: float = 30.0
    ) -> Lease | None:
        """Claim one job through :meth:`pop_batch`."""
        leases = self.pop_batch(1, queues=queues, timeout=timeout, lease_secs=lease_secs)
        return leases[0] if leases else None

    def stats(self) -> QueueStats:
        raise NotImplementedError

    def qsize(self, queue: str | None = None) -> int:
        raise NotImplementedError

    def close(self) -> None:
        """Nothing to release."""


class BaseResults:
    """Optional base class for result stores."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def save(self, record: JobRecord, *, durable: bool = True) -> None:
        raise NotImplementedError

    def save_many(self, records: Sequence[JobRecord], *, durable: bool = True) -> None:
        """Save one by one; override when the backend has a bulk path."""
        for record in records:
            self.save(record, durable=durable)

    def get_full(self, job_id: str) -> JobRecord | None:
        raise NotImplementedError

    def get_result(self, job_id: str) -> bytes | None:
        """From :meth:`get_full`."""
        record = self.get_full(job_id)
        return record.result if record is not None and record.status is JobStatus.SUCCESS else None

    def get_error(self, job_id: str) -> ErrorInfo | None:
        """From :meth:`get_full`."""
        record = self.get_full(job_id)
        return record.error if record is not None else None

    def close(self) -> None:
        """Nothing to release."""


def is_expired(record: JobRecord, now: float | None = None) -> bool:
    """True when the record's ``expires_at`` has passed."""
    return record.expires_at is not None and record.expires_at <= (now or time.time())


def newest_first(
    records: Iterable[JobRecord], status: JobStatus | None, limit: int, offset: int
) -> list[JobRecord]:
    """Filter by status, sort newest first and page: the common tail of ``list_jobs``."""
    chosen = [r for r in records if status is None or r.status is status]
    chosen.sort(key=lambda r: r.created_at, reverse=True)
    return chosen[offset : offset + limit]
