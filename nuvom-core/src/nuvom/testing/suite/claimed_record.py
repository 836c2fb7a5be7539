"""The optional record read with a claim (``Lease.record``) as pytest checks.

They run when the check also has a ``results_factory`` fixture over the same store and the queue
fills ``Lease.record``; otherwise they are skipped. The worker trusts that record instead of
reading the job's record again, so it must be the record stored at the moment of the claim.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ...backends import Lease, QueueBackend, ResultBackend
from ...record import JobStatus
from .results import record
from .support import LONG_LEASE_SECS, closing_instances, env, pop, reclaim_after_expiry


def _claim_one(queue: QueueBackend, lease_secs: float = LONG_LEASE_SECS) -> Lease:
    leases = pop(queue, 1, lease_secs=lease_secs)
    assert len(leases) == 1, f"expected one claim, got {len(leases)}"
    return leases[0]


class ClaimedRecordSuite:
    """Checks of ``Lease.record``; mixed into the queue suite."""

    @pytest.fixture
    def with_results(
        self, queue: QueueBackend, request: pytest.FixtureRequest
    ) -> tuple[QueueBackend, ResultBackend]:
        """The queue under test and a result store over the same check's store, or a skip."""
        try:
            factory: Callable[[], ResultBackend] = request.getfixturevalue("results_factory")
        except pytest.FixtureLookupError:
            pytest.skip("Lease.record needs a results_factory fixture as well")
        makers = closing_instances(factory)
        make = next(makers)
        request.addfinalizer(lambda: next(makers, None))
        return queue, make()

    def test_a_record_read_with_the_claim_is_the_stored_record(
        self, with_results: tuple[QueueBackend, ResultBackend]
    ) -> None:
        """A lease's ``record``, when filled, equals the record stored at the claim."""
        queue, results = with_results
        stored = record("j")
        results.save(stored)
        queue.enqueue(env("j"))

        lease = _claim_one(queue)

        if lease.record is None:
            pytest.skip("the queue reads no record with its claims")
        assert lease.record == stored, "Lease.record differs from the stored record"

    def test_a_later_claim_reads_the_record_as_it_is_then(
        self, with_results: tuple[QueueBackend, ResultBackend]
    ) -> None:
        """After a lease lapses, the next claim carries the record as changed since, never a stale copy."""
        queue, results = with_results
        results.save(record("j"))
        queue.enqueue(env("j"))
        first = _claim_one(queue, lease_secs=0.2)
        if first.record is None:
            pytest.skip("the queue reads no record with its claims")
        running = record("j", status=JobStatus.RUNNING, attempts=1, started_at=time.time(), worker_id="w1")
        results.save(running)

        again = reclaim_after_expiry(queue, first)

        assert again.record == running, f"the second claim carried {again.record!r}"

    def test_a_job_without_a_record_or_with_an_expired_one_carries_none(
        self, with_results: tuple[QueueBackend, ResultBackend]
    ) -> None:
        """No record, or an expired one, leaves ``record`` ``None`` (the worker then reads it itself)."""
        queue, results = with_results
        results.save(record("old", expires_at=time.time() - 1))
        queue.enqueue(env("old"))
        queue.enqueue(env("none"))

        leases = {lease.id: lease for lease in pop(queue)}

        assert set(leases) == {"old", "none"}
        assert leases["old"].record is None, "an expired record was handed over"
        assert leases["none"].record is None
