"""The optional fenced completion (``nuvom.backends.CompletingQueue``) as pytest checks.

They run when the queue implements ``complete_many`` and the check also has a ``results_factory``
fixture; otherwise they are skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ...backends import CompletingQueue, Completion, QueueBackend, ResultBackend
from ...record import ErrorInfo, JobStatus
from .results import record
from .support import closing_instances, env, pop, reclaim_after_expiry, wait_for


class CompletingQueueSuite:
    """Checks of ``complete_many``; mixed into the queue suite."""

    @pytest.fixture
    def completing(
        self, queue: QueueBackend, request: pytest.FixtureRequest
    ) -> tuple[CompletingQueue, ResultBackend]:
        """The queue under test and a result store over the same check's store, or a skip."""
        if not isinstance(queue, CompletingQueue):
            pytest.skip("the queue does not implement complete_many")
        try:
            factory: Callable[[], ResultBackend] = request.getfixturevalue("results_factory")
        except pytest.FixtureLookupError:
            pytest.skip("complete_many needs a results_factory fixture as well")
        makers = closing_instances(factory)
        make = next(makers)
        request.addfinalizer(lambda: next(makers, None))
        return queue, make()

    def test_complete_many_stores_and_acks_a_held_lease(
        self, completing: tuple[CompletingQueue, ResultBackend]
    ) -> None:
        """``complete_many`` stores a terminal record and acks its job in one step."""
        queue, results = completing
        assert isinstance(queue, QueueBackend)
        queue.enqueue(env("j"))
        (lease,) = pop(queue)
        done = record("j", status=JobStatus.SUCCESS, attempts=1, finished_at=time.time())

        applied = queue.complete_many([Completion(lease, done)], results)
        if applied is None:
            pytest.skip("complete_many does not write to this result store")

        assert applied == [True], f"a held lease must be completed; got {applied}"
        assert results.get_full("j") == done, "the completed record must be stored exactly"
        assert not pop(queue), "a completed job must be acked: it was claimable again"
        assert queue.qsize() == 0

    def test_complete_many_of_a_lost_lease_writes_nothing(
        self, completing: tuple[CompletingQueue, ResultBackend]
    ) -> None:
        """A completion whose lease was lost (expired and claimed again) writes nothing."""
        queue, results = completing
        assert isinstance(queue, QueueBackend)
        queue.enqueue(env("j"))
        (stale,) = pop(queue, lease_secs=0.2)
        holder = reclaim_after_expiry(queue, stale)

        late = record("j", status=JobStatus.SUCCESS, attempts=1, worker_id="stalled")
        applied = queue.complete_many([Completion(stale, late)], results)
        if applied is None:
            pytest.skip("complete_many does not write to this result store")

        assert applied == [False], f"a lost lease must not be completed; got {applied}"
        assert results.get_full("j") is None, "the stalled worker's outcome overwrote the store"
        assert queue.extend(holder, 30), "the stalled completion took the new holder's lease"
        mine = record("j", status=JobStatus.SUCCESS, attempts=1, worker_id="holder")
        assert queue.complete_many([Completion(holder, mine)], results) == [True]
        assert results.get_full("j") == mine

    def test_complete_many_nacks_a_retrying_job_until_its_retry_time(
        self, completing: tuple[CompletingQueue, ResultBackend]
    ) -> None:
        """A ``retrying`` record is stored and its job returned, due at ``next_retry_at``."""
        queue, results = completing
        assert isinstance(queue, QueueBackend)
        queue.enqueue(env("j"))
        (lease,) = pop(queue)
        retry_at = time.time() + 0.5
        error = ErrorInfo("ValueError", "try again", "")
        retrying = record("j", status=JobStatus.RETRYING, attempts=1, error=error, next_retry_at=retry_at)

        applied = queue.complete_many([Completion(lease, retrying)], results)
        if applied is None:
            pytest.skip("complete_many does not write to this result store")

        assert applied == [True]
        assert results.get_full("j") == retrying
        early = pop(queue)
        assert not early or time.time() >= retry_at, "the retry was claimable before next_retry_at"
        (again,) = early or wait_for(lambda: pop(queue, timeout=0.05), 5, "the retry to become due")
        assert again.envelope.attempts == 1, f"attempts is {again.envelope.attempts} after one retry"
