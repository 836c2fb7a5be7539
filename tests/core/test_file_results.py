"""The file result store: exact round trips, listing, expiry, deletion."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nuvom import serialization
from nuvom.backends.file_results import FileResults
from nuvom.errors import CorruptEntry
from nuvom.record import ErrorInfo, JobRecord, JobStatus


@pytest.fixture
def store(tmp_path: Path) -> FileResults:
    results = FileResults(tmp_path / "results", fsync=False)
    yield results
    results.close()


def record(job_id: str, created_at: float = 1_700_000_000.0, **changes) -> JobRecord:
    base = JobRecord(
        id=job_id,
        task_name="core_results_task",
        queue="default",
        status=JobStatus.QUEUED,
        args=serialization.dumps([1, "two"]),
        kwargs=serialization.dumps({"k": (1, 2)}),
        created_at=created_at,
    )
    return base.replace(**changes)


def test_save_and_get_full_round_trip_every_field_exactly(store: FileResults) -> None:
    full = JobRecord(
        id="full-1",
        task_name="module.task",
        queue="emails",
        status=JobStatus.FAILED,
        args=serialization.dumps([b"\x00bytes", {1, 2}]),
        kwargs=serialization.dumps({"when": (3, 4)}),
        created_at=1_700_000_000.123456,
        priority=7,
        eta=1_700_000_100.5,
        max_retries=3,
        attempts=4,
        result=b"\xc0",
        error=ErrorInfo("ValueError", "bad 'value' \u2603", 'Traceback:\n  File "x.py", line 1\n'),
        worker_id="host:123:abcdef",
        started_at=1_700_000_001.25,
        finished_at=1_700_000_002.75,
        next_retry_at=None,
        expires_at=time.time() + 3600,
    )

    store.save(full)

    got = store.get_full("full-1")
    assert got == full
    assert type(got.status) is JobStatus
    assert type(got.error) is ErrorInfo
    assert store.get_error("full-1") == full.error


def test_save_replaces_the_whole_record(store: FileResults) -> None:
    store.save(record("j", error=ErrorInfo("E", "m"), attempts=1, status=JobStatus.RETRYING))

    done = record("j", attempts=2, status=JobStatus.SUCCESS, result=serialization.dumps(42))
    store.save(done, durable=False)

    assert store.get_full("j") == done
    assert store.get_result("j") == serialization.dumps(42)
    assert store.get_error("j") is None


def test_get_of_an_unknown_id_is_none(store: FileResults) -> None:
    assert store.get_full("nope") is None
    assert store.get_result("nope") is None
    assert store.get_error("nope") is None


def test_get_result_only_for_success(store: FileResults) -> None:
    store.save(record("running", status=JobStatus.RUNNING, result=b"\x01"))

    assert store.get_result("running") is None


def test_list_jobs_newest_first_with_status_filter_limit_and_offset(store: FileResults) -> None:
    statuses = [JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.SUCCESS, JobStatus.QUEUED, JobStatus.SUCCESS]
    for i, status in enumerate(statuses):
        # saved out of creation order, so listing order cannot come from the save order
        store.save(record(f"job-{i}", created_at=1000.0 + ((i * 3) % 5), status=status))
    # created_at: job-0 1000, job-1 1003, job-2 1001, job-3 1004, job-4 1002
    newest_first = ["job-3", "job-1", "job-4", "job-2", "job-0"]

    assert [r.id for r in store.list_jobs()] == newest_first
    assert [r.id for r in store.list_jobs(status=JobStatus.SUCCESS)] == ["job-4", "job-2", "job-0"]
    assert [r.id for r in store.list_jobs(status=JobStatus.FAILED)] == ["job-1"]
    assert store.list_jobs(status=JobStatus.CANCELLED) == []
    assert [r.id for r in store.list_jobs(limit=2)] == ["job-3", "job-1"]
    assert [r.id for r in store.list_jobs(limit=2, offset=2)] == ["job-4", "job-2"]
    assert [r.id for r in store.list_jobs(limit=10, offset=4)] == ["job-0"]
    assert store.list_jobs(offset=5) == []
    assert [r.id for r in store.list_jobs(status=JobStatus.SUCCESS, limit=1, offset=1)] == ["job-2"]


def test_an_expired_record_is_not_returned_and_purge_deletes_it(store: FileResults, tmp_path: Path) -> None:
    now = time.time()
    store.save(record("old", expires_at=now - 1))
    store.save(record("fresh", expires_at=now + 3600))
    store.save(record("forever"))

    assert store.get_full("old") is None
    assert store.get_result("old") is None
    assert {r.id for r in store.list_jobs()} == {"fresh", "forever"}
    assert (tmp_path / "results" / "old.rec").exists()  # hidden, not yet deleted

    assert store.purge_expired() == 1

    assert not (tmp_path / "results" / "old.rec").exists()
    assert store.get_full("fresh") is not None
    assert store.get_full("forever") is not None
    assert store.purge_expired() == 0


def test_purge_expired_uses_the_given_now(store: FileResults) -> None:
    store.save(record("soon", expires_at=time.time() + 100))

    assert store.purge_expired(now=time.time()) == 0
    assert store.purge_expired(now=time.time() + 200) == 1
    assert store.list_jobs() == []


def test_delete(store: FileResults) -> None:
    store.save(record("gone"))
    store.save(record("kept"))

    assert store.delete("gone") is True
    assert store.delete("gone") is False

    assert store.get_full("gone") is None
    assert [r.id for r in store.list_jobs()] == ["kept"]


def test_a_corrupt_record_file_is_skipped_by_listing_and_reported_by_get(
    store: FileResults, tmp_path: Path
) -> None:
    store.save(record("good"))
    (tmp_path / "results" / "bad.rec").write_bytes(b"\xc1 garbage")

    assert [r.id for r in store.list_jobs()] == ["good"]
    with pytest.raises(CorruptEntry):
        store.get_full("bad")


def test_records_are_shared_between_instances_on_one_root(store: FileResults, tmp_path: Path) -> None:
    store.save(record("shared", status=JobStatus.SUCCESS, result=b"\x05"))

    other = FileResults(tmp_path / "results", fsync=False)

    assert other.get_full("shared") == store.get_full("shared")
    assert not list((tmp_path / "results" / "tmp").iterdir())  # no temp file left behind
