"""The one send path: store the queued records, queue the jobs, and undo the records if that fails.

``.delay()``, ``.map()``, ``Job.retry()``, schedule fires and workflow steps all send through
:func:`send`, so every job is sent the same way: its queued record is stored before its job is
queued (a worker's "running" record can never be overwritten by a late "queued" one), a send
that fails leaves no record behind (or puts back the record it replaced) but those of jobs the
queue reports queued all the same (``WriteNotConfirmed``, ``SendIncomplete``), and monitoring hears
one ``job_enqueued`` event per job, carrying the stored record. In eager mode the runtime's
inline dispatcher runs the jobs instead of queueing them.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Sequence
from typing import Any

from .backends import CreatingResults, Envelope, QueueBackend, ResultBackend
from .config import get_settings
from .errors import SendIncomplete, WriteNotConfirmed
from .lifecycle import queued_record
from .message import JobMessage
from .options import CallOptions, TaskOptions
from .plugins.events import job_enqueued
from .record import JobRecord
from .registry import is_sensitive
from .runtime import get_queue, get_results, inline_dispatcher


def send(
    messages: Sequence[JobMessage],
    records: Sequence[JobRecord],
    *,
    stored: Sequence[JobRecord] = (),
    headers: Sequence[JobRecord] = (),
    replaced: Sequence[JobRecord] = (),
    attempts: int = 0,
    queue: QueueBackend | None = None,
) -> None:
    """Send the jobs of ``messages``, whose queued records are ``records`` (in the same order).

    Args:
        messages: the jobs, encoded.
        records: their queued records.
        stored: records the caller stored already for this send (a create-once id or header);
            not stored again, but deleted if queueing fails, so that a second try can create
            them again.
        headers: records of a group or chain sent with these jobs, stored with them and undone
            with them; never queued.
        replaced: records that ``records`` overwrite (``Job.retry``): put back if sending fails.
        attempts: the attempts the jobs already had (``Job.retry`` keeps the count).
        queue: the queue to use instead of this process's (the worker's own).

    Raises:
        WriteNotConfirmed: the jobs are queued, but the queue could not confirm it durable; their
            records stay (the jobs may run), and its ``job_ids`` name them.
        SendIncomplete: queueing failed, and the queue could not take back the jobs in
            ``queued``: their records stay, the others' are removed.
        BackendError: when storing or queueing fails; nothing sent stays stored then.
    """
    inline = inline_dispatcher()
    results = get_results()
    if inline is not None:
        if headers:
            results.save_many(headers, durable=False)
        inline.run(messages)
        return
    queue = queue or get_queue()
    envelopes = [Envelope(m.id, m.queue, m.encode(), m.priority, m.eta, attempts) for m in messages]
    # RecordingQueue, checked by attribute: isinstance of a runtime-checkable protocol costs
    # tens of microseconds, a noticeable share of a send.
    plain = not (stored or headers)
    enqueue_recorded = getattr(queue, "enqueue_recorded", None) if plain else None
    # Storing the records alone, before any job is queued: a WriteNotConfirmed then queued nothing.
    saving = False
    try:
        if not (enqueue_recorded is not None and enqueue_recorded(envelopes, records, results)):
            to_store = _written(stored, headers, records)[len(stored) :]  # not stored already
            if to_store:
                saving = True
                results.save_many(to_store, durable=False)
                saving = False
            queue.enqueue_many(envelopes)
    except WriteNotConfirmed as unconfirmed:
        # Queued, its durability unconfirmed: the jobs may run, so their records stay.
        if saving:
            _undo(results, _written(stored, headers, records), replaced)
            raise
        job_enqueued(records)
        unconfirmed.job_ids = tuple(m.id for m in messages)
        raise
    except SendIncomplete as failed:
        # The jobs the queue could not take back stay queued, with their records.
        left = [r for r in _written(stored, headers, records) if r.id not in failed.queued]
        _undo(results, left, replaced)
        job_enqueued([r for r in records if r.id in failed.queued])
        raise
    except BaseException:
        _undo(results, _written(stored, headers, records), replaced)
        raise
    job_enqueued(records)


def _written(
    stored: Sequence[JobRecord], headers: Sequence[JobRecord], records: Sequence[JobRecord]
) -> list[JobRecord]:
    """The records a send stored or was given stored: what undoing it removes (each once)."""
    kept = {record.id for record in stored}
    return [*stored, *headers, *(r for r in records if r.id not in kept)]


def _undo(results: ResultBackend, records: Sequence[JobRecord], replaced: Sequence[JobRecord]) -> None:
    # Best effort: the error to raise is the one that stopped the send, not a failed undo.
    previous = {record.id: record for record in replaced}
    for record in records:
        with contextlib.suppress(Exception):
            if record.id in previous:
                results.save(previous[record.id])
            else:
                results.delete(record.id)


def new_record(message: JobMessage, max_retries: int) -> JobRecord:
    """The queued record of a job about to be sent (marked sensitive if its task is)."""
    return queued_record(message, max_retries, sensitive=is_sensitive(message.task_name))


# -- calls of a task: .delay() and .map() -----------------------------------------------------


def _eta_of(options: CallOptions, now: float) -> float | None:
    if options.countdown is not None:
        return now + options.countdown
    if options.eta is not None:
        return options.eta.timestamp()  # a naive datetime is local time, as datetime.timestamp reads it
    return None


def new_job_ids(count: int) -> list[str]:
    """``count`` random job ids: version-4 UUIDs as 32 hex digits, as ``uuid.uuid4().hex`` makes.

    One ``os.urandom`` call for them all: a ``.map()`` of 10,000 jobs pays one system call, not
    10,000 (and no ``UUID`` object is built).
    """
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # RFC 4122 variant
    hexed = raw.hex()
    return [hexed[i : i + 32] for i in range(0, 32 * count, 32)]


def build_message(
    task: TaskOptions,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    options: CallOptions,
    now: float,
    *,
    max_args_bytes: int,
    random_id: str,
) -> JobMessage:
    """Encode one call of the task with options ``task`` into a message.

    Its id is the call's ``job_id``, the one ``unique_for`` derives, or else ``random_id``.

    Raises:
        SerializationError: naming the argument that cannot be encoded.
    """
    encoded_args, encoded_kwargs = JobMessage.encode_call(args, kwargs, max_bytes=max_args_bytes)
    job_id = options.job_id
    if job_id is None and options.unique_for is not None:
        job_id = unique_id(task.name, encoded_args, encoded_kwargs)
    return JobMessage(
        id=job_id or random_id,
        task_name=task.name,
        args=encoded_args,
        kwargs=encoded_kwargs,
        queue=options.queue or task.queue,
        priority=options.priority if options.priority is not None else task.priority,
        created_at=now,
        eta=_eta_of(options, now),
        retries=options.retries,
        timeout_secs=options.timeout_secs,
        rate_limit=options.rate_limit,
    )


def send_calls(
    task: TaskOptions,
    calls: Sequence[tuple[Sequence[Any], dict[str, Any]]],
    options: CallOptions,
) -> list[str]:
    """Send calls of the task with options ``task`` in one backend round trip; their job ids.

    Every argument is encoded before anything is stored, so a bad argument stores nothing. A
    ``job_id`` whose job is still waiting or running (or a ``unique_for`` call sent within its
    window) is not sent again: the id of the existing job is returned.
    """
    if options.unique and len(calls) > 1:
        raise ValueError("job_id and unique_for name one job; they cannot be used with .map()")
    now = time.time()
    limit = get_settings().max_args_bytes
    ids = new_job_ids(len(calls))
    messages = [
        build_message(task, args, kwargs, options, now, max_args_bytes=limit, random_id=job_id)
        for (args, kwargs), job_id in zip(calls, ids, strict=True)
    ]
    max_retries = options.retries if options.retries is not None else task.retries
    records = [queued_record(m, max_retries, sensitive=task.sensitive) for m in messages]
    if options.unique and inline_dispatcher() is None:
        holder = reserve(get_results(), records[0], options.unique_for)
        if holder is not None:
            return [holder.id]  # already waiting or running: not sent twice
        send(messages, records, stored=records)
    else:
        send(messages, records)
    return [m.id for m in messages]


# -- ids that name one job: job_id, unique_for, workflow steps --------------------------------


def unique_id(task_name: str, args: bytes, kwargs: bytes) -> str:
    """The job id ``unique_for`` derives from a task name and encoded arguments."""
    digest = hashlib.sha256(b"\0".join((task_name.encode(), args, kwargs))).hexdigest()[:32]
    return f"{task_name[:90]}:u:{digest}"


def holds_id(existing: JobRecord, window: float | None, now: float) -> bool:
    """Whether ``existing`` keeps a unique call from being sent again.

    It does while it waits or runs, and within ``window`` seconds of its creation whatever its status.
    """
    if not existing.status.is_terminal:
        return True
    return window is not None and existing.created_at + window > now


def save_new(results: ResultBackend, record: JobRecord) -> bool:
    """Store ``record`` if its id is free; ``True`` if stored.

    Atomic where the store offers ``save_new``; else it reads first, and two racing senders
    may then both store.
    """
    if isinstance(results, CreatingResults):
        return results.save_new(record, durable=False)
    if results.get_full(record.id) is not None:
        return False
    results.save(record, durable=False)
    return True


def reserve(results: ResultBackend, record: JobRecord, window: float | None) -> JobRecord | None:
    """Store the queued ``record`` of a unique call, unless a job holding its id exists.

    Returns:
        The existing record that holds the id (nothing was stored), or ``None`` when ``record``
        was stored and its job must now be sent (with ``stored=[record]``).
    """
    if save_new(results, record):
        return None
    existing = results.get_full(record.id)
    if existing is not None and holds_id(existing, window, time.time()):
        return existing
    results.save(record, durable=False)  # the id's job is finished: this call starts it again
    return None
