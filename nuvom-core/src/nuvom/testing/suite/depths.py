"""The optional per-queue counts (``nuvom.backends.DepthQueue``) as pytest checks.

They run when the queue implements ``depths``; otherwise they are skipped. The fleet exporter
(``nuvom prometheus serve``) reads these counts on every scrape.
"""

from __future__ import annotations

import time

import pytest

from ...backends import Capability, DepthQueue, QueueBackend, QueueDepth
from .support import env, plant_corrupt_entry, pop, requires


class DepthQueueSuite:
    """Checks of ``depths``; mixed into the queue suite."""

    @pytest.fixture
    def depth_queue(self, queue: QueueBackend) -> DepthQueue:
        """The queue under test, or a skip when it does not implement ``depths``."""
        if not isinstance(queue, DepthQueue):
            pytest.skip("the queue does not implement depths")
        return queue

    def test_depths_count_each_queue_by_state(self, depth_queue: DepthQueue) -> None:
        """``depths`` counts ready, scheduled (eta or retry) and leased jobs of each queue."""
        queue = depth_queue
        assert isinstance(queue, QueueBackend)
        queue.enqueue_many([env("a1"), env("a2"), env("a3"), env("b1", queue="other", priority=3)])
        queue.enqueue(env("later", queue="other", eta=time.time() + 3600))
        first, second = pop(queue, 2)
        queue.nack(second, retry_at=time.time() + 3600)

        depths = queue.depths(time.time()).by_queue

        found = {name: (d.ready, d.scheduled, d.leased) for name, d in depths.items()}
        assert found == {"default": (1, 1, 1), "other": (1, 1, 0)}, (
            f"ready/scheduled/leased per queue is {found}"
        )
        assert queue.depths(time.time()).quarantined == 0
        queue.ack(first)
        assert queue.depths(time.time()).by_queue["default"].leased == 0, "an acked job still counts"

    def test_depths_give_when_the_longest_waiting_job_became_due(self, depth_queue: DepthQueue) -> None:
        """``oldest_ready_due`` is the earliest due time among ready jobs, ``None`` with none ready."""
        queue = depth_queue
        assert isinstance(queue, QueueBackend)
        before = time.time()
        queue.enqueue(env("new"))
        queue.enqueue(env("old", eta=before - 100, priority=9))  # due long ago, least urgent
        queue.enqueue(env("future", queue="other", eta=before + 3600))

        depths = queue.depths(time.time()).by_queue

        oldest = depths["default"].oldest_ready_due
        assert oldest is not None and abs(oldest - (before - 100)) < 1, (
            f"oldest_ready_due is {oldest}, expected about {before - 100}"
        )
        only_future = depths["other"]
        assert only_future == QueueDepth(scheduled=1), f"a queue with only a future job: {only_future}"
        assert depths.get("empty", QueueDepth()) == QueueDepth(), "a queue never used has jobs"

    @requires(Capability.QUARANTINE)
    def test_depths_count_quarantined_entries(self, depth_queue: DepthQueue) -> None:
        """A corrupt entry set aside counts in ``quarantined``, not among the ready jobs."""
        queue = depth_queue
        assert isinstance(queue, QueueBackend)
        queue.enqueue(env("good"))
        try:
            plant_corrupt_entry(queue, "default")
        except NotImplementedError:
            pytest.skip("the backend offers no plant_corrupt_entry(queue)")
        assert [lease.id for lease in pop(queue)] == ["good"]

        depths = queue.depths(time.time())

        assert depths.quarantined == 1, f"quarantined is {depths.quarantined}, expected 1"
        ready = depths.by_queue.get("default", QueueDepth()).ready
        assert ready == 0, f"{ready} ready jobs beside the quarantined entry"
