"""A call of a task as plain data: the form signatures take inside a job's links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import serialization
from ..errors import CorruptEntry


@dataclass(frozen=True)
class Call:
    """One call of a task as data, as it travels inside a job's links.

    It carries the task's name and the options resolved when it was made (queue, priority,
    retries), so a worker that does not import the task can still send it. It travels as
    msgpack, never pickle. :class:`~nuvom.workflows.canvas.Signature` is the same data with the
    user-facing methods; what a worker decodes from links is a plain ``Call``.
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
    success: tuple[Call, ...] = ()
    errors: tuple[Call, ...] = ()

    def __repr__(self) -> str:
        args, kwargs = serialization.loads(self.args), serialization.loads(self.kwargs)
        parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
        return f"{self.task_name}.{'si' if self.immutable else 's'}({', '.join(parts)})"

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
    def from_wire(cls, data: dict[str, Any]) -> Call:
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
