"""The file queue's read-only views and bulk deletes: counts, stats, ``clear`` and ``purge``."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from ..errors import CorruptEntry
from .data import QueueDepths, QueueStats
from .file_depths import count_depths
from .file_names import EntryName
from .file_quarantine import FileQuarantine
from .fsutil import list_for_popping, subfolders


class FileQueueInspection:
    """Mixin of :class:`~nuvom.backends.file_queue.FileQueue`, which sets these attributes."""

    root: Path
    _ready: Path
    _delayed: Path
    _leased: Path
    _quarantine: FileQuarantine
    _lock: threading.Lock
    _listings: dict[tuple[str, str], tuple[float, list[str]]]

    def _job_files(self, folder: Path, queue: str | None) -> dict[str, list[Path]]:
        """Job files per queue under ``folder`` (ready/ or delayed/), ignoring stray files."""
        files: dict[str, list[Path]] = {}
        queues = [queue] if queue is not None else subfolders(folder)
        for name in queues:
            found = files.setdefault(name, [])
            base = folder / name
            if folder is self._delayed:
                found.extend(base / entry for entry in list_for_popping(base))
                continue
            for priority in subfolders(base):
                found.extend(base / priority / entry for entry in list_for_popping(base / priority))
        return files

    def qsize(self, queue: str | None = None) -> int:
        return sum(
            len(paths)
            for folder in (self._ready, self._delayed)
            for paths in self._job_files(folder, queue).values()
        )

    def stats(self) -> QueueStats:
        ready = {q: len(p) for q, p in self._job_files(self._ready, None).items()}
        delayed = {q: len(p) for q, p in self._job_files(self._delayed, None).items()}
        by_queue = {q: ready.get(q, 0) + delayed.get(q, 0) for q in set(ready) | set(delayed)}
        return QueueStats(
            ready=sum(ready.values()),
            scheduled=sum(delayed.values()),
            leased=len(os.listdir(self._leased)),
            quarantined=self._quarantine.count(),
            by_queue=by_queue,
        )

    def depths(self, now: float) -> QueueDepths:
        """Jobs per queue and state (``DepthQueue``), from file names alone."""
        return count_depths(self.root, now)

    def clear(self) -> int:
        count = 0
        with self._lock:
            paths = [self._leased / entry for entry in os.listdir(self._leased)]
            for folder in (self._ready, self._delayed):
                paths += [p for group in self._job_files(folder, None).values() for p in group]
            for path in paths:
                try:
                    os.unlink(path)
                    count += 1
                except (FileNotFoundError, IsADirectoryError):
                    continue
            self._listings.clear()
        return count

    def purge(self, queue: str) -> list[str]:
        """Delete the waiting jobs of ``queue``; a job claimed meanwhile is not deleted."""
        purged = []
        with self._lock:
            for folder in (self._ready, self._delayed):
                for path in self._job_files(folder, queue).get(queue, []):
                    try:
                        name = EntryName.parse(path.name, delayed=folder is self._delayed)
                        os.unlink(path)
                    except (CorruptEntry, FileNotFoundError, IsADirectoryError):
                        continue
                    purged.append(name.job_id)
            self._listings.clear()
        return purged
