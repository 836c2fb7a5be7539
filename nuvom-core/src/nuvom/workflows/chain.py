"""Chains: steps run one after another, each getting the previous step's result.

Only the first step is sent by ``.delay()``; each job carries the rest of the chain in its links,
and the worker sends the next step once the job's success is stored, under the deterministic id
``<chain id>.<step>``, so a redelivered step never sends its successor twice.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

from ..backends.base import QueueBackend, ResultBackend
from ..errors import JobCancelled
from ..job import Job
from ..record import JobRecord, JobStatus
from ..runtime import get_results
from ..worker.execution import queued_record
from .group import Group, send_group
from .links import ChainLink, Links, Step, member_id, step_id
from .sending import CHAIN_TASK, header_record, message_for, save_new, store_and_dispatch
from .signature import Signature
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


class Chain:
    """Steps to run in order: what ``chain(...)`` returns; ``.delay()`` sends the first step."""

    def __init__(self, steps: Sequence[Step]) -> None:
        if not steps:
            raise ValueError("a chain needs at least one step")
        for step in steps:
            for sig in step if isinstance(step, tuple) else (step,):
                if sig.job_id is not None or sig.unique_for is not None:
                    raise ValueError(
                        f"{sig!r}: a chain step's id comes from the chain; drop job_id/unique_for"
                    )
        self.steps = tuple(steps)

    def __repr__(self) -> str:
        parts = [f"group{s!r}" if isinstance(s, tuple) else repr(s) for s in self.steps]
        return f"chain({', '.join(parts)})"

    def then(self, *others: Signature | Group | Chain) -> Chain:
        """This chain followed by ``others``."""
        return chain(self, *others)

    def delay(self) -> ChainResult:
        """Send the first step; the workers send the others."""
        chain_id = uuid.uuid4().hex
        results = get_results()
        shape = [len(s) if isinstance(s, tuple) else 0 for s in self.steps]
        now = time.time()
        first_queue = self.steps[0][0].queue if isinstance(self.steps[0], tuple) else self.steps[0].queue
        results.save(header_record(chain_id, CHAIN_TASK, shape, first_queue, now), durable=False)
        send_step(ChainLink(chain_id, -1, self.steps), None, results, None, once=False)
        return ChainResult(chain_id, shape)


def chain(*steps: Signature | Group | Chain) -> Chain:
    """A chain: ``chain(a.s(1), b.s(), group(c.s(), d.s()), e.s())``.

    Each step gets the previous step's result as its first argument (unless made with ``.si``);
    a group step runs its members in parallel (each gets the previous result) and passes the
    list of their results on. Nested chains are flattened.

    Raises:
        ValueError: for an empty chain, or a step with its own ``job_id``.
        TypeError: for a step that is not a signature, group or chain.
    """
    flat: list[Step] = []
    for step in steps:
        if isinstance(step, Chain):
            flat.extend(step.steps)
        elif isinstance(step, Group):
            flat.append(step.signatures)
        elif isinstance(step, Signature):
            flat.append(step)
        else:
            raise TypeError(f"a chain's steps must be signatures, groups or chains, got {step!r}")
    return Chain(flat)


def send_step(
    link: ChainLink, value: Any, results: ResultBackend, queue: QueueBackend | None, *, once: bool = True
) -> bool:
    """Send the step after ``link.index`` with ``value`` as its first argument (none for the first).

    With ``once`` (a worker continuing the chain) nothing is sent when the step's record
    already exists. Returns whether the step was sent.
    """
    index = link.index + 1
    step, rest = link.rest[0], link.rest[1:]
    here = ChainLink(link.id, index, rest)
    prefix = [value] if index > 0 else []
    job_id = step_id(link.id, index)
    if isinstance(step, tuple):
        return send_group(step, job_id, results, queue, prefix=prefix, chain=here, once=once)
    message = message_for(step, job_id, time.time(), prefix=prefix, links=Links(chain=here))
    record = queued_record(message, step.retries)
    if once:
        if not save_new(results, record):
            return False
        store_and_dispatch(results, queue, [], [message])
    else:
        store_and_dispatch(results, queue, [record], [message])
    return True


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
