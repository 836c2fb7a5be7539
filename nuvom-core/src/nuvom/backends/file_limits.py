"""The file queue's limiter: counters in files under ``<queue>/limits``, for the processes of one host.

Each key has one file named by a digest of the key, holding the key's counted starts and slot
leases as JSON; a call ``flock``-s it, reads it and writes it back in place. Counters are soft
state: they are not fsync-ed, and losing them (a host crash, or a process killed in the middle of
a write, which leaves JSON that is read as empty) only forgets recent starts and leases. Each call
reads and writes the key's whole window, so its cost grows with the starts in the window.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import locking
from .fsutil import FILE_MODE, make_private_dir, storage_errors
from .limits import PRUNE_PERIODS, slot_wait, window_wait


class FileLimiter:
    """A :class:`~nuvom.backends.limits.Limiter` in a folder, atomic across the processes of one host."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        with storage_errors(self.root, "creating its folder"):
            make_private_dir(self.root)

    @contextlib.contextmanager
    def _state(self, key: str) -> Iterator[dict[str, Any]]:
        """The key's state, locked; what the block leaves in it is written back."""
        path = self.root / hashlib.sha256(key.encode()).hexdigest()[:32]
        with storage_errors(self.root, f"updating the limits of key {key!r}"):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
            try:
                locking.lock(fd)
                before = os.pread(fd, os.fstat(fd).st_size, 0)
                state = _parse(before)
                yield state
                after = json.dumps(state).encode()
                if after != before:
                    os.pwrite(fd, after, 0)
                    os.ftruncate(fd, len(after))
            finally:
                os.close(fd)  # releases the lock

    def take_start(self, key: str, limit: int, period_secs: float, now: float) -> float:
        with self._state(key) as state:
            starts = [t for t in state["starts"] if t > now - PRUNE_PERIODS * period_secs]
            wait = window_wait(starts, limit, period_secs, now)
            if wait == 0.0:
                starts.append(now)
            state["starts"] = starts
            return wait

    def acquire_slot(self, key: str, limit: int, holder: str, lease_secs: float, now: float) -> float:
        with self._state(key) as state:
            leases = state["slots"] = {h: e for h, e in state["slots"].items() if e > now}
            wait = slot_wait(leases, limit, holder, now)
            if wait == 0.0:
                leases[holder] = now + lease_secs
            return wait

    def renew_slot(self, key: str, holder: str, lease_secs: float, now: float) -> bool:
        with self._state(key) as state:
            if state["slots"].get(holder, now) <= now:
                return False
            state["slots"][holder] = now + lease_secs
            return True

    def release_slot(self, key: str, holder: str) -> None:
        with self._state(key) as state:
            state["slots"].pop(holder, None)


def _parse(data: bytes) -> dict[str, Any]:
    """The state in ``data``; an empty one when there is none or it is unreadable (soft state)."""
    try:
        loaded = json.loads(data)
        starts = [float(t) for t in loaded["starts"]]
        slots = {str(h): float(e) for h, e in loaded["slots"].items()}
    except (ValueError, TypeError, KeyError, AttributeError):
        return {"starts": [], "slots": {}}
    return {"starts": starts, "slots": slots}
