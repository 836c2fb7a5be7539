"""Reading a workflow's state from its jobs' records: read-only, so polling never writes."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from .. import serialization
from ..backends.base import ResultBackend
from ..errors import JobCancelled, JobFailed, JobNotFound
from ..record import JobRecord, JobStatus
from ..unconfirmed import taken_as_made
from .links import member_id

_FIRST_POLL_SECS = 0.002
_MAX_POLL_SECS = 0.05
_WAITING = (JobStatus.QUEUED, JobStatus.SCHEDULED)


def aggregate(statuses: Sequence[JobStatus | None]) -> JobStatus:
    """A group's status from its members' (``None``: not stored yet, so waiting).

    Failed when any member failed after its retries; else cancelled when any was cancelled;
    success when all succeeded; queued while none has started; otherwise running.
    """
    if JobStatus.FAILED in statuses:
        return JobStatus.FAILED
    if JobStatus.CANCELLED in statuses:
        return JobStatus.CANCELLED
    if all(s is JobStatus.SUCCESS for s in statuses):
        return JobStatus.SUCCESS
    if all(s is None or s in _WAITING for s in statuses):
        return JobStatus.QUEUED
    return JobStatus.RUNNING


def result_of(record: JobRecord) -> Any:
    """The decoded result of a successful record."""
    return serialization.loads(record.result) if record.result is not None else None


def header(results: ResultBackend, job_id: str, kind: str) -> JobRecord:
    """The record describing a group or chain.

    Raises:
        JobNotFound: when no group (or chain) is stored under ``job_id``.
    """
    record = results.get_full(job_id)
    if record is None or record.task_name != kind:
        raise JobNotFound(job_id)
    return record


def shape_of(record: JobRecord) -> Any:
    """The shape stored in a header: a group's size, or a chain's step sizes (0 for one job)."""
    return serialization.loads(record.args)[0]


class MemberReader:
    """Reads a group's member records, remembering those already terminal (they never change)."""

    def __init__(self, results: ResultBackend, group_id: str, size: int) -> None:
        self.results = results
        self.ids = [member_id(group_id, i) for i in range(size)]
        self._done: dict[int, JobRecord] = {}

    def _get(self, index: int) -> JobRecord | None:
        record = self._done.get(index) or self.results.get_full(self.ids[index])
        if record is not None and record.status.is_terminal:
            self._done[index] = record
        return record

    def read(self) -> list[JobRecord | None]:
        """Every member's record, in index order."""
        return [self._get(i) for i in range(len(self.ids))]

    def finished(self) -> list[JobRecord] | None:
        """Every member's record once all are terminal, else ``None``.

        Scans from the last member down and stops at the first unfinished one: members are
        claimed roughly in input order, so while a group runs this costs a read or two, not
        one per member (which would make a group of ``n`` cost ``n**2`` reads).
        """
        for index in reversed(range(len(self.ids))):
            record = self._get(index)
            if record is None or not record.status.is_terminal:
                return None
        return [self._done[i] for i in range(len(self.ids))]


def group_outcome(records: Sequence[JobRecord | None], group_id: str, context: str) -> list[Any]:
    """The results in member order, once every member is terminal.

    Raises:
        JobFailed: for the first failed member, naming its index.
        JobCancelled: for the first cancelled member when none failed.
    """
    for index, record in enumerate(records):
        if record is not None and record.status is JobStatus.FAILED:
            raise failure(record, index, f"{context} {group_id} member {index}")
    for record in records:
        if record is not None and record.status is JobStatus.CANCELLED:
            raise JobCancelled(record.id)
    return [result_of(r) for r in records if r is not None]


def failure(record: JobRecord, index: int, where: str) -> JobFailed:
    """The ``JobFailed`` of a failed member or step, naming where it is."""
    error = record.error
    return JobFailed(
        record.id,
        error.type if error else "Unknown",
        error.message if error else "",
        error.traceback if error else "",
        index=index,
        where=where,
    )


def poll(step: Callable[[], tuple[bool, Any]], timeout: float | None, what: str) -> Any:
    """Call ``step`` until it reports done; return its value.

    Raises:
        TimeoutError: naming ``what`` when ``timeout`` seconds pass first.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = _FIRST_POLL_SECS
    while True:
        done, value = step()
        if done:
            return value
        if deadline is not None and time.monotonic() >= deadline:
            raise TimeoutError(f"{what} did not finish within {timeout} s")
        wait = pause if deadline is None else min(pause, max(0.0, deadline - time.monotonic()))
        time.sleep(wait)
        pause = min(pause * 1.5, _MAX_POLL_SECS)


def close_header(results: ResultBackend, job_id: str, status: JobStatus) -> None:
    """Record a group's or chain's final status on its header, unless it already has one.

    Only workers (and ``cancel()``) call this, never a handle's status or ``get``: the header's
    status is informative (``history recent``), the handles read the members; a write not
    confirmed durable is taken as made.
    """
    record = results.get_full(job_id)
    if record is not None and not record.status.is_terminal:
        with taken_as_made(f"{record.task_name} {job_id}: final status {status.value}"):
            results.save(record.replace(status=status, finished_at=time.time()))
