"""Servers set up wrong: TLS asked of a plain port, and a server that keeps jobs in memory only."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
import redis

from nuvom import runtime
from nuvom.errors import BackendError
from nuvom_redis.client import Connection
from nuvom_redis.persistence import volatility
from nuvom_redis.settings import RedisSettings

from ..e2e.helpers import WorkerProcess, wait_until
from .server import RedisServer


def connections_received(port: int) -> int:
    probe = redis.Redis(port=port)
    try:
        return int(probe.info("stats")["total_connections_received"])
    finally:
        probe.close()


def test_delay_with_rediss_at_a_plain_port_fails_on_the_first_try_naming_tls(
    project: ModuleType, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a rediss:// URL pointing at a plain (non-TLS) redis-server
    monkeypatch.setenv("NUVOM_REDIS_URL", f"rediss://127.0.0.1:{redis_server.port}/0")
    monkeypatch.setenv("NUVOM_REDIS_CONNECT_TIMEOUT_SECS", "0.5")
    runtime.reset()
    before = connections_received(redis_server.port)

    # When a producer sends a job
    with pytest.raises(BackendError, match=r"TLS handshake") as caught:
        project.add.delay(1, 2)

    # Then it is told what is wrong after one connection: retries cannot fix a TLS mismatch
    assert f"rediss://127.0.0.1:{redis_server.port}/0" in str(caught.value)
    # (the send, then its clean-up deleting the record, each try once; this probe adds one)
    assert connections_received(redis_server.port) - before == 3


@pytest.mark.slow
@pytest.mark.timeout(60)
def test_a_worker_warns_once_at_start_when_redis_keeps_jobs_in_memory_only(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given the session's server, started with appendonly no and no snapshots
    # When a worker starts and runs a job
    worker = start_worker()
    assert project.add.delay(1, 2).get(timeout=30) == 3

    # Then it has said once what a restart would lose and which setting keeps the jobs
    wait_until(lambda: "appendonly yes" in worker.output(), 10, "the persistence warning")
    assert worker.output().count("a restart loses every queued job") == 1, worker.output()


def test_the_check_reads_aof_and_snapshot_settings(tmp_path: Path) -> None:
    durable = RedisServer(tmp_path / "aof", "--appendonly", "yes").start()
    snapshots = RedisServer(tmp_path / "rdb", "--save", "300 10").start()
    try:
        assert volatility(Connection(durable.url, RedisSettings())) is None
        risk = volatility(Connection(snapshots.url, RedisSettings()))
        assert risk is not None and "RDB snapshots only (save 300 10)" in risk
    finally:
        durable.stop()
        snapshots.stop()


@pytest.mark.parametrize("lockdown", ["renamed", "acl"])
def test_the_check_tolerates_a_server_that_refuses_config(
    tmp_path: Path, lockdown: str, caplog: pytest.LogCaptureFixture
) -> None:
    extra = ["--rename-command", "CONFIG", ""] if lockdown == "renamed" else []
    server = RedisServer(tmp_path / lockdown, *extra).start()
    url = server.url
    if lockdown == "acl":
        admin = redis.Redis(port=server.port)
        admin.execute_command("ACL", "SETUSER", "app", "on", ">pw", "~*", "+@all", "-config")
        admin.close()
        url = f"redis://app:pw@127.0.0.1:{server.port}/0"
    try:
        with caplog.at_level(logging.DEBUG, logger="nuvom_redis.persistence"):
            assert volatility(Connection(url, RedisSettings())) is None
        assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    finally:
        server.stop()
