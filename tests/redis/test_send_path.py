"""The send path on Redis: one script call per ``.delay()``, a few commands per chunk of a ``.map``.

Each Redis command a script runs costs about a microsecond of the server's time. The send
script used to check the type of every key of the queue and of the result store (27 of its 40
commands per job); it now checks the keys it writes, and a wrong-typed one still stops it before
it writes anything. A ``.map`` ran 11 commands per job; ``send_many`` runs one per index, hash
and sorted set for a chunk of 1,000 jobs.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
import redis
from redis.client import Pipeline

from nuvom.backends.base import Envelope
from nuvom.errors import BackendError
from nuvom.record import JobStatus
from nuvom.runtime import get_queue, get_results
from nuvom_redis.keys import QueueKeys, ResultKeys
from nuvom_redis.scripts import Scripts

from .conftest import connect
from .server import RedisServer

#: Commands the send script runs for one new job: 9 checks (EXISTS, 7 TYPE, OBJECT ENCODING for
#: the sequence counter), the record's SET, ZREM and 2 x (ZADD, ZCARD), the job's TIME, HSETNX,
#: HSET, INCR, ZADD, LLEN.
SEND_COMMANDS = 21


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A server of this module's own, so that its command counts are this module's only."""
    server = RedisServer(tmp_path_factory.mktemp("redis-send")).start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(own_server: RedisServer) -> str:
    return own_server.url


def command_calls(client: redis.Redis) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): s["calls"] for name, s in client.info("commandstats").items()}


def test_a_delay_is_one_script_call_running_21_commands(project: ModuleType, redis_url: str) -> None:
    # Given a process that has sent once (connections open, queue registered, script loaded)
    client = redis.Redis.from_url(redis_url)
    project.nothing.delay("warm-up")
    client.config_resetstat()

    # When it sends 10 jobs one by one
    for i in range(10):
        project.nothing.delay(i)

    # Then each is one EVALSHA, and the commands it runs, everything counted, are 21 per job
    calls = command_calls(client)
    calls.pop("config|resetstat", None)
    calls.pop("info", None)
    assert calls.pop("evalsha") == 10, calls
    assert sum(calls.values()) == 10 * SEND_COMMANDS, calls
    client.close()


def test_a_map_runs_a_few_commands_per_chunk_not_per_job(project: ModuleType, redis_url: str) -> None:
    # Given a process that has sent once
    client = redis.Redis.from_url(redis_url)
    project.nothing.delay("warm-up")
    client.config_resetstat()

    # When it sends 1,000 jobs in one .map (one chunk)
    project.nothing.map(range(1_000))

    # Then that is one script call, whose commands are counted per sorted set and hash, not per job
    calls = command_calls(client)
    calls.pop("config|resetstat", None)
    calls.pop("info", None)
    assert calls.pop("evalsha") == 1, calls
    assert sum(calls.values()) < 30, calls
    client.close()


def written_key(prefix: str, name: str) -> str:
    """A key the send of a job (priority 0, no eta) to queue "default" writes."""
    results = ResultKeys(prefix)
    indexes = {
        "all": results.everything,
        "expiry": results.expiry,
        "queued": results.status(JobStatus.QUEUED),
    }
    return indexes.get(name, QueueKeys(prefix, "default").base + name)


@pytest.mark.parametrize("name", ["meta", "payload", "ready", "seq", "wake", "all", "expiry", "queued"])
def test_a_delay_meeting_a_wrong_typed_key_it_writes_stores_nothing_and_names_it(
    project: ModuleType, redis_url: str, prefix: str, name: str
) -> None:
    # Given a queue that was sent to, and one key a send writes turned into a text
    client = redis.Redis.from_url(redis_url)
    project.nothing.delay("first")
    spoilt = written_key(prefix, name)
    client.set(spoilt, "spoilt")

    # When a job is sent
    with pytest.raises(BackendError, match=f"{spoilt} holds a string"):
        project.nothing.delay("second")

    # Then neither its record nor its job was written
    queue, results = QueueKeys(prefix, "default"), ResultKeys(prefix)
    assert len(client.keys(results.record("*"))) == 1
    if client.type(queue.meta) == b"hash":
        assert client.hlen(queue.meta) == 1
    client.close()


def test_a_send_over_an_existing_record_checks_every_status_index(
    project: ModuleType, redis_url: str, prefix: str
) -> None:
    # Given a job's stored record (as Job.retry sends over it), its job gone from the queue,
    # and the index of failed records turned into a string
    client = redis.Redis.from_url(redis_url)
    job = project.nothing.delay("first")
    record = get_results().get_full(job.id)
    assert record is not None
    client.delete(*QueueKeys(prefix, "default").all)
    failed = ResultKeys(prefix).status(JobStatus.FAILED)
    client.set(failed, "spoilt")

    # When the record and its job are sent again, the send is refused, naming the key
    with pytest.raises(BackendError, match=f"{failed} holds a string"):
        get_queue().enqueue_recorded([Envelope(job.id, "default", b"p")], [record], get_results())

    # Then nothing was written: the job is not queued
    assert client.hlen(QueueKeys(prefix, "default").meta) == 0
    client.close()


def test_a_delay_ignores_a_wrong_typed_queue_key_it_does_not_write(
    project: ModuleType, redis_url: str, prefix: str
) -> None:
    # Given a queue whose lease set is a string (the claim skips that queue and says so)
    client = redis.Redis.from_url(redis_url)
    client.set(QueueKeys(prefix, "default").leased, "spoilt")

    # When a job is sent, it is stored and queued: the send writes no lease
    job = project.nothing.delay("x")

    assert client.hexists(QueueKeys(prefix, "default").meta, job.id)
    assert client.exists(ResultKeys(prefix).record(job.id))
    client.close()


