"""The job message: what travels in a queue envelope's payload."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import serialization
from .errors import ArgumentsTooLarge, CorruptEntry, SerializationError
from .names import MAX_ID_LENGTH, check_name

_VERSION = 1
#: The encodings of no positional and no keyword arguments, the most common calls.
_NO_ARGS = serialization.dumps([])
_NO_KWARGS = serialization.dumps({})


def stored_id(value: object, where: str) -> str:
    """``value`` if it is a valid job id: an id read back from a store is data, never trusted.

    It names files and keys, so a crafted one (``../../x``) must never reach them.

    Raises:
        CorruptEntry: naming ``where`` the id was read and the value.
    """
    try:
        return check_name("job id", value, max_length=MAX_ID_LENGTH)
    except ValueError as exc:
        raise CorruptEntry(f"{where}: {exc}") from None


@dataclass(frozen=True)
class JobMessage:
    """One call of a task: its arguments (msgpack bytes) and the per-call option overrides."""

    id: str
    task_name: str
    args: bytes
    kwargs: bytes
    queue: str
    priority: int
    created_at: float
    eta: float | None = None
    #: Overrides the task's ``retries`` when set.
    retries: int | None = None
    #: Overrides the task's ``timeout_secs`` when set.
    timeout_secs: float | None = None
    #: The workflow continuation, copied into the job's record (see ``nuvom.workflows.links``).
    links: bytes | None = None
    #: Overrides the task's ``rate_limit`` when set (``"10/s"``).
    rate_limit: str | None = None

    @staticmethod
    def encode_call(
        args: Sequence[object], kwargs: Mapping[str, object], *, max_bytes: int | None = None
    ) -> tuple[bytes, bytes]:
        """Encode a call's arguments, at most ``max_bytes`` of them when given.

        Raises:
            SerializationError: naming ``args[i]`` or ``kwargs['k']`` and its type.
            ArgumentsTooLarge: naming the largest argument, when over ``max_bytes``.
        """
        try:
            encoded = (
                serialization.dumps(list(args), path="args") if args else _NO_ARGS,
                serialization.dumps(dict(kwargs), path="kwargs") if kwargs else _NO_KWARGS,
            )
        except SerializationError:
            serialization.raise_for_call(args, kwargs)
            raise
        size = len(encoded[0]) + len(encoded[1])
        if max_bytes is not None and size > max_bytes:
            sizes = {f"args[{i}]": len(serialization.dumps(a)) for i, a in enumerate(args)}
            sizes |= {f"kwargs[{k!r}]": len(serialization.dumps(v)) for k, v in kwargs.items()}
            raise ArgumentsTooLarge(size, max_bytes, *max(sizes.items(), key=lambda item: item[1]))
        return encoded

    def decode_call(self) -> tuple[list[Any], dict[str, Any]]:
        """The call's positional and keyword arguments."""
        return serialization.loads(self.args, what="args"), serialization.loads(self.kwargs, what="kwargs")

    def encode(self) -> bytes:
        """The payload bytes.

        ``links`` and ``rate_limit`` are appended only when set (``links`` also when
        ``rate_limit`` is), so plain jobs keep the old layout.
        """
        fields: list[object] = [
            _VERSION,
            self.id,
            self.task_name,
            self.args,
            self.kwargs,
            self.queue,
            self.priority,
            self.created_at,
            self.eta,
            self.retries,
            self.timeout_secs,
        ]
        if self.links is not None or self.rate_limit is not None:
            fields.append(self.links)
        if self.rate_limit is not None:
            fields.append(self.rate_limit)
        return serialization.dumps(fields)

    @classmethod
    def decode(cls, payload: bytes) -> JobMessage:
        """Rebuild a message from payload bytes.

        Raises:
            CorruptEntry: when the payload is not a job message of a known version, or its job
                id is not valid.
        """
        try:
            fields = serialization.loads(payload, what="the job message")
            if fields[0] != _VERSION:
                raise CorruptEntry(f"job message version {fields[0]!r} is not supported")
            message = cls(*fields[1:])
        except (SerializationError, TypeError, IndexError, KeyError) as exc:
            raise CorruptEntry(f"payload is not a job message: {exc}") from None
        stored_id(message.id, "job message")
        message._check_types()
        return message

    def _check_types(self) -> None:
        """Raise ``CorruptEntry`` naming the first field whose value is not of its type."""
        for name, kinds in _FIELD_TYPES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, kinds):  # no field is a bool
                raise CorruptEntry(
                    f"payload is not a job message: {name} is {type(value).__qualname__}, "
                    f"not {' or '.join(k.__qualname__ for k in kinds)}"
                )


_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "task_name": (str,),
    "args": (bytes,),
    "kwargs": (bytes,),
    "queue": (str,),
    "priority": (int,),
    "created_at": (int, float),
    "eta": (int, float, type(None)),
    "retries": (int, type(None)),
    "timeout_secs": (int, float, type(None)),
    "links": (bytes, type(None)),
    "rate_limit": (str, type(None)),
}
