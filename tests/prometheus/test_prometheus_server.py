"""A real Prometheus server scrapes a real worker; PromQL through its HTTP API sees the jobs."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

from ..e2e.helpers import WorkerProcess, wait_until
from .conftest import PrometheusServer
from .helpers import exporter_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def test_promql_sums_the_successes_a_real_prometheus_scraped(
    project: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    start_prometheus: Callable[[list[str]], PrometheusServer],
) -> None:
    # Given a worker whose exporter a real Prometheus scrapes every second
    worker = start_worker()
    target = exporter_url(worker).removeprefix("http://").removesuffix("/metrics")
    server = start_prometheus([target])

    # When five jobs succeed and one fails after its retries
    jobs = [project.add.delay(i, 1) for i in range(5)] + [project.flaky.delay("x", failures=9)]
    for job in jobs:
        wait_until(lambda job=job: job.status().is_terminal, 30, f"job {job.id} to finish")

    # Then PromQL over the scraped series returns exactly those numbers
    promql = 'sum(nuvom_jobs_finished_total{status="success"})'
    wait_until(lambda: server.scalar(promql) == 5, 30, f"{promql} to reach 5", interval=0.25)
    wait_until(
        lambda: server.scalar('sum(nuvom_jobs_finished_total{status="failed"})') == 1,
        30,
        "the failure to be scraped",
        interval=0.25,
    )
    assert server.scalar('sum(nuvom_job_retries_total{task="flaky"})') == 3
    assert server.scalar('up{job="nuvom"}') == 1
