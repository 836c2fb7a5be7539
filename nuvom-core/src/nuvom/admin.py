"""Operator actions behind ``nuvom workers``, ``queue purge``, ``retry failed`` and ``health``.

Each works on any backend through the interfaces: the optional ones
(:class:`~nuvom.backends.WorkerRegistry`, :class:`~nuvom.backends.PurgingQueue`) are
checked for, never a backend's name.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from .backends import PurgingQueue, WorkerInfo, WorkerRegistry
from .config import get_settings
from .errors import BackendFeatureMissing
from .job import Job
from .record import JobRecord, JobStatus
from .runtime import get_queue, get_results, get_scheduler_store

#: Failed records read per page while looking for jobs to retry.
_PAGE = 500


@dataclass(frozen=True)
class WorkerStatus:
    """A registered worker and whether its heartbeat is fresh."""

    info: WorkerInfo
    alive: bool


def _registry() -> WorkerRegistry:
    queue = get_queue()
    if not isinstance(queue, WorkerRegistry):
        raise BackendFeatureMissing(f"the {queue.name!r} queue backend keeps no worker registry")
    return queue


def list_workers(*, prune: bool = False) -> list[WorkerStatus]:
    """Every worker in the registry, dead ones (heartbeat older than the lapse) marked.

    With ``prune``, dead workers are removed from the registry (and still returned once).

    Raises:
        BackendFeatureMissing: when the queue backend keeps no worker registry.
    """
    registry = _registry()
    lapse, now = get_settings().heartbeat_lapse_secs, time.time()
    found = [WorkerStatus(info, info.alive(lapse, now)) for info in registry.workers()]
    if prune:
        for status in found:
            if not status.alive:
                registry.forget_worker(status.info.id)
    return found


def purge_queue(queue: str) -> int:
    """Delete every waiting job of ``queue`` and mark its record cancelled; return how many.

    Raises:
        BackendFeatureMissing: when the queue backend cannot purge one queue.
    """
    backend = get_queue()
    if not isinstance(backend, PurgingQueue):
        raise BackendFeatureMissing(f"the {backend.name!r} queue backend cannot purge one queue")
    purged = backend.purge(queue)
    for job_id in purged:
        Job(job_id).cancel()  # no record is left "queued" for a job that is in no queue
    return len(purged)


def failed_jobs(
    task: str | None = None, since: float | None = None, limit: int | None = None
) -> list[JobRecord]:
    """Failed jobs, newest first: only of ``task``, only created at or after ``since``, at most ``limit``."""
    results = get_results()
    chosen: list[JobRecord] = []
    offset = 0
    while limit is None or len(chosen) < limit:
        page = results.list_jobs(status=JobStatus.FAILED, limit=_PAGE, offset=offset)
        for record in page:
            if since is not None and record.created_at < since:
                return chosen  # newest first: the rest are older
            if task is None or record.task_name == task:
                chosen.append(record)
                if limit is not None and len(chosen) >= limit:
                    break
        if len(page) < _PAGE:
            break
        offset += _PAGE
    return chosen


def retry_jobs(records: list[JobRecord], progress: Callable[[], None] | None = None) -> int:
    """Send each job again through :meth:`Job.retry`; return how many were sent."""
    sent = 0
    for record in records:
        sent += Job(record.id, record.task_name).retry()
        if progress is not None:
            progress()
    return sent


@dataclass(frozen=True)
class Health:
    """The outcome of :func:`check_health`: ``problem`` is ``None`` when healthy."""

    problem: str | None
    checks: dict[str, str]

    @property
    def ok(self) -> bool:
        return self.problem is None


def check_health(worker_id: str | None = None) -> Health:
    """Ask each backend one cheap question and, with ``worker_id``, check that worker's heartbeat."""
    checks: dict[str, str] = {}
    probes: dict[str, Callable[[], object]] = {
        "queue": lambda: get_queue().qsize(),
        "results": lambda: get_results().get_full("nuvom-health-probe"),
        "scheduler": lambda: get_scheduler_store().get("nuvom-health-probe"),
    }
    for name, probe in probes.items():
        try:
            probe()
        except Exception as exc:
            checks[name] = f"failed: {exc}"
            return Health(f"{name} backend: {exc}", checks)
        checks[name] = "ok"
    if worker_id is not None:
        problem = _worker_problem(worker_id)
        checks["worker"] = problem or "ok"
        if problem:
            return Health(problem, checks)
    return Health(None, checks)


def _worker_problem(worker_id: str) -> str | None:
    lapse = get_settings().heartbeat_lapse_secs
    try:
        workers = {status.info.id: status for status in list_workers()}
    except BackendFeatureMissing as exc:
        return str(exc)
    status = workers.get(worker_id)
    if status is None:
        return f"worker {worker_id} is not registered (never started, or stopped)"
    if not status.alive:
        age = time.time() - status.info.heartbeat_at
        return f"worker {worker_id}: last heartbeat {age:.1f} s ago (lapse {lapse:g} s)"
    return None
