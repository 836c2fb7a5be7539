"""A Nuvom queue kept in one JSON file: persistent, shared by every process of one host.

Written from Nuvom's docs alone (docs/plugins/writing-a-backend.md) as a worked example of a
third-party backend. Each operation takes an exclusive ``flock`` on a lock file beside the
store, reads the whole store, changes it, writes it to a temporary file, fsyncs it and renames
it into place. That makes every claim atomic across processes and every write whole and durable,
at the price of rewriting the file on each call: fine for thousands of jobs, not for millions.
POSIX only (``fcntl``).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from nuvom.backends import BaseQueue, Capability, Envelope, Lease, QueueStats
from nuvom.config import Settings
from nuvom.plugins import hookimpl

#: How often a claimer that found nothing looks again, until its timeout.
POLL_SECS = 0.02
Store = dict[str, Any]


class JsonQueue(BaseQueue):
    """A queue with leases in one JSON file, guarded by an exclusive file lock."""

    name: ClassVar[str] = "jsonqueue"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT, Capability.EXACT_ORDER}
    )

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_path = path.with_name(path.name + ".lock")

    @classmethod
    def from_settings(cls, settings: Settings) -> JsonQueue:
        """The store lives under the data directory (a fresh one per conformance check)."""
        return cls(settings.data_dir / "jsonqueue.json")

    @contextlib.contextmanager
    def _store(self, *, write: bool) -> Iterator[Store]:
        with open(self._lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                store: Store = {"seq": 0, "jobs": {}}
                if self.path.exists():
                    store = json.loads(self.path.read_bytes())
                yield store
                if write:
                    self._save(store)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _save(self, store: Store) -> None:
        data = json.dumps(store, separators=(",", ":")).encode()
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".jsonqueue-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)  # a buffered file writes every byte or raises
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)

    def enqueue(self, envelope: Envelope) -> None:
        """Store one job durably; never claimable before its eta."""
        self.enqueue_many([envelope])

    def enqueue_many(self, envelopes: Sequence[Envelope]) -> None:
        """Store many jobs in one write, keeping their order."""
        now = time.time()
        with self._store(write=True) as store:
            for env in envelopes:
                store["seq"] += 1
                store["jobs"][env.id] = {
                    "queue": env.queue,
                    "payload": base64.b64encode(env.payload).decode(),
                    "priority": env.priority,
                    "eta": env.eta,
                    "attempts": env.attempts,
                    "due": env.eta if env.eta is not None else now,
                    "seq": store["seq"],
                    "deliveries": 0,
                    "token": None,
                    "expires": 0.0,
                }

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        """Atomically claim up to n due jobs (priority, then due time), waiting up to timeout."""
        deadline = time.time() + timeout
        while True:
            with self._store(write=False) as store:
                now = time.time()
                claimable = sorted(
                    (job["priority"], _ready_at(job), job["seq"], job_id)
                    for job_id, job in store["jobs"].items()
                    if job["queue"] in queues and _ready_at(job) <= now
                )[:n]
                leases = [
                    self._lease(job_id, store["jobs"][job_id], now, lease_secs) for *_, job_id in claimable
                ]
                if leases:
                    self._save(store)
                    return leases
            if now >= deadline:
                return []
            time.sleep(min(POLL_SECS, max(0.0, deadline - now)))

    @staticmethod
    def _lease(job_id: str, job: dict[str, Any], now: float, lease_secs: float) -> Lease:
        if job["token"] is not None:  # its lease expired: from now on it waits like a new job
            job["due"] = job["expires"]
        job["deliveries"] += 1
        job["token"] = uuid.uuid4().hex
        job["expires"] = now + lease_secs
        return Lease(_envelope(job_id, job), job["deliveries"], job["expires"], job["token"])

    def ack(self, lease: Lease) -> None:
        """Remove the job for good; idempotent; a lost lease does not remove the new holder's job."""
        with self._store(write=True) as store:
            if _held(store, lease) is not None:
                del store["jobs"][lease.id]

    def nack(self, lease: Lease, *, retry_at: float | None = None) -> None:
        """Return the job: with retry_at, claimable from then with attempts + 1; else now."""
        with self._store(write=True) as store:
            job = _held(store, lease)
            if job is None:
                return
            if retry_at is not None:
                job["attempts"] += 1
            store["seq"] += 1
            job.update(token=None, expires=0.0, deliveries=0, seq=store["seq"])
            job["due"] = retry_at if retry_at is not None else time.time()

    def extend(self, lease: Lease, lease_secs: float) -> bool:
        """Push the lease's expiry; False if the lease was lost."""
        with self._store(write=True) as store:
            job = _held(store, lease)
            if job is None:
                return False
            job["expires"] = lease.expires_at = time.time() + lease_secs
            return True

    def qsize(self, queue: str | None = None) -> int:
        """Jobs waiting, due or not, not leased."""
        now = time.time()
        with self._store(write=False) as store:
            return sum(
                1
                for job in store["jobs"].values()
                if not _leased(job, now) and (queue is None or job["queue"] == queue)
            )

    def stats(self) -> QueueStats:
        """Counts of ready, scheduled and leased jobs, and waiting jobs per queue."""
        now = time.time()
        ready = scheduled = leased = 0
        by_queue: dict[str, int] = {}
        with self._store(write=False) as store:
            for job in store["jobs"].values():
                if _leased(job, now):
                    leased += 1
                    continue
                by_queue[job["queue"]] = by_queue.get(job["queue"], 0) + 1
                if _ready_at(job) > now:
                    scheduled += 1
                else:
                    ready += 1
        return QueueStats(ready=ready, scheduled=scheduled, leased=leased, by_queue=by_queue)

    def clear(self) -> int:
        """Delete every job; return how many."""
        with self._store(write=True) as store:
            count = len(store["jobs"])
            store["jobs"].clear()
            return count


def _leased(job: dict[str, Any], now: float) -> bool:
    return job["token"] is not None and job["expires"] > now


def _ready_at(job: dict[str, Any]) -> float:
    """When the job can be claimed: its due time, or when its lease expires."""
    return float(job["expires"]) if job["token"] is not None else float(job["due"])


def _held(store: Store, lease: Lease) -> dict[str, Any] | None:
    job: dict[str, Any] | None = store["jobs"].get(lease.id)
    return job if job is not None and job["token"] == lease.token else None


def _envelope(job_id: str, job: dict[str, Any]) -> Envelope:
    return Envelope(
        id=job_id,
        queue=job["queue"],
        payload=base64.b64decode(job["payload"]),
        priority=job["priority"],
        eta=job["eta"],
        attempts=job["attempts"],
    )


@hookimpl
def nuvom_queue_backends() -> dict[str, Any]:
    """Offer the queue under the name ``jsonqueue``."""
    return {JsonQueue.name: JsonQueue.from_settings}
