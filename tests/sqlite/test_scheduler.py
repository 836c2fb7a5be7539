"""The ``sqlite`` scheduler store chosen by name: a scheduled task fires once through the runner."""

from __future__ import annotations

import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from nuvom import task
from nuvom.runtime import get_queue, get_scheduler_store
from nuvom.scheduling.runner import Scheduler, fire_job_id
from nuvom.testing.suite.scheduler import T0, schedule
from nuvom_sqlite import SqliteQueue, SqliteScheduler


@task(queue="sqlite-reports")
def sqlite_report(name: str) -> str:
    return f"report {name}"


@pytest.fixture
def sqlite_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    for kind in ("QUEUE", "RESULT", "SCHEDULER"):
        monkeypatch.setenv(f"NUVOM_{kind}_BACKEND", "sqlite")


def sent() -> list[str]:
    leases = get_queue().pop_batch(100, queues=["sqlite-reports"], timeout=0, lease_secs=30)
    for lease in leases:
        get_queue().ack(lease)
    return [lease.id for lease in leases]


def test_a_due_schedule_sends_one_job_and_a_second_run_sends_nothing(
    sqlite_everywhere: None, isolated_nuvom: Path
) -> None:
    sched = sqlite_report.schedule("q", in_=timedelta(0), schedule_id="r")
    store = get_scheduler_store()
    assert isinstance(store, SqliteScheduler)
    assert isinstance(get_queue(), SqliteQueue) and store.database.same_file(get_queue().database)
    stored = store.get("r")
    assert stored is not None

    scheduler = Scheduler(store)
    assert scheduler.run_once(time.time() + 0.01) == 1
    assert scheduler.run_once(time.time() + 0.01) == 0, "the same fire went out twice"

    assert sent() == [fire_job_id(sched.id, stored.next_run)]
    assert store.get("r") is None, "a one-off that fired must be gone"


def test_an_unreadable_row_is_quarantined_and_never_fired(tmp_path: Path) -> None:
    store = SqliteScheduler(tmp_path / "nuvom.db")
    try:
        store.add(schedule("good", T0 - 1))
        store.add(schedule("bad", T0 - 2))
        with sqlite3.connect(tmp_path / "nuvom.db") as conn:
            conn.execute("UPDATE nuvom_schedules SET record = x'c1' WHERE id = 'bad'")

        assert [s.id for s in store.list()] == ["good"]
        assert [s.id for s in store.claim_due(T0, 10, lease_secs=30)] == ["good"]
        assert [s.id for s in store.claim_due(T0 + 3600, 10, lease_secs=30)] == ["good"]
        quarantined = store.database.query("SELECT schedule_id, record FROM nuvom_schedules_quarantine")
        assert quarantined == [("bad", b"\xc1")]
    finally:
        store.close()


def test_claimed_records_carry_their_new_claim(tmp_path: Path) -> None:
    store = SqliteScheduler(tmp_path / "nuvom.db")
    try:
        store.add(schedule("s"))
        (claimed,) = store.claim_due(T0, 10, lease_secs=30)
        assert claimed.claimed_until == T0 + 30 and isinstance(claimed.claimed_until, float)
        assert store.get("s") == claimed
    finally:
        store.close()
