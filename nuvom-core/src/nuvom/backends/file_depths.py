"""Counts of the file queue by queue and state, read from directory listings only.

An entry's name carries its queue (its folder), due time and priority, and a lease's name its
queue, so counting opens no job file: the cost is one ``listdir`` per priority folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import CorruptEntry
from .data import QueueDepth, QueueDepths
from .file_names import NS, EntryName


def _listdir(folder: Path) -> list[str]:
    try:
        return os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _due_ns(name: str, *, delayed: bool) -> int | None:
    try:
        return EntryName.parse(name, delayed=delayed).due_ns
    except CorruptEntry:
        return None  # a stray file: the queue quarantines it on its next pass


def count_depths(root: Path, now: float) -> QueueDepths:
    """The :class:`QueueDepths` of the file queue under ``root`` as of ``now``."""
    now_ns = int(now * NS)
    counts: dict[str, list[int]] = {}
    oldest: dict[str, int] = {}

    def ready_at(queue: str, due_ns: int) -> None:
        counts.setdefault(queue, [0, 0, 0])[0] += 1
        oldest[queue] = min(oldest.get(queue, due_ns), due_ns)

    for queue in _listdir(root / "ready"):
        for priority in _listdir(root / "ready" / queue):
            for name in _listdir(root / "ready" / queue / priority):
                due = _due_ns(name, delayed=False)
                if due is not None:
                    ready_at(queue, due)
    for queue in _listdir(root / "delayed"):
        for name in _listdir(root / "delayed" / queue):
            due = _due_ns(name, delayed=True)
            if due is not None and due <= now_ns:  # due, not yet moved to ready/ by a sweep
                ready_at(queue, due)
            elif due is not None:
                counts.setdefault(queue, [0, 0, 0])[1] += 1
    for token in _listdir(root / "leased"):
        parts = token.split("~", 3)  # EXPIRY~OWNER~QUEUE~<ready name>
        if len(parts) == 4:
            counts.setdefault(parts[2], [0, 0, 0])[2] += 1
    return QueueDepths(
        by_queue={
            queue: QueueDepth(ready, scheduled, leased, oldest[queue] / NS if queue in oldest else None)
            for queue, (ready, scheduled, leased) in counts.items()
        },
        quarantined=sum(1 for name in _listdir(root / "quarantine") if not name.endswith(".reason")),
    )
