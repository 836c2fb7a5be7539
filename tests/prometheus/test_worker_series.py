"""A real worker's own series: failures by exception type, cancels, process collectors, its id."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from nuvom.record import JobStatus
from nuvom.runtime import get_queue

from ..e2e.helpers import WorkerProcess, wait_until
from .helpers import exporter_url, scrape, value

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def test_a_worker_counts_failures_by_exception_cancels_and_serves_its_id_and_process_metrics(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a job cancelled while queued, and one that fails on every attempt (3 retries)
    cancelled = project.add.delay(1, 2)
    assert cancelled.cancel()
    failing = project.flaky.delay("f", failures=9)

    # When a worker runs the queue
    worker = start_worker()
    url = exporter_url(worker)
    wait_until(lambda: failing.status() is JobStatus.FAILED, 30, "the failing job to fail")
    finished = {"task": "add", "queue": "default", "status": "cancelled"}
    wait_until(
        lambda: value(scrape(url), "nuvom_jobs_finished_total", **finished) == 1,
        15,
        "the cancelled job to be counted",
    )
    samples = scrape(url)

    # Then each failed attempt is counted under its exception type
    failures = {"task": "flaky", "queue": "default", "exception": "ConnectionError"}
    assert value(samples, "nuvom_job_failures_total", **failures) == 4
    # And the process and GC collectors are served beside Nuvom's metrics
    assert (value(samples, "process_cpu_seconds_total") or 0) > 0
    assert value(samples, "python_gc_objects_collected_total", generation="0") is not None
    # And an info series carries the worker id the worker registry lists (as `nuvom workers` does)
    (registered,) = get_queue().workers()  # type: ignore[attr-defined]
    info = value(samples, "nuvom_worker_info", worker=registered.id, pool="threads", queues="default")
    assert info == 1, [key for key in samples if key[0] == "nuvom_worker_info"]
