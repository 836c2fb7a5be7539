"""Claim order, due times and blocking claims of the queue contract as pytest checks.

Mixed into :class:`~nuvom.testing.suite.queue.QueueBackendSuite`, which provides the ``queue`` and
``make_queue`` fixtures.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from ...backends import Capability, Envelope, QueueBackend
from .support import drain_ids, env, first_difference, pop, reclaim_after_expiry, requires, wait_for


class QueueOrderingSuite:
    """Checks of what is claimed, in which order and when."""

    # -- enqueue and claim -------------------------------------------------------------------

    def test_a_claimed_job_carries_its_exact_envelope(self, queue: QueueBackend) -> None:
        """A claimed job carries the exact envelope it was enqueued with; the payload is opaque bytes."""
        plain = Envelope("plain", "default", bytes(range(256)) * 3 + b"\x00", 4, None)
        due = Envelope("due", "default", b"\xc1 not msgpack \xff", 4, time.time() - 60, attempts=3)
        queue.enqueue(plain)
        queue.enqueue(due)

        before = time.time()
        leases = pop(queue, lease_secs=30)
        after = time.time()

        by_id = {lease.id: lease for lease in leases}
        assert sorted(by_id) == ["due", "plain"], f"claimed {sorted(by_id)}, expected both jobs"
        for original in (plain, due):
            lease = by_id[original.id]
            assert lease.envelope == original, f"claimed {lease.envelope!r}, enqueued {original!r}"
            assert lease.deliveries == 1, f"a first claim must count 1 delivery, not {lease.deliveries}"
            assert before + 30 - 1 <= lease.expires_at <= after + 30 + 1, (
                f"a 30 s lease taken at {before:.3f} expires at {lease.expires_at:.3f}"
            )

    def test_a_5_mb_payload_round_trips(self, queue: QueueBackend) -> None:
        """A 5 MB payload comes back byte for byte."""
        payload = os.urandom(5 * 1024 * 1024)
        queue.enqueue(env("big", payload=payload))

        (lease,) = pop(queue)

        assert len(lease.envelope.payload) == len(payload), (
            f"a {len(payload)}-byte payload came back with {len(lease.envelope.payload)} bytes"
        )
        assert lease.envelope.payload == payload, "the 5 MB payload came back altered"

    def test_lower_priority_is_claimed_first_then_fifo(self, queue: QueueBackend) -> None:
        """Among due jobs, lower ``priority`` is claimed first, then earlier due time (FIFO)."""
        for job_id, priority in [("p5-a", 5), ("p1-a", 1), ("p5-b", 5), ("p9", 9), ("p1-b", 1), ("p0", 0)]:
            queue.enqueue(env(job_id, priority=priority))

        ids = drain_ids(queue)

        expected = ["p0", "p1-a", "p1-b", "p5-a", "p5-b", "p9"]
        assert ids == expected, f"claimed in the order {ids}, expected {expected}"

    def test_enqueue_many_keeps_input_order(self, queue: QueueBackend) -> None:
        """``enqueue_many`` keeps a batch in input order: its jobs are claimed first to last."""
        ids = ["z", "y", "m", "c", "b", "a"]  # reverse alphabetical, so an order by id would show
        queue.enqueue_many([env(i) for i in ids])

        claimed = drain_ids(queue)

        assert claimed == ids, f"claimed in the order {claimed}, enqueued {ids}"

    def test_enqueue_many_of_10000_jobs_claims_each_once_in_order(self, queue: QueueBackend) -> None:
        """``enqueue_many`` of 10,000 jobs stores them all; each is claimed once, in input order."""
        ids = [f"bulk-{i:05d}" for i in range(10_000)]
        queue.enqueue_many([env(i, payload=b"x") for i in ids])
        assert queue.qsize() == len(ids), f"qsize() is {queue.qsize()} after enqueuing {len(ids)} jobs"

        claimed = drain_ids(queue, n=500)

        assert len(claimed) == len(set(claimed)), "a job was claimed twice"
        assert claimed == ids, f"claims differ from the input order at {first_difference(claimed, ids)}"

    def test_a_more_urgent_job_enqueued_later_is_claimed_next(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """A more urgent job enqueued (by another client) after claiming began is claimed next."""
        queue.enqueue_many([env(f"low-{i}", priority=5) for i in (1, 2, 3)])
        first = [lease.id for lease in pop(queue, 1)]
        assert first == ["low-1"], f"claimed {first}, expected ['low-1']"

        make_queue().enqueue(env("urgent", priority=0))

        ids = drain_ids(queue)
        assert ids == ["urgent", "low-2", "low-3"], f"claimed {ids} after an urgent job arrived"

    def test_a_job_due_earlier_is_claimed_first_even_when_enqueued_later(self, queue: QueueBackend) -> None:
        """Within a priority, an earlier due time is claimed first, even if enqueued later (a past eta)."""
        queue.enqueue_many([env(f"now-{i}") for i in (1, 2, 3)])
        first = [lease.id for lease in pop(queue, 1)]
        assert first == ["now-1"], f"claimed {first}, expected ['now-1']"

        queue.enqueue(env("overdue", eta=time.time() - 100))

        ids = drain_ids(queue)
        expected = ["overdue", "now-2", "now-3"]
        assert ids == expected, f"claimed {ids}, expected {expected}: 'overdue' was due 100 s before them"

    @requires(Capability.EXACT_ORDER)
    def test_a_job_due_earlier_from_another_client_is_claimed_first(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """An earlier due time wins even when another client enqueues it after claiming began."""
        queue.enqueue_many([env(f"now-{i}") for i in (1, 2, 3)])
        first = [lease.id for lease in pop(queue, 1)]
        assert first == ["now-1"], f"claimed {first}, expected ['now-1']"

        make_queue().enqueue(env("overdue", eta=time.time() - 100))

        ids = drain_ids(queue)
        expected = ["overdue", "now-2", "now-3"]
        assert ids == expected, f"claimed {ids}, expected {expected}: 'overdue' was due 100 s before them"

    def test_pop_batch_claims_at_most_n(self, queue: QueueBackend) -> None:
        """``pop_batch(n)`` claims up to ``n`` due jobs."""
        queue.enqueue_many([env(f"j{i}") for i in range(5)])

        sizes = [len(pop(queue, 3)) for _ in range(3)]

        assert sizes == [3, 2, 0], f"pop_batch(3) on 5 jobs, three times, claimed {sizes} jobs"

    def test_only_the_asked_queues_are_claimed(self, queue: QueueBackend) -> None:
        """Only jobs of the asked queues are claimed, by priority across those queues."""
        queue.enqueue(env("a", queue="alpha", priority=5))
        queue.enqueue(env("b", queue="beta", priority=0))
        queue.enqueue(env("c", queue="gamma", priority=0))

        ids = [lease.id for lease in pop(queue, queues=("alpha", "beta"))]

        assert ids == ["b", "a"], f"claiming from alpha and beta gave {ids}, expected ['b', 'a']"
        assert queue.qsize("gamma") == 1, "the job of the queue not asked for must still wait"
        rest = [lease.id for lease in pop(queue, queues=("gamma",))]
        assert rest == ["c"], f"claiming from gamma gave {rest}"

    def test_dequeue_claims_one_job_or_returns_none(self, queue: QueueBackend) -> None:
        """``dequeue`` claims one due job, or returns ``None`` after its timeout."""
        assert queue.dequeue(0.0) is None, "dequeue on an empty queue must return None"
        queue.enqueue_many([env("first"), env("second"), env("elsewhere", queue="other")])

        lease = queue.dequeue(0.0, queues=("default",), lease_secs=30.0)

        assert lease is not None and lease.id == "first", f"dequeue claimed {lease!r}, expected 'first'"
        assert queue.qsize() == 2, f"qsize() is {queue.qsize()} after one of three jobs was claimed"

    # -- due times -----------------------------------------------------------------------------

    def test_a_job_is_not_claimable_before_its_eta(self, queue: QueueBackend) -> None:
        """A job is never claimable before its ``eta``, and is claimable once due."""
        eta = time.time() + 1.0
        queue.enqueue(env("later", eta=eta))

        early = pop(queue) + pop(queue, timeout=0.6)
        assert not early or time.time() >= eta, f"claimed {eta - time.time():.3f} s before its eta"

        (lease,) = early or wait_for(lambda: pop(queue, timeout=0.05), 5, "the job to become due")
        assert time.time() >= eta, "the job was claimed before its eta"
        assert lease.id == "later"
        assert lease.envelope.eta == eta, f"the eta came back as {lease.envelope.eta!r}, not {eta!r}"

    def test_a_due_job_is_claimed_while_a_future_one_waits(self, queue: QueueBackend) -> None:
        """A due job is claimed even when a more urgent job waits for its ``eta``."""
        queue.enqueue(env("future", eta=time.time() + 3600, priority=0))
        queue.enqueue(env("now", priority=9))

        ids = [lease.id for lease in pop(queue)]

        assert ids == ["now"], f"claimed {ids}, expected only the due job"
        assert pop(queue) == [], "the future job was claimed"

    def test_nack_with_retry_at_delays_the_job_and_adds_an_attempt(self, queue: QueueBackend) -> None:
        """``nack(retry_at=t)`` returns the job claimable from ``t``, attempts +1, deliveries reset."""
        queue.enqueue(env("j"))
        (first,) = pop(queue, lease_secs=0.2)
        second = reclaim_after_expiry(queue, first)
        assert second.deliveries == 2, f"the second claim counts {second.deliveries} deliveries, not 2"

        retry_at = time.time() + 1.0
        queue.nack(second, retry_at=retry_at)

        early = pop(queue) + pop(queue, timeout=0.6)
        assert not early or time.time() >= retry_at, f"claimed {retry_at - time.time():.3f} s before retry_at"
        (third,) = early or wait_for(lambda: pop(queue, timeout=0.05), 5, "the retry to become due")
        assert time.time() >= retry_at, "the job was claimed before its retry_at"
        assert third.envelope.attempts == 1, f"attempts is {third.envelope.attempts} after one retry, not 1"
        assert third.deliveries == 1, f"nack must reset deliveries; the next claim counts {third.deliveries}"

        queue.nack(third, retry_at=time.time())
        (fourth,) = pop(queue)
        assert fourth.envelope.attempts == 2, f"attempts is {fourth.envelope.attempts} after two retries"

    def test_nack_without_retry_at_returns_the_job_now_with_attempts_unchanged(
        self, queue: QueueBackend
    ) -> None:
        """``nack()`` without ``retry_at`` returns the job claimable now, attempts unchanged."""
        queue.enqueue(env("j"))
        (first,) = pop(queue, lease_secs=0.2)
        second = reclaim_after_expiry(queue, first)

        queue.nack(second)

        leases = pop(queue)
        assert [lease.id for lease in leases] == ["j"], "a nacked job must be claimable at once"
        assert leases[0].envelope.attempts == 0, f"nack() changed attempts to {leases[0].envelope.attempts}"
        assert leases[0].deliveries == 1, (
            f"nack must reset deliveries; the next claim counts {leases[0].deliveries}"
        )

    # -- blocking ------------------------------------------------------------------------------

    def test_pop_batch_waits_up_to_its_timeout_when_nothing_is_due(self, queue: QueueBackend) -> None:
        """``pop_batch`` on an empty queue waits about ``timeout`` seconds, then returns nothing."""
        started = time.monotonic()
        leases = pop(queue, timeout=0.5)
        elapsed = time.monotonic() - started

        assert leases == [], f"claimed {leases} from an empty queue"
        assert 0.45 <= elapsed < 2.0, f"pop_batch(timeout=0.5) returned after {elapsed:.3f} s"

    def test_pop_batch_returns_promptly_when_a_job_arrives(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """A waiting ``pop_batch`` returns soon after another thread enqueues a job, not at its timeout."""
        client = make_queue()
        enqueued_at: list[float] = []

        def enqueue() -> None:
            client.enqueue(env("late"))
            enqueued_at.append(time.monotonic())

        timer = threading.Timer(0.3, enqueue)  # lands while pop_batch waits
        started = time.monotonic()
        timer.start()
        try:
            leases = pop(queue, timeout=10.0)
        finally:
            timer.join()
        returned = time.monotonic()

        assert [lease.id for lease in leases] == ["late"], f"claimed {leases}"
        assert returned - enqueued_at[0] < 1.0, (
            f"pop_batch returned {returned - enqueued_at[0]:.3f} s after the job arrived "
            f"({returned - started:.3f} s into a 10 s wait)"
        )
