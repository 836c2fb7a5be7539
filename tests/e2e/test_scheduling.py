"""Schedules dispatched by real scheduler processes to a real worker, on the file backends."""

from __future__ import annotations

import pytest

from nuvom import JobStatus, get_job, get_schedule
from nuvom.runtime import get_results, get_scheduler_store

from .helpers import executions, wait_until

pytestmark = pytest.mark.slow

FIRES = 6


def test_three_schedulers_send_each_interval_fire_exactly_once(project, start_worker, exec_log) -> None:
    # Given: an interval schedule of 1 s, three schedulers and one worker
    schedule = project.nothing.schedule("tick", interval=1, schedule_id="tick")
    worker = start_worker("--concurrency", "2", "--no-scheduler")  # only the three schedulers send
    schedulers = [start_worker("--poll", "0.05", command="runscheduler") for _ in range(3)]
    store = get_scheduler_store()

    # When: they run until the schedule has fired FIRES times, then the schedulers stop
    def run_count() -> int:
        record = store.get("tick")
        assert record is not None
        return record.run_count

    wait_until(lambda: run_count() >= FIRES, timeout=FIRES + 15, what=f"{FIRES} fires")
    for scheduler in schedulers:
        assert scheduler.stop() == 0, scheduler.output()
    record = store.get("tick")
    assert record is not None and record.last_run is not None
    fired = record.run_count

    # Then: one job per fire, each executed once, every fire on the schedule's 1 s phase
    jobs = [r for r in get_results().list_jobs(limit=1000) if r.id.startswith("tick:")]
    fire_ms = sorted(int(r.id.split(":")[1]) for r in jobs)
    assert len(fire_ms) == fired, f"{len(fire_ms)} jobs for {fired} fires"
    wait_until(
        lambda: all(get_job(r.id).status() is JobStatus.SUCCESS for r in jobs),
        timeout=20,
        what="every fire's job to succeed",
    )
    gaps = {b - a for a, b in zip(fire_ms, fire_ms[1:])}
    # A gap of 2 s or more would be a fire coalesced because no scheduler ran for a second (a
    # starved machine); the phase is kept either way.
    off_phase = [gap for gap in gaps if abs(gap - round(gap / 1000) * 1000) > 1]  # ids round to the ms
    assert not off_phase, f"fires drifted off the 1 s phase: gaps {sorted(gaps)} ms"
    assert record.next_run == record.last_run + 1, "the interval lost its phase"
    assert executions(exec_log, "nothing")["tick"] == fired, (
        "a fire ran more than once, or a job of no fire ran"
    )
    sent = sum(s.output().count(": sent job") for s in schedulers)
    assert sent == fired, f"{sent} jobs sent for {fired} fires"
    assert schedule.next_run is not None
    assert worker.stop() == 0


def test_runworker_with_scheduler_runs_a_one_off_and_cancel_stops_an_interval(
    project, start_worker, exec_log
) -> None:
    # Given: a one-off due now and an interval schedule cancelled before any scheduler runs
    from datetime import timedelta

    project.nothing.schedule("once", in_=timedelta(0))
    cancelled = project.nothing.schedule("never", interval=0.2)
    assert cancelled.cancel() is True

    # When: a worker runs with its embedded scheduler
    worker = start_worker("--with-scheduler")

    # Then: the one-off runs once and is gone; the cancelled schedule never fires
    wait_until(lambda: executions(exec_log, "nothing")["once"] == 1, timeout=15, what="the one-off to run")
    wait_until(lambda: get_scheduler_store().list() == [], timeout=5, what="the fired one-off to be deleted")
    assert worker.stop() == 0, worker.output()
    assert executions(exec_log, "nothing") == {"once": 1}
    assert get_schedule(cancelled.id).next_run is None
