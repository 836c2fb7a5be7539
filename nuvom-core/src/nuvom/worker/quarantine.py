"""Failing the records of jobs whose queue entries were quarantined.

A queue moves an entry it cannot deliver aside; the job is then in no queue, and its record
would say ``queued`` forever. Each worker lists the quarantine now and then (through the
optional :class:`~nuvom.backends.QuarantineListing`) and fails those records with
``CorruptEntry`` and the queue's reason, so that ``job.get()`` raises instead of waiting.
"""

from __future__ import annotations

import logging

from ..backends import QuarantineListing, QueueBackend, ResultBackend
from ..errors import CorruptEntry
from ..lifecycle import failed_record
from ..message import stored_id
from ..record import ErrorInfo
from ..unconfirmed import taken_as_made

logger = logging.getLogger(__name__)


def settle_quarantined(queue: QueueBackend, results: ResultBackend, seen: set[str]) -> int:
    """Fail the unfinished record of each quarantined job not in ``seen``; return how many.

    ``seen`` collects the ids handled by this worker, which are not read again.
    """
    if not isinstance(queue, QuarantineListing):
        return 0
    failed = 0
    for entry in queue.quarantined():
        job_id = entry.job_id
        if job_id is None or job_id in seen:
            continue
        seen.add(job_id)
        try:
            record = results.get_full(stored_id(job_id, "a quarantined entry"))
        except CorruptEntry:  # an id no record can have, or an unreadable record
            continue
        if record is None or record.status.is_terminal:
            continue
        error = ErrorInfo("CorruptEntry", f"its queue entry was quarantined: {entry.reason}")
        with taken_as_made(f"job {job_id}: failed record"):
            results.save(failed_record(record, error))
        logger.error(
            "job %s (%s) failed: its queue entry was quarantined: %s", job_id, record.task_name, entry.reason
        )
        failed += 1
    return failed
