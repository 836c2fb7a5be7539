"""Sending workflow jobs: messages from signatures, unique ids, and create-once records.

Every path stores the queued records before it enqueues (so a worker's "running" record is never
overwritten by a late "queued" one) and, in eager mode, runs the jobs inline instead.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..backends import CreatingResults, Envelope, QueueBackend, ResultBackend
from ..config import get_settings
from ..errors import TaskNotFound
from ..message import JobMessage
from ..plugins.manager import has_listeners, notify
from ..record import JobRecord, JobStatus
from ..registry import registry
from ..runtime import get_queue, get_results
from ..worker.execution import queued_record
from .links import Links

if TYPE_CHECKING:
    from ..job import Job
    from .signature import Signature

#: Task names of the records that describe a group or a chain (never run by a worker).
GROUP_TASK = "nuvom.group"
CHAIN_TASK = "nuvom.chain"


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
        was stored and its job must now be enqueued.
    """
    if save_new(results, record):
        return None
    existing = results.get_full(record.id)
    if existing is not None and holds_id(existing, window, time.time()):
        return existing
    results.save(record, durable=False)  # the id's job is finished: this call starts it again
    return None


def message_for(
    sig: Signature, job_id: str, now: float, *, prefix: Sequence[Any] = (), links: Links | None = None
) -> JobMessage:
    """The message of one job made from ``sig``, with ``prefix`` prepended to its arguments."""
    own = Links(sig.success, sig.errors)
    if links is not None:
        own = Links(sig.success, sig.errors, links.chain, links.group)
    return JobMessage(
        id=job_id,
        task_name=sig.task_name,
        args=sig.with_prefix(prefix),
        kwargs=sig.kwargs,
        queue=sig.queue,
        priority=sig.priority,
        created_at=now,
        eta=now + sig.countdown if sig.countdown is not None else None,
        retries=sig.retries,
        timeout_secs=sig.timeout_secs,
        links=own.encode(),
    )


def signature_id(sig: Signature, args: bytes) -> str:
    """The id a signature sent on its own gets: its ``job_id``, its unique id, or a random one."""
    if sig.job_id is not None:
        return sig.job_id
    if sig.unique_for is not None:
        return unique_id(sig.task_name, args, sig.kwargs)
    return uuid.uuid4().hex


def header_record(job_id: str, kind: str, shape: Any, queue: str, now: float) -> JobRecord:
    """The record describing a group or chain: its shape in ``args``, never run by a worker."""
    empty = JobMessage.encode_call((), {})[1]
    args = JobMessage.encode_call([shape], {})[0]
    return JobRecord(job_id, kind, queue, JobStatus.QUEUED, args, empty, now)


def dispatch(messages: Sequence[JobMessage], queue: QueueBackend | None, attempts: int = 0) -> None:
    """Enqueue messages whose queued records are stored; in eager mode run them inline instead.

    Raises:
        TaskNotFound: in eager mode, for a task this process does not know.
    """
    if get_settings().eager:
        from ..testing.eager import run_inline

        for message in messages:
            task = registry.get(message.task_name)
            if task is None:
                raise TaskNotFound(message.task_name)
            run_inline(task, message)
        return
    envelopes = [Envelope(m.id, m.queue, m.encode(), m.priority, m.eta, attempts) for m in messages]
    (queue or get_queue()).enqueue_many(envelopes)
    if has_listeners("nuvom_job_enqueued"):
        for message in messages:
            notify("nuvom_job_enqueued", job=queued_record(message, message.retries or 0))


def store_and_dispatch(
    results: ResultBackend,
    queue: QueueBackend | None,
    records: Sequence[JobRecord],
    messages: Sequence[JobMessage],
) -> None:
    """Store ``records`` (queued records and headers), then dispatch; undo the records if enqueueing fails."""
    results.save_many(records, durable=False)
    try:
        dispatch(messages, queue)
    except BaseException:
        for record in records:
            results.delete(record.id)
        raise


def send_signature(sig: Signature) -> Job:
    """Enqueue one signature with its callbacks (``Signature.delay``)."""
    from ..job import Job

    now = time.time()
    message = message_for(sig, signature_id(sig, sig.args), now)
    record = queued_record(message, sig.retries)
    results = get_results()
    if sig.job_id is not None or sig.unique_for is not None:
        holder = reserve(results, record, sig.unique_for)
        if holder is not None:
            return Job(holder.id, holder.task_name)
        try:
            dispatch([message], None)
        except BaseException:
            results.delete(record.id)
            raise
    else:
        store_and_dispatch(results, None, [record], [message])
    return Job(message.id, message.task_name)
