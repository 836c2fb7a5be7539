"""The per-job metrics, noted by the hooks in one step and applied in batches.

A job event is a tuple appended to a queue: that is all a worker's job thread pays. The tuples
are applied to the metrics (counts summed per label set, one ``labels()`` per label set) when
the registry is collected, so a scrape always sees every event before it, and whenever
:data:`FLUSH_EVERY` events are waiting, so memory stays bounded in a process nobody scrapes.
The values exported are the same as if each event had been applied at once.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Final, final

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from nuvom.record import ErrorInfo, JobRecord, JobStatus

logger = logging.getLogger(__name__)

#: Waiting events that make the thread noting the next one apply them all.
FLUSH_EVERY: Final = 1024

#: Final statuses counted by ``nuvom_jobs_finished_total``; ``retrying`` counts as a retry instead.
FINISHED_STATUSES: Final = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCELLED})

_ENQUEUED: Final = 0
_STARTED: Final = 1
_FINISHED: Final = 2

#: ``(kind, ...)``: see :meth:`JobSeries.enqueued`, :meth:`JobSeries.started`, :meth:`JobSeries.finished`.
_Event = tuple[object, ...]
_Key = tuple[str, str]


@final
class JobSeries(Collector):
    """The metrics the job hooks update, collected through this one collector."""

    def __init__(
        self,
        enqueued: Counter,
        finished: Counter,
        failures: Counter,
        retries: Counter,
        duration: Histogram,
        queue_wait: Histogram,
        in_progress: Gauge,
        *,
        guard: Callable[[str], AbstractContextManager[None]],
        exception_label: Callable[[ErrorInfo], str],
    ) -> None:
        self.enqueued = enqueued
        self.finished = finished
        self.failures = failures
        self.retries = retries
        self.duration = duration
        self.queue_wait = queue_wait
        self.in_progress = in_progress
        self._metrics = (enqueued, finished, failures, retries, duration, queue_wait, in_progress)
        self._guard = guard
        self._exception_label = exception_label
        self._events: collections.deque[_Event] = collections.deque()
        self._flushing = threading.Lock()
        #: Running attempts by job id, with their queue: a finish without a start changes nothing.
        self._running: dict[str, str] = {}

    def describe(self) -> Iterable[Metric]:
        return [family for metric in self._metrics for family in metric.describe()]

    def collect(self) -> Iterable[Metric]:
        self.flush()
        return [family for metric in self._metrics for family in metric.collect()]

    def enqueued_job(self, job: JobRecord) -> None:
        """Count one enqueued job."""
        self._note((_ENQUEUED, job.task_name, job.queue))

    def started(self, job: JobRecord) -> None:
        """An attempt starts: in progress, and its queue wait if it is the first."""
        wait = None
        if job.attempts == 1 and job.started_at is not None:
            wait = max(0.0, job.started_at - max(job.created_at, job.eta or 0.0))
        self._note((_STARTED, job.id, job.task_name, job.queue, wait))

    def finished_job(
        self, job: JobRecord, status: JobStatus, duration_secs: float, error: ErrorInfo | None
    ) -> None:
        """An attempt's outcome is stored: counted, timed, and taken off in-progress."""
        duration = duration_secs if job.started_at is not None else None
        self._note((_FINISHED, job.id, job.task_name, job.queue, status, duration, error))

    def _note(self, event: _Event) -> None:
        self._events.append(event)
        if len(self._events) >= FLUSH_EVERY and self._flushing.acquire(blocking=False):
            try:
                self._apply()
            finally:
                self._flushing.release()

    def flush(self) -> None:
        """Apply every event noted so far to the metrics."""
        with self._flushing:
            self._apply()

    def _apply(self) -> None:
        take = self._events.popleft
        enqueued: collections.Counter[_Key] = collections.Counter()
        finished: collections.Counter[tuple[str, str, str]] = collections.Counter()
        failures: collections.Counter[tuple[str, str, str]] = collections.Counter()
        retries: collections.Counter[_Key] = collections.Counter()
        durations: dict[_Key, list[float]] = collections.defaultdict(list)
        waits: dict[_Key, list[float]] = collections.defaultdict(list)
        in_progress: collections.Counter[str] = collections.Counter()
        while self._events:
            event = take()
            kind = event[0]
            if kind == _ENQUEUED:
                enqueued[event[1], event[2]] += 1  # type: ignore[index]
            elif kind == _STARTED:
                _, job_id, task, queue, wait = event
                assert isinstance(job_id, str) and isinstance(task, str) and isinstance(queue, str)
                if job_id not in self._running:
                    self._running[job_id] = queue
                    in_progress[queue] += 1
                if wait is not None:
                    waits[task, queue].append(wait)  # type: ignore[arg-type]
            else:
                self._finish(event, finished, failures, retries, durations, in_progress)
        self._update(enqueued, finished, failures, retries, durations, waits, in_progress)

    def _finish(
        self,
        event: _Event,
        finished: collections.Counter[tuple[str, str, str]],
        failures: collections.Counter[tuple[str, str, str]],
        retries: collections.Counter[_Key],
        durations: dict[_Key, list[float]],
        in_progress: collections.Counter[str],
    ) -> None:
        _, job_id, task, queue, status, duration, error = event
        assert isinstance(job_id, str) and isinstance(task, str) and isinstance(queue, str)
        assert isinstance(status, JobStatus)
        ran_in = self._running.pop(job_id, None)
        if ran_in is not None:
            in_progress[ran_in] -= 1
        if duration is not None:
            durations[task, queue].append(duration)  # type: ignore[arg-type]
        if isinstance(error, ErrorInfo) and status in (JobStatus.RETRYING, JobStatus.FAILED):
            failures[task, queue, self._exception_label(error)] += 1
        if status is JobStatus.RETRYING:
            retries[task, queue] += 1
        elif status in FINISHED_STATUSES:
            finished[task, queue, status.value] += 1

    def _update(
        self,
        enqueued: collections.Counter[_Key],
        finished: collections.Counter[tuple[str, str, str]],
        failures: collections.Counter[tuple[str, str, str]],
        retries: collections.Counter[_Key],
        durations: dict[_Key, list[float]],
        waits: dict[_Key, list[float]],
        in_progress: collections.Counter[str],
    ) -> None:
        """Each update guarded on its own: one metric that raises leaves the others counted."""
        for counts, counter, what in (
            (enqueued, self.enqueued, "nuvom_jobs_enqueued_total"),
            (finished, self.finished, "nuvom_jobs_finished_total"),
            (failures, self.failures, "nuvom_job_failures_total"),
            (retries, self.retries, "nuvom_job_retries_total"),
        ):
            for labels, count in counts.items():
                with self._guard(what):
                    counter.labels(*labels).inc(count)
        for observed, histogram, what in (
            (durations, self.duration, "nuvom_job_duration_seconds"),
            (waits, self.queue_wait, "nuvom_job_queue_wait_seconds"),
        ):
            for labels, values in observed.items():
                with self._guard(what):
                    series = histogram.labels(*labels)
                    for value in values:
                        series.observe(value)
        for queue, change in in_progress.items():
            with self._guard("nuvom_jobs_in_progress"):
                gauge = self.in_progress.labels(queue)  # the series exists even at a net 0
                if change:
                    gauge.inc(change)
