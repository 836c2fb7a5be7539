"""The in-process scheduler store: a dict behind a lock."""

from __future__ import annotations

import builtins
import threading
from typing import ClassVar

from ..scheduling.record import ScheduleRecord
from .base import due_order, fired
from .data import Capability


class MemoryScheduler:
    """Schedules in this process only: for tests and ``--with-scheduler`` on the memory backends."""

    name: ClassVar[str] = "memory"
    capabilities: ClassVar[frozenset[Capability]] = frozenset()

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._schedules: dict[str, ScheduleRecord] = {}

    def add(self, schedule: ScheduleRecord) -> None:
        with self._lock:
            self._schedules[schedule.id] = schedule

    def get(self, schedule_id: str) -> ScheduleRecord | None:
        with self._lock:
            return self._schedules.get(schedule_id)

    def list(self) -> builtins.list[ScheduleRecord]:
        with self._lock:
            return sorted(self._schedules.values(), key=lambda s: (s.next_run, s.id))

    def cancel(self, schedule_id: str) -> bool:
        with self._lock:
            return self._schedules.pop(schedule_id, None) is not None

    def claim_due(self, now: float, limit: int, *, lease_secs: float = 30.0) -> builtins.list[ScheduleRecord]:
        with self._lock:
            claimed = [
                s.replace(claimed_until=now + lease_secs)
                for s in due_order(self._schedules.values(), now, limit)
            ]
            self._schedules.update((s.id, s) for s in claimed)
            return claimed

    def mark_fired(self, schedule_id: str, fire_ts: float, next_run: float | None) -> bool:
        with self._lock:
            schedule = self._schedules.get(schedule_id)
            if schedule is None or schedule.next_run != fire_ts:
                return False
            if next_run is None:
                del self._schedules[schedule_id]
            else:
                self._schedules[schedule_id] = fired(schedule, fire_ts, next_run)
            return True

    def close(self) -> None:
        """Nothing to release."""