def claimed_ids(count: int) -> list[str]:
    queue = get_queue()
    ids: list[str] = []
    while len(ids) < count:
        leases = queue.pop_batch(500, queues=["default"], timeout=0, lease_secs=60)
        assert leases, f"only {len(ids)} of {count} jobs could be claimed"
        ids += [lease.id for lease in leases]
    return ids


def test_a_map_sent_in_streamed_chunks_stores_every_record_and_keeps_the_order(
    project: ModuleType, redis_url: str, prefix: str
) -> None:
    # Given a script cache emptied since this process last sent (as after a restart)
    client = redis.Redis.from_url(redis_url)
    project.nothing.delay("warm-up")
    (warm_up,) = get_queue().pop_batch(1, queues=["default"], timeout=0, lease_secs=60)
    get_queue().ack(warm_up)
    client.script_flush()

    # When 2,500 jobs are sent in one .map (three chunks, the first answered NOSCRIPT)
    jobs = project.nothing.map([f"k{i}" for i in range(2_500)])

    # Then each job is queued once, with its queued record, and they are claimed in call order
    assert client.hlen(QueueKeys(prefix, "default").meta) == 2_500
    records = [get_results().get_full(job.id) for job in jobs]
    assert all(r is not None and r.status is JobStatus.QUEUED for r in records)
    assert claimed_ids(2_500) == [job.id for job in jobs]
    client.close()


def test_a_streamed_map_meeting_a_wrong_typed_key_raises_naming_it_and_keeps_no_record(
    project: ModuleType, redis_url: str, prefix: str
) -> None:
    # Given the ready set spoilt
    client = redis.Redis.from_url(redis_url)
    project.nothing.delay("warm-up")
    spoilt = QueueKeys(prefix, "default").ready
    client.set(spoilt, "spoilt")

    # When 1,500 jobs of priority 5 are sent (two chunks)
    with pytest.raises(BackendError, match=f"{spoilt} holds a string"):
        project.nothing.options(priority=5).map(range(1_500))

    # Then the send is refused and no record of it is left
    assert len(client.keys(ResultKeys(prefix).record("*"))) == 1
    client.close()


def test_a_map_with_a_countdown_stores_scheduled_records_and_due_jobs(project: ModuleType) -> None:
    jobs = project.nothing.options(countdown=3600).map(["a", "b", "c"])

    assert {r.id for r in get_results().list_jobs(JobStatus.SCHEDULED)} == {job.id for job in jobs}
    assert get_results().list_jobs(JobStatus.QUEUED) == []
    assert get_queue().stats().scheduled == 3


def test_a_batch_sent_over_existing_records_replaces_them_and_queues_each_job_once(
    project: ModuleType, redis_url: str, prefix: str
) -> None:
    # Given two jobs sent, one of whose records has since been stored as failed
    jobs = project.nothing.map(["a", "b"])
    results = get_results()
    records = [results.get_full(job.id) for job in jobs]
    assert records[0] is not None and records[1] is not None
    results.save(records[0].replace(status=JobStatus.FAILED))

    # When the same records and jobs are sent again, the first job twice in the batch
    envelopes = [Envelope(job.id, "default", b"again") for job in [*jobs, jobs[0]]]
    assert get_queue().enqueue_recorded(envelopes, [*records, records[0]], results)

    # Then the records are queued again (in no other status index) and each job is queued once
    assert results.list_jobs(JobStatus.FAILED) == []
    assert {r.id for r in results.list_jobs(JobStatus.QUEUED)} == {job.id for job in jobs}
    assert redis.Redis.from_url(redis_url).hlen(QueueKeys(prefix, "default").meta) == 2


def test_a_batch_with_an_id_twice_queues_the_first(project: ModuleType, redis_url: str, prefix: str) -> None:
    # Given a sent job's record (the queue registered), and a fresh id
    job = project.nothing.delay("x")
    record = get_results().get_full(job.id)
    assert record is not None
    fresh = record.replace(id="fresh-id")

    # When a batch holds the fresh id twice with different payloads
    envelopes = [Envelope("fresh-id", "default", b"first"), Envelope("fresh-id", "default", b"second")]
    assert get_queue().enqueue_recorded(envelopes, [fresh, fresh], get_results())

    # Then one job is queued, with the first payload
    client = redis.Redis.from_url(redis_url)
    assert client.hget(QueueKeys(prefix, "default").base + "payload", "fresh-id") == b"first"
    assert client.hlen(QueueKeys(prefix, "default").meta) == 2
    client.close()


def test_a_stream_whose_connection_drops_midway_is_sent_again_whole(redis_url: str) -> None:
    # Given a stream of two chunks, and another client that kills every other connection once,
    # after the first chunk was sent
    connection = connect(redis_url)
    killer = redis.Redis.from_url(redis_url)
    killed: list[int] = []

    def first(pipe: Pipeline) -> None:
        pipe.set("stream:a", "1")

    def second(pipe: Pipeline) -> None:
        if not killed:
            killed.append(killer.client_kill_filter(_type="normal", skipme=True))
        pipe.set("stream:b", "2")

    # When it is streamed
    replies = Scripts(connection).stream([first, second])

    # Then the dropped connection was noticed and everything sent again on a new one
    assert killed and killed[0] >= 1
    assert replies == [b"OK", b"OK"]
    assert killer.mget("stream:a", "stream:b") == [b"1", b"2"]
    killer.close()
    connection.close()
