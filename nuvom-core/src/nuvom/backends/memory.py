"""In-process queue and result store: for tests, eager mode and single-process apps."""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Sequence
from typing import ClassVar

from ..record import JobRecord, JobStatus
from .base import BaseQueue, BaseResults, ResultBackend, is_expired, newest_first
from .data import (
    Capability,
    Completion,
    Envelope,
    Lease,
    Quarantined,
    QueueDepth,
    QueueDepths,
    QueueStats,
    WorkerInfo,
)
from .memory_limits import MemoryLimiter


@dataclasses.dataclass
class _Entry:
    envelope: Envelope
    deliveries: int = 0
    lease: Lease | None = None
    #: When the job becomes claimable (its eta, retry time, or enqueue time).
    due: float = 0.0


class MemoryQueue(BaseQueue):
    """A priority queue with leases, shared by the threads of one process."""

    name: ClassVar[str] = "memory"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.EXACT_ORDER})

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._entries: dict[str, _Entry] = {}
        # Per queue: (priority, due, seq, id) of due jobs; all queues: (due, seq, id) of future ones.
        self._ready: dict[str, list[tuple[int, float, int, str]]] = {}
        self._delayed: list[tuple[float, int, str]] = []
        self._leased: dict[str, _Entry] = {}
        self._workers: dict[str, WorkerInfo] = {}
        self._limiter = MemoryLimiter()

    def _push(self, entry: _Entry, due: float) -> None:
        env = entry.envelope
        entry.due = due
        if due > time.time():
            heapq.heappush(self._delayed, (due, next(self._seq), env.id))
        else:
            heap = self._ready.setdefault(env.queue, [])
            heapq.heappush(heap, (env.priority, due, next(self._seq), env.id))

    def enqueue(self, envelope: Envelope) -> None:
        self.enqueue_many([envelope])

    def enqueue_many(self, envelopes: Sequence[Envelope]) -> None:
        now = time.time()
        with self._cond:
            for env in envelopes:
                entry = _Entry(env)
                self._entries[env.id] = entry
                self._push(entry, env.eta if env.eta is not None else now)
            self._cond.notify_all()

    def _promote_due(self, now: float) -> None:
        while self._delayed and self._delayed[0][0] <= now:
            due, _, job_id = heapq.heappop(self._delayed)
            entry = self._entries.get(job_id)
            if entry is not None and entry.lease is None:
                self._push(entry, due)

    def _reclaim_expired(self, now: float) -> None:
        for job_id, entry in list(self._leased.items()):
            if entry.lease is not None and entry.lease.expires_at <= now:
                entry.lease = None
                del self._leased[job_id]
                self._push(entry, now)

    def _next_wakeup(self, deadline: float) -> float:
        times = [deadline] + [d for d, _, _ in self._delayed[:1]]
        times += [e.lease.expires_at for e in self._leased.values() if e.lease is not None]
        return min(times)

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        deadline = time.time() + timeout
        with self._cond:
            while True:
                now = time.time()
                self._promote_due(now)
                self._reclaim_expired(now)
                leases = self._take(n, queues, now, lease_secs)
                if leases or now >= deadline:
                    return leases
                self._cond.wait(max(0.0, self._next_wakeup(deadline) - now))

    def _take(self, n: int, queues: Sequence[str], now: float, lease_secs: float) -> list[Lease]:
        leases: list[Lease] = []
        heaps = [self._ready[q] for q in queues if self._ready.get(q)]
        while len(leases) < n and heaps:
            heap = min(heaps, key=lambda h: h[0])
            _, _, _, job_id = heapq.heappop(heap)
            heaps = [h for h in heaps if h]
            entry = self._entries.get(job_id)
            if entry is None or entry.lease is not None:
                continue  # acked, or a stale heap item of an entry already re-pushed
            entry.deliveries += 1
            entry.lease = Lease(entry.envelope, entry.deliveries, now + lease_secs, uuid.uuid4().hex)
            self._leased[job_id] = entry
            leases.append(entry.lease)
        return leases

    def _held(self, lease: Lease) -> _Entry | None:
        entry = self._entries.get(lease.id)
        if entry is None or entry.lease is None or entry.lease.token != lease.token:
            return None
        return entry

    def ack(self, lease: Lease) -> None:
        with self._cond:
            if self._held(lease) is not None:
                del self._entries[lease.id]
                del self._leased[lease.id]

    def complete_many(self, completions: Sequence[Completion], results: ResultBackend) -> list[bool] | None:
        """Store and settle each outcome under the queue's lock, only while its lease is held."""
        if not isinstance(results, MemoryResults):
            return None
        applied: list[bool] = []
        with self._cond:
            for completion in completions:
                held = self._held(completion.lease) is not None
                if held:
                    results.save(completion.record)
                    if completion.retry_at is None:
                        self.ack(completion.lease)
                    else:
                        self.nack(completion.lease, retry_at=completion.retry_at)
                applied.append(held)
        return applied

    def nack(self, lease: Lease, *, retry_at: float | None = None) -> None:
        self._give_back(lease, retry_at if retry_at is not None else time.time(), retry_at is not None)

    def defer(self, lease: Lease, until: float) -> None:
        """Return the held job, due at ``until``, with its attempts unchanged."""
        self._give_back(lease, until, False)

    def limiter(self) -> MemoryLimiter:
        """The limiter of this process (the memory queue serves no other)."""
        return self._limiter

    def _give_back(self, lease: Lease, due: float, count_attempt: bool) -> None:
        with self._cond:
            entry = self._held(lease)
            if entry is None:
                return
            if count_attempt:
                attempts = entry.envelope.attempts + 1
                entry.envelope = dataclasses.replace(entry.envelope, attempts=attempts)
            entry.lease = None
            del self._leased[lease.id]
            entry.deliveries = 0
            self._push(entry, due)
            self._cond.notify_all()

    def extend(self, lease: Lease, lease_secs: float) -> bool:
        with self._cond:
            entry = self._held(lease)
            if entry is None or entry.lease is None:
                return False
            entry.lease.expires_at = time.time() + lease_secs
            lease.expires_at = entry.lease.expires_at
            return True

    def qsize(self, queue: str | None = None) -> int:
        with self._cond:
            return sum(
                1
                for e in self._entries.values()
                if e.lease is None and (queue is None or e.envelope.queue == queue)
            )

    def stats(self) -> QueueStats:
        now = time.time()
        with self._cond:
            by_queue: dict[str, int] = {}
            ready = scheduled = leased = 0
            for entry in self._entries.values():
                if entry.lease is not None:
                    leased += 1
                    continue
                by_queue[entry.envelope.queue] = by_queue.get(entry.envelope.queue, 0) + 1
                if entry.due > now:
                    scheduled += 1
                else:
                    ready += 1
            return QueueStats(ready=ready, scheduled=scheduled, leased=leased, by_queue=by_queue)

    def depths(self, now: float) -> QueueDepths:
        """Jobs per queue and state (``DepthQueue``): one pass over the in-process entries."""
        counts: dict[str, list[int]] = {}
        oldest: dict[str, float] = {}
        with self._cond:
            for entry in self._entries.values():
                name = entry.envelope.queue
                tally = counts.setdefault(name, [0, 0, 0])
                if entry.lease is not None:
                    tally[2] += 1
                elif entry.due > now:
                    tally[1] += 1
                else:
                    tally[0] += 1
                    oldest[name] = min(oldest.get(name, entry.due), entry.due)
        return QueueDepths(
            by_queue={q: QueueDepth(r, s, leased, oldest.get(q)) for q, (r, s, leased) in counts.items()}
        )

    def quarantined(self, limit: int = 1000) -> list[Quarantined]:
        """Always empty: entries live as objects here and are never corrupt."""
        return []

    def clear(self) -> int:
        with self._cond:
            count = len(self._entries)
            self._entries.clear()
            self._ready.clear()
            self._delayed.clear()
            self._leased.clear()
            return count

    def purge(self, queue: str) -> list[str]:
        """Delete the waiting jobs of ``queue`` (see :class:`~nuvom.backends.PurgingQueue`)."""
        with self._cond:
            ids = [i for i, e in self._entries.items() if e.lease is None and e.envelope.queue == queue]
            for job_id in ids:
                del self._entries[job_id]
            self._ready.pop(queue, None)  # delayed heap entries of deleted ids are skipped
            return ids

    # -- worker registry (see WorkerRegistry) ------------------------------------------------

    def beat(self, info: WorkerInfo) -> None:
        with self._cond:
            self._workers[info.id] = info

    def workers(self) -> list[WorkerInfo]:
        with self._cond:
            return sorted(self._workers.values(), key=lambda w: w.id)

    def forget_worker(self, worker_id: str) -> bool:
        with self._cond:
            return self._workers.pop(worker_id, None) is not None


class MemoryResults(BaseResults):
    """Job records in a dict, shared by the threads of one process."""

    name: ClassVar[str] = "memory"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, JobRecord] = {}

    def save(self, record: JobRecord, *, durable: bool = True) -> None:
        with self._lock:
            self._records[record.id] = record

    def save_new(self, record: JobRecord, *, durable: bool = True) -> bool:
        """Store ``record`` unless its id is taken, under the store's lock."""
        with self._lock:
            if record.id in self._records:
                return False
            self._records[record.id] = record
            return True

    def get_full(self, job_id: str) -> JobRecord | None:
        with self._lock:
            record = self._records.get(job_id)
        return None if record is None or is_expired(record) else record

    def list_jobs(self, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[JobRecord]:
        with self._lock:
            records = [r for r in self._records.values() if not is_expired(r)]
        return newest_first(records, status, limit, offset)

    def delete(self, job_id: str) -> bool:
        with self._lock:
            return self._records.pop(job_id, None) is not None

    def purge_expired(self, now: float | None = None) -> int:
        with self._lock:
            expired = [k for k, r in self._records.items() if is_expired(r, now)]
            for key in expired:
                del self._records[key]
            return len(expired)
