"""The stored form of a schedule: what to call, when it fires next, and how often it has fired."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import msgpack

from ..errors import CorruptEntry

Mode = Literal["at", "interval", "cron"]
MODES: tuple[Mode, ...] = ("at", "interval", "cron")

#: Fields that say what a schedule does, as opposed to where it is in its run.
_DEFINITION = (
    "task_name",
    "args",
    "kwargs",
    "mode",
    "interval_secs",
    "cron",
    "timezone",
    "queue",
    "priority",
    "retries",
    "timeout_secs",
)


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule as a scheduler store keeps it. Arguments are msgpack bytes, opaque to stores."""

    id: str
    task_name: str
    args: bytes
    kwargs: bytes
    mode: Mode
    #: Epoch seconds of the next fire.
    next_run: float
    queue: str
    priority: int = 0
    #: Interval schedules: seconds between fires (the phase of ``next_run`` is kept).
    interval_secs: float | None = None
    #: Cron schedules: a 5-field expression, read in ``timezone``.
    cron: str | None = None
    timezone: str = "UTC"
    #: Override the task's ``retries`` / ``timeout_secs`` when set.
    retries: int | None = None
    timeout_secs: float | None = None
    created_at: float = 0.0
    run_count: int = 0
    #: Epoch seconds of the last fire dispatched.
    last_run: float | None = None
    #: Set by ``claim_due``: until then no other scheduler may claim this fire.
    claimed_until: float | None = None

    def replace(self, **changes: Any) -> ScheduleRecord:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def same_definition(self, other: ScheduleRecord) -> bool:
        """True when both do the same thing on the same timetable (one-offs: at the same time)."""
        if any(getattr(self, f) != getattr(other, f) for f in _DEFINITION):
            return False
        return self.mode != "at" or self.next_run == other.next_run

    def to_dict(self) -> dict[str, Any]:
        """Plain fields, for a store to serialize."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScheduleRecord:
        """Rebuild from :meth:`to_dict` output."""
        return cls(**data)

    def dumps(self) -> bytes:
        """Msgpack bytes of :meth:`to_dict`."""
        packed: bytes = msgpack.packb(self.to_dict(), use_bin_type=True)
        return packed

    @classmethod
    def loads(cls, data: bytes) -> ScheduleRecord:
        """Rebuild from :meth:`dumps` output.

        Raises:
            CorruptEntry: when ``data`` is not a schedule record.
        """
        try:
            return cls.from_dict(msgpack.unpackb(data, raw=False))
        except Exception as exc:
            raise CorruptEntry(f"not a schedule record: {type(exc).__name__}: {exc}") from None
