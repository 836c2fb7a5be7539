"""Group commit of outcomes: store many records in one backend call, then ack or nack each job.

Job threads hand over an outcome and go on to their next job. The committer stores everything
handed over since its last round with one ``save_many`` (one fsync of the folder for the file
backend, one transaction or pipeline elsewhere) and only then acknowledges the jobs, so a job is
still acknowledged only after its outcome is stored. A queue that implements
:class:`~nuvom.backends.CompletingQueue` stores and settles each outcome in one fenced step
instead, so a worker that lost its lease cannot overwrite the new holder's outcome.

When storing fails (a full disk, a server down), the committer keeps the jobs, whose leases the
worker goes on extending, and tries again with backoff until it succeeds or the worker stops:
an outage of the store never lets leases lapse and deliveries pile up towards ``PoisonJob``.

:func:`acknowledge` then settles each job by what became of its outcome: acked, or nacked with
its retry time, and logged.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..backends import CompletingQueue, Completion, Lease, QueueBackend, ResultBackend
from ..errors import WriteNotConfirmed
from ..record import JobRecord, JobStatus

logger = logging.getLogger(__name__)

_MAX_BATCH = 256
#: Backoff between tries to store outcomes, doubling from the first to the last.
_RETRY_FIRST_SECS = 0.1
_RETRY_MAX_SECS = 5.0


class Stored(enum.Enum):
    """What became of an outcome handed to :meth:`OutcomeStore.store`."""

    #: Stored; the job still has to be acked or nacked.
    STORED = "stored"
    #: Stored and its lease settled (acked or nacked) in the same step.
    SETTLED = "settled"
    #: Not stored: the store failed, so the job will be delivered again.
    FAILED = "failed"
    #: Not stored: the lease was lost to another worker, whose outcome stands.
    LEASE_LOST = "lease_lost"


class OutcomeStore:
    """Stores outcomes, fenced by their leases where the queue can, else with one ``save_many``.

    Whether the queue can (:class:`~nuvom.backends.CompletingQueue`, a runtime protocol check
    that costs more than storing an outcome in memory) is decided once, here.
    """

    def __init__(self, jobs: QueueBackend, results: ResultBackend) -> None:
        self.jobs = jobs
        self.results = results
        self._completing = jobs if isinstance(jobs, CompletingQueue) else None

    def store(self, completions: Sequence[Completion]) -> list[Stored]:
        """What became of each outcome; a failure to store is logged, never raised.

        An outcome written but not confirmed durable (:class:`~nuvom.errors.WriteNotConfirmed`)
        counts as stored: storing it again could only find its lease gone. Should a failover
        lose the write, the job's lease comes back with it and lapses, and the job runs again.
        """
        try:
            if self._completing is not None:
                try:
                    applied = self._completing.complete_many(completions, self.results)
                except WriteNotConfirmed as unconfirmed:
                    _warn_unconfirmed(completions, unconfirmed)
                    flags = unconfirmed.result
                    applied = flags if isinstance(flags, list) else [True] * len(completions)
                if applied is not None:
                    if len(applied) != len(completions):
                        raise TypeError(
                            f"complete_many returned {len(applied)} flags for {len(completions)} outcomes"
                        )
                    return [Stored.SETTLED if ok else Stored.LEASE_LOST for ok in applied]
            try:
                self.results.save_many([c.record for c in completions])
            except WriteNotConfirmed as unconfirmed:
                _warn_unconfirmed(completions, unconfirmed)
            return [Stored.STORED] * len(completions)
        except Exception:
            logger.exception("storing %d outcome(s) failed", len(completions))
            return [Stored.FAILED] * len(completions)


def _warn_unconfirmed(completions: Sequence[Completion], unconfirmed: WriteNotConfirmed) -> None:
    logger.warning(
        "job(s) %s: outcome stored but not confirmed durable, so not stored again (%s); "
        "should a failover lose it, the job's lease lapses and it runs again",
        ", ".join(c.lease.id for c in completions),
        unconfirmed,
    )


@dataclass(frozen=True)
class Commit:
    """An outcome to store, and what to do once it is stored."""

    record: JobRecord
    lease: Lease
    #: Called with what became of the record.
    then: Callable[[Stored], None]


class Committer:
    """A thread that stores outcomes in batches and then runs their follow-ups."""

    def __init__(self, store: OutcomeStore) -> None:
        self._store = store
        self._items: queue.SimpleQueue[Commit | None] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nuvom-committer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, commit: Commit) -> None:
        """Store ``commit.record`` soon, then call ``commit.then``."""
        self._items.put(commit)

    def stop(self) -> None:
        """Try once more to commit what was submitted, then stop: what fails is delivered again."""
        self._stopping.set()
        self._items.put(None)
        self._thread.join()

    def _loop(self) -> None:
        while True:
            first = self._items.get()
            batch = [first]
            while len(batch) < _MAX_BATCH:
                try:
                    batch.append(self._items.get_nowait())
                except queue.Empty:
                    break
            commits = [c for c in batch if c is not None]
            if commits:
                self._commit(commits)
            if None in batch:
                return

    def _commit(self, commits: list[Commit]) -> None:
        pause = _RETRY_FIRST_SECS
        failing_since: float | None = None
        while commits:
            giving_up = self._stopping.is_set()
            outcomes = self._store.store([Completion(c.lease, c.record) for c in commits])
            failed = []
            for commit, stored in zip(commits, outcomes, strict=True):
                if stored is Stored.FAILED and not giving_up:
                    failed.append(commit)
                    continue
                try:
                    commit.then(stored)
                except Exception:
                    logger.exception("acknowledging job %s failed", commit.lease.id)
            if failed:
                logger.warning(
                    "keeping %d job(s) whose outcome could not be stored; trying again in %.1f s",
                    len(failed),
                    pause,
                )
                failing_since = failing_since or time.monotonic()
                self._stopping.wait(pause)
                pause = min(pause * 2, _RETRY_MAX_SECS)
            elif failing_since is not None:
                logger.warning(
                    "stored the outcomes kept after %.1f s while storing failed",
                    time.monotonic() - failing_since,
                )
            commits = failed


def acknowledge(jobs: QueueBackend, lease: Lease, record: JobRecord, stored: Stored) -> bool:
    """Ack or nack a job by what became of its outcome; ``True`` when that outcome stands.

    Called only after :meth:`OutcomeStore.store` (or a save) reported ``stored``: a job is never
    acknowledged before its outcome is stored.
    """
    if stored is Stored.STORED:
        try:
            if record.status is JobStatus.RETRYING:
                assert record.next_retry_at is not None
                jobs.nack(lease, retry_at=record.next_retry_at)
            else:
                jobs.ack(lease)
        except WriteNotConfirmed as unconfirmed:
            logger.warning("job %s: settled but not confirmed durable (%s)", lease.id, unconfirmed)
    elif stored is Stored.LEASE_LOST:
        logger.warning(
            "job %s: lease lost before its outcome was stored; the outcome of the worker "
            "that holds it now stands",
            lease.id,
        )
    if stored not in (Stored.STORED, Stored.SETTLED):
        return False
    log_outcome(lease, record)
    return True


def log_outcome(lease: Lease, record: JobRecord) -> None:
    """Log a stored outcome: a warning for a retry, an error for a final failure."""
    name = record.task_name
    if record.status is JobStatus.RETRYING:
        assert record.next_retry_at is not None and record.error is not None
        logger.warning(
            "job %s (%s) attempt %d failed (%s: %s); retrying in %.2f s",
            lease.id,
            name,
            record.attempts,
            record.error.type,
            record.error.message,
            record.next_retry_at - time.time(),
        )
    elif record.status is JobStatus.FAILED:
        assert record.error is not None
        logger.error(
            "job %s (%s) failed after %d attempt(s): %s: %s",
            lease.id,
            name,
            record.attempts,
            record.error.type,
            record.error.message,
        )
    else:
        logger.debug("job %s (%s) succeeded", lease.id, name)
