"""An idle claimer whose queues span the shards of a Redis Cluster waits in one BLPOP for them all."""

from __future__ import annotations

import threading
import time
from typing import Any

import redis

from nuvom.backends import Lease
from nuvom.testing.suite.support import env
from nuvom_redis.client import Connection
from nuvom_redis.queue import RedisQueue
from nuvom_redis.settings import RedisSettings

from ...e2e.helpers import wait_until
from ..server import RedisCluster
from .test_workers import queues_on_every_master

#: Longer than the test: only a job, never the end of a bounded wait, ends an idle claimer's BLPOP.
SOCKET_TIMEOUT_SECS = 120.0


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


def test_an_idle_claimer_of_queues_on_every_shard_waits_in_one_blpop_and_wakes_for_each(
    redis_cluster: RedisCluster, redis_url: str, prefix: str
) -> None:
    # Given a claimer serving 3 queues whose slots are on the 3 masters, idle
    queues = queues_on_every_master(redis_cluster, prefix, 3)
    settings = RedisSettings(redis_socket_timeout_secs=SOCKET_TIMEOUT_SECS)
    claimer = RedisQueue(Connection(redis_url, settings), prefix=prefix)
    producer = RedisQueue(Connection(redis_url, settings), prefix=prefix)
    wake_node = redis_cluster.master_of(claimer.keys(queues[0]).cluster_wake)
    claimed: list[Lease] = []

    def claim() -> None:
        while len(claimed) < len(queues):
            claimed.extend(claimer.pop_batch(1, queues=queues, timeout=60, lease_secs=60))

    thread = threading.Thread(target=claim, daemon=True)
    thread.start()
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
            wait_until(lambda: len(claimed) > i, 10, f"the job sent to {queue} to be claimed")
            assert claimed[i].envelope.queue == queue
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        for job in range(len(claimed), len(queues)):  # a failed check: end the claimer's wait
            producer.enqueue(env(f"end{job}", queue=queues[0]))
        thread.join(timeout=10)
        claimer.close()
        producer.close()
