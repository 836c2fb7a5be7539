"""``redis+cluster://`` URLs, the fenced two-step completion, and `nuvom plugin test redis` on a cluster."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nuvom.backends import Completion
from nuvom.errors import ConfigError
from nuvom.record import JobStatus
from nuvom.redaction import redact_url
from nuvom.testing.suite.results import record
from nuvom.testing.suite.support import env, pop, reclaim_after_expiry
from nuvom_redis.cluster import ClusterAddress
from nuvom_redis.queue import RedisQueue
from nuvom_redis.results import RedisResults
from nuvom_redis.settings import RedisSettings

from ..conftest import assert_plugin_test_passes, connect
from ..server import RedisCluster

SECRET = "cl0ster-PA55"


@pytest.mark.parametrize(
    ("url", "nodes", "options"),
    [
        ("redis+cluster://h1,h2:7001", (("h1", 6379), ("h2", 7001)), {}),
        (
            f"redis+cluster://app:{SECRET}@h1:7000,[::1]:7001/0?socket_keepalive=true",
            (("h1", 7000), ("::1", 7001)),
            {"username": "app", "password": SECRET, "socket_keepalive": True},
        ),
        ("rediss+cluster://h1:7000?ssl_cert_reqs=required", (("h1", 7000),), {"ssl_cert_reqs": "required"}),
    ],
)
def test_a_cluster_url_names_the_nodes_and_the_login(
    url: str, nodes: tuple[tuple[str, int], ...], options: dict[str, object]
) -> None:
    address = ClusterAddress.parse(url)

    assert address.nodes == nodes
    assert address.options == options
    assert address.tls is url.startswith("rediss")
    assert SECRET not in redact_url(url)


@pytest.mark.parametrize(
    ("variable", "value", "reason"),
    [
        ("NUVOM_REDIS_URL", f"redis+cluster://app:{SECRET}@", "at least one node"),
        ("NUVOM_REDIS_URL", f"redis+cluster://app:{SECRET}@h1:port", "port that is not a number"),
        ("NUVOM_REDIS_URL", f"redis+cluster://app:{SECRET}@h1:7000/3", "database 0 only"),
        ("NUVOM_REDIS_WAIT_REPLICAS", "1", "not supported with a Redis Cluster URL"),
    ],
)
def test_a_bad_cluster_setting_fails_at_start_naming_the_variable_but_not_the_password(
    variable: str, value: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUVOM_REDIS_URL", f"redis+cluster://app:{SECRET}@h1:7000")
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError, match=reason) as caught:
        RedisSettings.load()

    assert caught.value.variable == variable
    assert SECRET not in str(caught.value)


def test_a_stale_holder_cannot_overwrite_the_outcome_of_the_job_it_lost(redis_url: str, prefix: str) -> None:
    # Given a job claimed by a worker that stalls past its lease, and claimed again by another
    queue = RedisQueue(connect(redis_url), prefix=prefix, records_prefix=prefix)
    results = RedisResults(connect(redis_url), prefix=prefix)
    queue.enqueue(env("j"))
    (stale,) = pop(queue, lease_secs=0.2)
    holder = reclaim_after_expiry(queue, stale)

    # When the new holder completes the job (its record stored, the job acked and gone), and the
    # stalled worker resumes and completes it too
    mine = record("j", status=JobStatus.SUCCESS, attempts=1, worker_id="holder", finished_at=time.time())
    assert queue.complete_many([Completion(holder, mine)], results) == [True]
    late = record("j", status=JobStatus.FAILED, attempts=1, worker_id="stalled", finished_at=time.time())
    applied = queue.complete_many([Completion(stale, late)], results)

    # Then the stalled completion is refused at the records' step: the holder's outcome stands
    assert applied == [False]
    assert results.get_full("j") == mine
    assert queue.qsize() == 0 and queue.stats().leased == 0
    queue.close()
    results.close()


@pytest.mark.parametrize("spoilt", [b"not a time", None], ids=["string", "list"])
def test_a_fence_key_that_holds_no_claim_time_is_replaced_and_its_job_claimed_and_completed(
    redis_url: str, prefix: str, spoilt: bytes | None
) -> None:
    # Given a job whose fence key holds something else than a claim time (a list, or text)
    queue = RedisQueue(connect(redis_url), prefix=prefix, records_prefix=prefix)
    results = RedisResults(connect(redis_url), prefix=prefix)
    queue.enqueue(env("j"))
    results.save(record("j"))
    fence = results.keys.fence("j")
    if spoilt is None:
        queue.connection.client.rpush(fence, b"x")
    else:
        queue.connection.client.set(fence, spoilt)

    # When a worker claims it and completes it
    (lease,) = pop(queue)
    done = record("j", status=JobStatus.SUCCESS, attempts=1, finished_at=time.time())
    applied = queue.complete_many([Completion(lease, done)], results)

    # Then the claim read its record, and the outcome is stored and the job gone
    assert lease.record is not None and lease.record.id == "j"
    assert applied == [True]
    assert results.get_full("j") == done
    assert queue.qsize() == 0 and queue.stats().leased == 0
    queue.close()
    results.close()


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_nuvom_plugin_test_redis_passes_with_a_cluster_url(
    redis_cluster: RedisCluster, isolated_nuvom: Path
) -> None:
    output = assert_plugin_test_passes(isolated_nuvom, {"NUVOM_REDIS_URL": redis_cluster.url()})

    assert "left nothing behind" in output


def test_records_spread_over_the_shards_and_list_newest_first_across_them(
    redis_cluster: RedisCluster, redis_url: str, prefix: str
) -> None:
    # Given 40 records created one after the other, every other one failed
    results = RedisResults(connect(redis_url), prefix=prefix)
    saved = [
        record(f"r{i}", status=JobStatus.FAILED if i % 2 else JobStatus.SUCCESS, created_at=1_000.0 + i)
        for i in range(40)
    ]
    results.save_many(saved)

    # Then they are on more than one master, and listings merge the partitions newest first
    assert len({redis_cluster.master_of(results.keys.record(r.id)) for r in saved}) >= 2
    newest = [r.id for r in reversed(saved)]
    assert [r.id for r in results.list_jobs(limit=10, offset=5)] == newest[5:15]
    failed = [r.id for r in results.list_jobs(JobStatus.FAILED, limit=5)]
    assert failed == [f"r{i}" for i in (39, 37, 35, 33, 31)]
    assert results.delete("r39") and results.list_jobs(limit=1)[0].id == "r38"
    results.close()


def test_a_busy_queue_does_not_starve_a_queue_of_equal_priority_on_another_slot(
    redis_url: str, prefix: str
) -> None:
    # Given two queues on different slots, one with many jobs and one with a few, all of priority 0
    queue = RedisQueue(connect(redis_url), prefix=prefix)
    assert len(queue._slots.groups(["busy", "quiet"])) == 2  # type: ignore[union-attr]
    queue.enqueue_many([env(f"b{i}", queue="busy") for i in range(50)])
    queue.enqueue_many([env(f"q{i}", queue="quiet") for i in range(4)])

    # When a worker serving both claims batches of 4
    claimed = [lease.envelope.queue for _ in range(4) for lease in pop(queue, 4, queues=("busy", "quiet"))]

    # Then the quiet queue's jobs are claimed while the busy queue still has jobs
    assert claimed.count("quiet") == 4, claimed
    assert queue.qsize("busy") > 0
    queue.close()
