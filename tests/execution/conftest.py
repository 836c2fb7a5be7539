"""A worker running in a thread of the test process, with a choice of pool."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from nuvom.config import get_settings
from nuvom.runtime import get_queue, get_results
from nuvom.worker import Worker

StartWorker = Callable[..., Worker]


@pytest.fixture
def exec_log(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = isolated_nuvom / "executions.log"
    monkeypatch.setenv("EXEC_LOG", str(path))
    return path


@pytest.fixture
def start_worker(exec_log: Path) -> Iterator[StartWorker]:
    """Start in-process workers (``Worker(**options).run`` on a thread); all stop at the end."""
    running: list[tuple[Worker, threading.Thread]] = []

    def start(**options: Any) -> Worker:
        worker = Worker(get_settings(), get_queue(), get_results(), **options)
        thread = threading.Thread(target=worker.run, kwargs={"install_signals": False}, daemon=True)
        thread.start()
        running.append((worker, thread))
        return worker

    yield start
    for worker, thread in running:
        worker.stop()
    for worker, thread in running:
        thread.join(30)
        assert not thread.is_alive(), "a worker did not stop"
