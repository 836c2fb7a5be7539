"""The sending side: turning calls into messages, records and queue envelopes."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence
from typing import Any

from .backends.base import Envelope, QueueBackend, ResultBackend
from .config import get_settings
from .job import Job
from .message import JobMessage
from .plugins.manager import has_listeners, notify
from .record import JobRecord
from .runtime import get_queue, get_results
from .task import CallOptions, Task
from .worker.execution import queued_record


def _eta_of(options: CallOptions, now: float) -> float | None:
    if options.countdown is not None:
        return now + options.countdown
    if options.eta is not None:
        return options.eta.timestamp()  # a naive datetime is local time, as datetime.timestamp reads it
    return None


def build_message(
    task: Task[Any, Any], args: Sequence[Any], kwargs: dict[str, Any], options: CallOptions, now: float
) -> JobMessage:
    """Encode one call into a message.

    Raises:
        SerializationError: naming the argument that cannot be encoded.
    """
    encoded_args, encoded_kwargs = JobMessage.encode_call(args, kwargs)
    return JobMessage(
        id=options.job_id or uuid.uuid4().hex,
        task_name=task.name,
        args=encoded_args,
        kwargs=encoded_kwargs,
        queue=options.queue or task.opts.queue,
        priority=options.priority if options.priority is not None else task.opts.priority,
        created_at=now,
        eta=_eta_of(options, now),
        retries=options.retries,
        timeout_secs=options.timeout_secs,
    )


def enqueue_calls(
    task: Task[Any, Any],
    calls: Sequence[tuple[Sequence[Any], dict[str, Any]]],
    options: CallOptions,
) -> list[Job]:
    """Enqueue calls of ``task`` in one backend round trip (or run them inline in eager mode).

    Every argument is encoded before anything is stored, so a bad argument stores nothing.
    The queued records are written before the jobs are queued, so a worker's "running" record
    can never be overwritten by a late "queued" one. A ``job_id`` whose job is still waiting or
    running is not sent again: the existing job is returned.
    """
    if options.job_id is not None and len(calls) > 1:
        raise ValueError("job_id names one job; it cannot be used with .map()")
    now = time.time()
    messages = [build_message(task, args, kwargs, options, now) for args, kwargs in calls]
    if get_settings().eager:
        from .testing.eager import run_inline

        for message in messages:
            run_inline(task, message)
        return [Job(m.id, m.task_name) for m in messages]
    max_retries = options.retries if options.retries is not None else task.opts.retries
    results = get_results()
    if options.job_id is not None:
        existing = results.get_full(options.job_id)
        if existing is not None and not existing.status.is_terminal:
            return [Job(existing.id, existing.task_name)]  # already waiting or running: not sent twice
    records = [queued_record(m, max_retries) for m in messages]
    envelopes = [Envelope(m.id, m.queue, m.encode(), m.priority, m.eta) for m in messages]
    queue = get_queue()
    # RecordingQueue, checked by attribute: isinstance of a runtime-checkable protocol costs
    # tens of microseconds, a noticeable share of a send.
    enqueue_recorded = getattr(queue, "enqueue_recorded", None)
    try:
        recorded = enqueue_recorded is not None and enqueue_recorded(envelopes, records, results)
    except BaseException:
        _forget(results, records)
        raise
    if not recorded:
        _send(queue, results, envelopes, records)
    if has_listeners("nuvom_job_enqueued"):
        for record in records:
            notify("nuvom_job_enqueued", job=record)
    return [Job(m.id, m.task_name) for m in messages]


def _send(
    queue: QueueBackend, results: ResultBackend, envelopes: list[Envelope], records: list[JobRecord]
) -> None:
    """Save the queued records, then enqueue their jobs; forget the records if that fails."""
    results.save_many(records, durable=False)
    try:
        queue.enqueue_many(envelopes)
    except BaseException:
        _forget(results, records)
        raise


def _forget(results: ResultBackend, records: Sequence[JobRecord]) -> None:
    # Best effort: the error to raise is the one that stopped the send, not a failed delete.
    for record in records:
        with contextlib.suppress(Exception):
            results.delete(record.id)
