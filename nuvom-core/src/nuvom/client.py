"""The sending side: turning calls into messages, records and queue envelopes."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence
from typing import Any

from .backends import Envelope, ResultBackend
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
    limit = get_settings().max_args_bytes
    encoded_args, encoded_kwargs = JobMessage.encode_call(args, kwargs, max_bytes=limit)
    job_id = options.job_id
    if job_id is None and options.unique_for is not None:
        from .workflows.sending import unique_id

        job_id = unique_id(task.name, encoded_args, encoded_kwargs)
    return JobMessage(
        id=job_id or uuid.uuid4().hex,
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
    running (or a ``unique_for`` call sent within its window) is not sent again: the existing job
    is returned.
    """
    if options.unique and len(calls) > 1:
        raise ValueError("job_id and unique_for name one job; they cannot be used with .map()")
    now = time.time()
    messages = [build_message(task, args, kwargs, options, now) for args, kwargs in calls]
    if get_settings().eager:
        from .testing.eager import run_inline

        for message in messages:
            run_inline(task, message)
        return [Job(m.id, m.task_name) for m in messages]
    max_retries = options.retries if options.retries is not None else task.opts.retries
    records = [queued_record(m, max_retries) for m in messages]
    if options.unique:
        from .workflows.sending import reserve

        holder = reserve(get_results(), records[0], options.unique_for)
        if holder is not None:
            return [Job(holder.id, holder.task_name)]  # already waiting or running: not sent twice
        send_records(messages, records, stored=True)
    else:
        send_records(messages, records)
    return [Job(m.id, m.task_name) for m in messages]


def send_messages(messages: Sequence[JobMessage], max_retries: int) -> None:
    """Store the queued records of ``messages``, then queue their jobs (see :func:`send_records`)."""
    send_records(messages, [queued_record(m, max_retries) for m in messages])


def send_records(
    messages: Sequence[JobMessage], records: Sequence[JobRecord], *, stored: bool = False
) -> None:
    """Store the queued ``records`` (unless already ``stored``), then queue the jobs.

    A queue that can store the records and queue the jobs in one round trip
    (``enqueue_recorded``) does both; otherwise one ``save_many``, then one ``enqueue_many``. If
    sending fails, the records are deleted again and the send's own error propagates.
    """
    results = get_results()
    queue = get_queue()
    envelopes = [Envelope(m.id, m.queue, m.encode(), m.priority, m.eta) for m in messages]
    # RecordingQueue, checked by attribute: isinstance of a runtime-checkable protocol costs
    # tens of microseconds, a noticeable share of a send.
    enqueue_recorded = None if stored else getattr(queue, "enqueue_recorded", None)
    try:
        recorded = enqueue_recorded is not None and enqueue_recorded(envelopes, records, results)
        if not recorded:
            if not stored:
                results.save_many(records, durable=False)
            queue.enqueue_many(envelopes)
    except BaseException:
        _forget(results, records)
        raise
    if has_listeners("nuvom_job_enqueued"):
        for record in records:
            notify("nuvom_job_enqueued", job=record)


def _forget(results: ResultBackend, records: Sequence[JobRecord]) -> None:
    # Best effort: the error to raise is the one that stopped the send, not a failed delete.
    for record in records:
        with contextlib.suppress(Exception):
            results.delete(record.id)
