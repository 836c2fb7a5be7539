"""The SQLite backends pass the whole conformance suite, fenced completion included, on a real file."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuvom.testing.suite import *  # noqa: F403
from nuvom_sqlite import SqliteQueue, SqliteResults, SqliteScheduler


@pytest.fixture
def queue_factory(tmp_path: Path):
    # As a worker whose result backend is the same file has it: claims read the records too.
    return lambda: SqliteQueue(tmp_path / "nuvom.db", read_records=True)


@pytest.fixture
def results_factory(tmp_path: Path):
    return lambda: SqliteResults(tmp_path / "nuvom.db")


@pytest.fixture
def scheduler_factory(tmp_path: Path):
    return lambda: SqliteScheduler(tmp_path / "nuvom.db")
