"""Which processes serve metrics: workers do, producers never; a busy port is a clear error."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from ..e2e.helpers import WorkerProcess, wait_until
from .helpers import exporter_url, free_port, listening, log_text, scrape, value

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

PRODUCER = """
import sys
from nuvom.plugins.manager import plugin_infos
from nuvom_prometheus import get_metrics
import e2e_tasks

for i in range(3):
    e2e_tasks.add.delay(i, i)
assert "prometheus" in [p.name for p in plugin_infos()], "the plugin is not loaded"
sent = get_metrics().registry.get_sample_value("nuvom_jobs_enqueued_total", {"task": "add", "queue": "default"})
print(f"enqueued {sent:g}", flush=True)
sys.stdin.read()  # stay alive until the test has looked at the port
"""


def test_a_producer_counts_its_enqueues_but_opens_no_port(project: ModuleType, isolated_nuvom: Path) -> None:
    # Given a producer process with the plugin installed and a port configured
    port = free_port()
    (isolated_nuvom / "producer.py").write_text(PRODUCER)
    producer = subprocess.Popen(
        [sys.executable, "producer.py"],
        cwd=isolated_nuvom,
        env={**os.environ, "NUVOM_PROMETHEUS_PORT": str(port)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # When it has sent jobs through .delay()
        assert producer.stdout is not None
        line = producer.stdout.readline()

        # Then it counted them in memory, and nothing listens on the port
        assert line.strip() == "enqueued 3"
        assert not listening("127.0.0.1", port)
    finally:
        producer.communicate("", timeout=10)
    assert producer.returncode == 0


def test_a_busy_port_is_logged_naming_host_and_port_and_the_worker_runs_on(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given something already listening on the configured port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        # When a worker starts with that port
        worker = start_worker(env={"NUVOM_PROMETHEUS_PORT": str(port)})
        job = project.add.delay(2, 3)

        # Then it says which address is busy, and still runs jobs
        assert job.get(timeout=30) == 5
        wait_until(lambda: "runs on without serving metrics" in log_text(worker), 10, "the bind error")
        assert f"cannot serve Prometheus metrics on 127.0.0.1:{port}: address already in use" in log_text(
            worker
        )


def test_several_workers_on_one_host_each_serve_on_their_own_free_port(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given two workers with NUVOM_PROMETHEUS_PORT=0
    first, second = start_worker("-c", "1"), start_worker("-c", "2")

    # Then each logs its own address and serves its own slots
    urls = exporter_url(first), exporter_url(second)
    assert urls[0] != urls[1]
    assert [value(scrape(url), "nuvom_worker_slots", pool="threads") for url in urls] == [1, 2]


def test_the_endpoint_can_be_turned_off(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a worker with NUVOM_PROMETHEUS_ENABLED=false and a port
    port = free_port()
    worker = start_worker(env={"NUVOM_PROMETHEUS_ENABLED": "false", "NUVOM_PROMETHEUS_PORT": str(port)})

    # When it has run a job
    assert project.add.delay(1, 1).get(timeout=30) == 2

    # Then it never served metrics
    assert not listening("127.0.0.1", port)
    assert "Prometheus" not in log_text(worker)


def test_a_scheduler_process_serves_the_enqueues_of_the_jobs_it_sends(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a one-off schedule due now, and a scheduler process with the plugin on a free port
    from datetime import timedelta

    project.add.schedule(20, 22, in_=timedelta(0))
    scheduler = start_worker("--poll", "0.05", command="runscheduler", env={"NUVOM_PROMETHEUS_PORT": "0"})

    # When it has sent the fire's job
    url = exporter_url(scheduler)

    # Then its /metrics counts that enqueue
    wait_until(
        lambda: value(scrape(url), "nuvom_jobs_enqueued_total", task="add", queue="default") == 1,
        15,
        "the scheduler's enqueue to be counted",
    )
    assert scheduler.stop() == 0
