"""``nuvom runworker --pool processes`` as a real process: children, crashes, SIGTERM."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import JobStatus
from tests.e2e.helpers import WorkerProcess, imported_tasks, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def e2e_tasks(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    with imported_tasks(isolated_nuvom, monkeypatch) as tasks:
        yield tasks


def test_runworker_pool_processes(e2e_tasks: ModuleType, isolated_nuvom: Path) -> None:
    # Given ordinary jobs, a job that kills its process, and one that hangs past its timeout
    sums = [e2e_tasks.add.delay(i, i) for i in range(20)]
    crash = e2e_tasks.crash.delay("c")
    hang = e2e_tasks.hang.delay("h")

    # When a process-pool worker runs them
    worker = WorkerProcess(isolated_nuvom, "--pool", "processes", "--concurrency", "2")
    try:
        wait_until(lambda: all(j.status().is_terminal for j in [*sums, crash, hang]), 30, "all jobs")
    finally:
        code = worker.stop(timeout=20)

    # Then the worker survived the crash and the hang, and stopped cleanly on SIGTERM
    assert [j.get(timeout=1) for j in sums] == [2 * i for i in range(20)]
    assert crash._record().error.type == "WorkerLost"
    assert hang.status() is JobStatus.FAILED and hang._record().error.type == "JobTimeout"
    assert code == 0, worker.output()
    assert "(processes)" in worker.output()


def test_child_options_need_the_process_pool(e2e_tasks: ModuleType, isolated_nuvom: Path) -> None:
    worker = WorkerProcess(isolated_nuvom, "--max-jobs-per-child", "5")
    assert worker.wait(timeout=30) != 0
    assert "need --pool processes" in worker.output()
