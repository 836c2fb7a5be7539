"""The workflow canvas: signatures, groups and chains, as users build and send them."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from ..config import get_settings
from ..job import Job
from ..message import JobMessage
from ..names import check_name
from ..options import CallOptions, TaskOptions
from ..runtime import get_results
from .call import Call
from .handles import ChainResult, GroupResult
from .links import Step
from .steps import send_call, send_chain, send_group


class Signature(Call):
    """One call of a task as data: what ``task.s(...)`` and ``task.si(...)`` return.

    A signature carries the task's name and the options resolved when it was made (queue,
    priority, retries), so a worker that does not import the task can still send it. It travels
    as msgpack, never pickle; arguments are encoded when the signature is made.
    """

    @classmethod
    def of(cls, task: TaskOptions, args: Sequence[Any], kwargs: dict[str, Any], immutable: bool) -> Signature:
        """The signature of a call ``(*args, **kwargs)`` of the task with options ``task``.

        Raises:
            SerializationError: naming the argument that cannot be encoded.
        """
        limit = get_settings().max_args_bytes
        encoded_args, encoded_kwargs = JobMessage.encode_call(args, kwargs, max_bytes=limit)
        return cls(
            task.name,
            encoded_args,
            encoded_kwargs,
            task.queue,
            task.priority,
            task.retries,
            task.timeout_secs,
            immutable=immutable,
        )

    def options(
        self,
        *,
        countdown: float | timedelta | None = None,
        queue: str | None = None,
        priority: int | None = None,
        job_id: str | None = None,
        retries: int | None = None,
        timeout_secs: float | None = None,
        unique_for: float | None = None,
    ) -> Signature:
        """A copy with these per-call options (see ``Task.options``).

        Raises:
            ValueError: naming the option with a bad value.
        """
        if isinstance(countdown, timedelta):
            countdown = countdown.total_seconds()
        CallOptions(countdown, None, queue, priority, job_id, retries, timeout_secs, unique_for)  # validates
        changes: dict[str, Any] = {
            "countdown": countdown,
            "queue": queue,
            "priority": priority,
            "job_id": job_id,
            "retries": retries,
            "timeout_secs": timeout_secs,
            "unique_for": unique_for,
        }
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})

    def on_success(self, other: Signature) -> Signature:
        """A copy that sends ``other`` once this job succeeds, with the result prepended (unless ``.si``)."""
        return dataclasses.replace(self, success=(*self.success, _signature(other)))

    def on_error(self, other: Signature) -> Signature:
        """A copy that sends ``other`` once this job has failed (after its retries).

        The failed job's id is prepended to ``other``'s arguments (unless ``.si``).
        """
        return dataclasses.replace(self, errors=(*self.errors, _signature(other)))

    def then(self, *others: Signature | Group | Chain) -> Chain:
        """``chain(self, *others)``."""
        return chain(self, *others)

    def delay(self) -> Job:
        """Enqueue this call now and return its :class:`~nuvom.job.Job`."""
        return Job(send_call(self), self.task_name)


def _signature(value: object) -> Signature:
    if not isinstance(value, Signature):
        raise TypeError(f"expected a signature (task.s(...) or task.si(...)), got {value!r}")
    if value.job_id is not None:
        check_name("job_id", value.job_id)
    return value


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
        return ChainResult(*send_chain(self.steps))


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
