"""The overview's numbers: queues by state with throughput, and workers, through public interfaces.

Waiting, scheduled and running come from the queue's :class:`~nuvom.backends.base.DepthQueue`
counts (or its ``stats()`` when it keeps none). Retrying, failed and the throughput come from the
result store's ``list_jobs``, read newest first in pages and bounded by :data:`SCAN_CAP`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

from nuvom.admin import WorkerStatus, list_workers
from nuvom.backends.base import DepthQueue, QueueBackend, ResultBackend
from nuvom.errors import BackendFeatureMissing
from nuvom.record import JobRecord, JobStatus

#: Records read at most per status for one overview (a count that reaches it is shown as "N+").
SCAN_CAP: Final = 2000
#: The throughput window, in seconds.
WINDOW_SECS: Final = 300.0
_PAGE: Final = 500


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
    notes: list[str] = []

    def row(name: str) -> QueueRow:
        return rows.setdefault(name, QueueRow(name))

    if isinstance(queue, DepthQueue):
        depths = queue.depths(now)
        quarantined = depths.quarantined
        for name, depth in depths.by_queue.items():
            entry = row(name)
            entry.waiting, entry.scheduled, entry.running = depth.ready, depth.scheduled, depth.leased
    else:
        stats = queue.stats()
        quarantined = stats.quarantined
        for name, waiting in stats.by_queue.items():
            row(name).waiting = waiting
        notes.append(f"the {queue.name!r} queue counts no states per queue: waiting includes scheduled jobs")
    capped: set[str] = set()
    counts: dict[JobStatus, Counter[str]] = {}
    for status in (JobStatus.RETRYING, JobStatus.FAILED, JobStatus.SUCCESS):
        since = now - WINDOW_SECS if status is JobStatus.SUCCESS else None
        records, hit_cap = scan(results, status, created_after=since)
        if hit_cap:
            capped.add(status.value)
        counts[status] = Counter(r.queue for r in records)
        for record in records:
            finished = record.finished_at is not None and record.finished_at >= now - WINDOW_SECS
            if finished and status is not JobStatus.RETRYING:
                row(record.queue).finished += 1
    for name, count in counts[JobStatus.RETRYING].items():
        row(name).retrying = count
    for name, count in counts[JobStatus.FAILED].items():
        row(name).failed = count
    try:
        workers = list_workers()
    except BackendFeatureMissing as exc:
        workers = []
        notes.append(str(exc))
    ordered = sorted(rows.values(), key=lambda r: r.name)
    return Overview(ordered, quarantined, workers, capped, notes)
