"""The ``Job`` handle: status, result and record of one enqueued job, read fresh each time."""

from __future__ import annotations

import time
from typing import Any

from . import serialization
from .errors import JobCancelled, JobFailed, JobNotFound
from .message import JobMessage
from .record import JobRecord, JobStatus
from .runtime import get_results
from .sending import send

_FIRST_POLL_SECS = 0.002
_MAX_POLL_SECS = 0.05


class Job:
    """A handle on an enqueued job. Every method reads the result backend afresh."""

    def __init__(self, job_id: str, task_name: str | None = None) -> None:
        self.id = job_id
        self._task_name = task_name

    def __repr__(self) -> str:
        return f"<Job {self.id} task={self._task_name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Job) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def _record(self) -> JobRecord:
        record = get_results().get_full(self.id)
        if record is None:
            raise JobNotFound(self.id)
        self._task_name = record.task_name
        return record

    @property
    def task_name(self) -> str:
        """The task's registered name."""
        if self._task_name is None:
            self._record()
        assert self._task_name is not None
        return self._task_name

    def status(self) -> JobStatus:
        """The current status, read from the result backend.

        Raises:
            JobNotFound: when no record is stored under this id.
        """
        return self._record().status

    def get(self, timeout: float | None = None) -> Any:
        """Wait for the job to finish and return its stored result (``None`` is a result).

        Raises:
            JobFailed: the job failed after its retries; carries the remote type, message and traceback.
            JobCancelled: the job was cancelled.
            TimeoutError: it did not finish within ``timeout`` seconds.
            JobNotFound: no record is stored under this id.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = _FIRST_POLL_SECS
        while True:
            record = self._record()
            if record.status.is_terminal:
                return self._outcome(record)
            time.sleep(self._pause(record, pause, deadline, timeout))
            pause = min(pause * 1.5, _MAX_POLL_SECS)

    async def aget(self, timeout: float | None = None) -> Any:
        """:meth:`get` for asyncio code: reads run on a thread, waits are ``asyncio.sleep``."""
        import asyncio  # loaded already in async code; ``import nuvom`` does not pay for it

        deadline = None if timeout is None else time.monotonic() + timeout
        pause = _FIRST_POLL_SECS
        while True:
            record = await asyncio.to_thread(self._record)
            if record.status.is_terminal:
                return self._outcome(record)
            await asyncio.sleep(self._pause(record, pause, deadline, timeout))
            pause = min(pause * 1.5, _MAX_POLL_SECS)

    async def astatus(self) -> JobStatus:
        """:meth:`status` for asyncio code (the read runs on a thread)."""
        import asyncio

        return await asyncio.to_thread(self.status)

    def _outcome(self, record: JobRecord) -> Any:
        """The result of a finished job, or the error it ended with."""
        if record.status is JobStatus.SUCCESS:
            return serialization.loads(record.result) if record.result is not None else None
        if record.status is JobStatus.CANCELLED:
            raise JobCancelled(self.id)
        error = record.error
        raise JobFailed(
            self.id,
            error.type if error else "Unknown",
            error.message if error else "",
            error.traceback if error else "",
        )

    def _pause(self, record: JobRecord, pause: float, deadline: float | None, timeout: float | None) -> float:
        """How long to wait before the next read; raises ``TimeoutError`` past the deadline."""
        if deadline is None:
            return pause
        if time.monotonic() >= deadline:
            status = record.status.value
            raise TimeoutError(f"job {self.id} did not finish within {timeout} s (status {status})")
        return min(pause, max(0.0, deadline - time.monotonic()))

    def info(self) -> dict[str, Any]:
        """The full record, with arguments and result decoded.

        Raises:
            JobNotFound: when no record is stored under this id.
        """
        return describe(self._record())

    def cancel(self) -> bool:
        """Cancel the job unless it has finished; ``True`` if it was not finished.

        A queued, scheduled or retrying job ends ``cancelled`` and never runs: a worker that
        claims it acknowledges it without running it. A running job is asked to stop: its worker
        sees the cancel within a moment and makes ``nuvom.current_job().cancelled`` true; the job
        then ends ``cancelled`` whatever its task returns. One that finishes before its worker
        sees the cancel keeps its outcome (see docs/workflows.md, "Cancel").
        """
        results = get_results()
        record = results.get_full(self.id)
        if record is None or record.status.is_terminal:
            return False
        # A running job's attempt is still stopping: its worker sets finished_at when it ends.
        finished_at = None if record.status is JobStatus.RUNNING else time.time()
        results.save(record.replace(status=JobStatus.CANCELLED, finished_at=finished_at, next_retry_at=None))
        return True

    def stopping(self) -> bool:
        """True while the job is cancelled but its attempt has not ended yet on its worker."""
        record = self._record()
        return record.status is JobStatus.CANCELLED and record.finished_at is None

    def retry(self) -> bool:
        """Send a failed or cancelled job again: same id, its attempts go on from where they were.

        The new attempt runs whatever automatic retries were left; if it fails it is not retried
        automatically. A job in a chain carries the rest of the chain, so a retried step that
        succeeds resumes its chain. Returns ``False`` (and does nothing) for any other status, and
        for a job cancelled while running whose attempt has not ended yet (see :meth:`stopping`):
        an earlier attempt never overlaps a retry.

        Raises:
            JobNotFound: when no record is stored under this id.
            WriteNotConfirmed: the job is queued again, but not confirmed durable (its
                ``job_ids`` name it); a second ``retry()`` finds it queued and sends nothing.
        """
        record = self._record()
        if record.status not in (JobStatus.FAILED, JobStatus.CANCELLED) or record.finished_at is None:
            return False  # not finished, or cancelled while its attempt is still stopping
        message = JobMessage(
            record.id,
            record.task_name,
            record.args,
            record.kwargs,
            record.queue,
            record.priority,
            record.created_at,
            retries=record.max_retries,
            links=record.links,
        )
        again = record.replace(
            status=JobStatus.QUEUED,
            result=None,
            error=None,
            eta=None,
            worker_id=None,
            started_at=None,
            finished_at=None,
            next_retry_at=None,
            expires_at=None,
        )
        send([message], [again], replaced=[record], attempts=record.attempts)
        return True


def describe(record: JobRecord) -> dict[str, Any]:
    """A record as a plain dict, with arguments and result decoded."""
    data = record.to_dict()
    data["args"] = serialization.loads(record.args)
    data["kwargs"] = serialization.loads(record.kwargs)
    data["result"] = serialization.loads(record.result) if record.result is not None else None
    return data


def get_job(job_id: str) -> Job:
    """A handle on the job stored under ``job_id`` (it may have been sent by another process).

    Raises:
        JobNotFound: when no record is stored under this id.
    """
    job = Job(job_id)
    job._record()
    return job
