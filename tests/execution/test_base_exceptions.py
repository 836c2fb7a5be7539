"""A task raising any BaseException fails its attempt, on every pool, and the worker goes on."""

from __future__ import annotations

from pathlib import Path

import pytest

from nuvom import JobStatus
from nuvom.lifecycle import error_info
from tests.e2e.helpers import wait_until

from . import exec_tasks as t
from .conftest import StartWorker

pytestmark = pytest.mark.timeout(60)

KINDS = list(t.BASE_EXCEPTIONS)


@pytest.mark.parametrize("pool", ["threads", "processes"])
def test_base_exceptions_fail_their_jobs_and_free_the_slot(
    start_worker: StartWorker, exec_log: Path, pool: str
) -> None:
    # Given one slot, jobs raising each BaseException, then an ordinary job
    jobs = [t.raise_base.delay(kind) for kind in KINDS]
    last = t.plus.delay(1, 2)

    # When they run
    worker = start_worker(pool=pool, concurrency=1)
    wait_until(lambda: all(job.status().is_terminal for job in [*jobs, last]), 30, "every job")

    # Then each failed with its own type, and the slot went on to the next job
    for job, kind in zip(jobs, KINDS, strict=True):
        record = job._record()
        assert record.status is JobStatus.FAILED and record.error is not None
        assert record.error.type == t.BASE_EXCEPTIONS[kind].__qualname__
    assert last.get(timeout=1) == 3
    # (a job counts as processed once acknowledged, just after its outcome is readable)
    wait_until(lambda: worker.processed == len(KINDS) + 1, 5, "every job to be acknowledged")


def test_async_base_exceptions_fail_their_jobs_and_the_event_loop_lives_on(
    start_worker: StartWorker, exec_log: Path
) -> None:
    # Given async jobs raising each BaseException (asyncio re-raises KeyboardInterrupt and
    # SystemExit out of its loop), then an ordinary async job
    jobs = [t.araise_base.delay(kind) for kind in KINDS]
    last = t.nap.delay(0.01)

    start_worker(concurrency=1)
    wait_until(lambda: all(job.status().is_terminal for job in [*jobs, last]), 30, "every job")

    for job, kind in zip(jobs, KINDS, strict=True):
        record = job._record()
        assert record.status is JobStatus.FAILED and record.error is not None
        assert record.error.type == t.BASE_EXCEPTIONS[kind].__qualname__
    assert last.get(timeout=1) == 0.01


class Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_an_exception_whose_str_raises_gets_a_placeholder_message() -> None:
    info = error_info(Unprintable())
    assert info.type == "Unprintable"
    assert info.message == "<Unprintable could not be shown: str() raised RuntimeError>"
