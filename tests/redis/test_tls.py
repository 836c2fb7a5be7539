"""TLS on real TLS-only servers: ``rediss://``, ``rediss+sentinel://`` and ``rediss+cluster://``.

The servers listen for TLS only (no plain port), with a certificate signed by a test CA that
the URLs name with ``?ssl_ca_certs=``, as docs/backends/redis.md tells users to.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import runtime
from nuvom.backends import Envelope
from nuvom.errors import BackendError
from nuvom_redis.client import Connection
from nuvom_redis.queue import RedisQueue
from nuvom_redis.settings import RedisSettings

from ..e2e.helpers import WorkerProcess, wait_until
from .conftest import assert_plugin_test_passes
from .server import RedisCluster, RedisServer, SentinelGroup, TlsFiles

pytestmark = pytest.mark.slow

TLS_SCHEMES = ("rediss", "rediss+sentinel", "rediss+cluster")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return TlsFiles.make(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis-tls"), tls=tls_files).start()
    yield server
    server.stop()


def tls_group(directory: Path, tls: TlsFiles) -> SentinelGroup:
    """A master, a replica and one Sentinel, all TLS-only (replication and Sentinel's links too)."""
    group = SentinelGroup(directory, replicas=1, sentinels=1, tls=tls)
    try:
        wait_until(group.ready, 30, "the Sentinel to see the replica", interval=0.1)
    except BaseException:
        group.stop()
        raise
    return group


@pytest.fixture(scope="module")
def tls_sentinel(tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles) -> Iterator[SentinelGroup]:
    group = tls_group(tmp_path_factory.mktemp("redis-tls-sentinel"), tls_files)
    yield group
    group.stop()


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles) -> Iterator[RedisCluster]:
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-tls-cluster"), tls=tls_files)
    yield cluster
    cluster.stop()


@pytest.fixture(params=TLS_SCHEMES)
def redis_url(request: pytest.FixtureRequest) -> str:
    """The URL of a TLS-only server, Sentinel group or 3-master cluster (overrides the plain one)."""
    if request.param == "rediss":
        server: RedisServer = request.getfixturevalue("tls_server")
        return server.url
    if request.param == "rediss+sentinel":
        group: SentinelGroup = request.getfixturevalue("tls_sentinel")
        return group.url("rediss+sentinel")
    cluster: RedisCluster = request.getfixturevalue("tls_cluster")
    return cluster.url("rediss+cluster")


@pytest.mark.timeout(60)
def test_jobs_round_trip_through_a_worker_over_tls(
    redis_url: str, project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a producer and a worker that reach Redis over TLS only
    # When the producer sends jobs and the worker runs them
    jobs = project.add.map([(n, n) for n in range(20)])
    start_worker("--concurrency", "2")

    # Then every result comes back, read over TLS
    assert [job.get(timeout=30) for job in jobs] == [2 * n for n in range(20)]


@pytest.mark.timeout(150)
def test_nuvom_plugin_test_redis_passes_over_tls(redis_url: str, isolated_nuvom: Path) -> None:
    assert_plugin_test_passes(isolated_nuvom, {"NUVOM_REDIS_URL": redis_url})


@pytest.mark.timeout(60)
def test_a_server_certificate_the_client_does_not_trust_fails_at_once_naming_tls(
    redis_url: str, project: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a TLS URL without the test CA: the server's certificate does not verify
    untrusted = redis_url.split("?", 1)[0]
    monkeypatch.setenv("NUVOM_REDIS_URL", untrusted)
    runtime.reset()

    # When a producer sends a job
    with pytest.raises(BackendError) as caught:
        project.add.delay(1, 2)

    # Then it is told the TLS handshake failed and why, naming the URL
    message = str(caught.value)
    assert "TLS handshake" in message and "CERTIFICATE_VERIFY_FAILED" in message, message
    assert untrusted.split("://", 1)[1].split(",")[0] in message, message


@pytest.mark.timeout(90)
def test_a_sentinel_failover_over_tls_moves_the_queue_to_the_new_master(
    tmp_path: Path, tls_files: TlsFiles
) -> None:
    # Given a queue reaching a TLS-only master through a TLS-only Sentinel, with a job replicated
    group = tls_group(tmp_path / "group", tls_files)
    try:
        queue = RedisQueue(Connection(group.url("rediss+sentinel"), RedisSettings()), prefix="tls-failover")
        queue.enqueue(Envelope("first", "default", b"x", 0, None, 0))
        master = group.master.client(socket_timeout=5)
        assert master.wait(1, 5000) == 1  # the replica has it
        master.close()
        old_master = group.master.port

        # When the master is killed and the Sentinel promotes the replica
        group.master.stop(signal.SIGKILL)
        wait_until(lambda: group.master_port() not in (None, old_master), 60, "the failover", interval=0.1)

        # Then the queue's next writes and claims reach the new master over TLS
        queue.enqueue(Envelope("second", "default", b"x", 0, None, 0))
        leases = queue.pop_batch(10, queues=["default"], timeout=1, lease_secs=30)
        assert sorted(lease.id for lease in leases) == ["first", "second"]
        for lease in leases:
            queue.ack(lease)
        queue.close()
    finally:
        group.stop()
