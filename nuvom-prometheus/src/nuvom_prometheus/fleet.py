"""The fleet exporter's metrics: the backends' view of every queue, read at scrape time.

One process (``nuvom prometheus serve``) reads the shared backends through their interfaces, so
the backlog is reported even while no worker runs. Counts come from
:meth:`~nuvom.backends.DepthQueue.depths`, which each backend answers from its own indexes.
A backend that fails to answer sets ``nuvom_fleet_backend_up`` to 0 for that scrape; the scrape
itself never fails.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Final, final

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from nuvom.backends import DepthQueue, QueueBackend, SchedulerBackend, WorkerRegistry
from nuvom.errors import ConfigError

logger = logging.getLogger(__name__)

#: The job states of ``nuvom_queue_jobs``.
STATES: Final = ("ready", "scheduled", "leased")


def require_depths(queue: QueueBackend) -> DepthQueue:
    """``queue`` as a :class:`DepthQueue`, or a :class:`ConfigError` naming the backend."""
    if not isinstance(queue, DepthQueue):
        raise ConfigError(
            "NUVOM_QUEUE_BACKEND",
            queue.name,
            "the fleet exporter needs a queue that implements depths() (nuvom.backends.DepthQueue)",
        )
    return queue


def worker_families(queue: object) -> list[Metric]:
    """Per-worker series from the queue's worker registry, when the backend keeps one.

    Reads :meth:`~nuvom.backends.WorkerRegistry.workers`. A worker that stopped cleanly
    leaves the registry; a dead one stays, with a heartbeat that no longer advances. Without a
    registry, nothing.
    """
    if not isinstance(queue, WorkerRegistry):
        return []
    last = GaugeMetricFamily(
        "nuvom_worker_heartbeat_timestamp_seconds",
        "Unix time of each registered worker's last heartbeat, from the worker registry.",
        labels=["worker"],
    )
    slots = GaugeMetricFamily(
        "nuvom_worker_registered_slots", "Job slots of each registered worker.", labels=["worker"]
    )
    running = GaugeMetricFamily(
        "nuvom_worker_running_jobs",
        "Jobs each registered worker held at its last heartbeat.",
        labels=["worker"],
    )
    for worker in queue.workers():
        last.add_metric([str(worker.id)], float(worker.heartbeat_at))
        slots.add_metric([str(worker.id)], float(worker.slots))
        running.add_metric([str(worker.id)], float(worker.running))
    return [last, slots, running]


@final
class FleetCollector(Collector):
    """Jobs per queue and state, the oldest ready job's age, quarantined entries and due schedules."""

    def __init__(
        self, queue: DepthQueue, schedules: SchedulerBackend | None, clock: Callable[[], float] = time.time
    ) -> None:
        self._queue = queue
        self._schedules = schedules
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return []  # collected only at scrape time: the backends are not read at registration

    def collect(self) -> Iterable[Metric]:
        now = self._clock()
        up = GaugeMetricFamily(
            "nuvom_fleet_backend_up",
            "1 when the backend answered this scrape, 0 when reading it failed.",
            labels=["backend"],
        )
        families: list[Metric] = [up]
        try:
            families += self._queue_families(now)
            up.add_metric(["queue"], 1)
        except Exception:
            logger.warning("reading the queue backend failed; its series are left out", exc_info=True)
            up.add_metric(["queue"], 0)
        try:
            families += worker_families(self._queue)
        except Exception:
            logger.warning("reading the live workers failed; left out", exc_info=True)
        if self._schedules is not None:
            try:
                due = sum(1 for s in self._schedules.list() if s.next_run <= now)
                families.append(
                    GaugeMetricFamily("nuvom_schedules_due", "Schedules whose next run has come.", value=due)
                )
                up.add_metric(["scheduler"], 1)
            except Exception:
                logger.warning("reading the scheduler store failed; left out", exc_info=True)
                up.add_metric(["scheduler"], 0)
        return families

    def _queue_families(self, now: float) -> list[Metric]:
        depths = self._queue.depths(now)
        jobs = GaugeMetricFamily(
            "nuvom_queue_jobs",
            "Jobs per queue by state: ready, scheduled or leased.",
            labels=["queue", "state"],
        )
        age = GaugeMetricFamily(
            "nuvom_queue_oldest_ready_age_seconds",
            "Seconds since the longest-waiting ready job of the queue became due (0 with none ready).",
            labels=["queue"],
        )
        for name in sorted(depths.by_queue):
            depth = depths.by_queue[name]
            for state, count in zip(STATES, (depth.ready, depth.scheduled, depth.leased), strict=True):
                jobs.add_metric([name, state], count)
            oldest = depth.oldest_ready_due
            age.add_metric([name], max(0.0, now - oldest) if oldest is not None else 0.0)
        quarantined = GaugeMetricFamily(
            "nuvom_queue_quarantined_entries",
            "Corrupt queue entries set aside, never run (inspect them before deleting).",
            value=depths.quarantined,
        )
        return [jobs, age, quarantined]
