"""``task.schedule`` and the scheduler loop, in-process with an injected clock."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from nuvom import get_job, get_schedule, task
from nuvom.runtime import get_queue, get_results, get_scheduler_store
from nuvom.scheduling.runner import Scheduler, fire_job_id
from nuvom.testing import drain


@pytest.fixture(params=["memory", "file"])
def backends(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    for kind in ("QUEUE", "RESULT", "SCHEDULER"):
        monkeypatch.setenv(f"NUVOM_{kind}_BACKEND", request.param)
    return str(request.param)


#: One entry per execution of ``report`` in this process (``drain`` runs jobs here).
REPORT_RUNS: list[str] = []


@task(queue="reports", priority=3, retries=2)
def report(name: str) -> str:
    REPORT_RUNS.append(name)
    return f"report {name}"


def fires_sent() -> list[str]:
    leases = get_queue().pop_batch(100, queues=["reports"], timeout=0, lease_secs=30)
    for lease in leases:
        get_queue().ack(lease)
    return sorted(lease.id for lease in leases)


def test_an_interval_schedule_fires_once_per_fire_and_keeps_its_phase(backends: str) -> None:
    sched = report.schedule("daily", interval=60, schedule_id="r")
    first = get_scheduler_store().get("r")
    assert first is not None
    scheduler = Scheduler(get_scheduler_store())

    assert scheduler.run_once(first.next_run - 0.001) == 0, "fired before its time"
    assert scheduler.run_once(first.next_run + 0.3) == 1
    assert scheduler.run_once(first.next_run + 0.4) == 0, "the same fire went out twice"
    assert fires_sent() == [fire_job_id("r", first.next_run)]
    assert sched.next_run == datetime.fromtimestamp(first.next_run + 60, timezone.utc)


def test_fires_missed_within_the_grace_are_each_sent_and_older_ones_coalesced(backends: str) -> None:
    report.schedule("x", interval=10, schedule_id="r")
    start = get_scheduler_store().get("r")
    assert start is not None
    t = start.next_run

    # Ten fires were missed (t+10 .. t+90); the grace covers the last 60 s of them
    Scheduler(get_scheduler_store(), misfire_grace_secs=60).run_once(t + 95)

    expected = [t] + [t + k for k in (40, 50, 60, 70, 80, 90)]
    assert fires_sent() == sorted(fire_job_id("r", ts) for ts in expected)
    after = get_scheduler_store().get("r")
    assert after is not None and after.next_run == t + 100 and after.run_count == len(expected)


def test_with_no_grace_missed_fires_are_coalesced_into_one(backends: str) -> None:
    report.schedule("x", interval=10, schedule_id="r")
    start = get_scheduler_store().get("r")
    assert start is not None

    Scheduler(get_scheduler_store(), misfire_grace_secs=0).run_once(start.next_run + 95)

    assert fires_sent() == [fire_job_id("r", start.next_run)]
    after = get_scheduler_store().get("r")
    assert after is not None and after.next_run == start.next_run + 100 and after.run_count == 1


def test_a_fire_job_carries_the_tasks_options_and_runs(backends: str) -> None:
    report.options(retries=5).schedule("q", in_=timedelta(0))
    Scheduler(get_scheduler_store()).run_once(time.time() + 0.01)
    (job_id,) = [j.id for j in get_results().list_jobs()]
    info = get_job(job_id).info()
    assert (info["queue"], info["priority"], info["max_retries"]) == ("reports", 3, 5)
    assert drain(["reports"]) == 1
    assert get_job(job_id).get(timeout=1) == "report q"


def test_a_one_off_fires_once_and_is_gone(backends: str) -> None:
    at = datetime.now(timezone.utc) + timedelta(hours=1)
    sched = report.schedule("once", at=at)
    scheduler = Scheduler(get_scheduler_store())

    assert scheduler.run_once(at.timestamp() + 1) == 1
    assert scheduler.run_once(at.timestamp() + 3600) == 0
    assert fires_sent() == [fire_job_id(sched.id, at.timestamp())]
    assert sched.next_run is None


def test_a_cancelled_schedule_never_fires(backends: str) -> None:
    sched = report.schedule("x", cron="* * * * *")
    assert sched.cancel() is True
    assert Scheduler(get_scheduler_store()).run_once(time.time() + 3600) == 0
    assert fires_sent() == []
    assert sched.cancel() is False


def test_a_scheduler_that_dies_after_claiming_loses_no_fire(backends: str) -> None:
    report.schedule("x", interval=60, schedule_id="r")
    fire = get_scheduler_store().get("r")
    assert fire is not None
    now = fire.next_run + 1
    # A scheduler claims the fire and dies before sending it
    assert len(get_scheduler_store().claim_due(now, 10, lease_secs=30)) == 1

    survivor = Scheduler(get_scheduler_store(), lease_secs=30)
    assert survivor.run_once(now + 29) == 0, "the live claim of the dead scheduler was taken early"
    assert survivor.run_once(now + 30) == 1, "the fire was lost with its scheduler"
    assert fires_sent() == [fire_job_id("r", fire.next_run)]


def _claim_and_die_after(step: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, float]:
    """A scheduler claims the due fire of schedule "r", gets as far as ``step`` and dies.

    ``step`` is "sent" (the job is queued) or "stored" (its record is stored, the job not yet
    queued). Returns the fire's job id and the time the fire was claimed.
    """
    from nuvom.scheduling import runner
    from nuvom.scheduling.runner import send_fire

    report.schedule("x", interval=60, schedule_id="r")
    fire = get_scheduler_store().get("r")
    assert fire is not None
    now = fire.next_run + 1
    (claimed,) = get_scheduler_store().claim_due(now, 10, lease_secs=30)
    with monkeypatch.context() as patch:
        if step == "stored":
            patch.setattr(runner, "send", lambda *args, **kwargs: None)
        assert send_fire(claimed, now) is True
    return fire_job_id("r", fire.next_run), now


def _assert_marked_once() -> None:
    after = get_scheduler_store().get("r")
    assert after is not None and after.run_count == 1


def test_a_scheduler_that_dies_after_sending_doubles_no_fire(
    backends: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, now = _claim_and_die_after("sent", monkeypatch)
    drain(["reports"])  # a worker has run the fire's job

    survivor = Scheduler(get_scheduler_store(), lease_secs=30)
    assert survivor.run_once(now + 30) == 1
    assert survivor.sent == 0, "the fire's job was sent a second time"
    assert fires_sent() == []
    _assert_marked_once()
    assert get_job(job_id).get(timeout=0) == "report x"


def test_a_fire_still_queued_when_reclaimed_is_queued_again_and_runs_once(
    backends: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, now = _claim_and_die_after("sent", monkeypatch)

    survivor = Scheduler(get_scheduler_store(), lease_secs=30)
    assert survivor.run_once(now + 30) == 1
    _assert_marked_once()
    REPORT_RUNS.clear()
    drain(["reports"])  # both copies
    assert REPORT_RUNS == ["x"]
    assert get_job(job_id).get(timeout=0) == "report x"


def test_a_scheduler_that_dies_between_record_and_queue_loses_no_fire(
    backends: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id, now = _claim_and_die_after("stored", monkeypatch)
    assert get_job(job_id).status().value == "queued" and fires_sent() == []

    survivor = Scheduler(get_scheduler_store(), lease_secs=30)
    assert survivor.run_once(now + 30) == 1
    assert survivor.sent == 1
    _assert_marked_once()
    assert fires_sent() == [job_id]


def test_scheduling_again_with_the_same_id_keeps_the_schedule(backends: str) -> None:
    report.schedule("x", interval=60, schedule_id="r")
    first = get_scheduler_store().get("r")
    time.sleep(0.01)
    report.schedule("x", interval=60, schedule_id="r")
    assert get_scheduler_store().get("r") == first, "re-running the app moved or duplicated the schedule"
    report.schedule("x", interval=30, schedule_id="r")
    changed = get_scheduler_store().get("r")
    assert changed is not None and changed.interval_secs == 30
    assert [s.id for s in get_scheduler_store().list()] == ["r"]
    assert get_schedule("r").task_name == report.name


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give exactly one of at=, in_=, interval= or cron= (given: none)"),
        ({"interval": 5, "cron": "* * * * *"}, "(given: interval, cron)"),
        ({"cron": "61 * * * *"}, "cron '61 * * * *' is not valid"),
        ({"cron": "* * * *"}, "cron '* * * *' is not valid: use 5 fields"),
        (
            {"cron": "* * * * *", "timezone_name": "Mars/Olympus"},
            "timezone_name 'Mars/Olympus' is not a known",
        ),
        ({"interval": -1}, "interval -1 is not valid"),
        ({"interval": 0}, "interval 0 is not valid"),
        ({"in_": timedelta(seconds=-1)}, "in_ datetime.timedelta(days=-1, seconds=86399) is not valid"),
        ({"at": datetime(2030, 1, 1)}, "at 2030-01-01T00:00:00 is naive"),
        ({"interval": 5, "schedule_id": "bad id"}, "schedule_id 'bad id' is not valid"),
    ],
)
def test_bad_schedules_fail_naming_the_problem(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        report.schedule("x", **kwargs)
    assert message in str(caught.value)
    assert get_scheduler_store().list() == []


def test_in_zero_is_valid_and_due_now() -> None:
    sched = report.schedule("now", in_=timedelta(0))
    assert sched.next_run is not None
    assert sched.next_run <= datetime.now(timezone.utc)
