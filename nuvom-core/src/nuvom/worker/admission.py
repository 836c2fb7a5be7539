"""Admission of a claimed job under its task's limits: a start now, or a deferral with a reason.

A job over a limit is neither failed nor charged an attempt: it goes back to the queue
(``defer``), due when the limit may have room, and its record stays ``queued`` with
``waiting`` saying which limit it waits for. Its slot in the worker is freed at once, so jobs of
other tasks never wait behind it. A concurrency slot is a lease on the limiter held by the job
id, renewed with the job's own lease and released when the attempt stops running; the slot of a
worker killed with ``kill -9`` comes back when its lease lapses.
"""

from __future__ import annotations

import functools
import logging
import random
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ..backends import Lease, QueueBackend, ResultBackend
from ..backends.limits import Limiter, LimitingQueue
from ..errors import BackendFeatureMissing
from ..flow import RateLimit, limit_key_of
from ..lifecycle import queued_record
from ..message import JobMessage
from ..record import ErrorInfo, JobRecord, JobStatus
from ..registry import RegisteredTask

logger = logging.getLogger(__name__)

#: A job waiting for a concurrency slot is checked again after a random pause in this range
#: (sooner if the soonest slot lease lapses sooner): slots are freed without notice.
SLOT_RECHECK_SECS = (0.05, 0.25)


@dataclass(frozen=True)
class Admission:
    """What became of a claimed job at the limits."""

    #: It may start now; otherwise it was deferred (or must fail, see ``error``).
    granted: bool
    #: When a limit granted its start (epoch seconds); ``None`` when no limit applies.
    started_at: float | None = None
    #: It cannot be admitted at all (a bad limit key, no limiter): fail it with this.
    error: ErrorInfo | None = None


#: The admission of a job no limit applies to: one shared instance, nothing to build per job.
_FREE: Final = Admission(granted=True)


def limited(task: RegisteredTask) -> bool:
    """True when the task has a rate or concurrency limit."""
    return task.opts.rate_limit is not None or task.opts.concurrency_limit is not None


@functools.lru_cache(maxsize=256)
def _rate(text: str) -> RateLimit:
    """``text`` parsed once per distinct rate (a task's, or a call's override)."""
    return RateLimit.parse(text)


class FlowControl:
    """The limits of one worker's jobs, on the limiter of its queue backend."""

    def __init__(
        self, queue: QueueBackend, results: ResultBackend, lease_secs: float, tasks: Iterable[RegisteredTask]
    ) -> None:
        """Raises ``BackendFeatureMissing`` when a task has limits and the queue offers no limiter."""
        self.queue = queue
        self.results = results
        self.lease_secs = lease_secs
        self._limiter: Limiter | None = queue.limiter() if isinstance(queue, LimitingQueue) else None
        self._lock = threading.Lock()
        #: Job id -> the limit keys whose slot it holds.
        self._slots: dict[str, list[str]] = {}
        names = sorted(t.name for t in tasks if limited(t))
        if names and self._limiter is None:
            raise BackendFeatureMissing(self._missing(", ".join(names)))

    def _missing(self, names: str) -> str:
        return (
            f"the queue backend {self.queue.name!r} offers no limiter (nuvom.backends.limits."
            f"LimitingQueue), so it cannot enforce rate_limit or concurrency_limit of task(s) {names}; "
            "use a backend that does (memory, file, sqlite, redis) or remove the limits"
        )

    def admit(
        self, task: RegisteredTask, message: JobMessage, lease: Lease, existing: JobRecord | None
    ) -> Admission:
        """Take what the job's limits ask for, or defer it; see the module docstring.

        A job of a task without limits (and no ``rate_limit`` of its own) costs two attribute
        reads: nothing is parsed, built or locked for it.
        """
        if message.rate_limit is None and not limited(task):
            return _FREE
        opts = task.opts
        rate_text = message.rate_limit or opts.rate_limit
        try:
            rate = _rate(rate_text) if rate_text is not None else None
            args, kwargs = message.decode_call()
            value = limit_key_of(opts.limit_key, task.func, args, kwargs)
        except Exception as exc:
            why = f"the limit of task {task.name!r} cannot be applied: {type(exc).__name__}: {exc}"
            return Admission(granted=False, error=ErrorInfo("LimitKeyError", why))
        if self._limiter is None:
            return Admission(
                granted=False, error=ErrorInfo("BackendFeatureMissing", self._missing(task.name))
            )
        key = task.name if value is None else f"{task.name}[{value}]"
        of_key = "" if value is None else f" for limit_key {value!r}"
        now = time.time()
        if opts.concurrency_limit is not None:
            wait = self._limiter.acquire_slot(key, opts.concurrency_limit, lease.id, self.lease_secs, now)
            if wait > 0:
                why = f"concurrency_limit {opts.concurrency_limit} of task {task.name}{of_key}"
                self._defer(
                    lease, message, existing, now + min(wait, random.uniform(*SLOT_RECHECK_SECS)), why
                )
                return Admission(granted=False)
        if rate is not None:
            wait = self._limiter.take_start(key, rate.count, rate.period_secs, now)
            if wait > 0:
                if opts.concurrency_limit is not None:
                    self._limiter.release_slot(key, lease.id)
                jitter = random.uniform(0, rate.period_secs / rate.count)
                self._defer(
                    lease,
                    message,
                    existing,
                    now + wait + jitter,
                    f"rate_limit {rate.text} of task {task.name}{of_key}",
                )
                return Admission(granted=False)
        if opts.concurrency_limit is not None:
            with self._lock:
                self._slots[lease.id] = [key]
        return Admission(granted=True, started_at=now)

    def _defer(
        self, lease: Lease, message: JobMessage, existing: JobRecord | None, until: float, why: str
    ) -> None:
        """Put the job back, due at ``until``; its record says why it waits (written once per reason)."""
        record = existing or queued_record(message, 0)
        if record.waiting != why or record.status is not JobStatus.QUEUED:
            self.results.save(
                record.replace(status=JobStatus.QUEUED, waiting=why, worker_id=None), durable=False
            )
        assert isinstance(self.queue, LimitingQueue)
        self.queue.defer(lease, until)
        logger.debug("job %s waits for the %s; due again in %.3f s", lease.id, why, until - time.time())

    def renew(self) -> None:
        """Push the lease of every slot this worker holds (called with the job leases' extension)."""
        with self._lock:
            held = [(job_id, key) for job_id, keys in self._slots.items() for key in keys]
        if self._limiter is None:
            return
        now = time.time()
        for job_id, key in held:
            if not self._limiter.renew_slot(key, job_id, self.lease_secs, now):
                logger.warning(
                    "job %s: its concurrency slot of %s lapsed; another job may take it", job_id, key
                )

    def release(self, job_id: str) -> None:
        """Free the slots of a job that no longer runs (idempotent)."""
        if job_id not in self._slots:  # its slots, if any, were taken earlier on this job's path
            return
        with self._lock:
            keys = self._slots.pop(job_id, [])
        for key in keys:
            assert self._limiter is not None
            try:
                self._limiter.release_slot(key, job_id)
            except Exception:
                logger.exception(
                    "job %s: freeing its slot of %s failed; it lapses with its lease", job_id, key
                )
