"""Groups: run signatures in parallel and gather their results in input order."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..backends.base import QueueBackend, ResultBackend
from ..job import Job
from ..record import JobStatus
from ..runtime import get_results
from ..worker.execution import queued_record
from .links import ChainLink, GroupLink, Links, member_id
from .sending import GROUP_TASK, header_record, message_for, save_new, store_and_dispatch
from .signature import Signature
from .status import MemberReader, aggregate, close_header, group_outcome, header, poll, shape_of

if TYPE_CHECKING:
    from .chain import Chain


class Group:
    """Signatures to run in parallel: what ``group(...)`` returns; ``.delay()`` sends them."""

    def __init__(self, signatures: Sequence[Signature]) -> None:
        if not signatures:
            raise ValueError("a group needs at least one signature")
        for sig in signatures:
            if not isinstance(sig, Signature):
                raise TypeError(f"a group's members must be signatures (task.s(...)), got {sig!r}")
            if sig.job_id is not None or sig.unique_for is not None:
                raise ValueError(f"{sig!r}: a group member's id comes from the group; drop job_id/unique_for")
        self.signatures = tuple(signatures)

    def __repr__(self) -> str:
        return f"group({', '.join(map(repr, self.signatures))})"

    def __len__(self) -> int:
        return len(self.signatures)

    def then(self, *others: Signature | Group | Chain) -> Chain:
        """``chain(self, *others)``: the next step gets the list of results."""
        from .chain import chain

        return chain(self, *others)

    def delay(self) -> GroupResult:
        """Send every member in one ``enqueue_many``; return the group's handle."""
        group_id = uuid.uuid4().hex
        send_group(self.signatures, group_id, get_results(), None)
        return GroupResult(group_id, len(self.signatures))


def group(*signatures: Signature | Iterable[Signature]) -> Group:
    """A group of signatures: ``group(a.s(1), b.s(2))`` or ``group(a.s(i) for i in range(10))``.

    Raises:
        ValueError: for an empty group, or a member with its own ``job_id``.
        TypeError: for a member that is not a signature.
    """
    if len(signatures) == 1 and not isinstance(signatures[0], Signature):
        return Group(list(signatures[0]))
    return Group(signatures)  # type: ignore[arg-type]  # checked member by member


def send_group(
    signatures: Sequence[Signature],
    group_id: str,
    results: ResultBackend,
    queue: QueueBackend | None,
    *,
    prefix: Sequence[Any] = (),
    chain: ChainLink | None = None,
    once: bool = False,
) -> bool:
    """Store the group's header and members' records, then send the members together.

    With ``once``, nothing is sent when the header already exists (a redelivered job sending
    the same chord step again). Returns whether the group was sent.
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
    records = [queued_record(m, sig.retries) for m, sig in zip(messages, signatures, strict=True)]
    if once:
        if not save_new(results, top):
            return False
        store_and_dispatch(results, queue, records, messages)
    else:
        store_and_dispatch(results, queue, [top, *records], messages)
    return True


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
