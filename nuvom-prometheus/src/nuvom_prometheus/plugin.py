"""The hook implementations: metrics from the monitoring hooks, the exporter in workers and schedulers.

Registered through the entry point ``prometheus`` of the group ``nuvom``. Importing this module
does nothing else: a producer that calls ``.delay()`` only counts ``nuvom_jobs_enqueued_total``
in memory and never opens a port.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from nuvom.plugins import hookimpl
from nuvom.record import ErrorInfo, JobRecord, JobStatus

if TYPE_CHECKING:
    from nuvom.config import PluginSettings

    from .exporter import Exporter
    from .metrics import Metrics

logger = logging.getLogger(__name__)


_metrics: Metrics | None = None


def get_metrics() -> Metrics:
    """The process's metrics; prometheus_client loads with the first event, not with the plugin."""
    global _metrics
    if _metrics is None:
        from .metrics import get_metrics as metrics

        _metrics = metrics()
    return _metrics


#: Seconds between two heartbeats of a running worker.
HEARTBEAT_SECS: Final = 5.0


@dataclass
class _Watch:
    """What the plugin started for one worker."""

    pool: str
    slots: int
    stop: threading.Event
    heartbeat: threading.Thread


_lock = threading.Lock()
_watches: dict[int, _Watch] = {}
_exporter: Exporter | None = None
#: Workers and schedulers of this process that keep the exporter running.
_owners: set[int] = set()


def _heartbeat(stop: threading.Event) -> None:
    metrics = get_metrics()
    while not stop.wait(HEARTBEAT_SECS):
        metrics.beat()


def _serve(what: str) -> None:
    """Start the process's exporter for its first worker or scheduler; a bind failure is logged."""
    global _exporter
    if _exporter is not None:
        return
    from .exporter import ExporterError, PrometheusSettings, start_exporter

    settings = PrometheusSettings.load()
    if not settings.prometheus_enabled:
        return
    try:
        _exporter = start_exporter(settings)
    except ExporterError as exc:
        logger.error("%s. The %s runs on without serving metrics.", exc, what)
        return
    logger.info("%s serves Prometheus metrics at %s", what, _exporter.url)


def _unserve(owner_key: int) -> None:
    """Forget ``owner_key``; the last worker or scheduler of the process stops the exporter."""
    global _exporter
    with _lock:
        _owners.discard(owner_key)
        exporter = _exporter if not _owners else None
        if exporter is not None:
            _exporter = None
    if exporter is not None:
        exporter.stop()
        logger.info("Prometheus metrics at %s are no longer served", exporter.url)


@hookimpl
def nuvom_plugin_settings() -> type[PluginSettings]:
    """``NUVOM_PROMETHEUS_*``, shown by ``nuvom config``."""
    from .exporter import PrometheusSettings

    return PrometheusSettings


@hookimpl
def nuvom_worker_started(worker: Any) -> None:
    """Register the worker's slots and queues, start its heartbeat, and serve ``/metrics``."""
    pool = str(getattr(worker, "pool", "threads"))
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(stop,), name="nuvom-prometheus-heartbeat", daemon=True)
    get_metrics().worker_started(
        id(worker), worker.queue, worker.queues, pool, worker.concurrency, str(worker.id)
    )
    with _lock:
        _watches[id(worker)] = _Watch(pool, worker.concurrency, stop, beat)
        _owners.add(id(worker))
        beat.start()
        _serve(f"worker {worker.id}")


@hookimpl
def nuvom_worker_stopping(worker: Any) -> None:
    """Stop the worker's heartbeat; the last worker or scheduler of the process stops the exporter."""
    with _lock:
        watch = _watches.pop(id(worker), None)
    if watch is not None:
        watch.stop.set()
        get_metrics().worker_stopping(id(worker), watch.pool, watch.slots, str(worker.id))
    _unserve(id(worker))


@hookimpl
def nuvom_scheduler_started(scheduler: Any) -> None:
    """Serve ``/metrics`` from a scheduler process too (enqueue counts of the jobs it sends)."""
    with _lock:
        _owners.add(id(scheduler))
        _serve("scheduler")


@hookimpl
def nuvom_scheduler_stopping(scheduler: Any) -> None:
    """The last worker or scheduler of the process stops the exporter."""
    _unserve(id(scheduler))


@hookimpl
def nuvom_register_commands(app: Any) -> None:
    """Add ``nuvom prometheus serve | dashboard | rules``."""
    from .cli import prometheus_app  # the CLI only: producers importing the plugin skip it

    app.add_typer(prometheus_app, name="prometheus")


@hookimpl
def nuvom_job_enqueued(job: JobRecord) -> None:
    """Count the job in the sending process."""
    get_metrics().job_enqueued(job)


@hookimpl
def nuvom_job_started(job: JobRecord) -> None:
    """Mark the attempt in progress and observe the first attempt's queue wait."""
    get_metrics().job_started(job)


@hookimpl
def nuvom_job_finished(
    job: JobRecord, status: JobStatus, duration_secs: float, error: ErrorInfo | None
) -> None:
    """Count the outcome (or the retry) and observe the attempt's duration."""
    get_metrics().job_finished(job, status, duration_secs, error)
