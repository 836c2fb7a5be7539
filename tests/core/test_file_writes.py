"""Every file the file backends write is whole and durable, or the write raises and leaves nothing.

A fault-injecting ``os.write`` plays a nearly full disk for files under the test's folder only: it
stores part of what it is given (as Linux does when a disk fills up mid-write), nothing at all, or
fails with ENOSPC. The backends themselves are the real ones.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from nuvom.backends.file_queue import FileQueue
from nuvom.backends.file_results import FileResults
from nuvom.backends.file_scheduler import FileScheduler
from nuvom.errors import BackendError
from nuvom.record import JobStatus
from nuvom.testing.suite.results import record
from nuvom.testing.suite.scheduler import schedule
from nuvom.testing.suite.support import env, plant_corrupt_entry, pop

BIG = 200_000


@dataclass
class FaultyDisk:
    """``os.write`` for files under ``root``: halves each write, stores nothing, or runs out of space."""

    root: Path
    #: Each write stores at most half of what it is given (at least one byte).
    halve: bool = False
    #: Each write stores nothing and returns 0.
    stuck: bool = False
    #: Bytes left before the disk is full (ENOSPC); ``None`` for no limit.
    free: int | None = None

    def write(self, fd: int, data: bytes) -> int:
        if not os.readlink(f"/proc/self/fd/{fd}").startswith(str(self.root)):
            return _REAL_WRITE(fd, data)
        if self.stuck:
            return 0
        count = max(1, len(data) // 2) if self.halve else len(data)
        if self.free is not None:
            if self.free == 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            count = min(count, self.free)
            self.free -= count
        return _REAL_WRITE(fd, bytes(data[:count]))


_REAL_WRITE = os.write


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultyDisk]:
    faulty = FaultyDisk(tmp_path / "data")
    faulty.root.mkdir()
    monkeypatch.setattr(os, "write", faulty.write)
    yield faulty


def files_in(folder: Path) -> list[Path]:
    """Every file under ``folder`` but the (empty) lock files."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".lock"))


def test_short_writes_are_completed_in_every_file_the_backends_write(disk: FaultyDisk) -> None:
    # Given a disk on which every write stores at most half of what it is given
    disk.halve = True
    queue = FileQueue(disk.root / "queue", fsync=True)
    results = FileResults(disk.root / "results", fsync=True)
    schedules = FileScheduler(disk.root / "schedules", fsync=True)
    payload = os.urandom(BIG)

    # When each backend writes its files
    queue.enqueue_many([env("big", payload=payload)])
    results.save(record("saved", status=JobStatus.SUCCESS, result=payload))
    assert results.save_new(record("created", result=payload))
    schedules.add(schedule("nightly"))
    plant_corrupt_entry(queue, "default")
    leases = pop(queue)

    # Then everything reads back whole: entry, records, schedule and the quarantine's reason
    assert [lease.envelope.payload for lease in leases] == [payload]
    for job_id in ("saved", "created"):
        stored = results.get_full(job_id)
        assert stored is not None and stored.result == payload
    assert schedules.get("nightly") == schedule("nightly")
    (reason,) = (queue.root / "quarantine").glob("*.reason")
    assert reason.read_text().endswith("\n") and "cannot be decoded" in reason.read_text()
    queue.close()


def test_a_write_that_stores_nothing_raises_and_leaves_no_file(disk: FaultyDisk) -> None:
    # Given a disk on which a write stores nothing and reports 0 bytes, without an error
    results = FileResults(disk.root / "results", fsync=False)
    queue = FileQueue(disk.root / "queue", fsync=False)
    disk.stuck = True

    # When storing a record or queueing a job, then each raises naming its folder
    with pytest.raises(BackendError, match="0 of") as stored:
        results.save(record("r"))
    with pytest.raises(BackendError, match="0 of") as queued:
        queue.enqueue_many([env("j")])

    assert str(disk.root / "results") in str(stored.value)
    assert str(disk.root / "queue") in str(queued.value)
    # And no file was left: no record, no entry, no temp file
    assert files_in(disk.root) == []
    queue.close()


def test_a_batch_that_fills_the_disk_fails_whole_and_removes_its_temp_files(disk: FaultyDisk) -> None:
    # Given room for about two and a half of ten files
    queue = FileQueue(disk.root / "queue", fsync=True)
    results = FileResults(disk.root / "results", fsync=True)
    schedules = FileScheduler(disk.root / "schedules", fsync=True)
    payload = os.urandom(BIG)

    for store_batch in (
        lambda: queue.enqueue_many([env(f"j{i}", payload=payload) for i in range(10)]),
        lambda: results.save_many([record(f"r{i}", result=payload) for i in range(10)]),
        lambda: results.save_new(record("n", result=payload)),
        lambda: schedules.add(schedule("s", args=payload)),
    ):
        disk.free = BIG // 2

        # When the batch is stored
        with pytest.raises(BackendError, match="No space left on device") as caught:
            store_batch()

        # Then it raised naming the data folder, and left no file at all (nor any temp file)
        assert str(disk.root) in str(caught.value)
        assert files_in(disk.root) == [], caught.value
    assert queue.qsize() == 0
    queue.close()


def test_the_file_backends_store_normally_once_space_is_back(disk: FaultyDisk) -> None:
    # Given a store that failed to write for want of space
    results = FileResults(disk.root / "results", fsync=True)
    disk.free = 10
    with pytest.raises(BackendError):
        results.save(record("r", status=JobStatus.SUCCESS, result=b"x" * 1000))

    # When space is back
    disk.free = None
    results.save(record("r", status=JobStatus.SUCCESS, result=b"x" * 1000))

    # Then the record reads back whole
    stored = results.get_full("r")
    assert stored is not None and stored.result == b"x" * 1000


@pytest.mark.parametrize("backend", [FileQueue, FileResults, FileScheduler])
def test_a_data_folder_that_cannot_be_created_is_named(tmp_path: Path, backend: type) -> None:
    (tmp_path / "plain-file").write_text("")

    with pytest.raises(BackendError, match="creating its folders failed") as caught:
        backend(tmp_path / "plain-file" / "store")

    assert str(tmp_path / "plain-file" / "store") in str(caught.value)


def test_a_batch_whose_sync_fails_raises_and_leaves_no_file(
    disk: FaultyDisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a disk where the sync of one file of a batch fails (delayed allocation finds no room),
    # while the batch's files are synced several at once
    real_fsync = os.fsync
    synced: list[str] = []

    def fsync(fd: int) -> None:
        path = os.readlink(f"/proc/self/fd/{fd}")
        synced.append(path)
        if path.startswith(str(disk.root)) and path.endswith(".tmp") and len(synced) == 3:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    queue = FileQueue(disk.root / "queue", fsync=True)
    results = FileResults(disk.root / "results", fsync=True)

    for store_batch in (
        lambda: queue.enqueue_many([env(f"j{i}") for i in range(10)]),
        lambda: results.save_many([record(f"r{i}") for i in range(10)]),
    ):
        synced.clear()

        # When the batch is stored
        with pytest.raises(BackendError, match="Input/output error") as caught:
            store_batch()

        # Then it raised naming the data folder, and no file of the batch appeared
        assert str(disk.root) in str(caught.value)
        assert files_in(disk.root) == [], caught.value
    queue.close()
