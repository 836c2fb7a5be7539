"""What only the file result store does, seen from its files: hidden-then-purged expiry, corrupt
files, no temp leftovers. The result store contract itself is checked by the conformance suite
(tests/conformance)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nuvom.backends.file_results import FileResults
from nuvom.errors import CorruptEntry
from nuvom.record import JobStatus
from nuvom.testing.suite.results import record


@pytest.fixture
def store(tmp_path: Path) -> FileResults:
    results = FileResults(tmp_path / "results", fsync=False)
    yield results
    results.close()


def test_an_expired_record_is_hidden_until_purge_deletes_its_file(store: FileResults, tmp_path: Path) -> None:
    store.save(record("old", expires_at=time.time() - 1))

    assert store.get_full("old") is None
    assert (tmp_path / "results" / "old.rec").exists()  # hidden, not yet deleted

    assert store.purge_expired() == 1

    assert not (tmp_path / "results" / "old.rec").exists()


def test_a_corrupt_record_file_is_skipped_by_listing_and_reported_by_get(
    store: FileResults, tmp_path: Path
) -> None:
    store.save(record("good"))
    (tmp_path / "results" / "bad.rec").write_bytes(b"\xc1 garbage")

    assert [r.id for r in store.list_jobs()] == ["good"]
    with pytest.raises(CorruptEntry):
        store.get_full("bad")


def test_no_temp_file_is_left_behind(store: FileResults, tmp_path: Path) -> None:
    store.save(record("a"))
    store.save_many([record("b"), record("c", status=JobStatus.SUCCESS, result=b"\x05")])

    assert not list((tmp_path / "results" / "tmp").iterdir())
