"""Retry delays, the retry decision in ``settle``, and retries end to end on the memory backends."""

from __future__ import annotations

import random
import statistics
import time

import pytest

from nuvom import JobStatus, Retry, task
from nuvom.lifecycle import Outcome, settle
from nuvom.options import Effective
from nuvom.record import ErrorInfo, JobRecord
from nuvom.retry import backoff_delay
from nuvom.testing import drain

# -- backoff_delay ----------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 8, 12, 40, 100, 5000])
def test_backoff_delay_stays_within_full_jitter_bounds(attempt: int) -> None:
    rng = random.Random(1234 + attempt)
    base, cap = 0.5, 60.0
    ceiling = cap if attempt > 64 else min(cap, base * 2 ** (attempt - 1))

    samples = [backoff_delay(attempt, base=base, backoff=True, cap=cap, rng=rng) for _ in range(2000)]

    assert all(0.0 <= d <= ceiling for d in samples)
    # full jitter spreads over the whole range, not a thin band
    assert min(samples) < 0.1 * ceiling
    assert max(samples) > 0.9 * ceiling


def test_mean_backoff_delay_grows_with_the_attempt_number_until_the_cap() -> None:
    rng = random.Random(42)
    base, cap = 1.0, 16.0

    means = [
        statistics.fmean(backoff_delay(n, base=base, backoff=True, cap=cap, rng=rng) for _ in range(3000))
        for n in range(1, 7)
    ]

    assert means[0] < means[1] < means[2] < means[3] < means[4]
    # mean of uniform[0, c] is c/2
    for n, mean in enumerate(means, start=1):
        assert mean == pytest.approx(min(cap, base * 2 ** (n - 1)) / 2, rel=0.1)


def test_backoff_delay_is_reproducible_with_a_seeded_rng() -> None:
    first = [backoff_delay(3, base=1, backoff=True, cap=10, rng=random.Random(7)) for _ in range(3)]
    second = [backoff_delay(3, base=1, backoff=True, cap=10, rng=random.Random(7)) for _ in range(3)]

    assert first == second


@pytest.mark.parametrize("attempt", [1, 2, 10])
def test_without_backoff_the_delay_is_the_base(attempt: int) -> None:
    assert backoff_delay(attempt, base=2.5, backoff=False, cap=1.0, rng=random.Random(0)) == 2.5


def test_zero_base_gives_zero_delay() -> None:
    assert backoff_delay(5, base=0.0, backoff=True, cap=60, rng=random.Random(0)) == 0.0


# -- settle -----------------------------------------------------------------------------------


def effective(max_retries: int = 2, *, backoff: bool = False, delay: float = 3.0) -> Effective:
    return Effective(
        max_retries=max_retries,
        timeout_secs=300,
        timeout_policy="fail",
        retry_delay_secs=delay,
        retry_backoff=backoff,
        retry_backoff_max_secs=600,
        store_result=True,
        result_ttl_secs=None,
    )


def running(attempts: int) -> JobRecord:
    return JobRecord(
        id="job-1",
        task_name="t",
        queue="default",
        status=JobStatus.RUNNING,
        args=b"\x90",
        kwargs=b"\x80",
        created_at=time.time(),
        attempts=attempts,
        max_retries=2,
    )


ERROR = ErrorInfo("ValueError", "bad", "Traceback ...")


@pytest.mark.parametrize("attempts", [1, 2])
def test_settle_retries_while_attempts_do_not_exceed_max_retries(attempts: int) -> None:
    before = time.time()

    record = settle(running(attempts), Outcome(error=ERROR), effective(max_retries=2, delay=3.0))

    assert record.status is JobStatus.RETRYING
    assert record.error == ERROR
    assert record.next_retry_at is not None
    assert before + 3.0 <= record.next_retry_at <= time.time() + 3.0
    assert record.attempts == attempts


def test_settle_fails_once_the_retries_are_used_up() -> None:
    record = settle(running(3), Outcome(error=ERROR), effective(max_retries=2))

    assert record.status is JobStatus.FAILED
    assert record.error == ERROR
    assert record.next_retry_at is None
    assert record.finished_at is not None


def test_settle_with_no_retries_fails_on_the_first_error() -> None:
    record = settle(running(1), Outcome(error=ERROR), effective(max_retries=0))

    assert record.status is JobStatus.FAILED


def test_a_permanent_failure_never_retries() -> None:
    record = settle(running(1), Outcome(error=ERROR, permanent=True), effective(max_retries=5))

    assert record.status is JobStatus.FAILED
    assert record.next_retry_at is None


def test_a_requested_retry_delay_is_honoured_over_the_backoff() -> None:
    before = time.time()

    record = settle(
        running(1), Outcome(error=ERROR, requested_delay=42.0), effective(max_retries=3, backoff=True)
    )

    assert record.status is JobStatus.RETRYING
    assert before + 42.0 <= record.next_retry_at <= time.time() + 42.0


def test_settle_success_stores_the_result_and_clears_the_error() -> None:
    retried = running(2).replace(error=ERROR)

    record = settle(retried, Outcome(result=b"\x07"), effective())

    assert record.status is JobStatus.SUCCESS
    assert record.result == b"\x07"
    assert record.error is None
    assert record.expires_at is None


# -- end to end on the memory backends ---------------------------------------------------------


@pytest.mark.usefixtures("memory_backends")
def test_a_task_failing_twice_then_succeeding_ends_success_after_three_attempts() -> None:
    seen: list[int] = []

    @task(name="core_retry_flaky", retries=2, retry_delay_secs=0.01)
    def flaky() -> str:
        seen.append(len(seen) + 1)
        if len(seen) <= 2:
            raise ConnectionError(f"attempt {len(seen)} failed")
        return "finally"

    job = flaky.delay()
    drain(timeout=10)

    assert seen == [1, 2, 3]
    info = job.info()
    assert info["status"] == "success"
    assert info["attempts"] == 3
    assert info["error"] is None
    assert job.get(timeout=1) == "finally"


@pytest.mark.usefixtures("memory_backends")
def test_a_task_that_keeps_failing_fails_after_its_retries() -> None:
    seen: list[int] = []

    @task(name="core_retry_always", retries=2, retry_delay_secs=0.01)
    def always() -> None:
        seen.append(1)
        raise ConnectionError("down")

    job = always.delay()
    drain(timeout=10)

    assert len(seen) == 3
    assert job.status() is JobStatus.FAILED
    assert job.info()["attempts"] == 3
    assert job.info()["error"]["type"] == "ConnectionError"


@pytest.mark.usefixtures("memory_backends")
def test_raise_retry_with_a_delay_is_honoured_and_counts_against_retries() -> None:
    seen: list[float] = []

    @task(name="core_retry_explicit", retries=1, retry_delay_secs=30)
    def explicit() -> str:
        seen.append(time.monotonic())
        if len(seen) == 1:
            raise Retry(delay=0.05)
        return "ok"

    job = explicit.delay()
    drain(timeout=10)

    assert job.get(timeout=1) == "ok"
    assert len(seen) == 2
    assert seen[1] - seen[0] >= 0.05  # not before the requested delay
    assert seen[1] - seen[0] < 10  # and not the task's 30 s delay
    assert job.info()["attempts"] == 2
