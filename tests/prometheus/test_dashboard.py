"""The shipped dashboard, proven: a real Prometheus scrapes a worker and the fleet exporter, and
every panel's expression returns data through its HTTP API."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from types import ModuleType

import pytest

from nuvom import runtime
from nuvom.testing.suite.support import plant_corrupt_entry

from ..e2e.helpers import WorkerProcess, wait_until
from .conftest import DASHBOARD, PrometheusServer
from .helpers import FleetProcess, exporter_url

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

#: The alert rules the shipped rules file defines.
RULES = {
    "NuvomTargetDown",
    "NuvomNoWorkerUp",
    "NuvomWorkerHeartbeatLapsed",
    "NuvomFleetBackendUnreadable",
    "NuvomBacklogGrowing",
    "NuvomOldestJobTooOld",
    "NuvomTaskFailureRatioHigh",
    "NuvomQueueWaitHigh",
    "NuvomQuarantineNotEmpty",
}


def panel_queries() -> dict[str, str]:
    """Each panel target's expression (by panel title and ref id), Grafana's variables replaced."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {
        f"{panel['title']} [{target['refId']}]": target["expr"]
        .replace("$__rate_interval", "1m")
        .replace('"$queue"', '".*"')
        for panel in panels
        for target in panel["targets"]
    }


def test_every_dashboard_panel_shows_data_from_a_worker_and_the_fleet_exporter(
    project: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    start_fleet: Callable[..., FleetProcess],
    start_prometheus: Callable[..., PrometheusServer],
) -> None:
    # Given a worker and the fleet exporter, both scraped every second by a real Prometheus
    # loaded with the shipped rules
    worker = start_worker("-c", "2")
    fleet = start_fleet()
    targets = [exporter_url(p).removeprefix("http://").removesuffix("/metrics") for p in (worker, fleet)]
    server = start_prometheus([targets[0]], fleet=[targets[1]])

    # When jobs run: successes, one retried then successful, one failing after its retries, a
    # corrupt entry the worker's queue quarantines, and a backlog in a queue no worker serves
    jobs = [project.add.delay(i, 1) for i in range(3)]
    jobs += [project.flaky.delay("retried", failures=1), project.flaky.delay("failing", failures=9)]
    plant_corrupt_entry(runtime.get_queue(), "default")
    project.add.options(queue="parked").delay(1, 1)
    project.add.options(queue="parked", countdown=3600).delay(2, 2)
    for job in jobs:
        wait_until(lambda job=job: job.status().is_terminal, 60, f"job {job.id} to finish")

    # Then every panel's expression returns data (rates need two scrapes: poll with a deadline)
    for panel, expr in panel_queries().items():
        wait_until(lambda expr=expr: server.query(expr), 30, f"data for the panel {panel}: {expr}", 0.25)
    # And the numbers behind the panels are the jobs' (the failures by exception type included)
    assert server.scalar('sum(nuvom_job_failures_total{exception="ConnectionError"})') == 4 + 1
    assert server.scalar('max(nuvom_queue_quarantined_entries{job="nuvom-fleet"})') == 1
    assert server.scalar('nuvom_queue_jobs{queue="parked", state="scheduled"}') == 1
    # And the shipped rules are loaded; the quarantine alert is on its way to firing
    groups = server.api("rules")["groups"]
    assert {rule["name"] for group in groups for rule in group["rules"]} == RULES
    wait_until(
        lambda: any(
            a["labels"]["alertname"] == "NuvomQuarantineNotEmpty" for a in server.api("alerts")["alerts"]
        ),
        30,
        "NuvomQuarantineNotEmpty to be pending",
        0.25,
    )


def test_the_dashboard_uses_only_metrics_the_exporters_serve() -> None:
    served = {
        "nuvom_jobs_finished_total",
        "nuvom_job_failures_total",
        "nuvom_job_duration_seconds",
        "nuvom_job_queue_wait_seconds",
        "nuvom_jobs_in_progress",
        "nuvom_queue_depth",
        "nuvom_queue_jobs",
        "nuvom_queue_oldest_ready_age_seconds",
        "nuvom_queue_quarantined_entries",
        "nuvom_schedules_due",
        "nuvom_worker_slots",
        "nuvom_worker_last_heartbeat_timestamp_seconds",
    }
    used = {
        name
        for expr in panel_queries().values()
        for name in re.findall(r"\b(nuvom_\w+?)(?:_bucket)?\b", expr)
    }
    assert used <= served, used - served
