"""Leases of the queue contract as pytest checks: expiry, extend, and settling a lost lease.

Mixed into :class:`~nuvom.testing.suite.queue.QueueBackendSuite`, which provides the ``queue`` and
``make_queue`` fixtures.
"""

from __future__ import annotations

import time

from ...backends.base import QueueBackend
from .support import env, pop, reclaim_after_expiry


class QueueLeaseSuite:
    """Checks of a claim's lease: it expires, it can be extended, and a lost one changes nothing."""

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
