"""Contention of the queue contract as pytest checks: claims are atomic across threads and processes.

Mixed into :class:`~nuvom.testing.suite.queue.QueueBackendSuite`, which provides the ``queue`` and
``make_queue`` fixtures.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ...backends import Capability, QueueBackend
from .support import BackendFactory, claims_of_processes, env, pop, requires

#: Jobs and claimers of the contention checks.
_CONTENDED_JOBS = 2_000
_CLAIMERS = 4
_CLAIM_BATCH = 5
#: How long one claimer may take to see the queue empty.
_CONTENTION_TIMEOUT_SECS = 30.0


class QueueContentionSuite:
    """Checks that two claimers, in threads, processes or instances, never hold one job."""

    def test_claims_are_atomic_across_threads(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """Claims are atomic: 4 threads claiming from 2,000 jobs claim every job exactly once."""
        ids = [f"job-{i:04d}" for i in range(_CONTENDED_JOBS)]
        queue.enqueue_many([env(i) for i in ids])
        claimers = [make_queue() for _ in range(_CLAIMERS)]
        claimed: list[list[str]] = [[] for _ in claimers]
        errors: list[str] = []
        barrier = threading.Barrier(_CLAIMERS)

        def claim_all(index: int) -> None:
            try:
                barrier.wait(timeout=30)
                claimed[index] = _claim_until_empty(claimers[index])
            except BaseException as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

        threads = [threading.Thread(target=claim_all, args=(i,), daemon=True) for i in range(_CLAIMERS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + _CONTENTION_TIMEOUT_SECS + 30
        for thread in threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        assert not any(t.is_alive() for t in threads), "a claiming thread did not finish"

        assert errors == [], f"claiming threads failed: {'; '.join(errors)}"
        _assert_each_claimed_once(claimed, ids, "threads")

    @requires(Capability.CROSS_PROCESS)
    def test_claims_are_atomic_across_processes(
        self, queue: QueueBackend, queue_factory: BackendFactory
    ) -> None:
        """Claims are atomic across processes: 4 processes claiming 2,000 jobs claim each exactly once."""
        ids = [f"job-{i:04d}" for i in range(_CONTENDED_JOBS)]
        queue.enqueue_many([env(i) for i in ids])
        context = multiprocessing.get_context("fork")
        start, first, finish = (context.Barrier(_CLAIMERS) for _ in range(3))
        claimed = claims_of_processes(
            _CLAIMERS, _claim_in_child, (queue_factory, start, first, finish), _CONTENTION_TIMEOUT_SECS + 30
        )
        _assert_each_claimed_once(claimed, ids, "processes")
        busy = sum(1 for part in claimed if part)
        assert busy >= 2, f"only {busy} of {_CLAIMERS} processes claimed anything: no contention was tested"

    @requires(Capability.CROSS_PROCESS)
    def test_another_instance_never_takes_a_live_lease(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """Two claimers never hold live leases on the same job: another instance never takes it."""
        queue.enqueue(env("mine"))
        (lease,) = pop(queue)
        other = make_queue()

        assert pop(other, timeout=0.6) == [], "another instance claimed a job whose lease is live"
        assert queue.extend(lease, 30) is True, "the holder lost its live lease to another instance"

    @requires(Capability.CROSS_PROCESS)
    def test_a_lease_can_be_settled_through_another_instance(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """A lease can be acked, nacked or extended through any instance on the same store."""
        queue.enqueue_many([env("acked"), env("nacked"), env("extended")])
        acked, nacked, extended = pop(queue, 3)
        other = make_queue()

        other.ack(acked)
        other.nack(nacked)
        assert other.extend(extended, 30) is True, "extend through another instance returned False"

        ids = [lease.id for lease in pop(other)]
        assert ids == ["nacked"], f"after ack, nack and extend elsewhere, claimed {ids}, expected ['nacked']"
        assert queue.extend(acked, 30) is False, "ack through another instance left the job leased"
        queue.ack(extended)
        assert queue.qsize() == 0 and pop(queue) == [], "jobs are left after every lease was settled"


def _claim_until_empty(queue: QueueBackend, *, timeout: float = _CONTENTION_TIMEOUT_SECS) -> list[str]:
    ids: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        leases = pop(queue, _CLAIM_BATCH, timeout=0.05)
        if leases:
            ids.extend(lease.id for lease in leases)
        elif queue.qsize() == 0:
            return ids
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"after {timeout:g} s of claiming, qsize() is still {queue.qsize()} with nothing claimable"
            )


def _claim_in_child(factory: BackendFactory, start: Any, first: Any, finish: Any, sender: Connection) -> None:
    ids: list[str] = []
    error = ""
    try:
        queue: QueueBackend = factory()
        try:
            start.wait(timeout=30)
            # Every process claims once while all are live, however unevenly the CPUs are shared;
            # then they race for the rest.
            ids = [lease.id for lease in pop(queue, _CLAIM_BATCH, timeout=5.0)]
            first.wait(timeout=30)
            ids += _claim_until_empty(queue)
            # Stay open until every claimer is done: closing may hand this process's leases back.
            finish.wait(timeout=_CONTENTION_TIMEOUT_SECS + 10)
        except BaseException:
            first.abort()
            finish.abort()
            raise
        finally:
            queue.close()
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
    sender.send((ids, error))
    sender.close()


def _assert_each_claimed_once(claimed: list[list[str]], ids: list[str], who: str) -> None:
    counts = Counter(job_id for part in claimed for job_id in part)
    twice = sorted(job_id for job_id, count in counts.items() if count > 1)
    missing = sorted(set(ids) - set(counts))
    assert not twice, f"{len(twice)} jobs were claimed more than once by {_CLAIMERS} {who}, e.g. {twice[:3]}"
    assert not missing, f"{len(missing)} jobs were never claimed, e.g. {missing[:3]}"
