"""Chaos fixtures: a persistent backend (file, SQLite or Redis) shared by this process and workers."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import runtime

from ..redis.server import REDIS_SERVER, RedisCluster, RedisServer
from .harness import CHAOS_JOBS, CHAOS_WORKERS, Cluster, stop_leftovers, write_tasks

PERSISTENT = ["file", "sqlite", "redis"]
#: The kill -9 scenario runs on these, and on a 3-master Redis Cluster ("redis-cluster").
KILL9_BACKENDS = [*PERSISTENT, "redis-cluster"]
#: The single-job tests (crash points, long jobs) run on SQLite only at CI size, on all at full size.
SINGLE_JOB_BACKENDS = PERSISTENT if CHAOS_JOBS >= 10_000 else ["sqlite"]


@dataclass
class Backend:
    """The backend under test: its name, the environment every process shares, and its server."""

    name: str
    env: dict[str, str]
    log: Path
    tasks: ModuleType
    redis: RedisServer | None = None


def start_redis(directory: Path) -> RedisServer:
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install -y redis-server)")
    return RedisServer(directory, "--appendonly", "yes", "--appendfsync", "everysec").start()


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    yield
    stop_leftovers()


@pytest.fixture
def make_backend(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Backend]]:
    """Configure this process (and, through the environment, every worker) for one backend.

    ``redis-cluster`` is the ``redis`` backends on a Redis Cluster of 3 masters.
    """
    servers: list[RedisServer | RedisCluster] = []

    def make(name: str, **extra: str) -> Backend:
        log = isolated_nuvom / "executions.log"
        backend = "redis" if name == "redis-cluster" else name
        env = {
            "NUVOM_QUEUE_BACKEND": backend,
            "NUVOM_RESULT_BACKEND": backend,
            "NUVOM_LEASE_SECS": "2",
            "NUVOM_MAX_DELIVERIES": "100",
            "NUVOM_LOG_LEVEL": "WARNING",
            "CHAOS_LOG": str(log),
            **extra,
        }
        server = None
        if name == "sqlite":
            env["NUVOM_SQLITE_PATH"] = str(isolated_nuvom / "nuvom.db")
        if name == "redis":
            server = start_redis(isolated_nuvom / "redis")
            servers.append(server)
            env["NUVOM_REDIS_URL"] = server.url
        if name == "redis-cluster":
            if REDIS_SERVER is None:
                pytest.skip("redis-server is not installed (Debian: apt-get install -y redis-server)")
            cluster = RedisCluster(isolated_nuvom / "redis-cluster", appendonly=True)
            servers.append(cluster)
            env["NUVOM_REDIS_URL"] = cluster.url()
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        runtime.reset()
        write_tasks(isolated_nuvom)
        monkeypatch.syspath_prepend(str(isolated_nuvom))
        sys.modules.pop("chaos_tasks", None)
        import chaos_tasks  # type: ignore[import-not-found]

        return Backend(name, env, log, chaos_tasks, server)

    yield make
    sys.modules.pop("chaos_tasks", None)
    runtime.reset()
    for server in servers:
        server.stop()


@pytest.fixture(params=PERSISTENT)
def backend(request: pytest.FixtureRequest, make_backend: Callable[..., Backend]) -> Backend:
    """Each persistent backend in turn."""
    return make_backend(request.param)


@pytest.fixture(params=KILL9_BACKENDS)
def kill9_backend(request: pytest.FixtureRequest, make_backend: Callable[..., Backend]) -> Backend:
    """Each persistent backend in turn, and the Redis backends on a Redis Cluster."""
    return make_backend(request.param)


@pytest.fixture
def cluster(isolated_nuvom: Path) -> Iterator[Callable[..., Cluster]]:
    """Start clusters of worker (or scheduler) processes; all are stopped at the end of the test."""
    made: list[Cluster] = []

    def start(backend: Backend, size: int = CHAOS_WORKERS, **kwargs: object) -> Cluster:
        kwargs.setdefault("log", backend.log if kwargs.get("command", "runworker") == "runworker" else None)
        made.append(Cluster(isolated_nuvom, backend.env, size, **kwargs).start())  # type: ignore[arg-type]
        return made[-1]

    yield start
    for group in made:
        group.stop()


@pytest.fixture(params=PERSISTENT)
def backend_name(request: pytest.FixtureRequest) -> str:
    """Each persistent backend's name in turn (for tests that pass their own settings)."""
    return str(request.param)


@pytest.fixture(params=SINGLE_JOB_BACKENDS)
def single_job_backend(request: pytest.FixtureRequest) -> str:
    """The backends of the single-job tests at this size (see ``SINGLE_JOB_BACKENDS``)."""
    return str(request.param)
