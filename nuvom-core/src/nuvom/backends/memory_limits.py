"""The in-process limiter of the memory queue: counters shared by the threads of one process."""

from __future__ import annotations

import threading

from .limits import PRUNE_PERIODS, slot_wait, window_wait


class MemoryLimiter:
    """A :class:`~nuvom.backends.limits.Limiter` kept in this process's memory."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._starts: dict[str, list[float]] = {}
        self._slots: dict[str, dict[str, float]] = {}

    def take_start(self, key: str, limit: int, period_secs: float, now: float) -> float:
        with self._lock:
            starts = [t for t in self._starts.get(key, []) if t > now - PRUNE_PERIODS * period_secs]
            wait = window_wait(starts, limit, period_secs, now)
            if wait == 0.0:
                starts.append(now)
            self._starts[key] = starts
            return wait

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
