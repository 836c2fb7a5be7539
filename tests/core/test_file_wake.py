"""An idle file-queue claimer wakes for a job another process enqueues (inotify), and still polls
where folders cannot be watched; the checks themselves are in tests/wake_checks.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuvom.backends import file_queue
from nuvom.backends.file_queue import FileQueue

from ..wake_checks import SLOW_SECS, check_no_wake_up_is_lost, check_wakes_for_another_process

pytest.importorskip("inotify_simple", reason="folders are watched on Linux only")


def open_queue(path: Path, watch: bool) -> FileQueue:
    return FileQueue(path, fsync=False, watch=watch)


@pytest.fixture
def slow_safety_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sweeps and polls so rare that only a wake-up can meet the checks' deadlines."""
    monkeypatch.setattr(file_queue, "_SWEEP_SECS", SLOW_SECS)
    monkeypatch.setattr(file_queue, "_POLL_SECS", SLOW_SECS)


@pytest.mark.usefixtures("slow_safety_paths")
def test_an_idle_claimer_wakes_for_a_job_another_process_enqueues(tmp_path: Path) -> None:
    check_wakes_for_another_process(open_queue, tmp_path / "queue", watch=True)


@pytest.mark.usefixtures("slow_safety_paths")
def test_no_wake_up_is_lost_with_several_producers_and_claimers(tmp_path: Path) -> None:
    check_no_wake_up_is_lost(open_queue, tmp_path / "queue")


def test_without_a_watch_an_idle_claimer_polls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(file_queue, "_SWEEP_SECS", SLOW_SECS)
    check_wakes_for_another_process(open_queue, tmp_path / "queue", watch=False)
