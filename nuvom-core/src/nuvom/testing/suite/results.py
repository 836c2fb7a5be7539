"""The result backend contract (``nuvom.backends.base.ResultBackend``) as pytest checks."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ... import serialization
from ...backends import Capability, CreatingResults, ResultBackend
from ...record import ErrorInfo, JobRecord, JobStatus
from .support import BackendFactory, closing_instances, requires, skip_unless_capable

_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/tasks.py", line 12, in send_email\n'
    "    raise ValueError(f'bad address {to!r}')\n"
    "ValueError: bad address 'a@x' \u2603\n"
)


def record(job_id: str, created_at: float = 1_700_000_000.0, **changes: Any) -> JobRecord:
    """A queued record with encoded arguments; ``changes`` override any field."""
    base = JobRecord(
        id=job_id,
        task_name="suite.task",
        queue="default",
        status=JobStatus.QUEUED,
        args=serialization.dumps([1, "two"]),
        kwargs=serialization.dumps({"k": (1, 2)}),
        created_at=created_at,
    )
    return base.replace(**changes)


class ResultBackendSuite:
    """Every sentence of the result store contract, one check each.

    Adopt it with ``from nuvom.testing.suite import *`` (which brings ``TestResultBackend``) or
    subclass it, and provide a ``results_factory`` fixture: a zero-argument callable returning a
    new backend instance over the same, initially empty store on each call within one check.
    """

    @pytest.fixture
    def make_results(self, results_factory: BackendFactory) -> Iterator[Callable[[], ResultBackend]]:
        """Instances from ``results_factory``, closed when the check ends."""
        yield from closing_instances(results_factory)

    @pytest.fixture
    def results(
        self, make_results: Callable[[], ResultBackend], request: pytest.FixtureRequest
    ) -> ResultBackend:
        """The backend under test; the check is skipped if it lacks a required capability."""
        backend = make_results()
        skip_unless_capable(backend, getattr(request, "function", None))
        left = backend.list_jobs(limit=1)
        assert left == [], f"the results_factory fixture must give each check an empty store; it holds {left}"
        return backend

    def test_save_then_get_full_returns_the_record_exactly(self, results: ResultBackend) -> None:
        """``save`` stores the whole record; ``get_full`` returns it exactly, every field and type."""
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
            error=ErrorInfo("ValueError", "bad 'value' \u2603", _TRACEBACK),
            worker_id="host:123:abcdef",
            started_at=1_700_000_001.25,
            finished_at=1_700_000_002.75,
            next_retry_at=None,
            expires_at=time.time() + 3600,
            links=b"\x81\xa1s\x90",
        )

        results.save(full)

        got = results.get_full("full-1")
        assert got == full, f"get_full returned {got!r}, saved {full!r}"
        assert type(got.status) is JobStatus, f"status came back as {type(got.status).__name__}"
        assert type(got.error) is ErrorInfo, f"error came back as {type(got.error).__name__}"

    def test_save_replaces_the_whole_record(self, results: ResultBackend) -> None:
        """``save`` replaces the whole record for its id: no field of the old one survives."""
        results.save(record("j", error=ErrorInfo("E", "m", "tb"), attempts=1, status=JobStatus.RETRYING))

        done = record("j", attempts=2, status=JobStatus.SUCCESS, result=serialization.dumps(42))
        results.save(done, durable=False)

        got = results.get_full("j")
        assert got == done, f"after a second save, get_full returned {got!r}"
        assert results.get_error("j") is None, "the old error survived a save that had none"

    def test_a_stored_none_result_is_not_a_missing_result(self, results: ResultBackend) -> None:
        """A job that returned ``None`` has a stored result (encoded ``None``), unlike one with no result."""
        results.save(record("none", status=JobStatus.SUCCESS, result=serialization.dumps(None)))
        results.save(record("pending"))

        stored = results.get_result("none")

        assert stored is not None, "get_result lost the encoded None of a successful job"
        assert serialization.loads(stored) is None, (
            f"the stored None decodes to {serialization.loads(stored)!r}"
        )
        assert results.get_result("pending") is None, "a queued job has a result"

    def test_nested_msgpack_types_round_trip(self, results: ResultBackend) -> None:
        """A result of nested msgpack extension types comes back as the very same bytes and value."""
        value = {
            "when": dt.datetime(2024, 3, 10, 1, 30, tzinfo=ZoneInfo("America/New_York")),
            "day": dt.date(2024, 2, 29),
            "span": dt.timedelta(days=1, microseconds=5),
            "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
            "price": Decimal("19.990"),
            "tags": {"a", "b"},
            "frozen": frozenset({1, 2}),
            "pair": (1, (2, [3, b"\x00\xff"])),
            "big": 2**80,
            "nested": [{"deep": [None, True, 1.5, "\u2603"]}],
        }
        encoded = serialization.dumps(value)
        results.save(record("nested", status=JobStatus.SUCCESS, result=encoded))

        stored = results.get_result("nested")

        assert stored == encoded, "the encoded result came back altered"
        assert serialization.loads(stored) == value, "the decoded result differs from the value stored"

    def test_a_stored_error_keeps_its_type_message_and_traceback(self, results: ResultBackend) -> None:
        """A failed job's error keeps its type, message and full traceback."""
        error = ErrorInfo("ValueError", "bad address 'a@x' \u2603", _TRACEBACK)
        results.save(record("failed", status=JobStatus.FAILED, error=error, finished_at=1_700_000_009.0))

        assert results.get_error("failed") == error, f"get_error returned {results.get_error('failed')!r}"
        assert results.get_result("failed") is None, "a failed job has a result"

    def test_status_transitions_are_each_stored(self, results: ResultBackend) -> None:
        """Each status a job passes through is stored, and read back, as the latest record."""
        job = record("j")
        steps = [
            job,
            job.replace(status=JobStatus.RUNNING, attempts=1, started_at=1.0, worker_id="w1"),
            job.replace(
                status=JobStatus.RETRYING, attempts=1, error=ErrorInfo("E", "m", "tb"), next_retry_at=5.0
            ),
            job.replace(status=JobStatus.RUNNING, attempts=2, started_at=6.0, worker_id="w2"),
            job.replace(
                status=JobStatus.SUCCESS, attempts=2, result=serialization.dumps("ok"), finished_at=7.0
            ),
        ]

        for step in steps:
            results.save(step, durable=step.status.is_terminal)
            got = results.get_full("j")
            assert got == step, f"after saving status {step.status.value}, get_full returned {got!r}"
            if step.status is JobStatus.RETRYING:
                assert results.get_error("j") == step.error, "get_error lost the error of a retrying job"

        assert results.get_result("j") == serialization.dumps("ok"), "the final result is not stored"
        assert results.get_error("j") is None, "the error of the retried attempt survived success"
        results.save(steps[-1].replace(status=JobStatus.CANCELLED, result=None))
        assert results.get_full("j") == steps[-1].replace(status=JobStatus.CANCELLED, result=None)

    def test_get_result_is_only_for_successful_jobs(self, results: ResultBackend) -> None:
        """``get_result`` returns the encoded result of a successful job, else ``None``."""
        results.save(record("running", status=JobStatus.RUNNING, result=b"\x01"))
        results.save(record("done", status=JobStatus.SUCCESS, result=b"\x02"))

        assert results.get_result("running") is None, "get_result returned the result of a running job"
        assert results.get_result("done") == b"\x02", "get_result lost a successful job's result"

    def test_an_unknown_id_has_no_record(self, results: ResultBackend) -> None:
        """An id never saved has no record, result or error: each read returns ``None``."""
        found = (results.get_full("nope"), results.get_result("nope"), results.get_error("nope"))

        assert found == (None, None, None), f"reads of an unknown id returned {found}"

    def test_list_jobs_is_newest_first_with_status_filter_and_paging(self, results: ResultBackend) -> None:
        """``list_jobs`` returns records newest first (by ``created_at``), filtered by status, paged."""
        statuses = [
            JobStatus.SUCCESS,
            JobStatus.FAILED,
            JobStatus.SUCCESS,
            JobStatus.QUEUED,
            JobStatus.SUCCESS,
        ]
        for i, status in enumerate(statuses):
            # saved out of creation order, so listing order cannot come from the save order
            results.save(record(f"job-{i}", created_at=1000.0 + ((i * 3) % 5), status=status))
        # created_at: job-0 1000, job-1 1003, job-2 1001, job-3 1004, job-4 1002

        def ids(status: JobStatus | None = None, limit: int = 50, offset: int = 0) -> list[str]:
            return [r.id for r in results.list_jobs(status=status, limit=limit, offset=offset)]

        cases = [
            (ids(), ["job-3", "job-1", "job-4", "job-2", "job-0"], "all"),
            (ids(JobStatus.SUCCESS), ["job-4", "job-2", "job-0"], "status=success"),
            (ids(JobStatus.FAILED), ["job-1"], "status=failed"),
            (ids(JobStatus.CANCELLED), [], "status=cancelled"),
            (ids(limit=2), ["job-3", "job-1"], "limit=2"),
            (ids(limit=2, offset=2), ["job-4", "job-2"], "limit=2, offset=2"),
            (ids(limit=10, offset=4), ["job-0"], "limit=10, offset=4"),
            (ids(offset=5), [], "offset=5"),
            (ids(JobStatus.SUCCESS, limit=1, offset=1), ["job-2"], "status=success, limit=1, offset=1"),
        ]
        for got, expected, call in cases:
            assert got == expected, f"list_jobs({call}) returned {got}, expected {expected}"

    def test_list_jobs_returns_at_most_50_by_default(self, results: ResultBackend) -> None:
        """``list_jobs`` returns at most 50 records unless given a ``limit``."""
        results.save_many([record(f"job-{i:02d}", created_at=1000.0 + i) for i in range(60)])

        listed = results.list_jobs()

        assert len(listed) == 50, f"list_jobs() returned {len(listed)} of 60 records, expected 50"
        assert listed[0].id == "job-59", f"the newest record listed first is {listed[0].id!r}"

    def test_save_many_stores_every_record(self, results: ResultBackend) -> None:
        """``save_many`` stores every record it is given."""
        batch = [
            record(f"many-{i}", status=JobStatus.SUCCESS, result=serialization.dumps(i)) for i in range(20)
        ]

        results.save_many(batch, durable=False)

        missing = [r.id for r in batch if results.get_full(r.id) != r]
        assert not missing, f"save_many did not store {missing}"

    def test_delete_removes_the_record(self, results: ResultBackend) -> None:
        """``delete`` removes the record and returns ``True`` only if there was one."""
        results.save(record("gone"))
        results.save(record("kept"))

        assert results.delete("gone") is True, "delete of a stored record returned False"
        assert results.delete("gone") is False, "a second delete returned True"
        assert results.delete("never") is False, "delete of an unknown id returned True"

        assert results.get_full("gone") is None, "a deleted record is still returned"
        listed = [r.id for r in results.list_jobs()]
        assert listed == ["kept"], f"after delete, list_jobs returned {listed}"

    def test_an_expired_record_is_never_returned(self, results: ResultBackend) -> None:
        """A record whose ``expires_at`` has passed is never returned, by any read."""
        now = time.time()
        results.save(record("old", status=JobStatus.SUCCESS, result=b"\x01", expires_at=now - 1))
        results.save(
            record("failed-old", status=JobStatus.FAILED, error=ErrorInfo("E", "m"), expires_at=now - 1)
        )
        results.save(record("fresh", expires_at=now + 3600))
        results.save(record("forever"))

        for job_id in ("old", "failed-old"):
            reads = (results.get_full(job_id), results.get_result(job_id), results.get_error(job_id))
            assert reads == (None, None, None), f"reads of the expired {job_id!r} returned {reads}"
        listed = sorted(r.id for r in results.list_jobs())
        assert listed == ["forever", "fresh"], f"list_jobs returned {listed} with expired records"

    def test_purge_expired_deletes_only_expired_records(self, results: ResultBackend) -> None:
        """``purge_expired`` deletes records past their ``expires_at`` and returns how many."""
        now = time.time()
        results.save(record("old", expires_at=now - 1))
        results.save(record("fresh", expires_at=now + 3600))
        results.save(record("forever"))

        purged = results.purge_expired()

        assert purged == 1, f"purge_expired() returned {purged}, expected 1"
        assert results.get_full("fresh") is not None and results.get_full("forever") is not None, (
            "purge_expired deleted a record that has not expired"
        )
        assert results.purge_expired() == 0, "a second purge_expired found more"

    def test_purge_expired_uses_the_given_now(self, results: ResultBackend) -> None:
        """``purge_expired(now)`` judges expiry at the given time, not the clock's."""
        results.save(record("soon", expires_at=time.time() + 100))

        assert results.purge_expired(now=time.time()) == 0, "purge_expired deleted a record before its time"
        assert results.purge_expired(now=time.time() + 200) == 1, "purge_expired ignored the given now"
        assert results.list_jobs() == [], "the purged record is still listed"

    @requires(Capability.PERSISTENT)
    def test_records_are_shared_between_instances(
        self, results: ResultBackend, make_results: Callable[[], ResultBackend]
    ) -> None:
        """Records survive the instance that saved them: another instance on the store reads them."""
        saved = record("shared", status=JobStatus.SUCCESS, result=b"\x05")
        results.save(saved)
        results.close()

        got = make_results().get_full("shared")

        assert got == saved, f"another instance read {got!r}"

    def test_save_new_stores_only_when_the_id_is_free(self, results: ResultBackend) -> None:
        """``save_new`` stores a record under a free id and returns ``True``; a taken id stores nothing."""
        if not isinstance(results, CreatingResults):
            pytest.skip("the backend does not implement save_new")
        first = record("unique-1")

        assert results.save_new(first) is True, "save_new refused a free id"
        assert results.save_new(record("unique-1", queue="other")) is False, "save_new took a taken id"
        assert results.get_full("unique-1") == first, "save_new replaced the record of a taken id"

    def test_save_new_of_racing_threads_has_one_winner(
        self, results: ResultBackend, make_results: Callable[[], ResultBackend]
    ) -> None:
        """Of many threads (each with its own instance) calling ``save_new`` for one id, exactly one wins."""
        if not isinstance(results, CreatingResults):
            pytest.skip("the backend does not implement save_new")
        instances = [results] + [make_results() for _ in range(7)]
        barrier = threading.Barrier(len(instances))
        wins: list[bool] = []

        def race(store: ResultBackend, n: int) -> None:
            assert isinstance(store, CreatingResults)
            barrier.wait()
            wins.append(store.save_new(record("contested", queue=f"q{n}")))

        threads = [threading.Thread(target=race, args=(store, n)) for n, store in enumerate(instances)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert wins.count(True) == 1, f"{wins.count(True)} of {len(wins)} racing save_new calls won"

    def test_close_is_idempotent(self, results: ResultBackend) -> None:
        """``close`` releases the instance and is idempotent."""
        results.save(record("j"))

        results.close()
        results.close()


__all__ = ["ResultBackendSuite", "record"]
