"""The metric set, in a registry of its own, and the updates the hooks make to it.

Every update is guarded on its own: a metric that raises is logged (once per update kind, then
at debug level) and the other updates of the same event still happen. Labels are task and queue
names only, never job ids or arguments, so cardinality stays bounded by the code base.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Final, final

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from nuvom.backends import QueueBackend
from nuvom.record import ErrorInfo, JobRecord, JobStatus

from .jobs import JobSeries

logger = logging.getLogger(__name__)

#: Histogram buckets in seconds, for jobs from 1 ms to 1 h.
BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
)  # fmt: skip

#: Distinct exception types a process labels ``nuvom_job_failures_total`` with; later ones are ``other``.
TOP_EXCEPTIONS: Final = 20
#: The ``exception`` label of failures past :data:`TOP_EXCEPTIONS` distinct types.
OTHER_EXCEPTION: Final = "other"


def runtime_collectors(registry: CollectorRegistry) -> None:
    """Add ``process_*``, ``python_gc_*`` and ``python_info`` (as on the default registry) to ``registry``."""
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)


@final
class QueueDepthCollector(Collector):
    """``nuvom_queue_depth{queue}``, read from the queue backends at scrape time.

    Each served queue is reported (0 when empty). When several workers of the process read the
    same queue, the largest count is reported. A backend that fails to answer is logged and left
    out of that scrape; the scrape itself never fails.
    """

    NAME: Final = "nuvom_queue_depth"
    HELP: Final = "Jobs waiting in the queue (due or scheduled, not leased), read at scrape time."

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sources: dict[int, tuple[QueueBackend, tuple[str, ...]]] = {}

    def watch(self, key: int, queue: QueueBackend, queues: Sequence[str]) -> None:
        """Report the depth of ``queues`` from ``queue`` until :meth:`forget` of ``key``."""
        with self._lock:
            self._sources[key] = (queue, tuple(queues))

    def forget(self, key: int) -> None:
        """Stop reading the source registered under ``key``."""
        with self._lock:
            self._sources.pop(key, None)

    QUARANTINED: Final = "nuvom_queue_quarantined_entries"
    QUARANTINED_HELP: Final = "Corrupt queue entries set aside, never run (inspect them before deleting)."

    def describe(self) -> Iterable[Metric]:
        return [
            GaugeMetricFamily(self.NAME, self.HELP, labels=["queue"]),
            GaugeMetricFamily(self.QUARANTINED, self.QUARANTINED_HELP),
        ]

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            sources = list(self._sources.values())
        depth: dict[str, int] = {}
        quarantined: int | None = None
        for queue, served in sources:
            try:
                stats = queue.stats()
            except Exception:
                logger.warning("reading the queue depth from %r failed; left out", queue, exc_info=True)
                continue
            for name in {*served, *stats.by_queue}:
                depth[name] = max(depth.get(name, 0), stats.by_queue.get(name, 0))
            quarantined = max(quarantined or 0, stats.quarantined)
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["queue"])
        for name in sorted(depth):
            family.add_metric([name], depth[name])
        if quarantined is None:
            return [family]
        return [family, GaugeMetricFamily(self.QUARANTINED, self.QUARANTINED_HELP, value=quarantined)]


@final
class Metrics:
    """Nuvom's metrics in ``registry`` (a fresh one by default, never the global default)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.enqueued = Counter(
            "nuvom_jobs_enqueued_total", "Jobs enqueued by this process.", ["task", "queue"], registry=None
        )
        self.finished = Counter(
            "nuvom_jobs_finished_total",
            "Jobs that reached a final status: success, failed or cancelled.",
            ["task", "queue", "status"],
            registry=None,
        )
        self.failures = Counter(
            "nuvom_job_failures_total",
            f"Failed attempts (retried or final) by exception type; past {TOP_EXCEPTIONS} types, 'other'.",
            ["task", "queue", "exception"],
            registry=None,
        )
        self.retries = Counter(
            "nuvom_job_retries_total",
            "Failed attempts that will be retried.",
            ["task", "queue"],
            registry=None,
        )
        self.duration = Histogram(
            "nuvom_job_duration_seconds",
            "Run time of each attempt that ran.",
            ["task", "queue"],
            buckets=BUCKETS,
            registry=None,
        )
        self.queue_wait = Histogram(
            "nuvom_job_queue_wait_seconds",
            "Time from enqueue (or the eta, if later) to the start of a job's first attempt.",
            ["task", "queue"],
            buckets=BUCKETS,
            registry=None,
        )
        self.in_progress = Gauge(
            "nuvom_jobs_in_progress", "Attempts running in this process.", ["queue"], registry=None
        )
        self.slots = Gauge(
            "nuvom_worker_slots", "Job slots of the workers of this process.", ["pool"], registry=r
        )
        self.heartbeat = Gauge(
            "nuvom_worker_last_heartbeat_timestamp_seconds",
            "Unix time of the last heartbeat of a worker of this process.",
            registry=r,
        )
        self.worker = Info(
            "nuvom_worker",
            "The workers of this process: id (as `nuvom workers` shows it) and pool.",
            ["worker"],
            registry=r,
        )
        self.depth = QueueDepthCollector()
        r.register(self.depth)
        runtime_collectors(r)
        self._exceptions: set[str] = set()
        self._lock = threading.Lock()
        self._reported: set[str] = set()
        #: The job metrics above, updated in batches (see :mod:`.jobs`).
        self.jobs = JobSeries(
            self.enqueued,
            self.finished,
            self.failures,
            self.retries,
            self.duration,
            self.queue_wait,
            self.in_progress,
            guard=self._guard,
            exception_label=self._exception_label,
        )
        r.register(self.jobs)

    @contextmanager
    def _guard(self, what: str) -> Iterator[None]:
        try:
            yield
        except Exception:
            if what in self._reported:
                logger.debug("updating %s failed again", what, exc_info=True)
            else:
                self._reported.add(what)
                logger.warning("updating %s failed; the job is not affected", what, exc_info=True)

    def job_enqueued(self, job: JobRecord) -> None:
        """Count one enqueued job."""
        self.jobs.enqueued_job(job)

    def job_started(self, job: JobRecord) -> None:
        """An attempt starts: in progress, and its queue wait if it is the first."""
        self.jobs.started(job)

    def _exception_label(self, error: ErrorInfo) -> str:
        with self._lock:
            if error.type in self._exceptions or len(self._exceptions) < TOP_EXCEPTIONS:
                self._exceptions.add(error.type)
                return error.type
        return OTHER_EXCEPTION

    def job_finished(
        self, job: JobRecord, status: JobStatus, duration_secs: float, error: ErrorInfo | None = None
    ) -> None:
        """An attempt's outcome is stored: count it, time it, and take it off in-progress."""
        self.jobs.finished_job(job, status, duration_secs, error)

    def worker_started(
        self, key: int, queue: QueueBackend, queues: Sequence[str], pool: str, slots: int, worker_id: str = ""
    ) -> None:
        """A worker of this process starts serving ``queues`` with ``slots`` slots of ``pool``."""
        with self._guard("nuvom_worker_info"):
            self.worker.labels(worker_id).info({"pool": pool, "queues": ",".join(queues)})
        with self._guard("nuvom_worker_slots"):
            self.slots.labels(pool).inc(slots)
        with self._guard("nuvom_jobs_in_progress"):
            for name in queues:
                self.in_progress.labels(name)  # the series exists (at 0) before the first job
        self.depth.watch(key, queue, queues)
        self.beat()

    def worker_stopping(self, key: int, pool: str, slots: int, worker_id: str = "") -> None:
        """The worker registered under ``key`` stops claiming."""
        with self._guard("nuvom_worker_info"):
            self.worker.remove(worker_id)
        with self._guard("nuvom_worker_slots"):
            self.slots.labels(pool).dec(slots)
        self.depth.forget(key)

    def beat(self) -> None:
        """Set the heartbeat to now."""
        with self._guard("nuvom_worker_last_heartbeat_timestamp_seconds"):
            self.heartbeat.set_to_current_time()


_lock = threading.Lock()
_metrics: Metrics | None = None


def get_metrics() -> Metrics:
    """The process-wide metrics, created on first use (producers never open a port for them)."""
    global _metrics
    if _metrics is not None:  # every job event comes here: no lock once they exist
        return _metrics
    with _lock:
        if _metrics is None:
            _metrics = Metrics()
        return _metrics
