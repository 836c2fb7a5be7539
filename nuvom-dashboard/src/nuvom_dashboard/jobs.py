"""Finding jobs by queue, task, status and time through ``list_jobs`` pages, and showing one job.

Only ``status`` narrows ``list_jobs`` itself; queue, task and time are matched here while paging
newest first, never reading more than :data:`SCAN_CAP` records for one page of results. The page
cursor is the offset in ``list_jobs(status)``, so any page can be linked to.
"""

from __future__ import annotations

import pprint
from dataclasses import dataclass
from typing import Any, Final

from nuvom import serialization
from nuvom.backends.base import ResultBackend
from nuvom.errors import CorruptEntry, SerializationError
from nuvom.record import JobRecord, JobStatus
from nuvom.registry import registry
from nuvom.workflows.links import Links

#: Records read at most to fill one page of results.
SCAN_CAP: Final = 5000
#: Jobs per page.
PAGE_SIZE: Final = 50
#: The largest ``list_jobs`` read: reads start at one page and double while filters skip records.
_MAX_READ: Final = 1000


@dataclass(frozen=True)
class JobFilter:
    """What the jobs list is narrowed to; ``None`` matches everything."""

    queue: str | None = None
    task: str | None = None
    status: JobStatus | None = None
    #: Created at or after / before these epoch seconds.
    since: float | None = None
    until: float | None = None

    def matches(self, record: JobRecord) -> bool:
        """True when ``record`` passes the queue, task and ``until`` filters."""
        return (
            (self.queue is None or record.queue == self.queue)
            and (self.task is None or record.task_name == self.task)
            and (self.until is None or record.created_at < self.until)
        )


@dataclass(frozen=True)
class JobPage:
    """One page of matching jobs and where the next page starts."""

    records: list[JobRecord]
    #: The offset to read from for the next page; ``None`` when there is no more.
    next_offset: int | None
    #: True when the page stopped at :data:`SCAN_CAP` records read (more may match further on).
    capped: bool = False


def find_jobs(results: ResultBackend, wanted: JobFilter, offset: int = 0, limit: int = PAGE_SIZE) -> JobPage:
    """Up to ``limit`` matching jobs, newest first, reading from ``offset`` in ``list_jobs(status)``."""
    found: list[JobRecord] = []
    position, read, size = offset, 0, limit
    while True:
        page = results.list_jobs(status=wanted.status, limit=size, offset=position)
        for index, record in enumerate(page):
            if wanted.since is not None and record.created_at < wanted.since:
                return JobPage(found, None)  # newest first: the rest are older
            if wanted.matches(record):
                found.append(record)
                if len(found) == limit:
                    return JobPage(found, position + index + 1)
        position += len(page)
        read += len(page)
        if len(page) < size:
            return JobPage(found, None)
        if read >= SCAN_CAP:
            return JobPage(found, position, capped=True)
        size = min(size * 2, _MAX_READ)


@dataclass(frozen=True)
class JobView:
    """One job as its page shows it; arguments and result are ``None`` when hidden."""

    record: JobRecord
    sensitive: bool
    args: str | None
    kwargs: str | None
    result: str | None
    links: Links | None
    links_problem: str | None


def is_sensitive(record: JobRecord) -> bool:
    """Marked on the record, or known as ``sensitive`` to this process's task registry."""
    known = registry.get(record.task_name)
    return record.sensitive or (known is not None and known.opts.sensitive)


def _shown(data: bytes | None) -> str | None:
    if data is None:
        return None
    try:
        value: Any = serialization.loads(data)
    except (SerializationError, ValueError) as exc:
        return f"<cannot decode: {exc}>"
    return pprint.pformat(value, width=100)


def view_job(record: JobRecord) -> JobView:
    """What the job page shows of ``record``: nothing of its data when the task is sensitive."""
    sensitive = is_sensitive(record)
    try:
        links, problem = (Links.decode(record.links) if record.links else None), None
    except CorruptEntry as exc:
        links, problem = None, str(exc)
    if sensitive:
        return JobView(record, True, None, None, None, links, problem)
    result = _shown(record.result) if record.status is JobStatus.SUCCESS else None
    return JobView(record, False, _shown(record.args), _shown(record.kwargs), result, links, problem)
