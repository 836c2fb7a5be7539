"""Real `nuvom runworker` processes on a 3-master Redis Cluster: queues on every shard, kill -9, schedules."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from starlette.testclient import TestClient

from nuvom import runtime
from nuvom.record import JobStatus
from nuvom.runtime import get_queue, get_results
from nuvom_dashboard import DashboardConfig, create_app
from nuvom_redis.scheduler import RedisScheduler

from ...dashboard.test_pages import _cell, _row
from ...e2e.helpers import WorkerProcess, executions, wait_until
from ..conftest import connect
from ..server import RedisCluster

pytestmark = pytest.mark.slow

JOBS_PER_QUEUE = 40


def queues_on_every_master(cluster: RedisCluster, prefix: str, count: int) -> list[str]:
    """``count`` queue names whose slots cover every master (the first names that do)."""
    masters = {node.port for node in cluster.nodes}
    chosen: list[str] = []
    covered: set[int] = set()
    i = 0
    while len(chosen) < count:
        name, i = f"q{i}", i + 1
        port = cluster.master_of(f"{prefix}:{{{name}}}:wake")
        if port not in covered or len(covered) == len(masters):
            chosen.append(name)
            covered.add(port)
    return chosen


@pytest.mark.timeout(90)
def test_two_workers_drain_five_queues_on_every_shard_through_a_kill9(
    project: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    redis_cluster: RedisCluster,
    prefix: str,
    isolated_nuvom: Path,
) -> None:
    # Given 5 queues whose slots are on all 3 masters, with jobs in each
    queues = queues_on_every_master(redis_cluster, prefix, 5)
    masters = {redis_cluster.master_of(f"{prefix}:{{{q}}}:wake") for q in queues}
    assert len(masters) == 3, masters
    jobs = {
        f"{q}-{i}": job
        for q in queues
        for i, job in enumerate(
            project.work.options(queue=q).map([(f"{q}-{i}", 0.02) for i in range(JOBS_PER_QUEUE)])
        )
    }
    env = {"NUVOM_LEASE_SECS": "1"}
    args = ("--queues", ",".join(queues), "--concurrency", "4", "--batch-size", "8")
    exec_log = isolated_nuvom / "executions.log"
    victim = start_worker(*args, env=env)
    survivor = start_worker(*args, env=env)

    # When one worker is killed with SIGKILL mid-drain, while it holds leases
    wait_until(lambda: sum(executions(exec_log, "work").values()) >= 40, 30, "40 executions")
    victim.kill9()

    # Then nothing is lost: every job succeeded, its result readable with Job.get(), and its
    # record's status is the success a single store wrote
    results = get_results()
    wait_until(
        lambda: all(
            (r := results.get_full(j.id)) is not None and r.status.is_terminal for j in jobs.values()
        ),
        60,
        "every job to finish",
    )
    assert set(executions(exec_log, "work")) == set(jobs), "a job was lost"
    assert {key: job.get(timeout=5) for key, job in jobs.items()} == {key: key for key in jobs}
    assert {results.get_full(j.id).status for j in jobs.values()} == {JobStatus.SUCCESS}
    wait_until(lambda: get_queue().stats().leased == 0, 10, "every job to be acked")
    assert get_queue().qsize() == 0
    assert survivor.proc.poll() is None


@pytest.mark.timeout(60)
def test_a_schedule_fires_once_per_due_time_with_two_schedulers(
    project: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    redis_url: str,
    prefix: str,
    isolated_nuvom: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a schedule firing every second, and two workers that each also run a scheduler
    env = {"NUVOM_SCHEDULER_BACKEND": "redis"}
    monkeypatch.setenv("NUVOM_SCHEDULER_BACKEND", "redis")
    runtime.reset()
    project.nothing.schedule("tick", interval=1.0, schedule_id="tick")
    workers = [start_worker("--with-scheduler", env=env) for _ in range(2)]
    exec_log = isolated_nuvom / "executions.log"

    # When it has fired a few times
    wait_until(lambda: executions(exec_log, "nothing")["tick"] >= 3, 30, "three fires")
    for worker in workers:
        assert worker.stop() == 0

    # Then each fire the store counted sent one job: as many runs as fires, none twice
    store = RedisScheduler(connect(redis_url), prefix=prefix)
    fired = store.get("tick")
    store.close()
    assert fired is not None
    assert executions(exec_log, "nothing")["tick"] + get_queue().qsize() == fired.run_count


@pytest.mark.timeout(60)
def test_the_dashboard_reads_a_cluster(
    project: ModuleType, start_worker: Callable[..., WorkerProcess], isolated_nuvom: Path
) -> None:
    # Given jobs run by a worker on the cluster, and one waiting an hour in another queue
    jobs = project.add.map([(i, i) for i in range(3)])
    project.add.options(queue="emails", countdown=3600).delay(7, 8)
    worker = start_worker("--burst")
    assert worker.wait(timeout=45) == 0, worker.output()

    # When the dashboard's overview is read
    with TestClient(create_app(DashboardConfig(token="cluster-token"))) as client:
        page = client.get("/")
        fragment = client.get("/fragments/overview").text

    # Then it shows the waiting job of one queue and the finished jobs of the other
    assert page.status_code == 200
    assert _cell(_row(fragment, "emails"), "scheduled") == "1", fragment
    assert _cell(_row(fragment, "default"), "throughput") == "0.6", fragment  # 3 jobs in 5 minutes
    assert all(job.get(timeout=5) == 2 * i for i, job in enumerate(jobs))
