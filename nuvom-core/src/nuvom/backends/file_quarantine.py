"""The file queue's quarantine folder: entries that cannot be delivered, each with a ``.reason`` file."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

from ..errors import BackendError
from .data import Quarantined
from .fsutil import storage_errors, write_new

logger = logging.getLogger(__name__)


class FileQuarantine:
    """Moves entries aside into ``folder`` (on the queue's filesystem) and lists them back."""

    def __init__(self, folder: Path, *, root: Path, fsync: bool) -> None:
        self.folder = folder
        self._root = root
        self._fsync = fsync

    def move_aside(self, path: Path, reason: str) -> None:
        """Rename ``path`` into the folder and write its reason; nothing if it is gone already."""
        target = self.folder / f"{int(time.time())}-{uuid.uuid4().hex[:8]}-{path.name}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return
        logger.warning("quarantined %s: %s", path.name, reason)
        try:
            with storage_errors(self._root, f"writing why {target.name} was quarantined"):
                write_new(f"{target}.reason", f"{reason}\n".encode(), fsync=self._fsync)
        except BackendError as exc:  # the entry is set aside all the same: never fail a claim for it
            logger.warning("%s", exc)

    def count(self) -> int:
        """How many entries are set aside."""
        return sum(1 for name in os.listdir(self.folder) if not name.endswith(".reason"))

    def entries(self, limit: int = 1000) -> list[Quarantined]:
        """Up to ``limit`` entries, oldest first."""
        names = sorted(n for n in os.listdir(self.folder) if not n.endswith(".reason"))
        listed = []
        for name in names[:limit]:
            try:
                reason = (self.folder / f"{name}.reason").read_text().strip()
            except FileNotFoundError:  # moved aside just now; its reason is being written
                reason = "quarantined (no reason recorded)"
            listed.append(_entry(name, reason))
        return listed


def _entry(name: str, reason: str) -> Quarantined:
    """Read ``<time>-<hex>-<entry or lease name>`` back: the job id, and the queue of a lease."""
    stamp, _, original = name.partition("-")
    original = original.partition("-")[2]
    parts = original.split("~")
    queue, job_id = (parts[2], parts[4]) if len(parts) == 7 else (None, parts[1] if len(parts) == 4 else None)
    return Quarantined(job_id or None, reason, queue, float(stamp) if stamp.isdigit() else None)
