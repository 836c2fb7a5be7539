"""A real worker with the plugin, scraped over HTTP: exact counts for successes, failures and retries."""

from __future__ import annotations

import time
from collections.abc import Callable
from types import ModuleType

import pytest

from nuvom import task

from ..e2e.helpers import WorkerProcess, wait_until
from .helpers import exporter_url, log_text, scrape, value

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def test_scrape_counts_outcomes_retries_durations_and_waits(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given jobs that succeed, succeed after a retry, fail after three retries, fail without
    # running (no worker knows the task), run for 0.3 s, and wait a minute in the queue
    @task(name="only_here")
    def only_here() -> None: ...

    jobs = [project.add.delay(i, i) for i in range(3)]
    jobs += [project.flaky.delay("a", failures=1), project.flaky.delay("b", failures=9)]
    jobs += [only_here.delay(), project.work.delay("w", 0.3)]
    project.add.options(countdown=60).delay(0, 0)
    before = time.time()

    # When a worker with 3 slots runs them
    worker = start_worker("-c", "3")
    url = exporter_url(worker)
    for job in jobs:
        wait_until(lambda job=job: job.status().is_terminal, 30, f"job {job.id} to finish")
    wait_until(
        lambda: sum(v for (n, _), v in scrape(url).items() if n == "nuvom_jobs_finished_total") == 7,
        10,
        "the finished hooks of all seven jobs",
    )
    samples = scrape(url)

    # Then every outcome is counted once, retries apart from final statuses
    finished = {
        (dict(labels)["task"], dict(labels)["status"]): v
        for (name, labels), v in samples.items()
        if name == "nuvom_jobs_finished_total"
    }
    assert finished == {
        ("add", "success"): 3,
        ("flaky", "success"): 1,
        ("flaky", "failed"): 1,
        ("only_here", "failed"): 1,
        ("work", "success"): 1,
    }
    assert all(
        labels == {"task", "queue", "status"} for labels in _label_names(samples, "nuvom_jobs_finished")
    )
    assert value(samples, "nuvom_job_retries_total", task="flaky", queue="default") == 1 + 3
    # And every attempt that ran is timed; the job that never ran is not
    assert value(samples, "nuvom_job_duration_seconds_count", task="add", queue="default") == 3
    assert value(samples, "nuvom_job_duration_seconds_count", task="flaky", queue="default") == 2 + 4
    assert value(samples, "nuvom_job_duration_seconds_count", task="only_here", queue="default") is None
    work = {"task": "work", "queue": "default"}
    assert value(samples, "nuvom_job_duration_seconds_bucket", le="0.25", **work) == 0
    assert value(samples, "nuvom_job_duration_seconds_bucket", le="+Inf", **work) == 1
    assert 0.3 <= value(samples, "nuvom_job_duration_seconds_sum", **work) < 5  # type: ignore[operator]
    # And the queue wait is observed once per job, at its first attempt
    assert value(samples, "nuvom_job_queue_wait_seconds_count", task="add", queue="default") == 3
    assert value(samples, "nuvom_job_queue_wait_seconds_count", task="flaky", queue="default") == 2
    assert (
        value(samples, "nuvom_job_queue_wait_seconds_bucket", le="3600.0", task="add", queue="default") == 3
    )
    # And the gauges describe the worker now: nothing running, the countdown job waiting
    assert value(samples, "nuvom_jobs_in_progress", queue="default") == 0
    assert value(samples, "nuvom_queue_depth", queue="default") == 1
    assert value(samples, "nuvom_worker_slots", pool="threads") == 3
    heartbeat = value(samples, "nuvom_worker_last_heartbeat_timestamp_seconds")
    assert heartbeat is not None and before <= heartbeat <= time.time()
    # And enqueues are counted where they happen: in this (sending) process, not in the worker
    assert not any(name == "nuvom_jobs_enqueued_total" for name, _ in samples)


def _label_names(samples, prefix: str) -> list[set[str]]:
    return [{k for k, _ in labels} for (name, labels), _ in samples.items() if name.startswith(prefix)]


def test_the_exporter_stops_with_the_worker(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a worker serving metrics
    worker = start_worker()
    url = exporter_url(worker)
    assert value(scrape(url), "nuvom_worker_slots", pool="threads") == 4

    # When it stops
    assert worker.stop() == 0

    # Then the port no longer answers and the worker said so
    with pytest.raises(OSError):
        scrape(url)
    assert f"Prometheus metrics at {url} are no longer served" in log_text(worker)


def test_jobs_run_in_child_processes_are_counted_by_the_worker(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given jobs that succeed and one that retries, for a worker with a process pool
    jobs = [project.add.delay(i, i) for i in range(4)] + [project.flaky.delay("p", failures=1)]

    # When two child processes run them
    worker = start_worker("--pool", "processes", "-c", "2")
    url = exporter_url(worker)
    for job in jobs:
        wait_until(lambda job=job: job.status().is_terminal, 60, f"job {job.id} to finish")

    # Then the parent, which alone stores outcomes and fires the hooks, counts them all
    wait_until(
        lambda: (
            value(scrape(url), "nuvom_jobs_finished_total", task="add", queue="default", status="success")
            == 4
        ),
        10,
        "the four successes",
    )
    samples = scrape(url)
    assert value(samples, "nuvom_jobs_finished_total", task="flaky", queue="default", status="success") == 1
    assert value(samples, "nuvom_job_retries_total", task="flaky", queue="default") == 1
    assert value(samples, "nuvom_worker_slots", pool="processes") == 2
    assert value(samples, "nuvom_job_duration_seconds_count", task="add", queue="default") == 4
