"""End-to-end fixtures: a project directory with the task module, and worker processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from .helpers import WorkerProcess, imported_tasks


@pytest.fixture
def project(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The e2e task module, imported here from the test's working directory."""
    with imported_tasks(isolated_nuvom, monkeypatch) as tasks:
        yield tasks


@pytest.fixture
def exec_log(isolated_nuvom: Path) -> Path:
    return isolated_nuvom / "executions.log"


@pytest.fixture
def start_worker(isolated_nuvom: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``nuvom runworker`` (or ``command``) subprocesses; each is stopped at the end of the test."""
    started: list[WorkerProcess] = []

    def start(*args: str, env: dict[str, str] | None = None, command: str = "runworker") -> WorkerProcess:
        worker = WorkerProcess(isolated_nuvom, *args, env=env, command=command)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop(timeout=10)
