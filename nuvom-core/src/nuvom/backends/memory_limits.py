"""The in-process limiter of the memory queue: counters shared by the threads of one process."""

from __future__ import annotations

import bisect
import threading

from .limits import MIN_WAIT_SECS, PRUNE_PERIODS, slot_wait


class MemoryLimiter:
    """A :class:`~nuvom.backends.limits.Limiter` kept in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._starts: dict[str, list[float]] = {}
        self._slots: dict[str, dict[str, float]] = {}

    def take_start(self, key: str, limit: int, period_secs: float, now: float) -> float:
        with self._lock:
            starts = self._starts.setdefault(key, [])  # sorted
            del starts[: bisect.bisect_right(starts, now - PRUNE_PERIODS * period_secs)]
            counted = len(starts) - bisect.bisect_right(starts, now - period_secs)
            if counted < limit:
                bisect.insort(starts, now)
                return 0.0
            # the window has room once the start at rank counted - limit has left it
            return max(MIN_WAIT_SECS, starts[len(starts) - limit] + period_secs - now)

    def _live(self, key: str, now: float) -> dict[str, float]:
        leases = {h: e for h, e in self._slots.get(key, {}).items() if e > now}
        self._slots[key] = leases
        return leases

    def acquire_slot(self, key: str, limit: int, holder: str, lease_secs: float, now: float) -> float:
        with self._lock:
            leases = self._live(key, now)
            wait = slot_wait(leases, limit, holder, now)
            if wait == 0.0:
                leases[holder] = now + lease_secs
            return wait

    def renew_slot(self, key: str, holder: str, lease_secs: float, now: float) -> bool:
        with self._lock:
            leases = self._live(key, now)
            if holder not in leases:
                return False
            leases[holder] = now + lease_secs
            return True

    def release_slot(self, key: str, holder: str) -> None:
        with self._lock:
            self._slots.get(key, {}).pop(holder, None)
