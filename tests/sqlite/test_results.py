"""SQLite result store specifics: indexed listing, opportunistic purge, a busy database."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from nuvom.backends import Envelope
from nuvom.errors import BackendError
from nuvom.record import JobStatus
from nuvom.testing.suite.results import record
from nuvom.testing.suite.support import wait_for
from nuvom_sqlite import SqliteQueue, SqliteResults


def test_list_jobs_reads_an_index_in_order(tmp_path: Path) -> None:
    results = SqliteResults(tmp_path / "nuvom.db")
    sql = (
        "SELECT id, record FROM nuvom_results WHERE status = ? AND (expires_at IS NULL OR expires_at > ?) "
        "ORDER BY created_at DESC LIMIT ? OFFSET ?"
    )
    try:
        rows = results.database.query("EXPLAIN QUERY PLAN " + sql, ("success", time.time(), 50, 0))
    finally:
        results.close()

    text = "\n".join(str(row[-1]) for row in rows)
    assert "USING INDEX nuvom_results_status" in text, text
    assert "TEMP B-TREE" not in text, text


def test_save_many_purges_expired_records_now_and_then(tmp_path: Path) -> None:
    results = SqliteResults(tmp_path / "nuvom.db", purge_interval_secs=0.05)
    try:
        results.save(record("old", status=JobStatus.SUCCESS, expires_at=time.time() - 1))

        def saved_and_purged() -> bool:
            results.save(record("new", status=JobStatus.SUCCESS))
            return results.database.query("SELECT COUNT(*) FROM nuvom_results")[0][0] == 1

        wait_for(saved_and_purged, 5, "a save_many to purge the expired record")
        assert results.get_full("new") is not None
    finally:
        results.close()


@pytest.mark.timeout(30)
def test_a_write_waits_for_another_processs_write_lock(tmp_path: Path) -> None:
    # Given another connection holding the write lock for 0.3 s
    path = tmp_path / "nuvom.db"
    queue = SqliteQueue(path, busy_timeout_secs=10)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
    release.start()

    # When this queue enqueues meanwhile
    started = time.monotonic()
    queue.enqueue(Envelope("j", "default", b"x"))

    # Then it waited for the lock and stored the job
    assert time.monotonic() - started >= 0.25
    assert queue.qsize() == 1
    release.join()
    other.close()
    queue.close()


@pytest.mark.timeout(30)
def test_a_lock_held_past_the_busy_timeout_fails_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nuvom.db"
    queue = SqliteQueue(path, busy_timeout_secs=0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(BackendError, match="database is locked") as caught:
            queue.enqueue(Envelope("j", "default", b"x"))
    finally:
        other.execute("ROLLBACK")
        other.close()

    assert str(path) in str(caught.value)
    queue.enqueue(Envelope("j", "default", b"x"))  # and it works once the lock is free
    assert queue.qsize() == 1
    queue.close()
