"""Backend interfaces: what a queue, a result store and a scheduler store must do, as checkable sentences.

The required interfaces (one ``Protocol`` per role), the optional base classes and the helpers
that every store shares. The data they exchange lives in :mod:`nuvom.backends.data`, the optional
interfaces in :mod:`nuvom.backends.optional`; import any of them from ``nuvom.backends``.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterable, Sequence
from typing import ClassVar, Protocol, runtime_checkable

from ..errors import SendIncomplete
from ..record import ErrorInfo, JobRecord, JobStatus
from ..scheduling.record import ScheduleRecord
from .data import Capability, Envelope, Lease, QueueStats


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
        """Store many jobs, in one round trip where the backend can.

        A call that fails must leave none of them queued, or raise
        :class:`~nuvom.errors.SendIncomplete` naming those it leaves; one that queued them all
        but cannot confirm it durable raises :class:`~nuvom.errors.WriteNotConfirmed`.
        """

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


class BaseQueue:
    """Optional base class: derived helpers on top of the primitives, never weaker than them."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def enqueue(self, envelope: Envelope) -> None:
        raise NotImplementedError

    def enqueue_many(self, envelopes: Sequence[Envelope]) -> None:
        """Enqueue one by one; override when the backend has a bulk path.

        Raises:
            SendIncomplete: an enqueue failed after others had queued their jobs (named).
        """
        queued: list[str] = []
        for envelope in envelopes:
            try:
                self.enqueue(envelope)
            except Exception as exc:
                if not queued:
                    raise
                raise SendIncomplete(
                    f"enqueuing job {envelope.id} failed after {len(queued)} job(s) were queued: {exc}",
                    queued=frozenset(queued),
                ) from exc
            queued.append(envelope.id)

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
