"""Idle claimers on a Redis Cluster: one BLPOP for queues on every shard, woken by each way a job
becomes claimable, and passing a wake-up on when they leave jobs behind.

Their blocking wait is longer than every deadline here (the socket timeout is raised), so only a
wake-up token, never the end of a bounded wait, can meet those deadlines.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
import redis

from nuvom.backends import Completion, Lease
from nuvom.record import JobStatus
from nuvom.testing.suite.results import record
from nuvom.testing.suite.support import env, pop
from nuvom_redis.client import Connection
from nuvom_redis.queue import RedisQueue
from nuvom_redis.results import RedisResults
from nuvom_redis.settings import RedisSettings

from ...e2e.helpers import wait_until
from ..server import RedisCluster
from .test_workers import queues_on_every_master

#: Far longer than any deadline below.
SOCKET_TIMEOUT_SECS = 120.0
WAIT_SECS = 60.0


def info(port: int, section: str) -> dict[str, Any]:
    client = redis.Redis(port=port, socket_timeout=5, decode_responses=True)
    try:
        return client.info(section)
    finally:
        client.close()


def blpop_calls(cluster: RedisCluster) -> int:
    """BLPOP commands the cluster's nodes have run (``INFO commandstats``)."""
    stats = (info(node.port, "commandstats").get("cmdstat_blpop", {}) for node in cluster.nodes)
    return sum(int(stat.get("calls", 0)) for stat in stats)


def blocked_clients(port: int) -> int:
    return int(info(port, "clients")["blocked_clients"])


class Claimers:
    """Threads, each claiming ``each`` jobs one at a time from ``queues`` with its own queue instance."""

    def __init__(self, url: str, prefix: str, queues: Sequence[str], count: int, each: int) -> None:
        settings = RedisSettings(redis_socket_timeout_secs=SOCKET_TIMEOUT_SECS)
        self.instances = [RedisQueue(Connection(url, settings), prefix=prefix) for _ in range(count)]
        self.claimed: list[Lease] = []
        self._each = each
        self._queues = list(queues)
        self._threads = [threading.Thread(target=self._claim, args=(q,), daemon=True) for q in self.instances]
        for thread in self._threads:
            thread.start()

    def _claim(self, queue: RedisQueue) -> None:
        for _ in range(self._each):
            got: list[Lease] = []
            while not got:
                got = queue.pop_batch(1, queues=self._queues, timeout=WAIT_SECS, lease_secs=WAIT_SECS)
            self.claimed.extend(got)

    def stop(self, producer: RedisQueue) -> None:
        """Send each claimer still waiting a job, so its wait ends; close every instance."""
        for i in range(len(self._threads)):
            if self._threads[i].is_alive():
                producer.enqueue(env(f"end{i}", queue=self._queues[0]))
        for thread in self._threads:
            thread.join(timeout=10)
        for queue in self.instances:
            queue.close()


@pytest.fixture
def producer(redis_url: str, prefix: str) -> Iterator[RedisQueue]:
    settings = RedisSettings(redis_socket_timeout_secs=SOCKET_TIMEOUT_SECS)
    queue = RedisQueue(Connection(redis_url, settings), prefix=prefix, records_prefix=prefix)
    yield queue
    queue.close()


def test_an_idle_claimer_of_queues_on_every_shard_waits_in_one_blpop_and_wakes_for_each(
    redis_cluster: RedisCluster, redis_url: str, prefix: str, producer: RedisQueue
) -> None:
    # Given a claimer serving 3 queues whose slots are on the 3 masters, idle
    queues = queues_on_every_master(redis_cluster, prefix, 3)
    wake_node = redis_cluster.master_of(producer.keys(queues[0]).cluster_wake)
    claimers = Claimers(redis_url, prefix, queues, count=1, each=len(queues))
    try:
        for i, queue in enumerate(queues):
            wait_until(lambda: blocked_clients(wake_node) == 1, 10, "the claimer to wait")

            # When it has nothing to do: it stays in that one wait, where a claimer waiting on
            # one slot at a time for 50 ms would have sent a BLPOP to each slot in turn
            before = blpop_calls(redis_cluster)
            window = time.monotonic() + 0.5
            while time.monotonic() < window and blpop_calls(redis_cluster) == before:
                time.sleep(0.02)
            assert blpop_calls(redis_cluster) == before, "an idle claimer polled the slots in turn"
            assert blocked_clients(wake_node) == 1

            # Then a job sent to each shard in turn ends that wait and is claimed
            producer.enqueue(env(f"j{i}", queue=queue))
            wait_until(lambda: len(claimers.claimed) > i, 10, f"the job sent to {queue} to be claimed")
            assert claimers.claimed[i].envelope.queue == queue
    finally:
        claimers.stop(producer)


