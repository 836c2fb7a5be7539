"""The flow-control options where they are given, and what a worker does with them, in process."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from nuvom import get_job, task
from nuvom.backends.limits import LimitingQueue
from nuvom.backends.memory import MemoryQueue, MemoryResults
from nuvom.config import Settings, get_settings
from nuvom.errors import BackendFeatureMissing
from nuvom.message import JobMessage
from nuvom.runtime import get_queue, get_results
from nuvom.worker import Worker


@pytest.mark.parametrize("value", ["10/x", "0/s", "ten/s", 10, "10"])
def test_a_bad_rate_limit_is_named(isolated_nuvom: Path, value: Any) -> None:
    with pytest.raises(ValueError, match=r"rate_limit .* is not valid: use 'N/s', 'N/m' or 'N/h'"):
        task(name="bad_rate", rate_limit=value)(lambda: None)
    with pytest.raises(ValueError, match="rate_limit"):
        task(name="plain_options")(lambda: None).options(rate_limit=value)


def test_bad_concurrency_limits_and_limit_keys_are_named(isolated_nuvom: Path) -> None:
    with pytest.raises(ValueError, match="concurrency_limit 0 is not valid"):
        task(name="zero", concurrency_limit=0)(lambda: None)

    def charge(customer: str, amount: int) -> None: ...

    with pytest.raises(ValueError, match=r"limit_key 'client' of task 'charge' is not one of its arguments"):
        task(concurrency_limit=1, limit_key="client")(charge)


def test_a_call_rate_limit_travels_in_the_message_and_plain_jobs_keep_their_layout() -> None:
    plain = JobMessage("j1", "t", b"\x90", b"\x80", "default", 0, 1.0)
    limited = JobMessage("j2", "t", b"\x90", b"\x80", "default", 0, 1.0, rate_limit="5/m")
    assert JobMessage.decode(plain.encode()) == plain
    assert len(plain.encode()) < len(limited.encode())
    assert JobMessage.decode(limited.encode()) == limited


class LimitlessQueue:
    """A third-party queue without the optional limiter: the memory queue minus limiter() and defer()."""

    name = "limitless"

    def __init__(self) -> None:
        self._inner = MemoryQueue()

    def __getattr__(self, attr: str) -> Any:
        if attr in ("limiter", "defer"):
            raise AttributeError(attr)
        return getattr(self._inner, attr)


def test_a_queue_without_a_limiter_is_refused_for_limited_tasks(isolated_nuvom: Path) -> None:
    # Given a task with a rate limit and a queue backend that offers no limiter
    task(name="throttled", rate_limit="1/s")(lambda: None)
    queue = LimitlessQueue()
    assert not isinstance(queue, LimitingQueue)

    # Then a worker refuses to start, naming the backend and the task
    with pytest.raises(
        BackendFeatureMissing, match=r"queue backend 'limitless' offers no limiter.*throttled"
    ):
        Worker(Settings(), queue, MemoryResults())  # type: ignore[arg-type]


def test_a_call_rate_limit_spaces_the_starts(isolated_nuvom: Path, memory_backends: None) -> None:
    # Given three calls of an unlimited task, sent with a rate limit of 2/s
    echo = task(name="flow_call_echo")(lambda i: i)
    jobs = echo.options(rate_limit="2/s").map(range(3))

    # When one worker drains the queue
    Worker(get_settings(), get_queue(), get_results()).drain(timeout=10)

    # Then the third start waited for the first to leave its 1 s window, and no attempt was spent
    records = [get_job(j.id).info() for j in jobs]
    starts = sorted(r["started_at"] for r in records)
    assert starts[2] - starts[0] >= 1.0
    assert [r["attempts"] for r in records] == [1, 1, 1]
    assert [j.get(timeout=1) for j in jobs] == [0, 1, 2]


def test_a_schedule_at_a_past_time_warns_that_it_fires_now(isolated_nuvom: Path) -> None:
    nudge = task(name="nudge")(lambda: None)
    late = datetime.now(timezone.utc) - timedelta(minutes=5)
    with pytest.warns(UserWarning, match="is in the past; it fires now"):
        nudge.schedule(at=late, schedule_id="late")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same schedule again: stored already, no second warning
        nudge.schedule(at=late, schedule_id="late")
        nudge.schedule(in_=timedelta(seconds=30))


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        ((), {}, "sends due schedules"),
        (("--no-scheduler",), {}, "does not send schedules"),
        ((), {"NUVOM_WORKER_SCHEDULER": "false"}, "does not send schedules"),
        (("--with-scheduler",), {"NUVOM_WORKER_SCHEDULER": "false"}, "sends due schedules"),
    ],
)
def test_the_start_up_line_says_whether_the_worker_sends_schedules(
    isolated_nuvom: Path, args: tuple[str, ...], env: dict[str, str], line: str
) -> None:
    (isolated_nuvom / "one_task.py").write_text("from nuvom import task\n\n@task\ndef one():\n    return 1\n")
    done = subprocess.run(
        [sys.executable, "-m", "nuvom", "runworker", "--import", "one_task", "--burst", *args],
        cwd=isolated_nuvom,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert line in done.stderr + done.stdout
