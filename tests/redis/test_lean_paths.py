"""The worker's hot path on Redis: commands per batch, not per job, with every guarantee kept."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

import redis

from nuvom.backends import Completion, Envelope, Lease
from nuvom.record import JobRecord, JobStatus
from nuvom.testing.suite.results import record
from nuvom_redis.queue import RedisQueue
from nuvom_redis.results import RedisResults

from .test_queue import wait_until_blocked

JOBS = 50


def calls(client: redis.Redis) -> dict[str, int]:
    """Commands run so far, by name (those scripts ran included)."""
    stats = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(stat["calls"]) for name, stat in stats.items()}


def since(client: redis.Redis, before: dict[str, int]) -> dict[str, int]:
    return {name: count - before.get(name, 0) for name, count in calls(client).items()}


def sent_and_claimed(queue: RedisQueue, results: RedisResults, count: int) -> list[Lease]:
    """``count`` jobs sent with their queued records, then claimed."""
    queued = [record(f"j{i:03d}") for i in range(count)]
    envelopes = [Envelope(r.id, "default", b"x") for r in queued]
    assert queue.enqueue_recorded(envelopes, queued, results)
    leases = queue.pop_batch(count, queues=["default"], timeout=0, lease_secs=30)
    assert len(leases) == count
    return leases


def succeeded(lease: Lease) -> JobRecord:
    assert lease.record is not None
    return dataclasses.replace(lease.record, status=JobStatus.SUCCESS, result=b"1", finished_at=time.time())


def test_a_batch_of_completions_writes_each_index_once_and_leaves_each_record_in_its_own_status(
    queue_factory: Callable[[], RedisQueue], results_factory: Callable[[], RedisResults], redis_url: str
) -> None:
    # Given 50 claimed jobs whose queued records are in the "queued" index
    queue, results = queue_factory(), results_factory()
    leases = sent_and_claimed(queue, results, JOBS)
    probe = redis.Redis.from_url(redis_url)
    before = calls(probe)

    # When their outcomes are completed in one call
    applied = queue.complete_many([Completion(lease, succeeded(lease)) for lease in leases], results)

    # Then every one is applied with one command per index and per queue key for the batch: 6
    # status indexes left, the expiry index, the lease set; the job hashes once each
    ran = since(probe, before)
    assert applied == [True] * JOBS
    assert (ran["zrem"], ran["hdel"], ran.get("exists", 0), ran["set"]) == (8, 2, 0, JOBS)
    # and each record is in the index of its status only
    assert results.list_jobs(JobStatus.QUEUED) == []
    assert len(results.list_jobs(JobStatus.SUCCESS)) == JOBS
    assert (queue.stats().leased, queue.stats().ready) == (0, 0)
    probe.close()


def test_one_lease_completed_twice_in_a_batch_is_applied_once(
    queue_factory: Callable[[], RedisQueue], results_factory: Callable[[], RedisResults]
) -> None:
    queue, results = queue_factory(), results_factory()
    (lease,) = sent_and_claimed(queue, results, 1)
    first = succeeded(lease)
    second = dataclasses.replace(first, result=b"2")

    applied = queue.complete_many([Completion(lease, first), Completion(lease, second)], results)

    # the second finds the job settled by the first, as a later call would
    assert applied == [True, False]
    stored = results.get_full(lease.id)
    assert stored is not None and stored.result == b"1"
    assert queue.stats().leased == 0


def test_a_claim_reads_only_the_head_of_the_due_and_lease_sets_when_nothing_is_due(
    queue_factory: Callable[[], RedisQueue], redis_url: str
) -> None:
    # Given 500 jobs due in an hour, 20 leased for a minute and 3 ready
    queue = queue_factory()
    later = time.time() + 3600
    queue.enqueue_many([Envelope(f"later-{i}", "default", b"x", eta=later) for i in range(500)])
    queue.enqueue_many([Envelope(f"held-{i}", "default", b"x") for i in range(20)])
    assert len(queue.pop_batch(20, queues=["default"], timeout=0, lease_secs=60)) == 20
    queue.enqueue_many([Envelope(f"now-{i}", "default", b"x", priority=i) for i in range(3)])
    probe = redis.Redis.from_url(redis_url)
    before = calls(probe)

    # When a claim takes the ready jobs
    leases = queue.pop_batch(10, queues=["default"], timeout=0, lease_secs=60)

    # Then it pops them in priority order and moves nothing: one look at each set's head
    assert [lease.id for lease in leases] == ["now-0", "now-1", "now-2"]
    ran = since(probe, before)
    assert ran.get("zrangebyscore", 0) == 0 and ran["zrange"] == 2
    assert ran["zpopmin"] == 1 and ran["hmget"] == 2 and ran["zadd"] == 1
    probe.close()


def test_a_blocked_claimer_whose_script_was_flushed_still_claims_the_job_that_wakes_it(
    queue_factory: Callable[[], RedisQueue], redis_url: str
) -> None:
    # Given a claimer blocked in BLPOP, its claim sent behind it in the same round trip
    claimer = queue_factory()
    got: list[list[str]] = []
    thread = threading.Thread(
        target=lambda: got.append(
            [x.id for x in claimer.pop_batch(1, queues=["default"], timeout=20, lease_secs=30)]
        )
    )
    thread.start()
    client = redis.Redis.from_url(redis_url)
    wait_until_blocked(client)

    # When the server's scripts are flushed (as by a restart), then a job arrives with its wake-up
    client.script_flush()
    keys = claimer.keys("default")
    client.hset(keys.meta, "woken", "0|0|0||")
    client.hset(keys.base + "payload", "woken", "x")
    client.zadd(keys.ready, {f"0{0:016x}woken": 1})
    client.rpush(keys.wake, "1")
    thread.join(timeout=25)

    # Then the claim answered NOSCRIPT, and the claimer loaded the script and claimed the job
    assert got == [["woken"]]
    client.close()
