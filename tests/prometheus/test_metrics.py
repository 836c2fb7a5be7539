"""In-process: enqueues are counted by the sender; a raising metric update never fails a job."""

from __future__ import annotations

import logging
import socket

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from nuvom import task
from nuvom.backends.memory import MemoryQueue
from nuvom.record import ErrorInfo, JobRecord, JobStatus
from nuvom.testing import drain
from nuvom_prometheus import ExporterError, Metrics, PrometheusSettings, get_metrics, start_exporter
from nuvom_prometheus.jobs import FLUSH_EVERY
from nuvom_prometheus.metrics import OTHER_EXCEPTION, TOP_EXCEPTIONS

from .helpers import listening, scrape, value


def sample(name: str, **labels: str) -> float:
    return get_metrics().registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
def tasks(memory_backends: None):
    @task(name="prom_ok")
    def ok(x: int) -> int:
        return x

    @task(name="prom_retried", retries=1, retry_delay_secs=0)
    def retried() -> str:
        retried.calls += 1  # type: ignore[attr-defined]
        if retried.calls == 1:  # type: ignore[attr-defined]
            raise ConnectionError("first attempt fails")
        return "ok"

    retried.calls = 0  # type: ignore[attr-defined]
    return ok, retried


def test_the_sending_process_counts_its_enqueues(tasks) -> None:
    ok, _ = tasks
    before = sample("nuvom_jobs_enqueued_total", task="prom_ok", queue="default")
    ok.delay(1)
    ok.options(queue="other").delay(2)
    ok.map([3, 4])
    assert sample("nuvom_jobs_enqueued_total", task="prom_ok", queue="default") == before + 3
    assert sample("nuvom_jobs_enqueued_total", task="prom_ok", queue="other") >= 1


