"""The ``Job`` handle on the memory and on the file backends."""

from __future__ import annotations

import time

import pytest

from nuvom import JobCancelled, JobFailed, JobStatus, get_job, task
from nuvom.errors import JobNotFound
from nuvom.runtime import get_queue
from nuvom.testing import drain

pytestmark = pytest.mark.usefixtures("backend_name")

calls: list[str] = []


@pytest.fixture(autouse=True)
def clear_calls():
    calls.clear()
    yield
    calls.clear()


@task(name="core_job_add")
def core_job_add(a, b, *, scale=1):
    calls.append("add")
    return (a + b) * scale


@task(name="core_job_nothing")
def core_job_nothing():
    calls.append("nothing")


@task(name="core_job_boom")
def core_job_boom(word):
    calls.append("boom")
    raise ValueError(f"boom: {word}")  # the line the traceback must show


def test_status_is_queued_then_success_after_drain_and_get_returns_the_result() -> None:
    job = core_job_add.delay(2, 3, scale=10)

    assert job.status() is JobStatus.QUEUED
    assert job.task_name == "core_job_add"
    assert calls == []

    assert drain() == 1

    assert job.status() is JobStatus.SUCCESS
    assert job.get() == 50
    assert job.get(timeout=0) == 50
    assert calls == ["add"]


def test_a_none_result_is_returned_at_once_not_waited_for() -> None:
    job = core_job_nothing.delay()
    drain()

    started = time.monotonic()
    assert job.get(timeout=5) is None
    assert time.monotonic() - started < 1.0
    assert job.status() is JobStatus.SUCCESS
    assert calls == ["nothing"]


def test_get_with_a_timeout_on_an_undrained_job_raises_timeout_error() -> None:
    job = core_job_add.delay(1, 1)

    started = time.monotonic()
    with pytest.raises(TimeoutError):
        job.get(timeout=0.05)
    elapsed = time.monotonic() - started

    assert 0.04 <= elapsed < 1.0
    assert job.status() is JobStatus.QUEUED


def test_failure_raises_job_failed_with_the_remote_type_message_and_traceback() -> None:
    job = core_job_boom.delay("kaput")
    drain()

    assert job.status() is JobStatus.FAILED
    with pytest.raises(JobFailed) as info:
        job.get(timeout=1)

    err = info.value
    assert err.job_id == job.id
    assert err.error_type == "ValueError"
    assert err.error_message == "boom: kaput"
    assert 'raise ValueError(f"boom: {word}")' in err.remote_traceback
    assert "core_job_boom" in err.remote_traceback
    assert "ValueError: boom: kaput" in err.remote_traceback


def test_get_job_of_an_unknown_id_raises_job_not_found() -> None:
    with pytest.raises(JobNotFound) as info:
        get_job("no-such-job")

    assert info.value.job_id == "no-such-job"


def test_get_job_finds_a_job_by_id() -> None:
    job = core_job_add.delay(4, 5)
    drain()

    again = get_job(job.id)

    assert again == job
    assert again.task_name == "core_job_add"
    assert again.get(timeout=1) == 9


def test_info_decodes_args_kwargs_and_result() -> None:
    job = core_job_add.delay(2, 5, scale=3)
    before = job.info()
    drain()

    info = job.info()

    assert before["status"] == "queued"
    assert before["result"] is None
    assert info["id"] == job.id
    assert info["task_name"] == "core_job_add"
    assert info["status"] == "success"
    assert info["args"] == [2, 5]
    assert info["kwargs"] == {"scale": 3}
    assert info["result"] == 21
    assert info["attempts"] == 1
    assert info["queue"] == "default"
    assert info["error"] is None
    assert info["created_at"] <= info["started_at"] <= info["finished_at"]
    assert info["worker_id"]


def test_cancel_before_run_stops_the_job_from_running() -> None:
    job = core_job_add.delay(1, 2)

    assert job.cancel() is True

    assert job.status() is JobStatus.CANCELLED
    drain()
    assert calls == []  # the function's side effect did not happen
    assert job.status() is JobStatus.CANCELLED
    with pytest.raises(JobCancelled) as info:
        job.get(timeout=1)
    assert info.value.job_id == job.id
    assert get_queue().qsize() == 0  # acknowledged, not left behind
    assert job.cancel() is False  # already terminal


def test_cancel_after_success_changes_nothing() -> None:
    job = core_job_add.delay(1, 2)
    drain()

    assert job.cancel() is False

    assert job.status() is JobStatus.SUCCESS
    assert job.get() == 3
