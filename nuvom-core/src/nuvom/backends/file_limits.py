"""The file queue's limiter: counters in files under ``<queue>/limits``, for the processes of one host.

Each key has two files named by a digest of the key: ``<digest>.lock``, ``flock``-ed for the
length of one call, and ``<digest>.json``, the key's counted starts and slot leases, replaced
whole by a rename. Counters are soft state: they are not fsync-ed, and losing them (a host crash)
only forgets recent starts and leases.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
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
        digest = hashlib.sha256(key.encode()).hexdigest()[:32]
        path = self.root / f"{digest}.json"
        with storage_errors(self.root, f"updating the limits of key {key!r}"):
            fd = os.open(self.root / f"{digest}.lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
            try:
                locking.lock(fd)
                state = _read(path)
                before = json.dumps(state, sort_keys=True)
                yield state
                text = json.dumps(state, sort_keys=True)
                if text != before:
                    tmp = self.root / f".{digest}.{uuid.uuid4().hex[:8]}.tmp"
                    tmp.write_text(text)
                    os.replace(tmp, path)
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


def _read(path: Path) -> dict[str, Any]:
    """The state in ``path``; an empty one when it is missing or unreadable (soft state)."""
    try:
        data = json.loads(path.read_text())
        starts = [float(t) for t in data["starts"]]
        slots = {str(h): float(e) for h, e in data["slots"].items()}
    except (FileNotFoundError, ValueError, TypeError, KeyError, AttributeError):
        return {"starts": [], "slots": {}}
    return {"starts": starts, "slots": slots}
