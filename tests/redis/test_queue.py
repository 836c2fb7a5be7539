"""Redis-specific queue behaviour: bulk due moves, server-side blocking, and the key layout."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest
import redis

from nuvom import runtime, task
from nuvom.backends import Envelope, Lease
from nuvom.config import load_settings
from nuvom.record import JobStatus
from nuvom.testing.suite.results import record
from nuvom.testing.suite.support import sleep_until, wait_for
from nuvom.worker import Worker
from nuvom_redis.queue import RedisQueue
from nuvom_redis.results import RedisResults

#: Jobs due at the same instant.
DUE_JOBS = 10_000
CLAIMERS = 4


@pytest.mark.timeout(60)
def test_10000_jobs_due_at_one_instant_all_become_ready_at_once_and_none_is_claimed_twice(
    queue_factory: Callable[[], RedisQueue],
) -> None:
    # Given 10,000 jobs with the same eta, a moment away
    producer = queue_factory()
    eta = time.time() + 1.0
    producer.enqueue_many([Envelope(f"due-{i:05d}", "default", b"x", eta=eta) for i in range(DUE_JOBS)])
    assert producer.stats().scheduled == DUE_JOBS

    # When several claimers, each with its own connection, claim as soon as they can
    claimers = [queue_factory() for _ in range(CLAIMERS)]
    claimed: list[list[tuple[float, str]]] = [[] for _ in claimers]
    start = threading.Barrier(CLAIMERS)

    def claim(index: int) -> None:
        start.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(len(c) for c in claimed) < DUE_JOBS:
            leases = claimers[index].pop_batch(500, queues=["default"], timeout=0.2, lease_secs=300)
            # when Redis made the claim, by its own clock
            claimed[index].extend((lease.expires_at - 300, lease.id) for lease in leases)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(CLAIMERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=45)

    # Then every job was claimed exactly once, none before its eta, and the first claim after
    # the eta moved them all to ready in one step
    every = [item for part in claimed for item in part]
    counts = Counter(job_id for _, job_id in every)
    assert len(counts) == DUE_JOBS, f"{DUE_JOBS - len(counts)} jobs were never claimed"
    assert max(counts.values()) == 1, [k for k, c in counts.items() if c > 1][:5]
    assert min(at for at, _ in every) >= eta - 1e-6, "a job was claimed before its eta"
    assert sum(1 for part in claimed if part) >= 2, "the claimers did not contend"
    # generous: the point is that nothing waits for a poll cap, not a timing bound
    assert max(at for at, _ in every) < eta + 10


def test_a_claim_moves_at_most_a_thousand_due_jobs_earliest_first(
    queue_factory: Callable[[], RedisQueue],
) -> None:
    # Given 2,000 jobs due at one instant
    queue = queue_factory()
    eta = time.time() + 0.3
    queue.enqueue_many([Envelope(f"j{i:04d}", "default", b"x", eta=eta) for i in range(2_000)])

    # When a claim after the eta takes one job
    leases: list[Lease] = []
    while not leases:
        leases = queue.pop_batch(1, queues=["default"], timeout=1.0, lease_secs=30)

    # Then that claim moved the first 1,000 to ready (Redis stays responsive under any burst),
    # and the next claim moves the rest; jobs are claimed in enqueue order throughout
    stats = queue.stats()
    assert (stats.ready, stats.scheduled, stats.leased) == (999, 1_000, 1)
    leases += queue.pop_batch(1, queues=["default"], timeout=0, lease_secs=30)
    stats = queue.stats()
    assert (stats.ready, stats.scheduled, stats.leased) == (1_998, 0, 2)
    leases += queue.pop_batch(2_000, queues=["default"], timeout=0, lease_secs=30)
    assert [lease.id for lease in leases] == [f"j{i:04d}" for i in range(2_000)]


def claim_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_evalsha", {}).get("calls", 0))


@pytest.mark.timeout(30)
def test_an_idle_claimer_blocks_in_redis_instead_of_polling(
    queue_factory: Callable[[], RedisQueue], redis_url: str
) -> None:
    queue = queue_factory()
    probe = redis.Redis.from_url(redis_url)
    before = claim_calls(probe)

    assert queue.pop_batch(1, queues=["default", "other"], timeout=2.0, lease_secs=30) == []

    assert claim_calls(probe) - before <= 3, "the claimer polled Redis while idle"
    probe.close()


@pytest.mark.timeout(30)
def test_a_blocked_claimer_picks_up_an_eta_job_enqueued_while_it_waits(
    queue_factory: Callable[[], RedisQueue],
) -> None:
    # Given a claimer blocked for up to 20 s on an empty queue
    claimer, producer = queue_factory(), queue_factory()
    got: list[tuple[float, list[str]]] = []
    thread = threading.Thread(
        target=lambda: got.append(
            (0.0, [x.id for x in claimer.pop_batch(1, queues=["default"], timeout=20, lease_secs=30)])
        )
    )
    thread.start()
    wait_until_blocked(producer.connection.client)

    # When a job due in 0.5 s is enqueued by another client
    eta = time.time() + 0.5
    producer.enqueue(Envelope("soon", "default", b"x", eta=eta))
    thread.join(timeout=25)

    # Then the claimer takes it once due, long before its own timeout
    assert got and got[0][1] == ["soon"]
    assert time.time() < eta + 10


def wait_until_blocked(client: redis.Redis, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(c.get("cmd") == "blpop" for c in client.client_list()):
        assert time.monotonic() < deadline, "the claimer never blocked in BLPOP"
        time.sleep(0.01)


def test_keys_of_a_queue_share_one_hash_tag(queue_factory: Callable[[], RedisQueue], prefix: str) -> None:
    queue = queue_factory()
    queue.enqueue(Envelope("j", "emails", b"x", priority=3))
    queue.pop_batch(1, queues=["emails"], timeout=0, lease_secs=30)

    keys = [k.decode() for k in queue.connection.client.keys(f"{prefix}:*")]

    tagged = [k for k in keys if k != f"{prefix}:queues"]
    assert tagged and all(k.startswith(f"{prefix}:{{emails}}:") for k in tagged), keys


def test_enqueue_is_idempotent_per_job_id(queue_factory: Callable[[], RedisQueue]) -> None:
    queue = queue_factory()
    queue.enqueue(Envelope("same", "default", b"first"))
    queue.enqueue(Envelope("same", "default", b"second"))

    leases = queue.pop_batch(10, queues=["default"], timeout=0, lease_secs=30)

    assert [(x.id, x.envelope.payload) for x in leases] == [("same", b"first")]


def test_a_priority_outside_0_to_9_is_refused(queue_factory: Callable[[], RedisQueue]) -> None:
    with pytest.raises(ValueError, match="priority 12; allowed: 0 to 9"):
        queue_factory().enqueue(Envelope("j", "default", b"x", priority=12))


def commands(client: redis.Redis, name: str) -> int:
    return int(client.info("commandstats").get(f"cmdstat_{name}", {}).get("calls", 0))


def use_redis_backends(monkeypatch: pytest.MonkeyPatch, redis_url: str, prefix: str) -> None:
    """This process's queue and result store on the test's Redis server, under ``prefix``."""
    for key, value in {"QUEUE_BACKEND": "redis", "RESULT_BACKEND": "redis", "REDIS_URL": redis_url}.items():
        monkeypatch.setenv(f"NUVOM_{key}", value)
    monkeypatch.setenv("NUVOM_REDIS_PREFIX", prefix)
    runtime.reset()


def test_delay_stores_the_record_and_queues_the_job_in_one_call(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_redis_backends(monkeypatch, redis_url, prefix)

    @task(name="redis_one_call")
    def one_call(x: int) -> int:
        return x

    one_call.delay(0)  # the first send also registers the queue's name
    probe = redis.Redis.from_url(redis_url)
    before = {name: commands(probe, name) for name in ("evalsha", "sadd", "get")}

    job = one_call.delay(1)

    after = {name: commands(probe, name) for name in before}
    assert {k: after[k] - before[k] for k in before} == {"evalsha": 1, "sadd": 0, "get": 0}
    assert job.status() is JobStatus.QUEUED
    assert runtime.get_queue().qsize() == 2
    probe.close()


@pytest.mark.parametrize("result_backend", ["redis", "file"])
def test_a_claim_reads_the_record_only_for_the_redis_result_store(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch, result_backend: str
) -> None:
    monkeypatch.setenv("NUVOM_REDIS_PREFIX", prefix)
    monkeypatch.setenv("NUVOM_REDIS_URL", redis_url)
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", result_backend)
    queue, results = RedisQueue.from_settings(load_settings()), RedisResults.from_settings(load_settings())
    stored = record("handed")
    results.save(stored)
    queue.enqueue(Envelope("handed", "default", b"x"))

    (lease,) = queue.pop_batch(1, queues=["default"], timeout=0, lease_secs=30)

    # the worker's result store is the Redis one only when NUVOM_RESULT_BACKEND says so
    assert lease.record == (stored if result_backend == "redis" else None)
    queue.close()
    results.close()


class _StallingQueue:
    """The real Redis queue, but each claim stalls past its lease while ``meanwhile`` runs."""

    def __init__(self, inner: RedisQueue, meanwhile: Callable[[Lease], None]) -> None:
        self._inner = inner
        self._meanwhile = meanwhile

    def pop_batch(self, n: int, *, queues: Sequence[str], timeout: float, lease_secs: float) -> list[Lease]:
        leases = self._inner.pop_batch(n, queues=queues, timeout=timeout, lease_secs=0.3)
        for lease in leases:
            self._meanwhile(lease)
        return leases

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_a_worker_never_trusts_the_record_of_a_claim_whose_lease_lapsed(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Redis backends, whose claims read each job's record
    use_redis_backends(monkeypatch, redis_url, prefix)
    ran: list[int] = []

    @task(name="redis_fenced_once")
    def once(x: int) -> int:
        ran.append(x)
        return x

    job = once.delay(7)
    other = RedisQueue.from_settings(load_settings())

    def finished_elsewhere(stale: Lease) -> None:
        # the claim read the record "queued"; the worker stalls past its lease, and another
        # worker claims the job, stores its outcome and acks it
        assert stale.record is not None and stale.record.status is JobStatus.QUEUED
        sleep_until(stale.expires_at)
        (holder,) = wait_for(
            lambda: other.pop_batch(1, queues=["default"], timeout=0.05, lease_secs=30), 5, "a reclaim"
        )
        done = stale.record.replace(status=JobStatus.SUCCESS, finished_at=time.time(), attempts=1)
        runtime.get_results().save(done)
        other.ack(holder)

    # When a worker gets that stale claim
    settings = load_settings()
    stalling = _StallingQueue(runtime.get_queue(), finished_elsewhere)  # type: ignore[arg-type]
    worker = Worker(settings, stalling, runtime.get_results(), burst=True)  # type: ignore[arg-type]
    worker.run(install_signals=False)

    # Then it reads the record afresh, sees the job finished, and never runs it again
    assert ran == []
    assert job.status() is JobStatus.SUCCESS
    other.close()
