"""A send or a completion that fails half-way on Redis leaves a consistent state.

No job stays queued without its record, and no record stays queued without its job: a write too
few replicas acknowledged (``NUVOM_REDIS_WAIT_REPLICAS``) is kept whole and reported as
``WriteNotConfirmed``; a ``.map()`` whose later chunk fails takes back the chunks that ran.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
import redis

from nuvom import runtime
from nuvom.backends import Completion, Envelope
from nuvom.errors import BackendError, SendIncomplete, WriteNotConfirmed
from nuvom.options import CallOptions
from nuvom.record import JobStatus
from nuvom.runtime import get_queue, get_results
from nuvom.sending import build_message, new_record, send
from nuvom.worker.committer import OutcomeStore, Stored
from nuvom_redis.client import Connection
from nuvom_redis.keys import QueueKeys, ResultKeys
from nuvom_redis.queue import RedisQueue
from nuvom_redis.results import RedisResults
from nuvom_redis.settings import RedisSettings

from ..e2e.helpers import WorkerProcess, wait_until
from .server import RedisServer


def unconfirmed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ask every acknowledged write of this process for a replica the server does not have."""
    monkeypatch.setenv("NUVOM_REDIS_WAIT_REPLICAS", "1")
    monkeypatch.setenv("NUVOM_REDIS_WAIT_TIMEOUT_SECS", "0.05")
    runtime.reset()


def claim_all(queue: RedisQueue, queue_name: str = "default") -> list[str]:
    ids: list[str] = []
    while leases := queue.pop_batch(500, queues=[queue_name], timeout=0, lease_secs=60):
        ids += [lease.id for lease in leases]
    return ids


# -- a write too few replicas acknowledged --------------------------------------------------


@pytest.mark.parametrize("send", ["delay", "map"])
def test_a_send_too_few_replicas_acknowledge_raises_and_leaves_its_jobs_queued_with_their_records(
    project: ModuleType, monkeypatch: pytest.MonkeyPatch, send: str
) -> None:
    # Given the session's server, which has no replica, and a producer asking for one
    unconfirmed(monkeypatch)

    # When it sends a job, or a .map of many (sent in streamed chunks)
    with pytest.raises(WriteNotConfirmed, match="NUVOM_REDIS_WAIT_REPLICAS") as caught:
        if send == "delay":
            project.add.delay(1, 2)
        else:
            project.add.map([(i, i) for i in range(2500)])

    # Then it is told the write is not acknowledged, and each job is queued with its queued
    # record, as a worker will find it (before: the records were removed, the jobs left to run)
    assert "reached 0 of the 1 replica(s)" in str(caught.value)
    claimed = claim_all(get_queue())
    assert len(claimed) == (1 if send == "delay" else 2500)
    records = [get_results().get_full(job_id) for job_id in claimed]
    assert all(r is not None and r.status is JobStatus.QUEUED for r in records)


