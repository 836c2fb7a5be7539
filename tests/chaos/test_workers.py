"""Workers killed with ``kill -9`` or restarted with SIGTERM while they drain the queue."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nuvom.runtime import get_queue, get_results

from .conftest import Backend
from .harness import CHAOS_JOBS, Cluster, Report, check, drive

pytestmark = [pytest.mark.slow, pytest.mark.chaos]

#: Each job sleeps this long, so that faults land while jobs run.
JOB_SECS = 0.02


def send_jobs(backend: Backend, n: int) -> dict[str, int]:
    jobs = backend.tasks.double.map([(i, JOB_SECS) for i in range(n)])
    return {job.id: i * 2 for i, job in enumerate(jobs)}


def drain_under_faults(backend: Backend, cluster: Callable[..., Cluster], fault: str) -> Report:
    """Send N jobs, run several workers and inject ``fault`` (a ``Cluster`` method) every ~2 s
    until every job is done; return the checked report (nothing lost, reruns explained)."""
    expected = send_jobs(backend, CHAOS_JOBS)
    workers = cluster(backend)
    inject = getattr(workers, fault)
    faults = drive(
        backend.log, list(expected), get_results(), inject, timeout=540, on_timeout=workers.outputs
    )
    report = check(backend.log, expected, get_results(), faults)
    print(backend.name, report.summary())
    return report


@pytest.mark.timeout(600)
def test_kill9_of_a_random_worker_loses_no_job(
    kill9_backend: Backend, cluster: Callable[..., Cluster]
) -> None:
    # Given N jobs and several workers, when a random worker is killed with SIGKILL every ~2 s
    # (and replaced) until all are done
    report = drain_under_faults(kill9_backend, cluster, "kill9_random")

    # Then every job succeeded once or more, with its own result; every rerun is explained
    assert get_queue().qsize() == 0
    assert len(report.faults) >= 2, "fewer than two kills: make the run longer"


@pytest.mark.timeout(600)
def test_sigterm_rolling_restarts_run_every_job_exactly_once(
    backend: Backend, cluster: Callable[..., Cluster]
) -> None:
    # Given N jobs and several workers, when the oldest worker is stopped gracefully every ~2 s
    # and replaced
    report = drain_under_faults(backend, cluster, "restart_oldest")

    # Then every job ran exactly once: a graceful stop finishes what it started
    assert report.duplicates == {}
    assert report.faults, "no restart happened: make the run longer"
