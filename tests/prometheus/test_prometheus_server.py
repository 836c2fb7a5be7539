"""A real Prometheus server scrapes a real worker; PromQL through its HTTP API sees the jobs."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable
from types import ModuleType

import pytest

from ..e2e.helpers import WorkerProcess, wait_until
from .conftest import ALERTS, DASHBOARD, PrometheusServer
from .helpers import exporter_url

METRICS = [
    "nuvom_jobs_enqueued_total",
    "nuvom_jobs_finished_total",
    "nuvom_job_retries_total",
    "nuvom_job_duration_seconds",
    "nuvom_job_queue_wait_seconds",
    "nuvom_jobs_in_progress",
    "nuvom_queue_depth",
    "nuvom_worker_slots",
    "nuvom_worker_last_heartbeat_timestamp_seconds",
]

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
    # And every dashboard query is valid PromQL that returns data here (rates need two scrapes)
    for expr in dashboard_queries():
        wait_until(lambda expr=expr: query(server, expr), 15, f"data for the dashboard query {expr}", 0.25)


def dashboard_queries() -> list[str]:
    """The dashboard's expressions, with Grafana's variables replaced by what they stand for."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [target["expr"] for panel in panels for target in panel["targets"]]
    return [e.replace("$__rate_interval", "1m").replace('"$queue"', '".*"') for e in exprs]


def test_the_dashboard_has_a_panel_for_each_question_and_uses_only_our_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert [p["title"] for p in dashboard["panels"]] == [
        "Throughput per task",
        "Failure ratio per task",
        "p95 attempt duration",
        "p95 queue wait",
        "Queue depth",
        "Jobs in progress / slots",
        "Heartbeat age per worker",
    ]
    used = {
        name for expr in dashboard_queries() for name in re.findall(r"\b(nuvom_\w+?)(?:_bucket)?\b", expr)
    }
    assert used <= set(METRICS), used - set(METRICS)


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)"
)
def test_the_example_alert_rules_pass_promtool() -> None:
    checked = subprocess.run(["promtool", "check", "rules", str(ALERTS)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 3 rules found" in checked.stdout
