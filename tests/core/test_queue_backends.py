"""The queue contract, checked on the memory queue and on the file queue."""

from __future__ import annotations

import threading
import time

from nuvom.backends import file_queue
from nuvom.backends.base import Envelope, Lease
from nuvom.backends.file_queue import FileQueue

from .helpers import wait_for

Q = ("default",)


def env(job_id: str, *, queue: str = "default", priority: int = 0, eta: float | None = None) -> Envelope:
    return Envelope(job_id, queue, f"payload-{job_id}".encode(), priority, eta)


def pop(queue, n: int = 10, *, queues=Q, timeout: float = 0.0, lease_secs: float = 30.0) -> list[Lease]:
    return queue.pop_batch(n, queues=queues, timeout=timeout, lease_secs=lease_secs)


def pop_all_ids(queue, queues=Q) -> list[str]:
    ids: list[str] = []
    while True:
        leases = pop(queue, 1, queues=queues)
        if not leases:
            return ids
        ids.append(leases[0].id)


def reclaim_after_expiry(queue, lease: Lease, *, timeout: float = 5.0) -> Lease:
    """Wait for ``lease`` to lapse and return the next claim of the same job."""

    def claim() -> Lease | None:
        leases = pop(queue, 1, timeout=0.05)
        if leases:
            assert leases[0].id == lease.id
            return leases[0]
        return None

    return wait_for(claim, timeout, f"job {lease.id} to be claimable after its lease expired")


def test_enqueued_job_comes_back_with_its_envelope(queue) -> None:
    queue.enqueue(Envelope("a", "default", b"\x00payload\xff", 4, None))

    (lease,) = pop(queue)

    assert lease.envelope == Envelope("a", "default", b"\x00payload\xff", 4, None, 0)
    assert lease.deliveries == 1
    assert lease.expires_at > time.time()
    assert lease.id == "a"


def test_lower_priority_first_then_fifo(queue) -> None:
    for job_id, priority in [("p5-a", 5), ("p1-a", 1), ("p5-b", 5), ("p9", 9), ("p1-b", 1), ("p0", 0)]:
        queue.enqueue(env(job_id, priority=priority))

    assert pop_all_ids(queue) == ["p0", "p1-a", "p1-b", "p5-a", "p5-b", "p9"]


def test_a_higher_priority_job_enqueued_after_a_claim_is_claimed_next(
    queue, request, monkeypatch, file_queue_root
) -> None:
    enqueuer = queue
    if isinstance(queue, FileQueue):
        enqueuer = FileQueue(file_queue_root, fsync=False)  # a client in another process
        request.addfinalizer(enqueuer.close)
        # the cache lives 0.5 s; a longer life makes the outcome independent of this machine's speed
        monkeypatch.setattr(file_queue, "_LISTING_TTL_SECS", 60.0)
    queue.enqueue_many([env("low-1", priority=5), env("low-2", priority=5), env("low-3", priority=5)])
    assert [lease.id for lease in pop(queue, 1)] == ["low-1"]

    enqueuer.enqueue(env("urgent", priority=0))

    assert [lease.id for lease in pop(queue, 1)] == ["urgent"]


def test_enqueue_many_keeps_the_batch_in_input_order(queue) -> None:
    # ids in reverse alphabetical order, so an order by id would show
    ids = ["z", "y", "m", "c", "b", "a"]
    queue.enqueue_many([env(i) for i in ids])

    assert pop_all_ids(queue) == ids


def test_pop_batch_returns_up_to_n(queue) -> None:
    queue.enqueue_many([env(f"j{i}") for i in range(5)])

    assert len(pop(queue, 3)) == 3
    assert len(pop(queue, 3)) == 2
    assert pop(queue, 3) == []


def test_a_job_is_not_claimable_before_its_eta(queue) -> None:
    eta = time.time() + 0.5
    queue.enqueue(env("later", eta=eta))

    assert pop(queue) == []
    assert queue.stats().scheduled == 1
    assert queue.qsize() == 1

    (lease,) = wait_for(lambda: pop(queue, timeout=0.05), 5, "the job to become due")
    assert time.time() >= eta
    assert lease.id == "later"
    assert lease.envelope.eta == eta


def test_a_due_job_is_claimed_while_a_future_one_waits(queue) -> None:
    queue.enqueue(env("future", eta=time.time() + 3600, priority=0))
    queue.enqueue(env("now", priority=9))

    assert [lease.id for lease in pop(queue)] == ["now"]
    assert pop(queue) == []


def test_pop_batch_blocks_up_to_the_timeout_then_returns_empty(queue) -> None:
    started = time.monotonic()
    leases = pop(queue, timeout=0.3)
    elapsed = time.monotonic() - started

    assert leases == []
    assert 0.28 <= elapsed < 2.0


def test_pop_batch_returns_a_job_enqueued_while_it_waits(queue) -> None:
    def later() -> None:
        time.sleep(0.1)  # the enqueue must happen while pop_batch is blocked
        queue.enqueue(env("late"))

    thread = threading.Thread(target=later)
    started = time.monotonic()
    thread.start()
    leases = pop(queue, timeout=5)
    elapsed = time.monotonic() - started
    thread.join()

    assert [lease.id for lease in leases] == ["late"]
    assert elapsed < 2.0


def test_an_expired_lease_makes_the_job_claimable_again_with_one_more_delivery(queue) -> None:
    queue.enqueue(env("j"))
    (first,) = pop(queue, lease_secs=0.2)

    assert pop(queue) == []  # held
    second = reclaim_after_expiry(queue, first)

    assert second.deliveries == first.deliveries + 1 == 2
    assert second.envelope.payload == first.envelope.payload
    assert second.envelope.attempts == 0


