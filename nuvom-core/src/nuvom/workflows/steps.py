"""The workflow engine's sends: single calls, chain steps and groups, through the one send path.

A worker continuing a workflow sends each job (or group) only if its deterministic id is free,
so a redelivered job sends nothing twice; a send that fails frees the id again.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from ..backends.base import QueueBackend, ResultBackend
from ..message import JobMessage
from ..record import JobRecord, JobStatus
from ..runtime import get_results
from ..sending import new_record, reserve, save_new, send, unique_id
from .call import Call
from .links import ChainLink, GroupLink, Links, Step, member_id, step_id

#: Task names of the records that describe a group or a chain (never run by a worker).
GROUP_TASK = "nuvom.group"
CHAIN_TASK = "nuvom.chain"


def message_for(
    sig: Call, job_id: str, now: float, *, prefix: Sequence[Any] = (), links: Links | None = None
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


def call_id(sig: Call, args: bytes) -> str:
    """The id a call sent on its own gets: its ``job_id``, its unique id, or a random one."""
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


def send_call(sig: Call) -> str:
    """Send one call with its callbacks (``Signature.delay``); the id of its job.

    A ``job_id`` or ``unique_for`` whose job still waits or runs is not sent again: that job's id
    is returned.
    """
    message = message_for(sig, call_id(sig, sig.args), time.time())
    record = new_record(message, sig.retries)
    if sig.job_id is not None or sig.unique_for is not None:
        holder = reserve(get_results(), record, sig.unique_for)
        if holder is not None:
            return holder.id
        send([message], [record], stored=[record])
    else:
        send([message], [record])
    return message.id


def send_chain(steps: Sequence[Step]) -> tuple[str, list[int]]:
    """Store a new chain's header and send its first step; the chain's id and shape."""
    chain_id = uuid.uuid4().hex
    shape = [len(s) if isinstance(s, tuple) else 0 for s in steps]
    now = time.time()
    first_queue = steps[0][0].queue if isinstance(steps[0], tuple) else steps[0].queue
    header = header_record(chain_id, CHAIN_TASK, shape, first_queue, now)
    send_step(ChainLink(chain_id, -1, tuple(steps)), None, get_results(), None, header=header)
    return chain_id, shape


def send_step(
    link: ChainLink,
    value: Any,
    results: ResultBackend,
    queue: QueueBackend | None,
    *,
    header: JobRecord | None = None,
) -> bool:
    """Send the step after ``link.index`` with ``value`` as its first argument (none for the first).

    A new chain's first step is sent with the chain's ``header`` record, stored with it. Without
    a header (a worker continuing the chain), nothing is sent when the step's record already
    exists. Returns whether the step was sent.
    """
    index = link.index + 1
    step, rest = link.rest[0], link.rest[1:]
    here = ChainLink(link.id, index, rest)
    prefix = [value] if index > 0 else []
    job_id = step_id(link.id, index)
    if isinstance(step, tuple):
        headers = (header,) if header is not None else ()
        return send_group(
            step, job_id, results, queue, prefix=prefix, chain=here, once=header is None, headers=headers
        )
    message = message_for(step, job_id, time.time(), prefix=prefix, links=Links(chain=here))
    record = new_record(message, step.retries)
    if header is not None:
        send([message], [record], headers=[header], queue=queue)
    elif save_new(results, record):
        send([message], [record], stored=[record], queue=queue)
    else:
        return False
    return True


def send_group(
    signatures: Sequence[Call],
    group_id: str,
    results: ResultBackend,
    queue: QueueBackend | None,
    *,
    prefix: Sequence[Any] = (),
    chain: ChainLink | None = None,
    once: bool = False,
    headers: Sequence[JobRecord] = (),
) -> bool:
    """Store the group's header and members' records, then send the members together.

    ``headers`` (a new chain's record) are stored with them. With ``once``, nothing is sent
    when the group's header already exists (a redelivered job sending the same chord step
    again). Returns whether the group was sent.
    """
    now = time.time()
    size = len(signatures)
    top = header_record(group_id, GROUP_TASK, size, signatures[0].queue, now)
    messages = [
        message_for(
            sig,
            member_id(group_id, i),
            now,
            prefix=prefix,
            links=Links(chain=chain, group=GroupLink(group_id, i, size)),
        )
        for i, sig in enumerate(signatures)
    ]
    records = [new_record(m, sig.retries) for m, sig in zip(messages, signatures, strict=True)]
    if not once:
        send(messages, records, headers=[*headers, top], queue=queue)
    elif save_new(results, top):
        # The header is the group's create-once guard: undone with the members if the send fails.
        send(messages, records, stored=[top], queue=queue)
    else:
        return False
    return True
