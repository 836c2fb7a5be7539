"""Eager mode: ``.delay()`` runs inline, through the same msgpack round trip a worker sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from nuvom import JobFailed, JobStatus, task
from nuvom.config import get_settings
from nuvom.errors import SerializationError
from nuvom.runtime import get_queue, get_results
from nuvom.testing import eager

received: list[tuple[tuple, dict]] = []


@pytest.fixture(autouse=True)
def clear_received() -> Iterator[None]:
    received.clear()
    yield
    received.clear()


@task(name="core_eager_echo")
def core_eager_echo(*args, **kwargs):
    received.append((args, kwargs))
    return {"args": list(args), "kwargs": kwargs}


@task(name="core_eager_fail")
def core_eager_fail():
    raise KeyError("missing")


@pytest.fixture(params=["env", "context"])
def eager_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Eager through NUVOM_EAGER=true, or through ``nuvom.testing.eager()``."""
    if request.param == "env":
        monkeypatch.setenv("NUVOM_EAGER", "true")
        assert get_settings().eager is True
        yield "env"
    else:
        assert get_settings().eager is False
        with eager():
            yield "context"
        assert get_settings().eager is False


def test_delay_runs_inline_and_stores_the_result(eager_mode: str) -> None:
    job = core_eager_echo.delay(1, "two", three=3)

    # it already ran: no worker, nothing in the queue
    assert received == [((1, "two"), {"three": 3})]
    assert get_queue().qsize() == 0
    assert job.status() is JobStatus.SUCCESS
    assert job.get(timeout=0) == {"args": [1, "two"], "kwargs": {"three": 3}}
    record = get_results().get_full(job.id)
    assert record is not None
    assert record.attempts == 1
    assert record.worker_id == "eager"


def test_arguments_go_through_the_msgpack_round_trip(eager_mode: str) -> None:
    when = dt.datetime(2024, 5, 6, 7, 8, tzinfo=dt.timezone.utc)
    original_list = [1, 2]

    core_eager_echo.delay((1, 2), {3, 4}, original_list, when=when)

    ((args, kwargs),) = received
    assert type(args[0]) is tuple and args[0] == (1, 2)
    assert type(args[1]) is set and args[1] == {3, 4}
    assert args[2] == [1, 2]
    assert args[2] is not original_list  # a decoded copy, not the caller's object
    assert kwargs == {"when": when}
    assert kwargs["when"].tzinfo == dt.timezone.utc


def test_an_unserializable_argument_raises_at_delay_and_runs_nothing(eager_mode: str) -> None:
    with pytest.raises(SerializationError) as info:
        core_eager_echo.delay(1, when=object())

    assert info.value.path == "kwargs['when']"
    assert received == []
    assert get_results().list_jobs() == []


def test_a_failure_is_stored_and_raised_by_get(eager_mode: str) -> None:
    job = core_eager_fail.delay()

    assert job.status() is JobStatus.FAILED
    with pytest.raises(JobFailed) as info:
        job.get(timeout=0)
    assert info.value.error_type == "KeyError"
    assert "missing" in info.value.error_message


def test_retries_run_inline(eager_mode: str) -> None:
    attempts: list[int] = []

    @task(name="core_eager_flaky", retries=3, retry_delay_secs=60)
    def flaky() -> int:
        attempts.append(len(attempts) + 1)
        if len(attempts) < 3:
            raise ConnectionError("try again")
        return len(attempts)

    job = flaky.delay()

    assert attempts == [1, 2, 3]  # without waiting the 60 s delay
    assert job.get(timeout=0) == 3
    assert job.info()["attempts"] == 3


def test_map_runs_every_item_inline(eager_mode: str) -> None:
    jobs = core_eager_echo.map([(1, 2), {"k": "v"}, "abc"])

    assert [job.get(timeout=0) for job in jobs] == [
        {"args": [1, 2], "kwargs": {}},
        {"args": [], "kwargs": {"k": "v"}},
        {"args": ["abc"], "kwargs": {}},
    ]
    assert get_queue().qsize() == 0


def test_without_eager_delay_only_enqueues() -> None:
    job = core_eager_echo.delay(1)

    assert received == []
    assert job.status() is JobStatus.QUEUED
    assert get_queue().qsize() == 1
