"""The attempt state machine: the transitions a claimed job's attempt may take, and no others."""

from __future__ import annotations

import pytest

from nuvom.backends.base import Envelope, Lease
from nuvom.worker.attempt import Attempt, AttemptState, InvalidTransition

CLAIMED, RUNNING, TIMED_OUT, DONE = (
    AttemptState.CLAIMED,
    AttemptState.RUNNING,
    AttemptState.TIMED_OUT,
    AttemptState.DONE,
)


def attempt_in(*path: AttemptState) -> Attempt:
    """An attempt of job ``j1`` moved along ``path`` from ``CLAIMED``."""
    attempt = Attempt(Lease(Envelope("j1", "default", b""), deliveries=1, expires_at=0.0))
    with attempt.lock:
        for state in path:
            attempt.move(state)
    return attempt


def test_an_attempt_that_returns_in_time_ends_done_and_counts() -> None:
    attempt = attempt_in(RUNNING)

    assert not attempt.timed_out
    assert attempt.end() is False
    assert attempt.state is DONE


def test_a_timed_out_attempt_ends_done_and_reports_its_timeout() -> None:
    attempt = attempt_in(RUNNING, TIMED_OUT)

    assert attempt.timed_out
    assert attempt.end() is True
    assert attempt.state is DONE


@pytest.mark.parametrize(
    ("path", "wanted"),
    [
        ((), DONE),  # a job settled without running never ends an attempt
        ((), TIMED_OUT),  # only a running attempt times out
        ((RUNNING,), CLAIMED),
        ((RUNNING,), RUNNING),
        ((RUNNING, TIMED_OUT), RUNNING),
        ((RUNNING, DONE), TIMED_OUT),  # the monitor never times out an attempt that returned
        ((RUNNING, DONE), DONE),  # an attempt ends once
    ],
)
def test_any_other_transition_raises_naming_the_job_and_both_states(
    path: tuple[AttemptState, ...], wanted: AttemptState
) -> None:
    attempt = attempt_in(*path)
    before = attempt.state

    with pytest.raises(InvalidTransition) as raised, attempt.lock:
        attempt.move(wanted)

    assert str(raised.value) == f"job j1: an attempt cannot go from {before.value} to {wanted.value}"
    assert attempt.state is before
