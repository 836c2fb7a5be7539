"""The plugin: found through its entry point, configured by NUVOM_SQLITE_*, passes `nuvom plugin test`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuvom import runtime
from nuvom.backends import Envelope
from nuvom.cli.plugin import plugin_app
from nuvom.config import load_settings
from nuvom.errors import ConfigError
from nuvom.testing.suite.results import record
from nuvom_sqlite import SqliteQueue, SqliteResults, SqliteSettings


def test_nuvom_plugin_test_sqlite_passes_every_check() -> None:
    result = CliRunner().invoke(plugin_app, ["test", "sqlite"])

    assert result.exit_code == 0, result.output
    assert "queue backend conformance: sqlite" in result.output
    assert "result backend conformance: sqlite" in result.output
    assert "scheduler backend conformance: sqlite" in result.output
    # every capability is declared and complete_many is implemented: only the two checks of a
    # record read with the claim are skipped (the queue it builds reads none: read_records is on
    # only when the workers' result backend is the same file; tests/sqlite/test_conformance.py
    # runs those checks)
    assert "57 passed, 0 failed, 2 skipped" in result.output
    assert "19 passed, 0 failed, 0 skipped" in result.output
    assert "14 passed, 0 failed, 0 skipped" in result.output


def test_the_backends_are_chosen_by_name_and_share_the_default_file(
    isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "sqlite")
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", "sqlite")
    runtime.reset()

    queue, results = runtime.get_queue(), runtime.get_results()

    assert isinstance(queue, SqliteQueue) and isinstance(results, SqliteResults)
    assert queue.database.path == isolated_nuvom / ".nuvom" / "nuvom.db"
    assert queue.database.same_file(results.database)


def test_with_both_backends_on_sqlite_a_claim_carries_the_record(
    isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given both backends on the default file, a stored record and its job
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "sqlite")
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", "sqlite")
    runtime.reset()
    queue, results = runtime.get_queue(), runtime.get_results()
    stored = record("j")
    results.save(stored)
    queue.enqueue(Envelope("j", "default", b"x"))

    # When a worker claims it
    (lease,) = queue.pop_batch(1, queues=("default",), timeout=0, lease_secs=30)

    # Then the claim read the record: the worker need not read it again
    assert lease.record == stored


def test_the_plugin_settings_are_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUVOM_SQLITE_PATH", str(tmp_path / "elsewhere" / "jobs.db"))
    monkeypatch.setenv("NUVOM_SQLITE_SYNCHRONOUS", "FULL")
    monkeypatch.setenv("NUVOM_SQLITE_BUSY_TIMEOUT_SECS", "2.5")

    queue = SqliteQueue.from_settings(load_settings())
    try:
        assert queue.database.path == tmp_path / "elsewhere" / "jobs.db"
        assert queue.database.busy_timeout_secs == 2.5
        assert queue.database.read(lambda conn: conn.execute("PRAGMA synchronous").fetchone()[0]) == 2
        assert queue.database.read(lambda conn: conn.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"
    finally:
        queue.close()


def test_a_bad_synchronous_level_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NUVOM_SQLITE_SYNCHRONOUS", "OFF")

    with pytest.raises(ConfigError) as caught:
        SqliteSettings.load()

    assert caught.value.variable == "NUVOM_SQLITE_SYNCHRONOUS"
    assert "OFF" in str(caught.value)
