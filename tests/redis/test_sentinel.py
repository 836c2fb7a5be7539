"""Redis Sentinel: ``redis+sentinel://`` URLs, a failover under a running worker, and WAIT for replicas."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from types import ModuleType

import pytest
import redis

from nuvom import runtime
from nuvom.backends.base import Envelope
from nuvom.errors import BackendError, ConfigError
from nuvom.record import JobStatus
from nuvom.redaction import redact_url
from nuvom.runtime import get_results
from nuvom_redis.client import Connection
from nuvom_redis.queue import RedisQueue
from nuvom_redis.sentinel import SentinelAddress
from nuvom_redis.settings import RedisSettings

from ..e2e.helpers import WorkerProcess, executions, wait_until
from .conftest import assert_plugin_test_passes
from .server import RedisServer, SentinelGroup, free_port

SECRET = "m4ster-PA55"
SENTINEL_SECRET = "s3ntinel-PA55"


@pytest.mark.parametrize(
    ("url", "sentinels", "service", "db", "master", "sentinel"),
    [
        ("redis+sentinel://h1,h2:26380/mymaster", (("h1", 26379), ("h2", 26380)), "mymaster", 0, {}, {}),
        (
            f"redis+sentinel://app:{SECRET}@h1:1,[::1]:2/svc/3?sentinel_password={SENTINEL_SECRET}",
            (("h1", 1), ("::1", 2)),
            "svc",
            3,
            {"username": "app", "password": SECRET},
            {"password": SENTINEL_SECRET},
        ),
        (
            "rediss+sentinel://h1/svc/1?ssl_cert_reqs=required&sentinel_username=mon&sentinel_password=x",
            (("h1", 26379),),
            "svc",
            1,
            {"ssl_cert_reqs": "required"},
            {"username": "mon", "password": "x", "ssl": True, "ssl_cert_reqs": "required"},
        ),
    ],
)
def test_a_sentinel_url_names_the_sentinels_the_service_the_database_and_each_login(
    url: str,
    sentinels: tuple[tuple[str, int], ...],
    service: str,
    db: int,
    master: dict[str, object],
    sentinel: dict[str, object],
) -> None:
    address = SentinelAddress.parse(url)

    assert (address.sentinels, address.service, address.db) == (sentinels, service, db)
    assert address.master_options == master
    assert address.sentinel_options == sentinel
    assert address.tls is url.startswith("rediss")
    # and the redacted form, as messages and `nuvom config` show it, keeps no password
    shown = redact_url(url)
    assert SECRET not in shown and SENTINEL_SECRET not in shown


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"redis+sentinel://app:{SECRET}@/svc", "at least one Sentinel"),
        (f"redis+sentinel://app:{SECRET}@h1:26379", "service"),
        (f"redis+sentinel://app:{SECRET}@h1:port/svc", "port that is not a number"),
        (f"redis+sentinel://app:{SECRET}@h1/svc/zero", "must be a number"),
        (f"redis+shard://app:{SECRET}@h1:7000,h2:7000", "must start with redis://, rediss://, unix://"),
    ],
)
def test_a_bad_sentinel_url_fails_at_start_naming_the_variable_but_not_the_password(
    url: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUVOM_REDIS_URL", url)

    with pytest.raises(ConfigError, match=reason) as caught:
        RedisSettings.load()

    assert caught.value.variable == "NUVOM_REDIS_URL"
    assert SECRET not in str(caught.value)


def test_a_wait_timeout_as_long_as_the_socket_timeout_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUVOM_REDIS_WAIT_TIMEOUT_SECS", "10")

    with pytest.raises(ConfigError, match="NUVOM_REDIS_SOCKET_TIMEOUT_SECS") as caught:
        RedisSettings.load()

    assert caught.value.variable == "NUVOM_REDIS_WAIT_TIMEOUT_SECS"


@pytest.fixture
def group(tmp_path: Path) -> Iterator[SentinelGroup]:
    """A master, two replicas and three Sentinels of this test's own."""
    started = SentinelGroup(tmp_path / "sentinel-group", replicas=2, sentinels=3)
    yield started
    started.stop()


def wait_ready(group: SentinelGroup) -> None:
    wait_until(group.ready, 30, "the Sentinels to see the replicas and each other", interval=0.1)


