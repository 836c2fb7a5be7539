"""The names of the file queue's entries: each carries its priority, due time, id and counters.

A ready entry sorts by priority, then due time (``P-DUE~ID~ATTEMPTS~DELIVERIES``), a delayed one
by due time (``DUE-P~ID~ATTEMPTS~DELIVERIES``), so a folder listing is already in claim order and
counting the queue opens no job file.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import CorruptEntry

#: Nanoseconds per second: due times and lease expiries are integer nanoseconds in names.
NS = 1_000_000_000
#: The priority folders a queue's ``ready/`` folder may hold.
PRIORITIES = tuple(str(p) for p in range(10))


@dataclass(frozen=True)
class EntryName:
    """The fields of a ready or delayed entry's file name."""

    priority: int
    due_ns: int
    job_id: str
    attempts: int
    deliveries: int

    @property
    def ready(self) -> str:
        """The name under ``ready/<queue>/<priority>/``."""
        return f"{self.priority}-{self.due_ns:019d}~{self.job_id}~{self.attempts}~{self.deliveries}"

    @property
    def delayed(self) -> str:
        """The name under ``delayed/<queue>/``."""
        return f"{self.due_ns:019d}-{self.priority}~{self.job_id}~{self.attempts}~{self.deliveries}"

    @classmethod
    def parse(cls, name: str, *, delayed: bool = False) -> EntryName:
        """Read a ready (or, with ``delayed``, a delayed) entry's name.

        Raises:
            CorruptEntry: when ``name`` is not an entry's name.
        """
        try:
            key, job_id, attempts, deliveries = name.split("~")
            first, second = key.split("-")
            priority, due = (second, first) if delayed else (first, second)
            return cls(int(priority), int(due), job_id, int(attempts), int(deliveries))
        except ValueError:
            raise CorruptEntry(f"file name {name!r} is not a queue entry") from None
