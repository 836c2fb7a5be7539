"""Faults of the disk under the file backends, and crafted ids in the stores, end to end.

The disk is a real 4 MB tmpfs mounted for the test (root only; skipped otherwise), filled up with
a filler file to leave a few hundred KB: writes then stop short or fail with ENOSPC, as on a full
production disk. Workers are real ``nuvom runworker`` processes.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nuvom import runtime, serialization, task
from nuvom.backends import Envelope
from nuvom.errors import BackendError
from nuvom.message import JobMessage
from nuvom.record import JobStatus
from nuvom.runtime import get_queue, get_results

from ..e2e.helpers import WorkerProcess, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.chaos]

DISK_BYTES = 4 * 1024 * 1024
BIG = 400_000
CRAFTED = "../../escaped"

TASKS_MODULE = '''
import os
import time
from pathlib import Path

from nuvom import current_job, task


def log_run():
    fd = os.open(os.environ["DISK_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, f"{current_job().id}\\n".encode())
    finally:
        os.close(fd)


@task(name="disk.big_result")
def big_result(size):
    """Return ``size`` bytes of text once the gate file exists (or after 60 s)."""
    log_run()
    gate, deadline = Path(os.environ["DISK_GATE"]), time.monotonic() + 60
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return "x" * size


@task(name="disk.echo")
def echo(value):
    log_run()
    return value
'''


class SmallDisk:
    """A tmpfs of ``DISK_BYTES`` at ``path`` that a filler file fills up on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / "filler"

    def fill(self, leave: int) -> None:
        """Fill the disk, leaving about ``leave`` bytes free."""
        chunk = b"\0" * 65536
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            while True:
                try:
                    if os.write(fd, chunk) < len(chunk):
                        break
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
        finally:
            os.close(fd)
        os.truncate(self._filler, max(0, self._filler.stat().st_size - leave))

    def free_space(self) -> None:
        self._filler.unlink()

    def files(self) -> list[Path]:
        """Every file Nuvom left on the disk (not the filler, nor empty lock files)."""
        return sorted(
            p
            for p in self.path.rglob("*")
            if p.is_file() and p != self._filler and not p.name.endswith(".lock")
        )