def test_a_completion_too_few_replicas_acknowledge_counts_as_stored_and_is_not_stored_again(
    project: ModuleType, redis_url: str, prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a job claimed by a worker whose writes wait for a replica the server does not have
    job = project.add.delay(1, 2)
    settings = RedisSettings(redis_wait_replicas=1, redis_wait_timeout_secs=0.05)
    queue = RedisQueue(Connection(redis_url, settings), prefix=prefix, records_prefix=prefix)
    results = RedisResults(Connection(redis_url, settings), prefix=prefix)
    (lease,) = queue.pop_batch(1, queues=["default"], timeout=0, lease_secs=60)
    queued = results.get_full(job.id)
    assert queued is not None
    done = queued.replace(status=JobStatus.SUCCESS, finished_at=time.time(), attempts=1)

    # When the worker stores its outcome
    with caplog.at_level(logging.WARNING):
        stored = OutcomeStore(queue, results).store([Completion(lease, done)])

    # Then it counts as stored and settled (before: failed, then retried and called "lease lost"),
    # the outcome is stored and the job acked, and the warning names the job and the replicas
    assert stored == [Stored.SETTLED]
    record = results.get_full(job.id)
    assert record is not None and record.status is JobStatus.SUCCESS
    assert queue.stats().leased == 0 and queue.qsize() == 0
    warning = next(r.getMessage() for r in caplog.records if "not confirmed durable" in r.getMessage())
    assert job.id in warning and "reached 0 of the 1 replica(s)" in warning
    queue.close()
    results.close()


@pytest.mark.timeout(60)
def test_a_worker_whose_completions_are_not_confirmed_goes_on_with_its_next_jobs(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a worker whose every acknowledged write waits for a replica the server does not have
    worker = start_worker(
        "--concurrency", "1", env={"NUVOM_REDIS_WAIT_REPLICAS": "1", "NUVOM_REDIS_WAIT_TIMEOUT_SECS": "0.05"}
    )
    results = get_results()

    def succeeded(job_id: str) -> bool:
        record = results.get_full(job_id)
        return record is not None and record.status is JobStatus.SUCCESS

    # When jobs are sent one after the other
    for i in range(3):
        job = project.add.delay(i, i)

        # Then each completes (before: the first completion was retried for good, and held up the rest)
        wait_until(lambda job_id=job.id: succeeded(job_id), 30, f"job {i} to succeed")
    assert worker.proc.poll() is None


# -- a .map whose later chunk fails ---------------------------------------------------------


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own, whose memory limit it may change."""
    server = RedisServer(tmp_path / "redis-own").start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(own_server: RedisServer) -> str:
    return own_server.url


def test_a_map_whose_later_chunk_runs_out_of_memory_takes_back_the_chunks_that_ran(
    project: ModuleType, redis_url: str, prefix: str
) -> None:
    # Given a queue, and a server that refuses writes once it holds what one chunk of a .map adds
    # (1,000 jobs) and a half more: measured with one chunk, whose command the server also holds
    # while it runs (counted in its peak)
    client = redis.Redis.from_url(redis_url)
    project.nothing.delay("warm-up")
    before = int(client.info("memory")["used_memory"])
    project.nothing.map([f"measure{i}" for i in range(1_000)])
    memory = client.info("memory")
    added, peak = int(memory["used_memory"]) - before, int(memory["used_memory_peak"]) - before
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", int(memory["used_memory"]) + peak - added // 2)

    # When a .map of 3,000 jobs is sent: its first chunk runs, the next ones meet the limit
    with pytest.raises(BackendError, match="used memory > 'maxmemory'") as caught:
        project.nothing.map([f"key{i}" for i in range(3_000)])

    # Then nothing of the send is left: no job queued (before: the first chunk's 1,000 jobs,
    # without their records) and no record
    assert not isinstance(caught.value, SendIncomplete)
    keys = QueueKeys(prefix, "default")
    assert client.hlen(keys.meta) == client.hlen(keys.base + "payload") == 1 + 1_000
    assert client.zcard(keys.ready) == 1 + 1_000
    assert len(client.keys(ResultKeys(prefix).record("*"))) == 1 + 1_000
    client.config_set("maxmemory", 0)
    assert len(claim_all(get_queue())) == 1 + 1_000  # the queue works on
    client.close()


def enqueue(queue: RedisQueue, envelopes: list[Envelope]) -> str:
    """Run the enqueue script once; the Redis time it queued the jobs at."""
    keys = queue.keys("default").script_keys
    args: list[object] = []
    for env in envelopes:
        args += [env.id, env.payload, env.priority, "" if env.eta is None else repr(env.eta), env.attempts]
    return bytes(queue._scripts.run("enqueue", keys, args)).decode()


def test_withdraw_takes_back_the_jobs_still_waiting_and_names_those_a_worker_took(
    redis_url: str, prefix: str
) -> None:
    # Given one enqueue of jobs due now, due earlier, due later and due soon (promoted to ready
    # since), of several priorities, two of them claimed by a worker
    queue = RedisQueue(Connection(redis_url, RedisSettings()), prefix=prefix)
    now = time.time()
    envelopes = [
        Envelope("now-0", "default", b"p", 0),
        Envelope("now-5", "default", b"p", 5),
        Envelope("earlier", "default", b"p", 3, now - 60),
        Envelope("later", "default", b"p", 0, now + 3600),
        Envelope("soon", "default", b"p", 9, now + 0.2),
    ]
    sent_at = enqueue(queue, envelopes)
    claimed = [lease.id for lease in queue.pop_batch(2, queues=["default"], timeout=0, lease_secs=60)]
    assert sorted(claimed) == ["earlier", "now-0"]
    wait_until(lambda: time.time() > now + 0.3, 5, "the soon job to be due")
    queue.pop_batch(0, queues=["default"], timeout=0, lease_secs=60)  # moves it to ready
    keys, client = queue.keys("default"), queue.connection.client
    assert (client.zcard(keys.ready), client.zcard(keys.due)) == (2, 1)

    # When the enqueue is taken back
    stay = queue._scripts.run(
        "withdraw", queue.keys("default").script_keys, [sent_at] + [e.id for e in envelopes]
    )

    # Then every job still waiting is gone, metadata and payload too; the claimed ones stay held
    assert sorted(job_id.decode() for job_id in stay) == ["earlier", "now-0"]
    assert [client.zcard(key) for key in (keys.ready, keys.due, keys.leased)] == [0, 0, 2]
    assert sorted(client.hkeys(keys.meta)) == [b"earlier", b"now-0"]
    assert sorted(client.hkeys(keys.base + "payload")) == [b"earlier", b"now-0"]
    queue.close()


def test_a_send_whose_jobs_cannot_be_taken_back_keeps_their_records(
    project: ModuleType, redis_url: str, prefix: str
) -> None:
    # Given a queue whose due set is spoilt: jobs due now are queued, jobs with an eta refused,
    # and taking jobs back (which checks the due set) fails too
    client = redis.Redis.from_url(redis_url)
    project.nothing.delay("warm-up")
    spoilt = QueueKeys(prefix, "default").due
    client.set(spoilt, "spoilt")
    now = time.time()
    calls = [(f"now-{i}", CallOptions()) for i in range(1_000)]
    calls += [(f"later-{i}", CallOptions(countdown=60)) for i in range(500)]
    messages = [
        build_message(project.nothing.opts, [key], {}, options, now, max_args_bytes=1_000, random_id=key)
        for key, options in calls
    ]

    # When the 1,500 jobs are sent in one call (two chunks; the second refused)
    with pytest.raises(SendIncomplete, match=f"{spoilt} holds a string") as caught:
        send(messages, [new_record(m, 0) for m in messages])

    # Then the error names the jobs that stay queued, the first chunk's, and those keep their
    # records (before: every record was removed, the first chunk's jobs left queued)
    first = {key for key, _ in calls[:1_000]}
    assert caught.value.queued == first
    results = get_results()
    for key in first:
        record = results.get_full(key)
        assert record is not None and record.status is JobStatus.QUEUED
    assert all(results.get_full(key) is None for key, _ in calls[1_000:])
    assert client.hlen(QueueKeys(prefix, "default").meta) == 1 + 1_000
    client.close()
