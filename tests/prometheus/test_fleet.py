"""The fleet exporter (``nuvom prometheus serve``): the backlog by queue and state, with no worker running."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from prometheus_client import CollectorRegistry

from nuvom import runtime
from nuvom.backends import BaseQueue, QueueDepths, WorkerInfo
from nuvom.backends.memory import MemoryQueue
from nuvom.errors import ConfigError
from nuvom.scheduling.record import ScheduleRecord
from nuvom.testing.suite.support import plant_corrupt_entry
from nuvom_prometheus.fleet import FleetCollector, require_depths

from ..redis.server import REDIS_SERVER, RedisServer
from .conftest import ALERTS, DASHBOARD
from .helpers import FleetProcess, exporter_url, scrape, value

pytestmark = [pytest.mark.timeout(90)]


@pytest.fixture(params=["file", "sqlite", "redis"])
def backend_env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The settings that put the queue and the schedules on each backend (a real redis-server)."""
    env = {"NUVOM_QUEUE_BACKEND": request.param, "NUVOM_SCHEDULER_BACKEND": request.param}
    if request.param != "redis":
        yield env
        return
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install -y redis-server)")
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield {**env, "NUVOM_REDIS_URL": server.url}
    finally:
        server.stop()


@pytest.mark.slow
def test_the_fleet_exporter_reports_each_queue_by_state_with_no_worker_running(
    backend_env: dict[str, str],
    project: ModuleType,
    start_fleet: Callable[..., FleetProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a backlog: 3 ready jobs in "default", one ready and one leased in "other", one job
    # due in an hour, a corrupt entry set aside, and a schedule whose run has come
    for name, setting in backend_env.items():
        monkeypatch.setenv(name, setting)
    runtime.reset()
    before = time.time()
    for i in range(3):
        project.add.delay(i, i)
    project.add.options(queue="other").delay(1, 1)
    project.add.options(queue="other").delay(2, 2)
    project.add.options(countdown=3600).delay(0, 0)
    queue = runtime.get_queue()
    assert len(queue.pop_batch(1, queues=["other"], timeout=0, lease_secs=3600)) == 1
    plant_corrupt_entry(queue, "bad")
    assert queue.pop_batch(1, queues=["bad"], timeout=0, lease_secs=60) == []  # quarantines it
    runtime.get_scheduler_store().add(
        ScheduleRecord("nightly", "add", b"\x90", b"\x80", "at", next_run=before - 5, queue="default")
    )
    runtime.reset()

    # When the fleet exporter serves them (its own port; nothing else runs)
    fleet = start_fleet("--port", "0", env=backend_env)
    url = exporter_url(fleet)
    samples = scrape(url)

    # Then each queue is counted by state, from the backend alone
    assert url.startswith("http://127.0.0.1:"), f"the exporter binds {url}, not loopback"
    jobs = {
        (dict(labels)["queue"], dict(labels)["state"]): v
        for (name, labels), v in samples.items()
        if name == "nuvom_queue_jobs"
    }
    assert jobs == {
        ("default", "ready"): 3,
        ("default", "scheduled"): 1,
        ("default", "leased"): 0,
        ("other", "ready"): 1,
        ("other", "scheduled"): 0,
        ("other", "leased"): 1,
    }
    age = value(samples, "nuvom_queue_oldest_ready_age_seconds", queue="default")
    assert age is not None and 0 <= age <= time.time() - before + 1, f"oldest ready age {age}"
    assert value(samples, "nuvom_queue_quarantined_entries") == 1
    assert value(samples, "nuvom_schedules_due") == 1
    assert value(samples, "nuvom_fleet_backend_up", backend="queue") == 1
    assert value(samples, "nuvom_fleet_backend_up", backend="scheduler") == 1
    # And the process collectors are there (the port answers from this process)
    assert (value(samples, "process_cpu_seconds_total") or 0) > 0


def test_a_queue_that_fails_to_answer_sets_backend_up_to_0_and_the_scrape_goes_on() -> None:
    class Unreachable(MemoryQueue):
        def depths(self, now: float) -> QueueDepths:
            raise ConnectionError("the server went away")

    registry = CollectorRegistry()
    registry.register(FleetCollector(Unreachable(), None))

    assert registry.get_sample_value("nuvom_fleet_backend_up", {"backend": "queue"}) == 0
    assert registry.get_sample_value("nuvom_queue_quarantined_entries") is None


def test_a_queue_without_depths_is_refused_naming_the_backend_and_the_interface() -> None:
    class Plain(BaseQueue):
        name = "plain"

    with pytest.raises(ConfigError) as raised:
        require_depths(Plain())  # type: ignore[arg-type]
    assert "NUVOM_QUEUE_BACKEND" in str(raised.value) and "plain" in str(raised.value)
    assert "DepthQueue" in str(raised.value)


def test_per_worker_series_come_from_the_queue_s_worker_registry_when_it_has_one() -> None:
    registered = MemoryQueue()
    registered.beat(
        WorkerInfo("web-1:42:ab", "web-1", 42, ("default",), "threads", 4, 3, 1699999000.0, 1700000000.0)
    )
    with_listing, without = CollectorRegistry(), CollectorRegistry()
    with_listing.register(FleetCollector(registered, None))
    without.register(FleetCollector(MemoryQueue(), None))  # a registry with nobody in it

    labels = {"worker": "web-1:42:ab"}
    assert with_listing.get_sample_value("nuvom_worker_heartbeat_timestamp_seconds", labels) == 1700000000.0
    assert with_listing.get_sample_value("nuvom_worker_registered_slots", labels) == 4
    assert with_listing.get_sample_value("nuvom_worker_running_jobs", labels) == 3
    assert without.get_sample_value("nuvom_worker_registered_slots", labels) is None


def test_the_dashboard_and_rules_commands_print_the_packaged_files(isolated_nuvom: Path) -> None:
    def nuvom(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "nuvom", *args], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    dashboard = nuvom("prometheus", "dashboard")
    rules = nuvom("prometheus", "rules")

    assert dashboard == DASHBOARD.read_text() and json.loads(dashboard)["panels"]
    assert rules == ALERTS.read_text()
