"""The optional flow control of a queue (``nuvom.backends.limits.LimitingQueue``) as pytest checks.

They run when the queue implements ``limiter`` and ``defer``; otherwise they are skipped (a
worker then refuses tasks with ``rate_limit`` or ``concurrency_limit``, naming the backend).
Times are passed to the limiter, so most checks need no waiting.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest

from ...backends.base import QueueBackend
from ...backends.limits import Limiter, LimitingQueue
from .support import env, pop, wait_for

_PERIOD = 1.0
_LEASE = 5.0


def _key() -> str:
    """A fresh key, with characters a store must not take as syntax."""
    return f"customer:{{42}} ü/../{uuid.uuid4().hex[:8]}"


class LimitingQueueSuite:
    """Checks of ``limiter()`` and ``defer``; mixed into the queue suite."""

    @pytest.fixture
    def limiting_queue(self, queue: QueueBackend) -> LimitingQueue:
        """The queue under test, or a skip when it offers no limiter."""
        if not isinstance(queue, LimitingQueue):
            pytest.skip("the queue does not implement limiter() and defer()")
        return queue

    @pytest.fixture
    def limiter(self, limiting_queue: LimitingQueue) -> Limiter:
        """The limiter of the queue under test."""
        return limiting_queue.limiter()

    # -- rate ------------------------------------------------------------------------------

    def test_take_start_grants_up_to_the_limit_per_window(self, limiter: Limiter) -> None:
        """``limit`` starts are granted; the next one is refused with the wait until one leaves."""
        key, now = _key(), time.time()
        assert [limiter.take_start(key, 3, _PERIOD, now + i * 0.1) for i in range(3)] == [0.0] * 3
        wait = limiter.take_start(key, 3, _PERIOD, now + 0.5)
        assert wait == pytest.approx(0.5, abs=1e-3)
        assert limiter.take_start(key, 3, _PERIOD, now + 1.0005) == 0.0

    def test_the_window_slides_with_each_start(self, limiter: Limiter) -> None:
        """No window of ``period`` seconds ever holds more than ``limit`` grants."""
        key, now = _key(), time.time()
        granted = [
            now + i * 0.05 for i in range(60) if limiter.take_start(key, 5, _PERIOD, now + i * 0.05) == 0
        ]
        for first, later in zip(granted, granted[5:], strict=False):
            assert later - first >= _PERIOD - 1e-6
        assert len(granted) >= 10  # 3 s of attempts: 5 in each of the windows they span

    def test_a_refused_start_counts_nothing(self, limiter: Limiter) -> None:
        """Refused starts do not push the window: the first start after it is granted."""
        key, now = _key(), time.time()
        assert limiter.take_start(key, 1, _PERIOD, now) == 0.0
        for i in range(1, 10):
            assert limiter.take_start(key, 1, _PERIOD, now + i * 0.09) > 0
        assert limiter.take_start(key, 1, _PERIOD, now + 1.001) == 0.0

    def test_a_start_counted_by_a_clock_ahead_is_counted(self, limiter: Limiter) -> None:
        """A start counted a little in the future fills the window of a caller whose clock is behind."""
        key, now = _key(), time.time()
        assert limiter.take_start(key, 1, _PERIOD, now + 0.01) == 0.0
        assert limiter.take_start(key, 1, _PERIOD, now) > 0

    def test_keys_are_counted_apart(self, limiter: Limiter) -> None:
        """Each key has its own window, and its own slots."""
        first, second, now = _key(), _key(), time.time()
        assert limiter.take_start(first, 1, _PERIOD, now) == 0.0
        assert limiter.take_start(second, 1, _PERIOD, now) == 0.0
        assert limiter.acquire_slot(first, 1, "job-a", _LEASE, now) == 0.0
        assert limiter.acquire_slot(second, 1, "job-b", _LEASE, now) == 0.0

    def test_starts_are_shared_by_every_instance(
        self, limiting_queue: LimitingQueue, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """A second instance over the same store sees the first one's grants."""
        other = make_queue()
        assert isinstance(other, LimitingQueue)
        key, now = _key(), time.time()
        assert limiting_queue.limiter().take_start(key, 1, _PERIOD, now) == 0.0
        assert other.limiter().take_start(key, 1, _PERIOD, now) > 0

    def test_concurrent_takes_grant_exactly_the_limit(
        self, limiting_queue: LimitingQueue, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """Grants are atomic: 8 racing callers on 8 instances, limit 3, get exactly 3 grants."""
        limiters = [limiting_queue.limiter()]
        for _ in range(7):
            other = make_queue()
            assert isinstance(other, LimitingQueue)
            limiters.append(other.limiter())
        key, now, barrier = _key(), time.time(), threading.Barrier(8)
        results: list[float] = []

        def take(limiter: Limiter) -> None:
            barrier.wait()
            results.append(limiter.take_start(key, 3, _PERIOD, now))

        threads = [threading.Thread(target=take, args=(limiter,)) for limiter in limiters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sum(result == 0.0 for result in results) == 3

    # -- slots -----------------------------------------------------------------------------

    def test_slots_are_limited_and_kept_by_their_holder(self, limiter: Limiter) -> None:
        """``limit`` holders get a slot; another waits for the soonest lease; a holder keeps its own."""
        key, now = _key(), time.time()
        assert limiter.acquire_slot(key, 2, "job-a", _LEASE, now) == 0.0
        assert limiter.acquire_slot(key, 2, "job-b", _LEASE, now + 1) == 0.0
        assert limiter.acquire_slot(key, 2, "job-c", _LEASE, now + 2) == pytest.approx(3.0, abs=1e-3)
        assert limiter.acquire_slot(key, 2, "job-a", _LEASE, now + 2) == 0.0  # redelivered: kept

    def test_a_released_slot_is_free_at_once(self, limiter: Limiter) -> None:
        """``release_slot`` frees the slot for the next holder, and is idempotent."""
        key, now = _key(), time.time()
        assert limiter.acquire_slot(key, 1, "job-a", _LEASE, now) == 0.0
        assert limiter.acquire_slot(key, 1, "job-b", _LEASE, now) > 0
        limiter.release_slot(key, "job-a")
        limiter.release_slot(key, "job-a")
        assert limiter.acquire_slot(key, 1, "job-b", _LEASE, now) == 0.0

    def test_a_lapsed_slot_lease_frees_the_slot(self, limiter: Limiter) -> None:
        """A holder that stops renewing (its worker was killed) loses the slot when its lease lapses."""
        key, now = _key(), time.time()
        assert limiter.acquire_slot(key, 1, "job-a", _LEASE, now) == 0.0
        assert limiter.acquire_slot(key, 1, "job-b", _LEASE, now + _LEASE - 0.01) > 0
        assert limiter.acquire_slot(key, 1, "job-b", _LEASE, now + _LEASE + 0.01) == 0.0
        assert limiter.renew_slot(key, "job-a", _LEASE, now + _LEASE + 0.02) is False

    def test_renew_slot_pushes_a_held_lease(self, limiter: Limiter) -> None:
        """A renewed lease outlives its first expiry; a holder without a slot renews nothing."""
        key, now = _key(), time.time()
        assert limiter.acquire_slot(key, 1, "job-a", _LEASE, now) == 0.0
        assert limiter.renew_slot(key, "job-a", _LEASE, now + _LEASE - 1) is True
        assert limiter.acquire_slot(key, 1, "job-b", _LEASE, now + _LEASE + 1) > 0
        assert limiter.renew_slot(key, "job-b", _LEASE, now) is False
        assert limiter.acquire_slot(key, 1, "job-b", _LEASE, now + 2 * _LEASE) == 0.0

    # -- defer -----------------------------------------------------------------------------

    @pytest.mark.timeout(30)
    def test_defer_returns_the_job_later_with_its_attempts(self, limiting_queue: LimitingQueue) -> None:
        """A deferred job is claimable from ``until`` on, with ``attempts`` unchanged, delivered once."""
        queue = limiting_queue
        assert isinstance(queue, QueueBackend)
        queue.enqueue(env("deferred"))
        (lease,) = pop(queue)
        until = time.time() + 0.4
        queue.defer(lease, until)
        assert pop(queue) == []
        (again,) = wait_for(lambda: pop(queue), 10.0, "the deferred job to come due")
        assert time.time() >= until
        assert (again.id, again.envelope.attempts, again.deliveries) == ("deferred", 0, 1)

    def test_defer_of_a_lost_lease_does_nothing(self, limiting_queue: LimitingQueue) -> None:
        """Deferring a lease that was lost leaves the new holder's claim alone."""
        queue = limiting_queue
        assert isinstance(queue, QueueBackend)
        queue.enqueue(env("lost"))
        (first,) = queue.pop_batch(1, queues=("default",), timeout=0, lease_secs=0.2)
        second = wait_for(lambda: pop(queue), 10.0, "the lapsed job to be claimable again")[0]
        queue.defer(first, time.time() + 60)
        assert queue.extend(second, 30.0) is True
        queue.ack(second)
        assert queue.qsize() == 0
