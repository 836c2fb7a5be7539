"""The optional operator interfaces of a queue as pytest checks: the worker registry and purge.

Checks of :class:`~nuvom.backends.WorkerRegistry` run when the queue implements it, and those
of :class:`~nuvom.backends.PurgingQueue` when it implements ``purge``; otherwise they are
skipped. Mixed into the queue suite.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ...backends import Capability, PurgingQueue, QueueBackend, WorkerInfo, WorkerRegistry
from .support import LONG_LEASE_SECS, env, pop, requires


def worker_info(worker_id: str, *, heartbeat_at: float | None = None, running: int = 0) -> WorkerInfo:
    """A worker description for the checks."""
    now = time.time()
    return WorkerInfo(
        id=worker_id,
        host="host-a",
        pid=4242,
        queues=("default", "emails"),
        pool="threads",
        slots=4,
        running=running,
        started_at=now - 60,
        heartbeat_at=now if heartbeat_at is None else heartbeat_at,
    )


class QueueOperationsSuite:
    """Checks of the worker registry and of ``purge``; mixed into the queue suite."""

    @pytest.fixture
    def registry(self, queue: QueueBackend) -> WorkerRegistry:
        if not isinstance(queue, WorkerRegistry):
            pytest.skip("the queue does not implement the worker registry (beat, workers, forget_worker)")
        return queue

    @pytest.fixture
    def purging(self, queue: QueueBackend) -> PurgingQueue:
        if not isinstance(queue, PurgingQueue):
            pytest.skip("the queue does not implement purge")
        return queue

    def test_a_heartbeat_is_listed_exactly_and_replaced_by_the_next(self, registry: WorkerRegistry) -> None:
        """``beat`` stores the description; a later beat of the same id replaces it."""
        first = worker_info("w-1", heartbeat_at=time.time() - 5)
        registry.beat(first)
        registry.beat(worker_info("w-0"))
        assert registry.workers()[1] == first, "a description must be listed exactly, sorted by id"
        later = worker_info("w-1", running=3)
        registry.beat(later)
        assert [w.id for w in registry.workers()] == ["w-0", "w-1"]
        assert registry.workers()[1] == later, "a later beat must replace the description"

    @requires(Capability.CROSS_PROCESS)
    def test_heartbeats_are_seen_by_other_clients(
        self, registry: WorkerRegistry, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """A heartbeat stored through one instance is listed by another (as by another process)."""
        registry.beat(worker_info("w-1"))
        other = make_queue()
        assert isinstance(other, WorkerRegistry)
        assert [w.id for w in other.workers()] == ["w-1"]

    def test_forget_worker_removes_it_once(self, registry: WorkerRegistry) -> None:
        """``forget_worker`` deletes the description: ``True`` once, then ``False``."""
        registry.beat(worker_info("w-1"))
        assert registry.forget_worker("w-1") is True
        assert registry.workers() == []
        assert registry.forget_worker("w-1") is False

    def test_purge_deletes_waiting_jobs_of_one_queue_only(self, purging: PurgingQueue) -> None:
        """``purge`` removes ready and future jobs of its queue, returns their ids, and keeps the rest."""
        queue = purging
        assert isinstance(queue, QueueBackend)
        queue.enqueue_many(
            [env("a1", queue="a"), env("a2", queue="a", eta=time.time() + 3600), env("b1", queue="b")]
        )
        queue.enqueue(env("a-held", queue="a", priority=0))
        (held,) = pop(queue, queues=("a",), n=1)

        purged = purging.purge("a")

        assert sorted(purged) == sorted({"a1", "a2", "a-held"} - {held.id}), f"purged {purged}"
        assert queue.qsize("a") == 0, "every waiting job of the purged queue must be gone"
        assert queue.qsize("b") == 1, "jobs of another queue must stay"
        assert queue.extend(held, LONG_LEASE_SECS), "a leased job must not be purged"
        assert purging.purge("a") == [], "a second purge finds nothing"
