"""The file scheduler store: one file per schedule, changed under an ``flock`` across processes.

Reads need no lock (every write is an atomic rename of a whole file); ``add``, ``cancel``,
``claim_due`` and ``mark_fired`` hold an exclusive ``flock`` on ``<root>/.lock`` so that one
fire is claimed by one scheduler however many run on the host. An unreadable file is moved to
``quarantine/`` and reported, never fired.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..errors import CorruptEntry
from ..scheduling.record import ScheduleRecord
from . import locking
from .base import due_order, fired
from .data import Capability
from .fsutil import (
    FILE_MODE,
    fsync_path,
    make_private_dir,
    move,
    publish,
    remove_stale_temp_files,
    storage_errors,
)

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

_SUFFIX = ".schedule"


class FileScheduler:
    """Schedules as files under ``root``; safe across the processes of one host."""

    name: ClassVar[str] = "file"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT}
    )

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        locking.require("the file scheduler backend")
        self.root = root
        self._fsync = fsync
        self._tmp = root / "tmp"
        with storage_errors(self.root, "creating its folders"):
            make_private_dir(self._tmp)
        remove_stale_temp_files(self._tmp, time.time())

    @classmethod
    def from_settings(cls, settings: Settings) -> FileScheduler:
        """The store under ``<NUVOM_DATA_DIR>/schedules``."""
        return cls(settings.data_dir / "schedules", fsync=settings.file_fsync)

    def _path(self, schedule_id: str) -> Path:
        return self.root / f"{schedule_id}{_SUFFIX}"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
        try:
            locking.lock(fd)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def _write(self, schedules: list[ScheduleRecord]) -> None:
        with storage_errors(self.root, f"storing {len(schedules)} schedule(s)"):
            publish([(s.dumps(), self._path(s.id)) for s in schedules], self._tmp, fsync=self._fsync)

    def _read(self, path: Path) -> ScheduleRecord | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return ScheduleRecord.loads(data)
        except CorruptEntry as exc:
            target = self.root / "quarantine" / path.name
            if move(path, target):
                logger.error("schedule file %s is unreadable (%s); moved to %s", path, exc.reason, target)
            return None

    def _all(self) -> builtins.list[ScheduleRecord]:
        found = (self._read(self.root / name) for name in os.listdir(self.root) if name.endswith(_SUFFIX))
        return [s for s in found if s is not None]

    def add(self, schedule: ScheduleRecord) -> None:
        with self._locked():
            self._write([schedule])

    def get(self, schedule_id: str) -> ScheduleRecord | None:
        return self._read(self._path(schedule_id))

    def list(self) -> builtins.list[ScheduleRecord]:
        return sorted(self._all(), key=lambda s: (s.next_run, s.id))

    def cancel(self, schedule_id: str) -> bool:
        with self._locked():
            try:
                os.unlink(self._path(schedule_id))
            except FileNotFoundError:
                return False
            if self._fsync:
                fsync_path(self.root)
            return True

    def claim_due(self, now: float, limit: int, *, lease_secs: float = 30.0) -> builtins.list[ScheduleRecord]:
        with self._locked():
            claimed = [s.replace(claimed_until=now + lease_secs) for s in due_order(self._all(), now, limit)]
            if claimed:
                self._write(claimed)
            return claimed

    def mark_fired(self, schedule_id: str, fire_ts: float, next_run: float | None) -> bool:
        with self._locked():
            schedule = self.get(schedule_id)
            if schedule is None or schedule.next_run != fire_ts:
                return False
            if next_run is None:
                os.unlink(self._path(schedule_id))
                if self._fsync:
                    fsync_path(self.root)
            else:
                self._write([fired(schedule, fire_ts, next_run)])
            return True

    def close(self) -> None:
        """Nothing held open between calls."""
