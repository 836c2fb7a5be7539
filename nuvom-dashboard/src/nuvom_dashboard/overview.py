"""The overview's numbers: queues by state with throughput, and workers, through public interfaces.

Waiting, scheduled and running come from the queue's :class:`~nuvom.backends.DepthQueue`
counts (or its ``stats()`` when it keeps none). Retrying, failed, the throughput and each worker's
running jobs come from the result store's ``list_jobs``, read newest first in pages and bounded
by :data:`SCAN_CAP`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Final

from nuvom.admin import WorkerStatus, list_workers
from nuvom.backends import DepthQueue, QueueBackend, ResultBackend
from nuvom.errors import BackendFeatureMissing
from nuvom.record import JobRecord, JobStatus

#: Records read at most per status for one overview (a count that reaches it is shown as "N+").
SCAN_CAP: Final = 2000
#: The throughput window, in seconds.
WINDOW_SECS: Final = 300.0
_PAGE: Final = 1000
#: Running jobs listed per worker.
RUNNING_SHOWN: Final = 5


@dataclass
class QueueRow:
    """One queue's counts."""

    name: str
    waiting: int = 0
    scheduled: int = 0
    running: int = 0
    retrying: int = 0
    failed: int = 0
    #: Jobs finished (success or failed) within the window.
    finished: int = 0

    @property
    def per_minute(self) -> float:
        """Finished jobs per minute over the window."""
        return self.finished / (WINDOW_SECS / 60)


@dataclass
class Overview:
    """What the overview page shows."""

    queues: list[QueueRow]
    quarantined: int
    workers: list[WorkerStatus]
    #: Ids of the jobs each worker runs, by worker id (at most :data:`RUNNING_SHOWN` each).
    running: dict[str, list[str]] = field(default_factory=dict)
    #: Statuses whose scan stopped at :data:`SCAN_CAP` (their counts are lower bounds).
    capped: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)


def scan(
    results: ResultBackend, status: JobStatus, *, created_after: float | None = None
) -> tuple[list[JobRecord], bool]:
    """Records of ``status``, newest first, down to ``created_after``; ``True`` when capped."""
    found: list[JobRecord] = []
    while len(found) < SCAN_CAP:
        page = results.list_jobs(status=status, limit=_PAGE, offset=len(found))
        for record in page:
            if created_after is not None and record.created_at < created_after:
                return found, False
            found.append(record)
        if len(page) < _PAGE:
            return found, False
    return found, True


def build_overview(queue: QueueBackend, results: ResultBackend, now: float | None = None) -> Overview:
    """Count every queue by state and the jobs finished within the window."""
    now = time.time() if now is None else now
    rows: dict[str, QueueRow] = {}
    overview = Overview([], 0, [])
    _count_queued(queue, now, rows, overview)
    _count_records(results, now, rows, overview)
    try:
        overview.workers = list_workers()
    except BackendFeatureMissing as exc:
        overview.notes.append(str(exc))
    overview.queues = sorted(rows.values(), key=lambda r: r.name)
    return overview


def _row(rows: dict[str, QueueRow], name: str) -> QueueRow:
    return rows.setdefault(name, QueueRow(name))


def _count_queued(queue: QueueBackend, now: float, rows: dict[str, QueueRow], overview: Overview) -> None:
    """Waiting, scheduled and running per queue, from the queue backend's own counts."""
    if isinstance(queue, DepthQueue):
        depths = queue.depths(now)
        overview.quarantined = depths.quarantined
        for name, depth in depths.by_queue.items():
            row = _row(rows, name)
            row.waiting, row.scheduled, row.running = depth.ready, depth.scheduled, depth.leased
        return
    stats = queue.stats()
    overview.quarantined = stats.quarantined
    for name, waiting in stats.by_queue.items():
        _row(rows, name).waiting = waiting
    overview.notes.append(
        f"the {queue.name!r} queue counts no states per queue: waiting includes scheduled jobs"
    )


def _count_records(results: ResultBackend, now: float, rows: dict[str, QueueRow], overview: Overview) -> None:
    """Retrying, failed, finished within the window, and each worker's running jobs, from records."""
    for status in (JobStatus.RUNNING, JobStatus.RETRYING, JobStatus.FAILED, JobStatus.SUCCESS):
        since = now - WINDOW_SECS if status is JobStatus.SUCCESS else None
        records, hit_cap = scan(results, status, created_after=since)
        if hit_cap:
            overview.capped.add(status.value)
        for record in records:
            row = _row(rows, record.queue)
            if status is JobStatus.RETRYING:
                row.retrying += 1
            elif status is JobStatus.FAILED:
                row.failed += 1
            elif status is JobStatus.RUNNING and record.worker_id is not None:
                shown = overview.running.setdefault(record.worker_id, [])
                if len(shown) < RUNNING_SHOWN:
                    shown.append(record.id)
            if (
                status.is_terminal
                and record.finished_at is not None
                and record.finished_at >= now - WINDOW_SECS
            ):
                row.finished += 1
