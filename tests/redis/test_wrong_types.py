"""A key of the wrong type never makes a script fail halfway: no job leaves every set.

Redis keeps what a Lua script wrote before a command of it failed, so a claim that popped jobs
and then met a wrong-typed key used to drop them. Each script now checks the types it depends on
first, and a job whose own key cannot be read goes to its queue's quarantine hash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import ModuleType

import pytest
import redis

from nuvom.backends import Envelope
from nuvom.errors import BackendError
from nuvom.record import JobStatus
from nuvom.runtime import get_results
from nuvom.testing.suite.scheduler import T0, schedule
from nuvom_redis.keys import QueueKeys, ResultKeys
from nuvom_redis.queue import RedisQueue
from nuvom_redis.scheduler import RedisScheduler

from ..e2e.helpers import WorkerProcess, wait_until


def placed(client: redis.Redis, keys: QueueKeys, job_id: str) -> list[str]:
    """The sets of ``keys``'s queue that hold ``job_id`` (ready and due members end with the id)."""
    found = []
    for key in [keys.ready, keys.due, keys.leased]:
        if client.type(key) == b"zset" and any(
            m.endswith(job_id.encode()) for m in client.zrange(key, 0, -1)
        ):
            found.append(key)
    return found


def finished(job_ids: list[str]) -> bool:
    results = get_results()
    return all((r := results.get_full(i)) is not None and r.status.is_terminal for i in job_ids)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_wrong_typed_result_key_quarantines_its_job_and_every_other_job_completes(
    project: ModuleType, start_worker: Callable[..., WorkerProcess], redis_url: str, prefix: str
) -> None:
    # Given 50 good jobs around one whose result key someone turned into a list
    client = redis.Redis.from_url(redis_url)
    good = project.nothing.map([f"g{i}" for i in range(25)])
    bad = project.nothing.delay("bad")
    good += project.nothing.map([f"g{i}" for i in range(25, 50)])
    client.delete(ResultKeys(prefix).record(bad.id))
    client.rpush(ResultKeys(prefix).record(bad.id), "not a record")

    # When a worker claims them in batches
    worker = start_worker("--concurrency", "4", "--batch-size", "10")

    # Then every good job completes, and the bad one is quarantined with its id and a reason
    wait_until(lambda: finished([job.id for job in good]), 60, "every good job to finish")
    assert {get_results().get_full(job.id).status for job in good} == {JobStatus.SUCCESS}
    keys = QueueKeys(prefix, "default")
    reason = client.hget(keys.quarantine, bad.id)
    assert reason is not None and ResultKeys(prefix).record(bad.id).encode() in reason, reason
    assert placed(client, keys, bad.id) == []
    assert "claiming jobs failed" not in worker.output()
    client.close()


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_jobs_of_a_queue_whose_payload_hash_became_a_string_are_quarantined_and_others_run(
    project: ModuleType, start_worker: Callable[..., WorkerProcess], redis_url: str, prefix: str
) -> None:
    # Given 10 jobs on a queue whose payload hash was overwritten by a string, and 20 on another
    client = redis.Redis.from_url(redis_url)
    lost = project.nothing.options(queue="spoilt").map([f"s{i}" for i in range(10)])
    good = project.nothing.map([f"g{i}" for i in range(20)])
    spoilt = QueueKeys(prefix, "spoilt")
    client.set(spoilt.base + "payload", "overwritten")

    # When a worker serves both queues
    worker = start_worker("--queues", "spoilt,default", "--batch-size", "4")

    # Then the good jobs complete, and every job of the spoilt queue is in its quarantine hash
    wait_until(lambda: finished([job.id for job in good]), 60, "every good job to finish")
    wait_until(lambda: client.hlen(spoilt.quarantine) == len(lost), 30, "the spoilt jobs to be quarantined")
    assert all(placed(client, spoilt, job.id) == [] for job in lost)
    assert b"payload" in client.hget(spoilt.quarantine, lost[0].id)
    assert "claiming jobs failed" not in worker.output()
    client.close()


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("leased", "holds a string, not a zset"),
        ("seq", "holds a string that is not an integer, not a counter"),
    ],
)
def test_a_queue_whose_own_key_has_the_wrong_type_is_skipped_and_reported_once(
    queue_factory: Callable[[], RedisQueue],
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
    name: str,
    why: str,
) -> None:
    # Given a job on queue "a" whose lease set (or sequence counter) is a text, and one on queue "b"
    queue = queue_factory()
    queue.enqueue_many([Envelope("ja", "a", b"x"), Envelope("jb", "b", b"x")])
    client = redis.Redis.from_url(redis_url)
    spoilt = queue.keys("a").base + name
    client.set(spoilt, "oops")

    # When a worker claims from both, again and again
    with caplog.at_level(logging.WARNING, logger="nuvom_redis.queue"):
        claims = [queue.pop_batch(5, queues=["a", "b"], timeout=0, lease_secs=30) for _ in range(3)]

    # Then "b" is served, "a" keeps its job untouched, and one warning names the key
    assert [[lease.id for lease in leases] for leases in claims] == [["jb"], [], []]
    assert placed(client, queue.keys("a"), "ja") == [queue.keys("a").ready]
    warnings = [r.getMessage() for r in caplog.records if spoilt in r.getMessage()]
    assert len(warnings) == 1 and why in warnings[0], warnings

    # And once the key is repaired, "a" is served again
    client.delete(spoilt)
    assert [lease.id for lease in queue.pop_batch(5, queues=["a", "b"], timeout=0, lease_secs=30)] == ["ja"]
    client.close()