@pytest.mark.parametrize("give_back", ["nack", "defer", "retry"])
def test_a_job_given_back_wakes_an_idle_claimer_of_its_queue(
    redis_cluster: RedisCluster, redis_url: str, prefix: str, producer: RedisQueue, give_back: str
) -> None:
    # Given a job held by one claimer (for a minute), and another claimer of its queue, idle
    queues = queues_on_every_master(redis_cluster, prefix, 3)
    wake_node = redis_cluster.master_of(producer.keys(queues[0]).cluster_wake)
    producer.enqueue(env("j", queue=queues[2]))
    (held,) = pop(producer, 1, queues=queues)
    claimers = Claimers(redis_url, prefix, queues, count=1, each=1)
    try:
        wait_until(lambda: blocked_clients(wake_node) == 1, 10, "the claimer to wait")

        # When the holder gives the job back, due now
        if give_back == "nack":
            producer.nack(held)
        elif give_back == "defer":
            producer.defer(held, time.time())
        else:
            results = RedisResults(Connection(redis_url, RedisSettings()), prefix=prefix)
            now = time.time()
            failed = record("j", status=JobStatus.RETRYING, attempts=1, finished_at=now, next_retry_at=now)
            assert producer.complete_many([Completion(held, failed)], results) == [True]
            results.close()

        # Then the idle claimer wakes and claims it, long before its wait or the lease would end
        wait_until(lambda: len(claimers.claimed) == 1, 10, "the job given back to be claimed")
        assert claimers.claimed[0].id == "j"
    finally:
        claimers.stop(producer)


def test_a_claimer_that_leaves_jobs_behind_wakes_another_idle_claimer(
    redis_cluster: RedisCluster, redis_url: str, prefix: str, producer: RedisQueue
) -> None:
    # Given two idle claimers of queues on every shard, each claiming one job, then stopping
    queues = queues_on_every_master(redis_cluster, prefix, 3)
    wake_node = redis_cluster.master_of(producer.keys(queues[0]).cluster_wake)
    claimers = Claimers(redis_url, prefix, queues, count=2, each=1)
    try:
        wait_until(lambda: blocked_clients(wake_node) == 2, 10, "both claimers to wait")

        # When two jobs are sent in one call, which pushes one wake-up token
        producer.enqueue_many([env("a", queue=queues[1]), env("b", queue=queues[1])])

        # Then the claimer it wakes passes a token on, and the other claims the second job
        wait_until(lambda: len(claimers.claimed) == 2, 10, "both jobs to be claimed")
        assert sorted(lease.id for lease in claimers.claimed) == ["a", "b"]
    finally:
        claimers.stop(producer)


def test_a_wake_list_of_the_wrong_type_is_left_out_of_the_wait_and_its_queue_still_served(
    redis_cluster: RedisCluster,
    redis_url: str,
    prefix: str,
    producer: RedisQueue,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given queues "a" and "b" whose claimers wait on one slot's wake-up lists, the one of "a"
    # turned into a string by someone
    spoilt, good = queues_on_every_master(redis_cluster, prefix, 2)
    key = producer.keys(spoilt).cluster_wake
    client = producer.connection.client
    client.set(key, "oops")
    claimer = RedisQueue(
        Connection(redis_url, RedisSettings(redis_socket_timeout_secs=SOCKET_TIMEOUT_SECS)), prefix=prefix
    )
    claimed: list[list[str]] = []
    failed: list[BaseException] = []

    def claim() -> None:
        try:
            leases = claimer.pop_batch(5, queues=[spoilt, good], timeout=WAIT_SECS, lease_secs=WAIT_SECS)
            claimed.append([lease.id for lease in leases])
        except BaseException as exc:
            failed.append(exc)

    # When a claimer of both waits, and a job is sent to the other queue
    with caplog.at_level(logging.WARNING, logger="nuvom_redis"):
        thread = threading.Thread(target=claim, daemon=True)
        thread.start()
        wake_node = redis_cluster.master_of(key)
        wait_until(lambda: failed or blocked_clients(wake_node) == 1, 10, "the claimer to wait")
        producer.enqueue(env("jb", queue=good))
        thread.join(timeout=20)

    # Then it waited on the good list and claims that job (before: BLPOP raised WRONGTYPE out of
    # pop_batch), one warning names the key, and the key's queue is still served
    assert failed == [] and claimed == [["jb"]]
    warnings = [r.getMessage() for r in caplog.records if key in r.getMessage()]
    assert len(warnings) == 1 and "holds a string, not a list" in warnings[0], warnings
    producer.enqueue(env("ja", queue=spoilt))
    assert [lease.id for lease in claimer.pop_batch(5, queues=[spoilt, good], timeout=0, lease_secs=30)] == [
        "ja"
    ]
    assert client.get(key) == b"oops", "a wake-up of the spoilt queue wrote over the key"
    client.delete(key)
    claimer.close()
