"""Records read together with a claim, handed to the result store of the same process.

A worker reads each claimed job's record before running it. The claim script reads the records
of the jobs it claims and the queue leaves them here; the result store's ``get_full`` takes a
record from here once (then reads Redis again), so a worker spends no round trip on it. An entry
is as fresh as its claim and lives at most ``_TTL_SECS``; a record changed in that window by
someone else than the lease holder (only ``Job.cancel()`` does that) is seen as if the cancel
had come a moment later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Sequence
from typing import Any

_TTL_SECS = 2.0

_lock = threading.Lock()
_records: dict[tuple[Hashable, str], tuple[float, Any]] = {}


def leave(store: Hashable, items: Sequence[tuple[str, Any]]) -> None:
    """Leave ``(job id, record blob or None)`` pairs for the result store ``store``."""
    now = time.monotonic()
    with _lock:
        for key in [k for k, (at, _) in _records.items() if now - at > _TTL_SECS]:
            del _records[key]
        for job_id, blob in items:
            _records[(store, job_id)] = (now, blob)


def take(store: Hashable, job_id: str) -> tuple[bool, Any]:
    """``(True, blob)`` for a fresh record left for ``store``, removing it; else ``(False, None)``."""
    with _lock:
        entry = _records.pop((store, job_id), None)
    if entry is None or time.monotonic() - entry[0] > _TTL_SECS:
        return False, None
    return True, entry[1]
