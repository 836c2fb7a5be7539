"""Workers killed with ``kill -9`` or restarted with SIGTERM while they drain the queue."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from nuvom.runtime import get_queue, get_results

from .conftest import Backend
from .harness import CHAOS_JOBS, Cluster, check, drive

pytestmark = [pytest.mark.slow, pytest.mark.chaos]

#: Each job sleeps this long, so that faults land while jobs run.
JOB_SECS = 0.02


def send_jobs(backend: Backend, n: int) -> dict[str, int]:
    jobs = backend.tasks.double.map([(i, JOB_SECS) for i in range(n)])
    return {job.id: i * 2 for i, job in enumerate(jobs)}


@pytest.mark.timeout(600)
def test_kill9_of_a_random_worker_loses_no_job(backend: Backend, cluster: Callable[..., Cluster]) -> None:
    # Given N jobs and several workers
    expected = send_jobs(backend, CHAOS_JOBS)
    workers = cluster(backend)

    # When a random worker is killed with SIGKILL every ~2 s (and replaced) until all are done
    faults = drive(
        backend.log,
        list(expected),
        get_results(),
        workers.kill9_random,
        timeout=540,
        on_timeout=workers.outputs,
    )

    # Then every job succeeded once or more, with its own result; every rerun is explained
    report = check(backend.log, expected, get_results(), faults)
    print(backend.name, report.summary())
    assert get_queue().qsize() == 0
    assert len(faults) >= 2, "fewer than two kills: make the run longer"


@pytest.mark.timeout(600)
def test_sigterm_rolling_restarts_run_every_job_exactly_once(
    backend: Backend, cluster: Callable[..., Cluster]
) -> None:
    # Given N jobs and several workers
    expected = send_jobs(backend, CHAOS_JOBS)
    workers = cluster(backend)

    # When the oldest worker is stopped gracefully every ~2 s and replaced
    faults = drive(
        backend.log,
        list(expected),
        get_results(),
        workers.restart_oldest,
        timeout=540,
        on_timeout=workers.outputs,
    )

    # Then every job ran exactly once: a graceful stop finishes what it started
    report = check(backend.log, expected, get_results(), faults)
    print(backend.name, report.summary())
    assert report.duplicates == {}
    assert faults, "no restart happened: make the run longer"
