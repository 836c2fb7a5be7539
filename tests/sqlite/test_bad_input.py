"""Bad database paths fail at once with a BackendError that names the path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nuvom import runtime
from nuvom.errors import BackendError
from nuvom_sqlite import SqliteQueue, SqliteResults


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="is a directory") as caught:
        SqliteQueue(tmp_path)

    assert str(tmp_path) in str(caught.value)


def test_a_file_that_is_not_a_database_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nuvom.db"
    path.write_bytes(b"this is certainly not a SQLite database file\n" * 100)

    with pytest.raises(BackendError, match="not a database") as caught:
        SqliteResults(path)

    assert str(path) in str(caught.value)


def test_a_path_below_a_regular_file_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("")
    path = tmp_path / "plain-file" / "nuvom.db"

    with pytest.raises(BackendError, match="cannot create its folder") as caught:
        SqliteQueue(path)

    assert str(path) in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(BackendError) as caught:
            SqliteQueue(folder / "nuvom.db")
    finally:
        folder.chmod(0o700)

    assert str(folder / "nuvom.db") in str(caught.value)


def test_the_runtime_reports_a_bad_path_from_the_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "sqlite")
    monkeypatch.setenv("NUVOM_SQLITE_PATH", str(tmp_path))
    runtime.reset()

    with pytest.raises(BackendError, match="is a directory") as caught:
        runtime.get_queue()

    assert str(tmp_path) in str(caught.value)
