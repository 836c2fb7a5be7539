"""Signatures: serializable templates of one task call, with options and follow-up callbacks."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .. import serialization
from ..config import get_settings
from ..errors import CorruptEntry
from ..message import JobMessage
from ..names import check_name
from ..task import CallOptions

if TYPE_CHECKING:
    from ..job import Job
    from ..task import Task
    from .chain import Chain
    from .group import Group


@dataclass(frozen=True)
class Signature:
    """One call of a task as data: what ``task.s(...)`` and ``task.si(...)`` return.

    A signature carries the task's name and the options resolved when it was made (queue,
    priority, retries), so a worker that does not import the task can still send it. It travels
    as msgpack, never pickle; arguments are encoded when the signature is made.
    """

    task_name: str
    #: msgpack-encoded positional and keyword arguments.
    args: bytes
    kwargs: bytes
    queue: str
    priority: int
    #: The job's automatic retries.
    retries: int
    timeout_secs: float | None = None
    countdown: float | None = None
    job_id: str | None = None
    unique_for: float | None = None
    #: ``.si``: the previous step's result (or a failed job's id) is not prepended.
    immutable: bool = False
    success: tuple[Signature, ...] = ()
    errors: tuple[Signature, ...] = ()

    @classmethod
    def of(
        cls, task: Task[Any, Any], args: Sequence[Any], kwargs: dict[str, Any], immutable: bool
    ) -> Signature:
        """The signature of ``task(*args, **kwargs)``.

        Raises:
            SerializationError: naming the argument that cannot be encoded.
        """
        limit = get_settings().max_args_bytes
        encoded_args, encoded_kwargs = JobMessage.encode_call(args, kwargs, max_bytes=limit)
        opts = task.opts
        return cls(
            task.name,
            encoded_args,
            encoded_kwargs,
            opts.queue,
            opts.priority,
            opts.retries,
            opts.timeout_secs,
            immutable=immutable,
        )

    def __repr__(self) -> str:
        args, kwargs = serialization.loads(self.args), serialization.loads(self.kwargs)
        parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        return f"{self.task_name}.{'si' if self.immutable else 's'}({', '.join(parts)})"

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
        from .chain import chain

        return chain(self, *others)

    def delay(self) -> Job:
        """Enqueue this call now and return its :class:`~nuvom.job.Job`."""
        from .sending import send_signature

        return send_signature(self)

    def with_prefix(self, values: Sequence[Any]) -> bytes:
        """The encoded args with ``values`` prepended, unless the signature is immutable."""
        if self.immutable or not values:
            return self.args
        return serialization.dumps([*values, *serialization.loads(self.args)], path="args")

    # -- wire form ----------------------------------------------------------------------------

    def to_wire(self) -> dict[str, Any]:
        """Plain types only, to travel inside a job's links."""
        return {
            "t": self.task_name,
            "a": self.args,
            "k": self.kwargs,
            "q": self.queue,
            "p": self.priority,
            "r": self.retries,
            "to": self.timeout_secs,
            "c": self.countdown,
            "id": self.job_id,
            "u": self.unique_for,
            "i": self.immutable,
            "s": [s.to_wire() for s in self.success],
            "e": [s.to_wire() for s in self.errors],
        }

    @classmethod
    def from_wire(cls, data: dict[str, Any]) -> Signature:
        """Rebuild a signature written by :meth:`to_wire`.

        Raises:
            CorruptEntry: when the data is not a signature.
        """
        try:
            return cls(
                data["t"],
                data["a"],
                data["k"],
                data["q"],
                data["p"],
                data["r"],
                data["to"],
                data["c"],
                data["id"],
                data["u"],
                data["i"],
                tuple(cls.from_wire(s) for s in data["s"]),
                tuple(cls.from_wire(s) for s in data["e"]),
            )
        except (KeyError, TypeError) as exc:
            raise CorruptEntry(f"workflow signature is malformed: {exc}") from None


def _signature(value: object) -> Signature:
    if not isinstance(value, Signature):
        raise TypeError(f"expected a signature (task.s(...) or task.si(...)), got {value!r}")
    if value.job_id is not None:
        check_name("job_id", value.job_id)
    return value
