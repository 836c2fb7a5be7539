"""Fixtures and helpers for the nuvom-core unit tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from nuvom import runtime
from nuvom.backends.file_queue import FileQueue
from nuvom.backends.memory import MemoryQueue


@pytest.fixture(params=["memory", "file"])
def backend_name(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the test once with the memory backends and once with the file backends."""
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", request.param)
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", request.param)
    runtime.reset()
    return str(request.param)


@pytest.fixture
def file_queue_root(tmp_path: Path) -> Path:
    return tmp_path / "queue"


@pytest.fixture(params=["memory", "file"])
def queue(request: pytest.FixtureRequest, file_queue_root: Path) -> Iterator[MemoryQueue | FileQueue]:
    """A fresh queue backend instance of each built-in kind."""
    backend: MemoryQueue | FileQueue
    if request.param == "memory":
        backend = MemoryQueue()
    else:
        backend = FileQueue(file_queue_root, fsync=False)
    yield backend
    backend.close()
