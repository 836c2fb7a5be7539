"""The file backends pass the conformance suite, adopted as a third party would."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuvom.backends.file_queue import FileQueue
from nuvom.backends.file_results import FileResults
from nuvom.backends.file_scheduler import FileScheduler
from nuvom.testing.suite import *  # noqa: F403


@pytest.fixture
def queue_factory(tmp_path: Path):
    made: list[FileQueue] = []

    def make() -> FileQueue:
        made.append(FileQueue(tmp_path / "queue"))
        return made[-1]

    yield make
    for queue in made:
        queue.close()


@pytest.fixture
def results_factory(tmp_path: Path):
    return lambda: FileResults(tmp_path / "results")


@pytest.fixture
def scheduler_factory(tmp_path: Path):
    return lambda: FileScheduler(tmp_path / "schedules")