@pytest.fixture
def small_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmallDisk]:
    """NUVOM_DATA_DIR on a 4 MB tmpfs, unmounted at the end of the test."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"a small tmpfs cannot be mounted here (needs root): {mounted.stderr.strip()}")
    try:
        monkeypatch.setenv("NUVOM_DATA_DIR", str(mount_point / ".nuvom"))
        runtime.reset()
        yield SmallDisk(mount_point)
    finally:
        runtime.reset()
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)


@pytest.fixture
def workers(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], WorkerProcess]]:
    """Start ``nuvom runworker`` processes on the disk tasks; each is stopped at the end."""
    (isolated_nuvom / "disk_tasks.py").write_text(TASKS_MODULE)
    monkeypatch.setenv("DISK_LOG", str(isolated_nuvom / "runs.log"))
    monkeypatch.setenv("DISK_GATE", str(isolated_nuvom / "gate"))
    monkeypatch.syspath_prepend(str(isolated_nuvom))
    sys.modules.pop("disk_tasks", None)
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        env = {"NUVOM_LEASE_SECS": "1", "NUVOM_MAX_DELIVERIES": "100", "NUVOM_LOG_LEVEL": "WARNING"}
        started.append(WorkerProcess(isolated_nuvom, "--concurrency", "1", env=env, module="disk_tasks"))
        return started[-1]

    yield start
    for worker in started:
        worker.stop(timeout=30)
    sys.modules.pop("disk_tasks", None)


def runs(isolated_nuvom: Path) -> list[str]:
    log = isolated_nuvom / "runs.log"
    return log.read_text().split() if log.exists() else []


@task(name="disk.args")
def takes_args(value: str) -> int:
    return len(value)


def test_delay_on_a_full_disk_raises_naming_the_data_folder_and_stores_nothing(small_disk: SmallDisk) -> None:
    # Given a data folder on a disk with about 100 KB left
    get_queue(), get_results()  # their folders exist
    small_disk.fill(leave=100_000)

    # When a job with a 400 KB argument is sent
    with pytest.raises(BackendError, match="No space left on device") as caught:
        takes_args.delay("x" * BIG)

    # Then the error names the data folder, and no record, entry or temp file is left
    assert str(small_disk.path / ".nuvom") in str(caught.value)
    assert get_results().list_jobs() == []
    assert get_queue().qsize() == 0
    assert small_disk.files() == []

    # And once space is back, the same call is sent
    small_disk.free_space()
    job = takes_args.delay("x" * BIG)
    assert get_queue().qsize() == 1 and get_results().get_full(job.id) is not None


def test_a_map_that_fills_the_disk_raises_and_removes_its_temp_files_at_once(small_disk: SmallDisk) -> None:
    # Given a data folder on a disk with about 1 MB left
    get_queue(), get_results()
    small_disk.fill(leave=1_000_000)

    # When 20 jobs of 100 KB each are sent in one .map()
    with pytest.raises(BackendError, match="No space left on device") as caught:
        takes_args.map([("y" * 100_000,) for _ in range(20)])

    # Then nothing is left on the disk: no record, no entry, no temp file waiting an hour
    assert str(small_disk.path / ".nuvom") in str(caught.value)
    assert small_disk.files() == []


@pytest.mark.timeout(180)
def test_an_outcome_that_cannot_be_stored_is_not_acked_and_is_stored_once_space_is_back(
    small_disk: SmallDisk, workers: Callable[[], WorkerProcess], isolated_nuvom: Path
) -> None:
    # Given a job running on a worker (lease 1 s), whose 400 KB result is not returned yet
    from disk_tasks import big_result  # type: ignore[import-not-found]

    job = big_result.delay(BIG)
    worker = workers()
    wait_until(lambda: runs(isolated_nuvom) == [job.id], 60, "the job to start")

    # When the disk fills up (about 100 KB left) and the task returns its result
    small_disk.fill(leave=100_000)
    (isolated_nuvom / "gate").touch()

    # Then, for three lease periods while the disk is full, the job is neither acknowledged nor
    # finished: its worker keeps the outcome and the lease (it is not delivered again)
    watch_until = time.monotonic() + 3.0
    while time.monotonic() < watch_until:
        record = get_results().get_full(job.id)
        assert record is not None and record.status is not JobStatus.SUCCESS, record
        assert get_queue().stats().leased == 1, "the job left its lease before its outcome was stored"
        time.sleep(0.05)  # a step of the watch, not a wait for an event

    # And once space is back its outcome is stored whole, from its one run
    small_disk.free_space()
    assert job.get(timeout=60) == "x" * BIG, worker.output()[-3000:]
    assert runs(isolated_nuvom) == [job.id]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("backend", ["file", "sqlite"])
def test_crafted_job_ids_are_quarantined_and_nothing_is_written_outside_the_data_folder(
    backend: str,
    workers: Callable[[], WorkerProcess],
    isolated_nuvom: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a data folder three levels down, on the backend under test
    data = isolated_nuvom / "a" / "b" / ".nuvom"
    monkeypatch.setenv("NUVOM_DATA_DIR", str(data))
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", backend)
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", backend)
    runtime.reset()
    from disk_tasks import echo  # type: ignore[import-not-found]

    # And entries planted in the store: one whose envelope carries a crafted id, one whose
    # payload does, between two good jobs
    args, kwargs = JobMessage.encode_call(["hostile"], {})
    crafted = JobMessage(CRAFTED, "disk.echo", args, kwargs, "default", 0, time.time()).encode()
    first = echo.delay("first")
    queue = get_queue()
    queue.enqueue_many([Envelope("crafted-payload", "default", crafted, 0)])
    if backend == "file":
        entry = {"id": CRAFTED, "queue": "default", "priority": 0, "eta": None, "payload": crafted}
        name = f"0-{time.time_ns():019d}~crafted-envelope~0~0"
        (data / "queue" / "ready" / "default" / "0" / name).write_bytes(serialization.dumps(entry))
    else:
        queue.enqueue_many([Envelope(CRAFTED, "default", crafted, 0)])
    last = echo.delay("last")

    # When a worker drains the queue
    workers()
    assert first.get(timeout=60) == "first" and last.get(timeout=60) == "last"
    wait_until(lambda: get_queue().stats().quarantined == 1, 30, "the crafted envelope to be quarantined")
    wait_until(
        lambda: (r := get_results().get_full("crafted-payload")) is not None and r.status is JobStatus.FAILED,
        30,
        "the job with a crafted payload id to fail",
    )

    # Then the crafted job never ran, failed as a corrupt entry naming the id, and stored nothing
    # under the crafted id, inside or outside the data folder
    assert sorted(runs(isolated_nuvom)) == sorted([first.id, last.id])
    failed = get_results().get_full("crafted-payload")
    assert failed is not None and failed.error is not None
    assert failed.error.type == "CorruptEntry" and "'../../escaped' is not valid" in failed.error.message
    assert get_results().get_full(CRAFTED) is None
    outside = [p for p in isolated_nuvom.rglob("*escaped*") if data not in p.parents]
    assert outside == []
    assert get_queue().qsize() == 0
