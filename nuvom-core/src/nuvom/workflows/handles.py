"""Handles on sent groups and chains: their status, results and cancellation, from their records."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..backends.base import ResultBackend
from ..errors import JobCancelled
from ..job import Job
from ..record import JobRecord, JobStatus
from ..runtime import get_results
from .links import member_id, step_id
from .status import (
    MemberReader,
    aggregate,
    close_header,
    failure,
    group_outcome,
    header,
    poll,
    result_of,
    shape_of,
)
from .steps import CHAIN_TASK, GROUP_TASK


class GroupResult:
    """The handle of a sent group: read-only, from the members' records."""

    def __init__(self, group_id: str, size: int) -> None:
        #: The group's id; ``get_group(id)`` re-attaches to it from any process.
        self.id = group_id
        self.size = size

    def __repr__(self) -> str:
        return f"<GroupResult {self.id} size={self.size}>"

    @property
    def jobs(self) -> list[Job]:
        """The members' jobs, in input order."""
        return [Job(member_id(self.id, i)) for i in range(self.size)]

    def status(self) -> JobStatus:
        """The group's status, read from its members.

        Failed when any member failed (after its retries), cancelled when any was cancelled,
        success when all succeeded, queued while none started, else running.
        """
        records = MemberReader(get_results(), self.id, self.size).read()
        return aggregate([r.status if r is not None else None for r in records])

    def get(self, timeout: float | None = None) -> list[Any]:
        """Wait for every member; return their results in input order.

        Raises:
            JobFailed: for the first failed member (by index), with ``.index`` set.
            JobCancelled: for the first cancelled member, when none failed.
            TimeoutError: when the members do not all finish within ``timeout`` seconds.
        """
        reader = MemberReader(get_results(), self.id, self.size)

        def step() -> tuple[bool, Any]:
            records = reader.finished()
            if records is None:
                return False, None
            return True, group_outcome(records, self.id, "group")

        return poll(step, timeout, f"group {self.id}")  # type: ignore[no-any-return]

    def cancel(self) -> int:
        """Cancel every member that has not finished; return how many were cancelled."""
        cancelled = sum(job.cancel() for job in self.jobs)
        if cancelled:
            close_header(get_results(), self.id, JobStatus.CANCELLED)
        return cancelled


def get_group(group_id: str) -> GroupResult:
    """The handle of the group sent under ``group_id``, from any process.

    Raises:
        JobNotFound: when no group is stored under this id.
    """
    return GroupResult(group_id, shape_of(header(get_results(), group_id, GROUP_TASK)))


class ChainResult:
    """The handle of a sent chain: read-only, from its steps' records."""

    def __init__(self, chain_id: str, shape: Sequence[int]) -> None:
        #: The chain's id; step ``i`` is the job (or group) ``<id>.<i>``.
        self.id = chain_id
        #: Per step: 0 for one job, else the size of the group.
        self.shape = list(shape)
        self._readers: dict[int, MemberReader] = {}

    def __repr__(self) -> str:
        return f"<ChainResult {self.id} steps={len(self.shape)}>"

    def _step(self, results: ResultBackend, index: int) -> tuple[JobStatus | None, list[JobRecord | None]]:
        size = self.shape[index]
        if size == 0:
            record = results.get_full(step_id(self.id, index))
            return (record.status if record is not None else None), [record]
        reader = self._readers.get(index)
        if reader is None or reader.results is not results:
            reader = self._readers[index] = MemberReader(results, step_id(self.id, index), size)
        records = reader.read()  # members already finished are not read again
        if all(r is None for r in records):
            return None, records
        return aggregate([r.status if r is not None else None for r in records]), records

    def _walk(self) -> tuple[JobStatus, int, list[JobRecord | None]]:
        """The chain's status, the step that decides it, and that step's records."""
        results = get_results()
        for index in range(len(self.shape)):
            status, records = self._step(results, index)
            if status is JobStatus.SUCCESS:
                continue
            if status is None:  # the previous step succeeded; its worker is sending this one
                top = results.get_full(self.id)
                cancelled = top is not None and top.status is JobStatus.CANCELLED
                return (JobStatus.CANCELLED if cancelled else JobStatus.RUNNING), index, records
            if status.is_terminal or (index == 0 and status in (JobStatus.QUEUED, JobStatus.SCHEDULED)):
                return status, index, records
            return JobStatus.RUNNING, index, records
        last = len(self.shape) - 1
        return JobStatus.SUCCESS, last, self._step(results, last)[1]

    def status(self) -> JobStatus:
        """The chain's status, read from its steps.

        Success when the last step succeeded; failed (or cancelled) when a step did; queued
        until the first step starts; else running.
        """
        return self._walk()[0]

    @property
    def jobs(self) -> list[Job]:
        """The jobs of the steps sent so far (a group step's members in order)."""
        found: list[Job] = []
        results = get_results()
        for index, size in enumerate(self.shape):
            ids = (
                [step_id(self.id, index)]
                if size == 0
                else [member_id(step_id(self.id, index), j) for j in range(size)]
            )
            present = [Job(i) for i in ids if results.get_full(i) is not None]
            if not present:
                break
            found.extend(present)
        return found

    def get(self, timeout: float | None = None) -> Any:
        """Wait for the chain; return the last step's result (a list for a group step).

        Raises:
            JobFailed: naming the failed step (``.index``) and its job.
            JobCancelled: when a step or the chain was cancelled.
            TimeoutError: when the chain does not finish within ``timeout`` seconds.
        """

        def step() -> tuple[bool, Any]:
            status, index, records = self._walk()
            if not status.is_terminal:
                return False, None
            where = f"chain {self.id} step {index}"
            if self.shape[index] == 0:
                record = records[0]
                if record is None:
                    raise JobCancelled(self.id)
                if record.status is JobStatus.FAILED:
                    raise failure(record, index, f"{where} ({record.task_name})")
                if record.status is JobStatus.CANCELLED:
                    raise JobCancelled(record.id)
                return True, result_of(record)
            if status is JobStatus.CANCELLED and all(r is None for r in records):
                raise JobCancelled(self.id)
            return True, group_outcome(records, step_id(self.id, index), f"{where}: group")

        return poll(step, timeout, f"chain {self.id}")

    def cancel(self) -> int:
        """Stop the chain: no further step is sent, and the steps not finished are cancelled.

        Returns how many jobs were cancelled.
        """
        results = get_results()
        close_header(results, self.id, JobStatus.CANCELLED)
        return sum(job.cancel() for job in self.jobs)


def get_chain(chain_id: str) -> ChainResult:
    """The handle of the chain sent under ``chain_id``, from any process.

    Raises:
        JobNotFound: when no chain is stored under this id.
    """
    return ChainResult(chain_id, shape_of(header(get_results(), chain_id, CHAIN_TASK)))
