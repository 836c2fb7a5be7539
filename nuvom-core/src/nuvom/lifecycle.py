"""A job record's transitions: queued, running, and settled by an attempt's outcome.

Pure functions of records, messages and outcomes; every sender, the worker and eager mode use
them, so a record looks the same whichever path wrote it.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .message import JobMessage
from .record import ErrorInfo, JobRecord, JobStatus
from .retry import backoff_delay

if TYPE_CHECKING:
    from .backends import Lease
    from .options import Effective


@dataclass(frozen=True)
class Outcome:
    """What one attempt produced: an encoded result, or an error."""

    result: bytes | None = None
    error: ErrorInfo | None = None
    #: The task asked for this delay with ``raise Retry(delay=...)``.
    requested_delay: float | None = None
    #: A failure that retrying cannot fix (e.g. a result that cannot be encoded).
    permanent: bool = False
    #: The job was cancelled while it ran (it raised ``JobCancelled`` or its cancel was seen).
    cancelled: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and not self.cancelled


def error_info(exc: BaseException) -> ErrorInfo:
    """The stored form of an exception; one whose ``__str__`` raises gets a placeholder message."""
    try:
        message = str(exc)
    except Exception as failure:
        message = f"<{type(exc).__qualname__} could not be shown: str() raised {type(failure).__qualname__}>"
    return ErrorInfo(
        type=type(exc).__qualname__,
        message=message,
        traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
    )


def queued_record(message: JobMessage, max_retries: int, *, sensitive: bool = False) -> JobRecord:
    """The record written when a job is enqueued (``sensitive``: consoles hide its values)."""
    scheduled = message.eta is not None and message.eta > time.time()
    return JobRecord(
        id=message.id,
        task_name=message.task_name,
        queue=message.queue,
        status=JobStatus.SCHEDULED if scheduled else JobStatus.QUEUED,
        args=message.args,
        kwargs=message.kwargs,
        created_at=message.created_at,
        priority=message.priority,
        eta=message.eta,
        max_retries=max_retries,
        links=message.links,
        sensitive=sensitive,
    )


def unreadable_record(lease: Lease) -> JobRecord:
    """A record for a job whose payload cannot be read: only the envelope is known."""
    empty_args, empty_kwargs = JobMessage.encode_call((), {})
    return JobRecord(
        id=lease.id,
        task_name="<unreadable>",
        queue=lease.envelope.queue,
        status=JobStatus.QUEUED,
        args=empty_args,
        kwargs=empty_kwargs,
        created_at=time.time(),
        priority=lease.envelope.priority,
        eta=lease.envelope.eta,
        attempts=lease.envelope.attempts,
    )


def running_record(
    base: JobRecord | None,
    message: JobMessage,
    attempt: int,
    max_retries: int,
    worker_id: str,
    *,
    isolated: bool = False,
    sensitive: bool = False,
    started_at: float | None = None,
) -> JobRecord:
    """The record of an attempt that has just started (``isolated``: it runs alone).

    ``started_at`` defaults to now; a job admitted by a limit starts at the instant it was granted.
    """
    record = base or queued_record(message, max_retries)
    return record.replace(
        status=JobStatus.RUNNING,
        attempts=attempt,
        max_retries=max_retries,
        worker_id=worker_id,
        started_at=started_at if started_at is not None else time.time(),
        next_retry_at=None,
        isolated=isolated,
        waiting=None,
        sensitive=record.sensitive or sensitive,
    )


def failed_record(record: JobRecord, error: ErrorInfo, *, ttl: float | None = None) -> JobRecord:
    """A final failure."""
    now = time.time()
    return record.replace(
        status=JobStatus.FAILED,
        error=error,
        finished_at=now,
        next_retry_at=None,
        expires_at=now + ttl if ttl is not None else None,
    )


def cancelled_record(record: JobRecord) -> JobRecord:
    """The record of a job cancelled before or while it ran; any result is discarded."""
    return record.replace(
        status=JobStatus.CANCELLED, result=None, finished_at=time.time(), next_retry_at=None
    )


def settle(record: JobRecord, outcome: Outcome, eff: Effective) -> JobRecord:
    """The record after an attempt: success, cancelled, retrying (with ``next_retry_at``) or failed."""
    now = time.time()
    if outcome.cancelled:
        return cancelled_record(record)
    if outcome.ok:
        return record.replace(
            status=JobStatus.SUCCESS,
            result=outcome.result,
            error=None,
            finished_at=now,
            expires_at=now + eff.result_ttl_secs if eff.result_ttl_secs is not None else None,
        )
    assert outcome.error is not None
    if outcome.permanent or record.attempts > eff.max_retries:
        return failed_record(record, outcome.error, ttl=eff.result_ttl_secs)
    delay = outcome.requested_delay
    if delay is None:
        delay = backoff_delay(
            record.attempts,
            base=eff.retry_delay_secs,
            backoff=eff.retry_backoff,
            cap=eff.retry_backoff_max_secs,
        )
    return record.replace(
        status=JobStatus.RETRYING, error=outcome.error, finished_at=now, next_retry_at=now + delay
    )