def finished(job_ids: list[str]) -> Callable[[], bool]:
    results = get_results()

    def check() -> bool:
        done = [results.get_full(i) for i in job_ids]
        return all(r is not None and r.status is JobStatus.SUCCESS for r in done)

    return check


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_worker_follows_a_failover_and_every_acknowledged_job_completes(
    project: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    group: SentinelGroup,
    isolated_nuvom: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a producer and one worker (which also sends schedules) on the Sentinel URL, each write
    # waiting for one replica
    env = {
        "NUVOM_REDIS_URL": group.url(),
        "NUVOM_REDIS_WAIT_REPLICAS": "1",
        "NUVOM_SCHEDULER_BACKEND": "redis",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    runtime.reset()
    wait_ready(group)
    before = project.nothing.map([f"before{i}" for i in range(2_000)])
    worker = start_worker("--concurrency", "4", env=env)
    exec_log = isolated_nuvom / "executions.log"
    wait_until(lambda: sum(executions(exec_log, "nothing").values()) >= 500, 60, "500 executions")

    # When the master is killed midway, and the same producer keeps sending through the failover
    old_master = group.master.port
    group.master.stop(9)
    acknowledged, refused = [], 0
    while len(acknowledged) < 50:
        try:
            acknowledged.append(project.nothing.delay(f"during{len(acknowledged)}").id)
        except BackendError:
            refused += 1  # not acknowledged: the producer tries again
    wait_until(
        lambda: group.master_port() not in (None, old_master), 30, "the Sentinels to promote a replica"
    )
    after = project.nothing.map([f"after{i}" for i in range(100)])
    project.nothing.schedule("scheduled-after", in_=timedelta(milliseconds=100))

    # Then every job acknowledged before, during and after the failover completes, and a schedule
    # added after it fires, on a worker that never restarted
    every = [job.id for job in before] + acknowledged + [job.id for job in after]
    wait_until(finished(every), 60, "every acknowledged job to succeed")
    assert worker.proc.poll() is None
    assert {line.split()[2] for line in exec_log.read_text().splitlines()} == {str(worker.pid)}
    ran = executions(exec_log, "nothing")
    assert {f"before{i}" for i in range(2_000)} | {f"after{i}" for i in range(100)} <= set(ran)
    wait_until(lambda: "scheduled-after" in executions(exec_log, "nothing"), 30, "the schedule to fire")
    assert refused > 0, "the producer should have met the failover"


@pytest.fixture
def small_group(tmp_path: Path) -> Iterator[SentinelGroup]:
    """A master, one replica and one Sentinel of this test's own."""
    started = SentinelGroup(tmp_path / "small-group", replicas=1, sentinels=1)
    yield started
    started.stop()


@pytest.mark.timeout(60)
def test_connections_to_a_demoted_master_are_retried_on_the_new_one(small_group: SentinelGroup) -> None:
    # Given a queue whose pooled connections are open to the master
    wait_ready(small_group)
    queue = RedisQueue(Connection(small_group.url(), RedisSettings()), prefix="demoted")
    queue.enqueue(Envelope("first", "default", b"x", 0, None, 0))
    assert queue.qsize() == 1
    old_master = small_group.master.port

    # When Sentinel demotes that master to a replica (it stays up, and answers writes with READONLY)
    sentinel = redis.Redis(port=small_group.sentinels[0].port)
    assert sentinel.execute_command("SENTINEL", "FAILOVER", SentinelGroup.SERVICE)
    sentinel.close()
    wait_until(lambda: small_group.master_port() not in (None, old_master), 30, "the failover")
    demoted = redis.Redis(port=old_master)  # as Sentinel does a few seconds later, only sooner
    demoted.replicaof("127.0.0.1", small_group.master_port())
    demoted.close()

    # Then the queue's next writes and claims reach the new master, with no error on the way
    queue.enqueue(Envelope("second", "default", b"x", 0, None, 0))
    leases = queue.pop_batch(10, queues=["default"], timeout=1, lease_secs=30)
    assert sorted(lease.id for lease in leases) == ["first", "second"]
    for lease in leases:
        queue.ack(lease)
    assert queue.connection.client.connection_pool.get_master_address()[1] == small_group.master_port()
    queue.close()


@pytest.mark.timeout(60)
def test_the_master_and_the_sentinels_each_get_their_own_password_and_neither_is_shown(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a master asking for one password and a Sentinel asking for another
    group = SentinelGroup(
        tmp_path / "locked", replicas=0, sentinels=1, password=SECRET, sentinel_password=SENTINEL_SECRET
    )
    try:
        wait_ready(group)

        # When a queue connects with both in the URL
        queue = RedisQueue(Connection(group.url(), RedisSettings()), prefix="locked")
        queue.enqueue(Envelope("one", "default", b"x", 0, None, 0))
        assert [lease.id for lease in queue.pop_batch(1, queues=["default"], timeout=1, lease_secs=30)] == [
            "one"
        ]
        queue.close()

        # Then a wrong Sentinel password fails as an outage naming the URL, with no password in sight
        wrong = group.url().replace(SENTINEL_SECRET, "not-it")
        stranger = RedisQueue(Connection(wrong, RedisSettings()), prefix="locked")
        with pytest.raises(BackendError, match="is unreachable while enqueuing") as caught:
            stranger.enqueue(Envelope("two", "default", b"x", 0, None, 0))
        assert stranger.pop_batch(1, queues=["default"], timeout=0, lease_secs=30) == []
        stranger.close()
        shown = str(caught.value) + caplog.text
        assert "sentinel_password=***" in shown
        assert SECRET not in shown and SENTINEL_SECRET not in shown and "not-it" not in shown
    finally:
        group.stop()


@pytest.mark.timeout(60)
def test_a_server_demoted_behind_a_plain_url_is_an_outage_until_it_is_a_master_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a queue on a plain redis:// URL (a failover behind one DNS name looks like this)
    server = RedisServer(tmp_path / "demoted").start()
    other = RedisServer(tmp_path / "other").start()
    queue = RedisQueue(Connection(server.url, RedisSettings()), prefix="demoted")
    try:
        queue.enqueue(Envelope("first", "default", b"x", 0, None, 0))

        # When the server turns into a read-only replica
        admin = redis.Redis(port=server.port)
        admin.replicaof("127.0.0.1", other.port)

        # Then writes fail as an outage (claims back off, producers are told), never another error
        with pytest.raises(BackendError, match="is unreachable while enqueuing 1 job.*read-only replica"):
            queue.enqueue(Envelope("second", "default", b"x", 0, None, 0))
        assert queue.pop_batch(1, queues=["default"], timeout=0, lease_secs=30) == []
        assert "is unreachable" in caplog.text

        # And once it is a master again, the same queue works
        admin.replicaof("no", "one")
        admin.close()
        queue.enqueue(Envelope("third", "default", b"x", 0, None, 0))
        # (the replica may or may not have synced, and dropped "first", meanwhile)
        leases = queue.pop_batch(10, queues=["default"], timeout=1, lease_secs=30)
        assert "third" in [lease.id for lease in leases]
    finally:
        queue.close()
        server.stop()
        other.stop()


@pytest.mark.slow
@pytest.mark.timeout(150)
def test_nuvom_plugin_test_redis_passes_with_a_sentinel_url(
    small_group: SentinelGroup, isolated_nuvom: Path
) -> None:
    wait_ready(small_group)
    assert_plugin_test_passes(
        isolated_nuvom, {"NUVOM_REDIS_URL": small_group.url(), "NUVOM_REDIS_WAIT_REPLICAS": "1"}
    )


@pytest.mark.timeout(60)
def test_sentinels_that_cannot_be_reached_are_named_in_a_short_error(
    project: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a Sentinel URL whose two Sentinels are not listening
    ports = [free_port(), free_port()]
    monkeypatch.setenv(
        "NUVOM_REDIS_URL", f"redis+sentinel://:secret@127.0.0.1:{ports[0]},127.0.0.1:{ports[1]}/svc/0"
    )
    monkeypatch.setenv("NUVOM_REDIS_CONNECT_TIMEOUT_SECS", "0.5")
    runtime.reset()

    # When a producer sends a job
    with pytest.raises(BackendError) as caught:
        project.add.delay(1, 2)

    # Then the error names the service and each Sentinel's failure, without redis-py's client
    # reprs (a line of connection options per Sentinel) and without the password
    message = str(caught.value)
    assert "No master found for 'svc'" in message, message
    assert all(f"127.0.0.1:{port}" in message for port in ports), message
    assert "<redis.client" not in message and "secret" not in message, message
    assert len(message) < 600, message