def test_enqueue_to_a_queue_with_a_wrong_typed_key_writes_nothing_and_names_the_key(
    queue_factory: Callable[[], RedisQueue], redis_url: str
) -> None:
    queue = queue_factory()
    client = redis.Redis.from_url(redis_url)
    keys = queue.keys("default")
    client.set(keys.base + "payload", "oops")

    with pytest.raises(BackendError, match=f"{keys.base}payload holds a string, not a hash"):
        queue.enqueue(Envelope("j1", "default", b"x"))

    assert client.hlen(keys.meta) == 0, "a half-written job would make a retried enqueue a no-op"
    client.delete(keys.base + "payload")
    queue.enqueue(Envelope("j1", "default", b"x"))
    assert [lease.id for lease in queue.pop_batch(1, queues=["default"], timeout=0, lease_secs=30)] == ["j1"]
    client.close()


def test_acking_a_job_whose_payload_hash_was_spoilt_still_settles_it(
    queue_factory: Callable[[], RedisQueue], redis_url: str
) -> None:
    queue = queue_factory()
    queue.enqueue(Envelope("j1", "default", b"x"))
    (lease,) = queue.pop_batch(1, queues=["default"], timeout=0, lease_secs=30)
    client = redis.Redis.from_url(redis_url)
    client.set(queue.keys("default").base + "payload", "oops")

    queue.ack(lease)

    assert queue.stats().leased == 0
    assert client.hlen(queue.keys("default").meta) == 0
    client.close()


def test_a_scheduler_store_with_a_wrong_typed_key_claims_nothing_and_names_the_key(
    scheduler_factory: Callable[[], RedisScheduler], redis_url: str
) -> None:
    store = scheduler_factory()
    store.add(schedule("nightly"))
    client = redis.Redis.from_url(redis_url)
    client.delete(store.keys.runs)
    client.set(store.keys.runs, "oops")

    with pytest.raises(BackendError, match=f"{store.keys.runs} holds a string, not a hash"):
        store.claim_due(T0 + 1, 10)

    assert client.zcard(store.keys.claims) == 0, "a claim written before the failure would hide the schedule"
    client.close()


def test_a_queue_whose_wake_list_has_the_wrong_type_is_skipped_and_an_idle_claimer_still_waits(
    queue_factory: Callable[[], RedisQueue], redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a job on queue "a", whose wake-up list someone turned into a string, and queue "b"
    queue, producer = queue_factory(), queue_factory()
    queue.enqueue(Envelope("ja", "a", b"x"))
    client = redis.Redis.from_url(redis_url)
    spoilt = queue.keys("a").wake
    client.delete(spoilt)
    client.set(spoilt, "oops")
    claimed: list[list[str]] = []
    failed: list[BaseException] = []

    def claim() -> None:
        try:
            leases = queue.pop_batch(5, queues=["a", "b"], timeout=30, lease_secs=30)
            claimed.append([lease.id for lease in leases])
        except BaseException as exc:
            failed.append(exc)

    # When a claimer of both waits for a job, and one is sent to "b"
    def blocked() -> int:
        return int(client.info("clients")["blocked_clients"])

    with caplog.at_level(logging.WARNING, logger="nuvom_redis.queue"):
        before = blocked()
        claimer = threading.Thread(target=claim)
        claimer.start()
        wait_until(lambda: failed or blocked() > before, 10, "the claimer to wait")
        producer.enqueue(Envelope("jb", "b", b"x"))
        claimer.join(timeout=20)

    # Then it waited on "b" and claims its job (before: BLPOP raised WRONGTYPE out of pop_batch),
    # "a" keeps its job untouched, and one warning names the key
    assert failed == [] and claimed == [["jb"]]
    assert placed(client, queue.keys("a"), "ja") == [queue.keys("a").ready]
    warnings = [r.getMessage() for r in caplog.records if spoilt in r.getMessage()]
    assert len(warnings) == 1 and "holds a string, not a list" in warnings[0], warnings

    # And once the key is repaired, "a" is served again
    client.delete(spoilt)
    assert [lease.id for lease in queue.pop_batch(5, queues=["a", "b"], timeout=1, lease_secs=30)] == ["ja"]
    client.close()
