"""Backends that break one sentence of the contract each: the suite must catch them.

Targets for ``nuvom plugin test tests.conformance.broken_backends:CLASS``.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence

from nuvom.backends import Completion, Lease, ResultBackend
from nuvom.backends.file_queue import FileQueue
from nuvom.backends.memory import MemoryQueue
from nuvom.config import Settings


class LeaseBlindAckFileQueue(FileQueue):
    """Its ``ack`` ignores the lease token: it deletes whatever lease currently holds the job id,
    so a stale ack (of a lease that expired and was claimed again) deletes the new holder's job."""

    @classmethod
    def from_settings(cls, settings: Settings) -> LeaseBlindAckFileQueue:
        return cls(settings.data_dir / "queue", fsync=settings.file_fsync)

    def ack(self, lease: Lease) -> None:
        leased = self.root / "leased"
        for token in os.listdir(leased):
            if f"~{lease.id}~" in token:
                try:
                    os.unlink(leased / token)
                except FileNotFoundError:
                    pass


class RacyClaimMemoryQueue(MemoryQueue):
    """Its claim is not atomic: it looks at the due jobs, lets go of the lock, then leases what
    it saw without checking that nobody leased it in between."""

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        deadline = time.time() + timeout
        while True:
            with self._cond:
                now = time.time()
                self._promote_due(now)
                self._reclaim_expired(now)
                seen = sorted(item for q in queues for item in self._ready.get(q, []))[:n]
            time.sleep(0.001)  # the window in which another claimer sees the same jobs
            leases = []
            with self._cond:
                for item in seen:
                    entry = self._entries.get(item[3])
                    if entry is None:
                        continue
                    heap = self._ready[entry.envelope.queue]
                    if item in heap:
                        heap.remove(item)
                    entry.deliveries += 1
                    entry.lease = Lease(entry.envelope, entry.deliveries, now + lease_secs, uuid.uuid4().hex)
                    self._leased[entry.envelope.id] = entry
                    leases.append(entry.lease)
                for heap in self._ready.values():
                    heap.sort()
            if leases or time.time() >= deadline:
                return leases
            with self._cond:
                self._cond.wait(min(0.01, max(0.0, deadline - time.time())))


class LeaseBlindCompletingMemoryQueue(MemoryQueue):
    """Its ``complete_many`` stores every outcome, even of a lease that was lost."""

    def complete_many(self, completions: Sequence[Completion], results: ResultBackend) -> list[bool] | None:
        for completion in completions:
            results.save(completion.record)
            if completion.retry_at is None:
                self.ack(completion.lease)
            else:
                self.nack(completion.lease, retry_at=completion.retry_at)
        return [True] * len(completions)
