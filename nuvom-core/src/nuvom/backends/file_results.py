"""The default result store: one msgpack file per job, replaced atomically.

Layout under ``<data_dir>/results``: ``<job id>.rec`` files and a ``tmp/`` folder for writes in
progress (unique names, then ``os.replace``), so a reader never sees half a record and two
writers never collide on a temp name.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from .. import serialization
from ..errors import BackendError, CorruptEntry, SerializationError
from ..names import MAX_ID_LENGTH, check_name
from ..record import JobRecord, JobStatus
from .base import BaseResults, is_expired, newest_first
from .data import Capability
from .fsutil import (
    fsync_path,
    make_private_dir,
    publish,
    read_whole,
    remove_stale_temp_files,
    storage_errors,
    write_temp,
)

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

_SUFFIX = ".rec"


class FileResults(BaseResults):
    """Job records as files; safe across the processes of one host."""

    name: ClassVar[str] = "file"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.CROSS_PROCESS, Capability.PERSISTENT}
    )

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self._tmp = self.root / "tmp"
        with storage_errors(self.root, "creating its folders"):
            make_private_dir(self._tmp)

    @classmethod
    def from_settings(cls, settings: Settings) -> FileResults:
        """The store under ``<NUVOM_DATA_DIR>/results``."""
        return cls(settings.data_dir / "results", fsync=settings.file_fsync)

    def _path(self, job_id: str) -> Path:
        """The file of ``job_id``, never outside the store whatever id a crafted entry carries.

        Raises:
            BackendError: when ``job_id`` is not a valid job id (``../../x``).
        """
        try:
            check_name("job id", job_id, max_length=MAX_ID_LENGTH)
        except ValueError as exc:
            raise BackendError(f"file results at {self.root}: {exc}") from None
        return self.root / f"{job_id}{_SUFFIX}"

    def _existing_path(self, job_id: str) -> Path | None:
        """The file of ``job_id``, or ``None`` for an id no record can be stored under."""
        try:
            return self._path(job_id)
        except BackendError:
            return None

    def save(self, record: JobRecord, *, durable: bool = True) -> None:
        self.save_many([record], durable=durable)

    def save_many(self, records: Sequence[JobRecord], *, durable: bool = True) -> None:
        """Write each record atomically; a batch is synced together (see ``fsutil.publish``)."""
        staged = [(serialization.dumps(r.to_dict(), path="record"), self._path(r.id)) for r in records]
        with storage_errors(self.root, f"storing {len(staged)} job record(s)"):
            publish(staged, self._tmp, fsync=durable and self.fsync)

    def save_new(self, record: JobRecord, *, durable: bool = True) -> bool:
        """Store ``record`` unless its id is taken.

        ``link(2)`` of a complete temp file fails when the target exists, so of two racing
        processes exactly one wins.
        """
        data = serialization.dumps(record.to_dict(), path="record")
        target = self._path(record.id)
        with storage_errors(self.root, f"storing the record of job {record.id}"):
            tmp = write_temp(self._tmp, data, fsync=durable and self.fsync)
            try:
                os.link(tmp, target)
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
            if durable and self.fsync:
                fsync_path(self.root)
        return True

    def _read(self, path: Path) -> JobRecord | None:
        try:
            data = read_whole(path)
        except FileNotFoundError:
            return None
        try:
            return JobRecord.from_dict(serialization.loads(data))
        except (SerializationError, CorruptEntry, AttributeError) as exc:
            raise CorruptEntry(f"result file {path} cannot be decoded: {exc}") from None

    def get_full(self, job_id: str) -> JobRecord | None:
        path = self._existing_path(job_id)
        record = None if path is None else self._read(path)
        return None if record is None or is_expired(record) else record

    def _all(self) -> Iterator[JobRecord]:
        for entry in os.scandir(self.root):
            if not entry.name.endswith(_SUFFIX):
                continue
            try:
                record = self._read(Path(entry.path))
            except CorruptEntry as exc:
                logger.warning("skipping %s", exc)
                continue
            if record is not None:
                yield record

    def list_jobs(self, status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[JobRecord]:
        now = time.time()
        return newest_first((r for r in self._all() if not is_expired(r, now)), status, limit, offset)

    def delete(self, job_id: str) -> bool:
        path = self._existing_path(job_id)
        if path is None:
            return False
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        return True

    def purge_expired(self, now: float | None = None) -> int:
        """Delete expired records, and temp files a crash left behind (older than an hour)."""
        now = now or time.time()
        expired = [r.id for r in self._all() if is_expired(r, now)]
        remove_stale_temp_files(self._tmp, now)
        return sum(self.delete(job_id) for job_id in expired)
