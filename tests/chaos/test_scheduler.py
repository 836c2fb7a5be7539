"""Three schedulers, two of them killed and restarted again and again: every fire once, none missed."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from nuvom import JobStatus, get_job
from nuvom.runtime import get_results, get_scheduler_store
from nuvom.scheduling.runner import fire_job_id

from ..e2e.helpers import wait_until
from .conftest import Backend
from .harness import Cluster, Process, read_log

pytestmark = [pytest.mark.slow, pytest.mark.chaos]

#: Fires of the 1 s interval schedule the run lasts for.
FIRES = 6


@pytest.mark.timeout(180)
def test_killed_schedulers_neither_duplicate_nor_miss_a_fire(
    make_backend: Callable[..., Backend], cluster: Callable[..., Cluster], backend_name: str, isolated_nuvom
) -> None:
    # Given an interval schedule of 1 s, one steady scheduler and two that are killed repeatedly
    backend = make_backend(backend_name, NUVOM_SCHEDULER_BACKEND=backend_name)
    try:
        store = get_scheduler_store()
    except Exception as exc:  # the scheduler store of this backend is not installed
        pytest.skip(f"no {backend_name} scheduler store: {exc}")
    backend.tasks.double.schedule(1, interval=1, schedule_id="tick")
    created = store.get("tick")
    assert created is not None
    first_due = created.next_run
    worker = Process(
        isolated_nuvom, {**backend.env, "NUVOM_LEASE_SECS": "5"}, "--concurrency", "2", "--no-scheduler"
    )
    steady = Process(isolated_nuvom, backend.env, "--poll", "0.05", command="runscheduler")
    flaky = cluster(backend, size=2, args=("--poll", "0.05"), command="runscheduler")

    # When the two are killed with SIGKILL (and restarted) one after another until FIRES fires
    def run_count() -> int:
        record = store.get("tick")
        assert record is not None
        return record.run_count

    kills = 0
    while run_count() < FIRES:
        if flaky.kill9_random() is None:
            threading.Event().wait(0.1)  # both restarted too recently: poll again
            continue
        kills += 1
        wait_until(lambda k=kills: run_count() >= min(FIRES, k // 2), 10, "the schedule to go on firing")
    for proc in [steady, *flaky.procs]:
        proc.stop(timeout=30)
    record = store.get("tick")
    assert record is not None and record.last_run is not None

    # Then each fire on the 1 s phase was sent as one job that ran once, and no job of no fire ran
    fired = record.run_count
    points = [first_due + i for i in range(round(record.last_run - first_due) + 1)]
    results = get_results()
    job_ids = [fire_job_id("tick", ts) for ts in points if results.get_full(fire_job_id("tick", ts))]
    assert len(job_ids) == fired, "a fire was marked fired without its job, or sent twice"
    wait_until(lambda: all(get_job(j).status() is JobStatus.SUCCESS for j in job_ids), 30, "every fire's job")
    runs = read_log(backend.log)
    assert {j: len(runs[j]) for j in job_ids} == {j: 1 for j in job_ids}
    assert len(runs) == fired, "a job of no fire ran"
    assert kills >= 2
    assert worker.stop(timeout=30) == 0
    # and none was missed: fires late by a killed scheduler's claim are still sent (misfire grace)
    missed = len(points) - fired
    assert missed == 0, f"{missed} of {len(points)} fires were missed after schedulers were killed"
