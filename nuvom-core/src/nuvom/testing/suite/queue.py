"""The queue backend contract (``nuvom.backends.base.QueueBackend``) as pytest checks."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any, ClassVar

import pytest

from ...backends.base import Capability, Envelope, QuarantineListing, QueueBackend
from .claimed_record import ClaimedRecordSuite
from .completion import CompletingQueueSuite
from .depths import DepthQueueSuite
from .limits import LimitingQueueSuite
from .model import run_queue_model
from .operations import QueueOperationsSuite
from .support import (
    BackendFactory,
    claims_of_processes,
    closing_instances,
    drain_ids,
    env,
    first_difference,
    plant_corrupt_entry,
    pop,
    reclaim_after_expiry,
    requires,
    skip_unless_capable,
    wait_for,
)

#: Jobs and claimers of the contention checks.
_CONTENDED_JOBS = 2_000
_CLAIMERS = 4
_CLAIM_BATCH = 5
#: How long one claimer may take to see the queue empty.
_CONTENTION_TIMEOUT_SECS = 30.0


class QueueBackendSuite(
    CompletingQueueSuite, ClaimedRecordSuite, QueueOperationsSuite, DepthQueueSuite, LimitingQueueSuite
):
    """Every sentence of the queue contract, one check each.

    Adopt it with ``from nuvom.testing.suite import *`` (which brings ``TestQueueBackend``) or
    subclass it as ``class TestMyQueue(QueueBackendSuite): ...``, and provide a ``queue_factory``
    fixture: a zero-argument callable returning a new backend instance over the same, initially
    empty store on each call within one check, so two instances act like two processes (a
    backend without ``CROSS_PROCESS`` or ``PERSISTENT`` may return one shared instance). Override
    a check by redefining its method in the subclass.
    """

    #: Examples the reference-model check runs; lower it for a slow backend, raise it to search harder.
    model_examples: ClassVar[int] = 25
    #: Shrink a failure of the model check to its shortest sequence (slow with real I/O).
    model_shrink: ClassVar[bool] = False

    @pytest.fixture
    def make_queue(self, queue_factory: BackendFactory) -> Iterator[Callable[[], QueueBackend]]:
        """Instances from ``queue_factory``, closed when the check ends."""
        yield from closing_instances(queue_factory)

    @pytest.fixture
    def queue(self, make_queue: Callable[[], QueueBackend], request: pytest.FixtureRequest) -> QueueBackend:
        """The backend under test; the check is skipped if it lacks a required capability."""
        backend = make_queue()
        skip_unless_capable(backend, getattr(request, "function", None))
        left = backend.qsize()
        assert left == 0, f"the queue_factory fixture must give each check an empty store; it holds {left}"
        return backend

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

    # -- leases --------------------------------------------------------------------------------

    def test_an_expired_lease_makes_the_job_claimable_again(self, queue: QueueBackend) -> None:
        """A job whose lease expires is claimable again, with one more delivery (at-least-once)."""
        queue.enqueue(env("j"))
        (first,) = pop(queue, lease_secs=0.3)
        assert pop(queue) == [], "a job with a live lease was claimed again"

        second = reclaim_after_expiry(queue, first)

        assert time.time() >= first.expires_at, "the job was claimed again before its lease expired"
        assert second.deliveries == 2, f"the claim after expiry counts {second.deliveries} deliveries, not 2"
        assert second.envelope == first.envelope, "the redelivered envelope differs from the first"

    def test_extend_keeps_a_held_job_from_redelivery(self, queue: QueueBackend) -> None:
        """``extend`` pushes the lease's expiry so the held job is not delivered again."""
        queue.enqueue(env("j"))
        (lease,) = pop(queue, lease_secs=0.3)

        before = time.time()
        assert queue.extend(lease, 30) is True, "extend of a live lease must return True"

        assert lease.expires_at >= before + 29, (
            f"extend(30) left the lease expiring at {lease.expires_at:.3f}"
        )
        assert pop(queue, timeout=0.8) == [], "the job was delivered again although its lease was extended"
        queue.ack(lease)
        assert queue.qsize() == 0 and pop(queue) == [], "ack after extend did not remove the job"

    def test_extend_of_a_lost_lease_returns_false(self, queue: QueueBackend) -> None:
        """``extend`` returns ``False`` once the lease was lost (expired and claimed again, or acked)."""
        queue.enqueue(env("j"))
        (lost,) = pop(queue, lease_secs=0.2)
        holder = reclaim_after_expiry(queue, lost)

        assert queue.extend(lost, 30) is False, "extend of a lost lease returned True"
        assert queue.extend(holder, 30) is True, "extend of the new holder's lease returned False"
        queue.ack(holder)
        assert queue.extend(holder, 30) is False, "extend after ack returned True"

    def test_ack_removes_the_job_for_good_and_is_idempotent(self, queue: QueueBackend) -> None:
        """``ack`` removes the job for good, even past its lease's expiry, and is idempotent."""
        queue.enqueue(env("j"))
        (lease,) = pop(queue, lease_secs=0.3)

        queue.ack(lease)
        queue.ack(lease)

        assert queue.qsize() == 0, f"qsize() is {queue.qsize()} after the only job was acked"
        assert queue.stats().leased == 0, "stats() still counts the acked job as leased"
        assert pop(queue, timeout=0.8) == [], "an acked job was delivered again"

    def test_ack_of_a_lost_lease_keeps_the_new_holders_job(self, queue: QueueBackend) -> None:
        """``ack`` of a lost lease (expired and claimed again) does nothing to the new holder's claim."""
        queue.enqueue(env("j"))
        (lost,) = pop(queue, lease_secs=0.2)
        holder = reclaim_after_expiry(queue, lost)

        queue.ack(lost)

        assert queue.extend(holder, 30) is True, "ack of a lost lease removed the new holder's job"
        assert pop(queue) == [], "ack of a lost lease made the held job claimable"
        queue.nack(holder)
        again = [lease.id for lease in pop(queue)]
        assert again == ["j"], f"after the holder's nack, claimed {again}: the stale ack deleted the job"

    def test_nack_of_a_lost_lease_keeps_the_new_holders_job(self, queue: QueueBackend) -> None:
        """``nack`` of a lost lease does nothing: the job stays with its new holder."""
        queue.enqueue(env("j"))
        (lost,) = pop(queue, lease_secs=0.2)
        holder = reclaim_after_expiry(queue, lost)

        queue.nack(lost)
        queue.nack(lost, retry_at=time.time())

        assert pop(queue) == [], "nack of a lost lease returned the held job to the queue"
        assert queue.qsize() == 0, f"qsize() is {queue.qsize()}: nack of a lost lease queued a copy"
        assert queue.extend(holder, 30) is True, "nack of a lost lease took the job from its holder"
        queue.ack(holder)
        assert queue.qsize() == 0 and pop(queue) == [], "the job is still there after the holder's ack"

    # -- counting ------------------------------------------------------------------------------

    def test_qsize_counts_waiting_jobs_and_clear_deletes_all(self, queue: QueueBackend) -> None:
        """``qsize`` counts jobs waiting (due or not, not leased); ``clear`` deletes every job."""
        queue.enqueue_many([env("a1"), env("a2"), env("a3")])
        queue.enqueue(env("b1", queue="other"))
        queue.enqueue(env("later", queue="other", eta=time.time() + 3600))

        sizes = [queue.qsize(), queue.qsize("default"), queue.qsize("other"), queue.qsize("empty")]
        assert sizes == [5, 3, 2, 0], f"qsize() all/default/other/empty is {sizes}, expected [5, 3, 2, 0]"

        (lease,) = pop(queue, 1)
        assert (queue.qsize(), queue.qsize("default")) == (4, 2), "a leased job must not count as waiting"

        cleared = queue.clear()

        assert cleared == 5, f"clear() deleted {cleared} jobs, expected 5 (the leased one included)"
        assert queue.qsize() == 0, f"qsize() is {queue.qsize()} after clear()"
        assert pop(queue, queues=("default", "other")) == [], "a job was claimed after clear()"
        queue.ack(lease)  # acking a cleared job is harmless
        assert queue.clear() == 0, "a second clear() found jobs"

    def test_stats_count_ready_scheduled_and_leased_jobs(self, queue: QueueBackend) -> None:
        """``stats`` counts ready, scheduled (future eta or retry) and leased jobs, and waiting per queue."""
        queue.enqueue_many([env("a1"), env("a2"), env("a3")])
        queue.enqueue(env("b1", queue="other"))
        queue.enqueue(env("later", queue="other", eta=time.time() + 3600))
        leases = pop(queue, 2)
        queue.nack(leases[1], retry_at=time.time() + 3600)

        stats = queue.stats()

        counts = (stats.ready, stats.scheduled, stats.leased, stats.quarantined)
        assert counts == (2, 2, 1, 0), (
            f"ready/scheduled/leased/quarantined is {counts}, expected (2, 2, 1, 0)"
        )
        assert stats.by_queue == {"default": 2, "other": 2}, f"waiting per queue is {stats.by_queue}"

    def test_close_is_idempotent(self, make_queue: Callable[[], QueueBackend], queue: QueueBackend) -> None:
        """``close`` releases the instance and is idempotent."""
        other = make_queue()
        other.enqueue(env("j"))
        pop(other)

        other.close()
        other.close()

    # -- contention ----------------------------------------------------------------------------

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

    @requires(Capability.PERSISTENT)
    def test_jobs_survive_a_new_instance(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """Jobs survive the instance that enqueued them: a new instance claims them intact."""
        sent = [env("a", priority=3), env("b", priority=1, payload=b"\x00\xff")]
        queue.enqueue_many(sent)
        queue.close()

        leases = pop(make_queue())

        envelopes = [lease.envelope for lease in leases]
        assert envelopes == [sent[1], sent[0]], f"a new instance claimed {envelopes}"

    @requires(Capability.QUARANTINE)
    def test_a_corrupt_entry_is_quarantined(self, queue: QueueBackend) -> None:
        """A corrupt entry is quarantined: never delivered, counted by ``stats``, listed if offered."""
        queue.enqueue_many([env("good-1"), env("good-2")])
        try:
            plant_corrupt_entry(queue, "default")
        except NotImplementedError:
            pytest.skip(
                "the backend declares QUARANTINE but offers no plant_corrupt_entry(queue) to test it "
                "(a method, or nuvom.testing.suite.support.plant_corrupt_entry.register)"
            )

        ids = sorted(lease.id for lease in pop(queue))

        assert ids == ["good-1", "good-2"], f"claimed {ids} beside a corrupt entry"
        assert pop(queue, timeout=0.3) == [], "something was claimed after the valid jobs"
        quarantined = queue.stats().quarantined
        assert quarantined == 1, f"stats().quarantined is {quarantined}, expected 1"
        assert queue.qsize() == 0, f"qsize() is {queue.qsize()}: the corrupt entry still counts as waiting"
        if isinstance(queue, QuarantineListing):  # the planted entry's id starts with "corrupt-"
            (entry,) = queue.quarantined()
            assert entry.reason, "a quarantined entry is listed without its reason"
            assert entry.job_id is None or entry.job_id.startswith("corrupt-"), f"listed {entry}"
            assert entry.queue in (None, "default"), f"listed {entry}"

    # -- the model -----------------------------------------------------------------------------

    def test_random_operations_agree_with_a_reference_model(
        self, queue: QueueBackend, make_queue: Callable[[], QueueBackend]
    ) -> None:
        """Random sequences of enqueue, claim, ack, nack, extend and expiry agree with a reference model."""
        run_queue_model(make_queue, max_examples=self.model_examples, shrink=self.model_shrink)


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


__all__ = ["QueueBackendSuite"]
