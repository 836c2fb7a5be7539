"""Optional backend interfaces: what a backend may add to the required ones, each checked if present.

Core code tests for each with ``isinstance`` (they are ``runtime_checkable``) and falls back to
the required methods when a backend lacks it; the conformance suite runs its checks only then.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..record import JobRecord
from .base import ResultBackend
from .data import Completion, Envelope, Quarantined, QueueDepths, WorkerInfo


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

        Raises:
            WriteNotConfirmed: the step was made but not confirmed durable; its ``result``
                holds the flags (the worker counts those outcomes stored, never stores again).
        """


@runtime_checkable
class DepthQueue(Protocol):
    """Optional: a queue that counts its jobs by queue and state from its own indexes.

    The fleet exporter (``nuvom prometheus serve``) reads it on every scrape, so it must stay
    cheap on a large backlog: counts come from what the backend keeps ordered anyway (sorted
    sets, partial indexes, file names), never from decoding jobs.
    """

    def depths(self, now: float) -> QueueDepths:
        """Counts per queue as of ``now``; queues with no job may be left out."""


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
        Fails as ``enqueue_many`` does (``SendIncomplete``, ``WriteNotConfirmed``).
        """


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
