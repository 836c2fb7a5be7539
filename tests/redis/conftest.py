"""A real redis-server for the whole session, and a fresh key prefix for every test."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import runtime
from nuvom_redis.client import Connection
from nuvom_redis.queue import RedisQueue
from nuvom_redis.results import RedisResults
from nuvom_redis.scheduler import RedisScheduler
from nuvom_redis.settings import RedisSettings

from ..e2e.helpers import WorkerProcess, imported_tasks
from .server import REDIS_SERVER, RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install -y redis-server)")
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _needs_redis(redis_server: RedisServer) -> None:
    """Every test here needs the server; without redis-server they are all skipped, saying why."""


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own, so tests never see each other's keys."""
    return f"t{uuid.uuid4().hex[:12]}"


def connect(url: str) -> Connection:
    return Connection(url, RedisSettings())


def assert_plugin_test_passes(cwd: Path, env: dict[str, str], *, timeout: float = 140) -> str:
    """Run ``nuvom plugin test redis`` in ``cwd`` with ``env`` added; assert its three suites pass.

    Returns its output.
    """
    check = subprocess.run(
        [sys.executable, "-m", "nuvom", "plugin", "test", "redis"],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert re.findall(r"(\d+) failed", check.stdout) == ["0", "0", "0"], check.stdout[-3000:]
    return check.stdout


@pytest.fixture
def queue_factory(redis_url: str, prefix: str) -> Iterator[object]:
    made: list[RedisQueue] = []

    def make() -> RedisQueue:
        # reads the records of results_factory's store with each claim, as a worker's queue does
        made.append(RedisQueue(connect(redis_url), prefix=prefix, records_prefix=prefix))
        return made[-1]

    yield make
    for queue in made:
        queue.close()


@pytest.fixture
def results_factory(redis_url: str, prefix: str) -> Iterator[object]:
    made: list[RedisResults] = []

    def make() -> RedisResults:
        made.append(RedisResults(connect(redis_url), prefix=prefix))
        return made[-1]

    yield make
    for results in made:
        results.close()


@pytest.fixture
def scheduler_factory(redis_url: str, prefix: str) -> Iterator[object]:
    made: list[RedisScheduler] = []

    def make() -> RedisScheduler:
        made.append(RedisScheduler(connect(redis_url), prefix=prefix))
        return made[-1]

    yield make
    for store in made:
        store.close()


@pytest.fixture
def backend_env(redis_url: str, prefix: str) -> dict[str, str]:
    return {
        "NUVOM_QUEUE_BACKEND": "redis",
        "NUVOM_RESULT_BACKEND": "redis",
        "NUVOM_REDIS_URL": redis_url,
        "NUVOM_REDIS_PREFIX": prefix,
    }


@pytest.fixture
def project(
    isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch, backend_env: dict[str, str]
) -> Iterator[ModuleType]:
    """The e2e task module, sending to Redis from this process."""
    for key, value in backend_env.items():
        monkeypatch.setenv(key, value)
    runtime.reset()
    with imported_tasks(isolated_nuvom, monkeypatch) as tasks:
        yield tasks


@pytest.fixture
def start_worker(isolated_nuvom: Path, backend_env: dict[str, str]) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(isolated_nuvom, *args, env={**backend_env, **(env or {})})
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=10)
