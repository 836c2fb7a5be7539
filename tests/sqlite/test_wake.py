"""An idle SQLite claimer wakes for a job another process commits (inotify on the WAL), and still
polls where files cannot be watched; the checks themselves are in tests/wake_checks.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuvom_sqlite import SqliteQueue, queue

from ..wake_checks import SLOW_SECS, check_no_wake_up_is_lost, check_wakes_for_another_process

pytest.importorskip("inotify_simple", reason="files are watched on Linux only")


def open_queue(path: Path, watch: bool) -> SqliteQueue:
    return SqliteQueue(path, watch=watch)


@pytest.fixture
def slow_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Polls so rare that only a wake-up can meet the checks' deadlines."""
    monkeypatch.setattr(queue, "_MIN_POLL_SECS", SLOW_SECS)
    monkeypatch.setattr(queue, "_MAX_POLL_SECS", SLOW_SECS)


@pytest.mark.usefixtures("slow_polls")
def test_an_idle_claimer_wakes_for_a_job_another_process_enqueues(tmp_path: Path) -> None:
    check_wakes_for_another_process(open_queue, tmp_path / "nuvom.db", watch=True)


@pytest.mark.usefixtures("slow_polls")
def test_no_wake_up_is_lost_with_several_producers_and_claimers(tmp_path: Path) -> None:
    check_no_wake_up_is_lost(open_queue, tmp_path / "nuvom.db")


def test_without_a_watch_an_idle_claimer_polls(tmp_path: Path) -> None:
    check_wakes_for_another_process(open_queue, tmp_path / "nuvom.db", watch=False)