def test_ack_removes_the_job_and_is_idempotent(queue) -> None:
    queue.enqueue(env("j"))
    (lease,) = pop(queue)

    queue.ack(lease)
    queue.ack(lease)

    assert queue.qsize() == 0
    assert queue.stats().leased == 0
    assert pop(queue, timeout=0.05) == []


def test_ack_of_a_lost_lease_does_not_disturb_the_new_holder(queue) -> None:
    queue.enqueue(env("j"))
    (lost,) = pop(queue, lease_secs=0.1)
    holder = reclaim_after_expiry(queue, lost)

    queue.ack(lost)

    assert queue.stats().leased == 1
    assert queue.extend(holder, 30) is True  # still held
    queue.nack(holder)
    (again,) = pop(queue)  # the job was not deleted by the stale ack
    assert again.id == "j"


def test_nack_of_a_lost_lease_does_not_disturb_the_new_holder(queue) -> None:
    queue.enqueue(env("j"))
    (lost,) = pop(queue, lease_secs=0.1)
    holder = reclaim_after_expiry(queue, lost)

    queue.nack(lost)
    queue.nack(lost, retry_at=time.time())

    assert pop(queue) == []  # not returned to the queue behind the holder's back
    assert queue.qsize() == 0
    assert queue.stats().leased == 1
    assert queue.extend(holder, 30) is True
    queue.ack(holder)
    assert queue.stats().leased == 0
    assert queue.qsize() == 0


def test_nack_with_retry_at_adds_an_attempt_and_resets_deliveries(queue) -> None:
    queue.enqueue(env("j"))
    (first,) = pop(queue, lease_secs=0.1)
    second = reclaim_after_expiry(queue, first)
    assert second.deliveries == 2

    queue.nack(second, retry_at=time.time() + 0.3)

    assert pop(queue) == []  # not before retry_at
    assert queue.stats().scheduled + queue.stats().ready == 1
    (third,) = wait_for(lambda: pop(queue, timeout=0.05), 5, "the retry to become due")
    assert third.envelope.attempts == 1
    assert third.deliveries == 1

    queue.nack(third, retry_at=time.time())
    (fourth,) = pop(queue)
    assert fourth.envelope.attempts == 2


def test_a_job_waiting_for_its_retry_counts_as_scheduled_not_ready(queue, request) -> None:
    queue.enqueue(env("j"))
    (lease,) = pop(queue)

    queue.nack(lease, retry_at=time.time() + 3600)

    stats = queue.stats()
    assert (stats.ready, stats.scheduled, stats.leased) == (0, 1, 0)
    assert queue.qsize() == 1


def test_nack_without_retry_at_keeps_attempts_and_is_claimable_now(queue) -> None:
    queue.enqueue(env("j"))
    (first,) = pop(queue, lease_secs=0.1)
    second = reclaim_after_expiry(queue, first)

    queue.nack(second)

    (third,) = pop(queue)
    assert third.envelope.attempts == 0
    assert third.deliveries == 1


def test_extend_keeps_the_lease_while_held(queue) -> None:
    queue.enqueue(env("j"))
    (lease,) = pop(queue, lease_secs=0.3)
    old_expiry = lease.expires_at

    assert queue.extend(lease, 30) is True

    assert lease.expires_at > old_expiry + 20
    assert pop(queue, timeout=0.5) == []  # the first lease would have lapsed by now
    queue.ack(lease)
    assert queue.stats().leased == 0
    assert queue.qsize() == 0


def test_extend_returns_false_once_the_lease_is_lost(queue) -> None:
    queue.enqueue(env("j"))
    (lost,) = pop(queue, lease_secs=0.1)
    holder = reclaim_after_expiry(queue, lost)

    assert queue.extend(lost, 30) is False
    assert queue.extend(holder, 30) is True


def test_extend_after_ack_returns_false(queue) -> None:
    queue.enqueue(env("j"))
    (lease,) = pop(queue)
    queue.ack(lease)

    assert queue.extend(lease, 30) is False


def test_qsize_stats_and_clear(queue) -> None:
    queue.enqueue_many([env("a1"), env("a2"), env("a3")])
    queue.enqueue(env("b1", queue="other"))
    queue.enqueue(env("later", queue="other", eta=time.time() + 3600))

    assert queue.qsize() == 5
    assert queue.qsize("default") == 3
    assert queue.qsize("other") == 2
    assert queue.qsize("empty") == 0

    (lease,) = pop(queue, 1)
    stats = queue.stats()
    assert (stats.ready, stats.scheduled, stats.leased, stats.quarantined) == (3, 1, 1, 0)
    assert stats.by_queue == {"default": 2, "other": 2}
    assert queue.qsize() == 4  # a leased job is not waiting
    assert queue.qsize("default") == 2

    assert queue.clear() == 5

    assert queue.qsize() == 0
    stats = queue.stats()
    assert (stats.ready, stats.scheduled, stats.leased) == (0, 0, 0)
    assert pop(queue, queues=("default", "other")) == []
    queue.ack(lease)  # acking a cleared job is harmless


def test_only_the_asked_queues_are_claimed(queue) -> None:
    queue.enqueue(env("a", queue="alpha", priority=5))
    queue.enqueue(env("b", queue="beta", priority=0))
    queue.enqueue(env("c", queue="gamma", priority=0))

    ids = [lease.id for lease in pop(queue, queues=("alpha", "beta"))]

    assert ids == ["b", "a"]  # priority across queues
    assert queue.qsize("gamma") == 1
    assert [lease.id for lease in pop(queue, queues=("gamma",))] == ["c"]


def test_close_is_idempotent(queue) -> None:
    queue.enqueue(env("j"))
    pop(queue)

    queue.close()
    queue.close()
