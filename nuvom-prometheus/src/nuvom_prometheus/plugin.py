"""The hook implementations: metrics from the monitoring hooks, the exporter in workers only.

Registered through the entry point ``prometheus`` of the group ``nuvom``. Importing this module
does nothing else: a producer that calls ``.delay()`` only counts ``nuvom_jobs_enqueued_total``
in memory and never opens a port.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Final

from nuvom.plugins import hookimpl
from nuvom.record import ErrorInfo, JobRecord, JobStatus

from .exporter import Exporter, ExporterError, PrometheusSettings, start_exporter
from .metrics import get_metrics

logger = logging.getLogger(__name__)

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


def _heartbeat(stop: threading.Event) -> None:
    metrics = get_metrics()
    while not stop.wait(HEARTBEAT_SECS):
        metrics.beat()


def _serve(worker: Any) -> None:
    """Start the process's exporter for its first worker; a bind failure is logged, not raised."""
    global _exporter
    if _exporter is not None or not PrometheusSettings.load().prometheus_enabled:
        return
    try:
        _exporter = start_exporter(worker.settings)
    except ExporterError as exc:
        logger.error("%s. Worker %s runs on without serving metrics.", exc, worker.id)
        return
    logger.info("worker %s serves Prometheus metrics at %s", worker.id, _exporter.url)


@hookimpl
def nuvom_worker_started(worker: Any) -> None:
    """Register the worker's slots and queues, start its heartbeat, and serve ``/metrics``."""
    pool = str(getattr(worker, "pool", "threads"))
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(stop,), name="nuvom-prometheus-heartbeat", daemon=True)
    get_metrics().worker_started(id(worker), worker.queue, worker.queues, pool, worker.concurrency)
    with _lock:
        _watches[id(worker)] = _Watch(pool, worker.concurrency, stop, beat)
        beat.start()
        _serve(worker)


@hookimpl
def nuvom_worker_stopping(worker: Any) -> None:
    """Stop the worker's heartbeat; the last worker of the process stops the exporter."""
    global _exporter
    with _lock:
        watch = _watches.pop(id(worker), None)
        exporter = _exporter if not _watches else None
        if exporter is not None:
            _exporter = None
    if watch is not None:
        watch.stop.set()
        get_metrics().worker_stopping(id(worker), watch.pool, watch.slots)
    if exporter is not None:
        exporter.stop()
        logger.info("Prometheus metrics at %s are no longer served", exporter.url)


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
    get_metrics().job_finished(job, status, duration_secs)
