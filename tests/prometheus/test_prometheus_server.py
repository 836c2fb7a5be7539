"""A real Prometheus server scrapes a real worker; PromQL through its HTTP API sees the jobs."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable
from types import ModuleType

import pytest

from ..e2e.helpers import WorkerProcess, wait_until
from .conftest import ALERTS, PrometheusServer
from .helpers import exporter_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def query(server: PrometheusServer, promql: str) -> list[dict]:
    url = f"{server.url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return body["data"]["result"]


def scalar(server: PrometheusServer, promql: str) -> float | None:
    result = query(server, promql)
    return float(result[0]["value"][1]) if result else None


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
    wait_until(lambda: scalar(server, promql) == 5, 30, f"{promql} to reach 5", interval=0.25)
    wait_until(
        lambda: scalar(server, 'sum(nuvom_jobs_finished_total{status="failed"})') == 1,
        30,
        "the failure to be scraped",
        interval=0.25,
    )
    assert scalar(server, 'sum(nuvom_job_retries_total{task="flaky"})') == 3
    assert scalar(server, 'up{job="nuvom"}') == 1
    # And the example alert rules load into the server
    rules = json.load(urllib.request.urlopen(f"{server.url}/api/v1/rules", timeout=5))["data"]["groups"]
    assert {rule["name"] for group in rules for rule in group["rules"]} == {
        "NuvomTaskFailureRatioHigh",
        "NuvomQueueWaitHigh",
        "NuvomWorkerNoHeartbeat",
    }


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)"
)
def test_the_example_alert_rules_pass_promtool() -> None:
    checked = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 3 rules found" in checked.stdout