def test_a_raising_metric_update_never_fails_a_job_and_the_others_still_count(
    tasks, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the duration histogram broken: every observation raises
    ok, retried = tasks
    metrics = get_metrics()

    def broken(*labels: str) -> None:
        raise RuntimeError("the duration histogram is broken")

    monkeypatch.setattr(metrics.duration, "labels", broken)
    finished = ("nuvom_jobs_finished_total", {"task": "prom_ok", "queue": "default", "status": "success"})
    before_ok = sample(finished[0], **finished[1])
    before_retries = sample("nuvom_job_retries_total", task="prom_retried", queue="default")

    # When jobs run in a real worker (in this thread)
    jobs = [ok.delay(i) for i in range(3)] + [retried.delay()]
    with caplog.at_level(logging.DEBUG, logger="nuvom_prometheus"):
        drain(timeout=5)

    # Then every job succeeded, the other metrics counted, and the failure was logged once as a warning
    assert [job.get(timeout=1) for job in jobs] == [0, 1, 2, "ok"]
    assert sample(finished[0], **finished[1]) == before_ok + 3
    assert sample("nuvom_job_retries_total", task="prom_retried", queue="default") == before_retries + 1
    assert sample("nuvom_jobs_in_progress", queue="default") == 0
    warnings = [
        r for r in caplog.records if r.name == "nuvom_prometheus.metrics" and r.levelno == logging.WARNING
    ]
    assert [r.getMessage() for r in warnings] == [
        "updating nuvom_job_duration_seconds failed; the job is not affected"
    ]


class UnreadableQueue(MemoryQueue):
    """A real memory queue whose stats cannot be read, as when its server is down."""

    def stats(self):  # type: ignore[override]
        raise ConnectionError("backend unreachable")


def test_a_failing_queue_depth_read_leaves_the_scrape_intact() -> None:
    # Given metrics reading depth from a healthy queue and from one that fails
    metrics = Metrics()
    healthy = MemoryQueue()
    metrics.worker_started(1, healthy, ["default", "mail"], "threads", 2)
    metrics.worker_started(2, UnreadableQueue(), ["default"], "threads", 2)

    # When Prometheus scrapes
    text = generate_latest(metrics.registry).decode()

    # Then the healthy queue's depth and every other metric are there
    samples = {s.name: s for f in text_string_to_metric_families(text) for s in f.samples}
    depths = [
        s for f in text_string_to_metric_families(text) for s in f.samples if s.name == "nuvom_queue_depth"
    ]
    assert {s.labels["queue"]: s.value for s in depths} == {"default": 0, "mail": 0}
    assert samples["nuvom_worker_slots"].value == 4


def test_start_exporter_on_a_busy_port_names_host_and_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = PrometheusSettings(prometheus_port=port)
        with pytest.raises(ExporterError) as caught:
            start_exporter(settings)
    assert (caught.value.host, caught.value.port) == ("127.0.0.1", port)
    assert f"127.0.0.1:{port}: address already in use" in str(caught.value)
    assert "NUVOM_PROMETHEUS_PORT" in str(caught.value)


def test_start_exporter_serves_the_registry_until_stopped() -> None:
    # Given an exporter on a free port (0)
    metrics = Metrics()
    metrics.worker_started(1, MemoryQueue(), ["default"], "threads", 3)
    exporter = start_exporter(PrometheusSettings(prometheus_port=0), metrics.registry)

    # Then it serves that registry at its URL, until stopped
    assert exporter.port != 0 and exporter.url == f"http://127.0.0.1:{exporter.port}/metrics"
    assert value(scrape(exporter.url), "nuvom_worker_slots", pool="threads") == 3
    exporter.stop()
    exporter.stop()  # idempotent
    assert not listening("127.0.0.1", exporter.port)


def test_failures_are_labelled_by_exception_type_up_to_a_bound_then_other() -> None:
    # Given a process that sees more distinct exception types than the bound
    metrics = Metrics()
    record = JobRecord("j", "t", "default", JobStatus.FAILED, b"", b"", created_at=0.0)
    names = [f"Error{i}" for i in range(TOP_EXCEPTIONS + 5)]

    # When each fails once, and the first type fails again after the bound is reached
    for name in [*names, names[0]]:
        metrics.job_finished(record, JobStatus.FAILED, 0.0, ErrorInfo(name, "boom"))

    # Then the first TOP_EXCEPTIONS types keep their own label and the rest are "other"
    def failures(exception: str) -> float | None:
        labels = {"task": "t", "queue": "default", "exception": exception}
        return metrics.registry.get_sample_value("nuvom_job_failures_total", labels)

    assert failures(names[0]) == 2
    assert all(failures(name) == 1 for name in names[1:TOP_EXCEPTIONS])
    assert failures(names[TOP_EXCEPTIONS]) is None
    assert failures(OTHER_EXCEPTION) == 5


def test_the_registry_has_the_process_and_gc_collectors() -> None:
    registry = Metrics().registry
    assert (registry.get_sample_value("process_cpu_seconds_total") or 0) > 0
    assert registry.get_sample_value("python_gc_objects_collected_total", {"generation": "0"}) is not None


def test_job_events_wait_bounded_and_a_scrape_sees_every_one_of_them(tasks) -> None:
    # Given more jobs than the events a process keeps waiting before it applies them
    ok, _ = tasks
    metrics = get_metrics()
    finished = {"task": "prom_ok", "queue": "default", "status": "success"}
    before = sample("nuvom_jobs_finished_total", **finished)
    ok.map([(i,) for i in range(FLUSH_EVERY + 100)])

    # When a real worker runs them, with nobody scraping
    assert drain(timeout=30) == FLUSH_EVERY + 100

    # Then fewer events than the bound wait, and a scrape sees every job counted, none in progress
    assert 0 < len(metrics.jobs._events) < FLUSH_EVERY
    assert sample("nuvom_jobs_finished_total", **finished) == before + FLUSH_EVERY + 100
    assert sample("nuvom_jobs_in_progress", queue="default") == 0
    assert len(metrics.jobs._events) == 0


def test_a_scrape_of_some_names_only_sees_the_job_events_before_it(tasks) -> None:
    # Given jobs that ran since the last scrape, and an exporter of the process's metrics
    ok, _ = tasks
    metrics = get_metrics()
    labels = {"task": "prom_ok", "queue": "default"}
    before = sample("nuvom_job_duration_seconds_count", **labels)
    ok.map([(1,), (2,)])
    assert drain(timeout=5) == 2
    exporter = start_exporter(PrometheusSettings(prometheus_port=0), metrics.registry)
    try:
        # When Prometheus asks for the duration histogram by name only
        body = scrape(f"{exporter.url}?name[]=nuvom_job_duration_seconds_count")
    finally:
        exporter.stop()

    # Then it sees both jobs
    assert value(body, "nuvom_job_duration_seconds_count", **labels) == before + 2
