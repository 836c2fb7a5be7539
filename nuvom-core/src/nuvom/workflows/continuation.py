"""What a worker does once a job's terminal record is stored: send what its links ask for.

Called after the record is stored and before the job is acknowledged, so a worker that dies in
between leaves the job to be delivered again; the next worker sees the stored terminal record,
does not run the job again, and calls this once more. Every job sent here has a deterministic
id and is created only if that id is free, so the second call sends nothing twice. A send made
but not confirmed durable (``WriteNotConfirmed``) counts as sent: it is logged, and the next
follow-up is sent.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from ..backends.base import QueueBackend, ResultBackend
from ..record import JobRecord, JobStatus
from ..sending import new_record, save_new, send
from ..unconfirmed import taken_as_made
from .call import Call
from .links import ChainLink, GroupLink, Links, child_id
from .status import MemberReader, aggregate, close_header, result_of
from .steps import message_for, send_step

logger = logging.getLogger(__name__)


def continue_workflow(record: JobRecord, queue: QueueBackend | None, results: ResultBackend) -> None:
    """Send what the links of a job whose terminal ``record`` is stored ask for.

    That is its callbacks, its chain's next step, or its chord's continuation. Idempotent:
    calling it again sends nothing twice.

    Raises:
        BackendError: when a backend fails; the caller must not acknowledge the job then.
    """
    if record.links is None or not record.status.is_terminal:
        return
    links = Links.decode(record.links)
    if record.status is JobStatus.SUCCESS:
        value = result_of(record)
        for k, sig in enumerate(links.on_success):
            _send_callback(sig, child_id(record.id, f"s{k}.{record.attempts}"), value, queue, results)
    elif record.status is JobStatus.FAILED:
        for k, sig in enumerate(links.on_error):
            _send_callback(sig, child_id(record.id, f"e{k}.{record.attempts}"), record.id, queue, results)
    if links.group is not None:
        _member_finished(links.group, links.chain, queue, results)
    elif links.chain is not None:
        _step_finished(record, links.chain, queue, results)


def _send_callback(
    sig: Call, job_id: str, value: Any, queue: QueueBackend | None, results: ResultBackend
) -> None:
    message = message_for(sig, job_id, time.time(), prefix=[value])
    record = new_record(message, sig.retries)
    if save_new(results, record):
        with taken_as_made(f"callback {job_id} ({sig.task_name})"):
            send([message], [record], stored=[record], queue=queue)
        logger.debug("sent callback %s (%s)", job_id, sig.task_name)


def _step_finished(
    record: JobRecord, link: ChainLink, queue: QueueBackend | None, results: ResultBackend
) -> None:
    if record.status is not JobStatus.SUCCESS:
        close_header(results, link.id, record.status)  # the chain stops here
        return
    _advance(link, result_of(record), queue, results)


def _advance(link: ChainLink, value: Any, queue: QueueBackend | None, results: ResultBackend) -> None:
    if not link.rest:
        close_header(results, link.id, JobStatus.SUCCESS)
        return
    top = results.get_full(link.id)
    if top is not None and top.status is JobStatus.CANCELLED:
        logger.info("chain %s was cancelled; step %d is not sent", link.id, link.index + 1)
        return
    with taken_as_made(f"chain {link.id}: step {link.index + 1}"):
        if send_step(link, value, results, queue):
            logger.debug("chain %s: sent step %d", link.id, link.index + 1)


def _member_finished(
    group: GroupLink, chain: ChainLink | None, queue: QueueBackend | None, results: ResultBackend
) -> None:
    """Close the group once every member is terminal; in a chain, send the next step.

    The member stored last always sees every member terminal; others may too, and the next
    step's deterministic id keeps it from being sent twice.
    """
    records = MemberReader(results, group.id, group.size).finished()
    if records is None:
        return
    status = aggregate([r.status for r in records])
    close_header(results, group.id, status)
    if chain is None:
        return
    if status is not JobStatus.SUCCESS:
        close_header(results, chain.id, status)
        return
    _advance(chain, [result_of(r) for r in records], queue, results)
