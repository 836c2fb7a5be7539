"""Real `nuvom runworker` processes on Redis: many workers, kill -9, and a Redis restart."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import runtime
from nuvom.errors import BackendError
from nuvom.record import JobStatus
from nuvom.runtime import get_queue, get_results

from ..e2e.helpers import WorkerProcess, executions, wait_until
from .server import RedisServer

pytestmark = pytest.mark.slow

#: Jobs the several workers drain together.
DRAIN_JOBS = 3_000
WORKERS = 3


@pytest.fixture
def exec_log(isolated_nuvom: Path) -> Path:
    return isolated_nuvom / "executions.log"


def finished(job_ids: list[str]) -> Callable[[], bool]:
    results = get_results()

    def check() -> bool:
        return all((r := results.get_full(i)) is not None and r.status.is_terminal for i in job_ids)

    return check


@pytest.mark.timeout(120)
def test_several_workers_drain_every_job_exactly_once(
    project: ModuleType, start_worker: Callable[..., WorkerProcess], exec_log: Path
) -> None:
    # Given thousands of jobs and several worker processes, as separate hosts would be
    jobs = project.nothing.map([f"k{i}" for i in range(DRAIN_JOBS)])
    workers = [start_worker("--concurrency", "2") for _ in range(WORKERS)]

    # When they drain the queue
    wait_until(lambda: sum(executions(exec_log, "nothing").values()) >= DRAIN_JOBS, 90, "every job to run")
    wait_until(lambda: get_queue().stats().leased == 0, 30, "every job to be acked")

    # Then each job ran exactly once, its success is stored, and the work was shared
    counts = executions(exec_log, "nothing")
    assert sorted(counts) == sorted(f"k{i}" for i in range(DRAIN_JOBS))
    assert max(counts.values()) == 1, [k for k, c in counts.items() if c > 1][:5]
    assert finished([job.id for job in jobs])()
    assert {get_results().get_full(job.id).status for job in jobs[:: DRAIN_JOBS // 20]} == {JobStatus.SUCCESS}
    pids = {line.split()[2] for line in exec_log.read_text().splitlines()}
    assert pids <= {str(w.pid) for w in workers} and len(pids) >= 2, pids
    assert get_queue().qsize() == 0


@pytest.mark.timeout(120)
def test_a_killed_workers_jobs_are_reclaimed_and_completed(
    project: ModuleType, start_worker: Callable[..., WorkerProcess], exec_log: Path
) -> None:
    # Given 200 jobs of 20 ms, and two workers with 1 s leases
    jobs = project.work.map([(f"k{i}", 0.02) for i in range(200)])
    env = {"NUVOM_LEASE_SECS": "1"}
    victim = start_worker("--concurrency", "4", "--batch-size", "8", env=env)
    wait_until(lambda: sum(executions(exec_log, "work").values()) >= 30, 30, "30 executions")
    survivor = start_worker("--concurrency", "4", env=env)

    # When one is killed with SIGKILL while it holds leases
    victim.kill9()

    # Then the survivor reclaims its jobs once their leases expire and completes every job
    wait_until(finished([job.id for job in jobs]), 60, "every job to finish")
    counts = executions(exec_log, "work")
    assert sorted(counts) == sorted(f"k{i}" for i in range(200)), "a job was lost"
    assert {get_results().get_full(job.id).status for job in jobs} == {JobStatus.SUCCESS}
    twice = [k for k, c in counts.items() if c > 1]
    assert len(twice) <= 12, f"only jobs in flight at the kill may run twice: {twice}"
    assert survivor.proc.poll() is None


@pytest.fixture
def durable_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, with the append-only file on."""
    server = RedisServer(tmp_path / "redis-aof", "--appendonly", "yes", "--appendfsync", "everysec").start()
    yield server
    server.stop()


@pytest.mark.timeout(120)
def test_workers_ride_out_a_redis_restart_and_no_job_is_lost(
    project: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    exec_log: Path,
    durable_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    backend_env: dict[str, str],
) -> None:
    monkeypatch.setenv("NUVOM_REDIS_URL", durable_server.url)
    runtime.reset()
    env = {"NUVOM_REDIS_URL": durable_server.url, "NUVOM_LEASE_SECS": "2"}
    # Given 400 jobs of 10 ms and two workers
    jobs = project.work.map([(f"k{i}", 0.01) for i in range(400)])
    workers = [start_worker("--concurrency", "2", env=env) for _ in range(2)]
    wait_until(lambda: sum(executions(exec_log, "work").values()) >= 50, 30, "50 executions")

    # When Redis stops (writing its append-only file) and comes back on the same port
    durable_server.stop()
    with pytest.raises(BackendError, match=f"Redis at {durable_server.url} is unreachable while "):
        project.work.delay("while-down")  # a producer gets a clear error, never a silent drop
    wait_until(lambda: all("is unreachable" in w.output() for w in workers), 20, "workers to log the outage")
    durable_server.start()

    # Then the workers reconnect (a job sent after the restart runs too) and every job completes
    after = project.work.delay("after-restart")
    wait_until(finished([job.id for job in jobs] + [after.id]), 90, "every job to finish after the restart")
    counts = executions(exec_log, "work")
    assert sorted(counts) == sorted([f"k{i}" for i in range(400)] + ["after-restart"]), "a job was lost"
    assert all(worker.proc.poll() is None for worker in workers)
    assert os.environ["NUVOM_REDIS_URL"] == durable_server.url
