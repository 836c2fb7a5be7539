"""The ``redis`` scheduler store chosen by name, exact fire times, and unreadable schedules."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from nuvom import task
from nuvom.runtime import get_queue, get_scheduler_store
from nuvom.scheduling.runner import Scheduler, fire_job_id
from nuvom.testing.suite.scheduler import T0, schedule
from nuvom_redis import RedisQueue, RedisScheduler

from .conftest import connect


@task(queue="redis-reports")
def redis_report(name: str) -> str:
    return f"report {name}"


@pytest.fixture
def redis_everywhere(
    isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str, prefix: str
) -> None:
    for kind in ("QUEUE", "RESULT", "SCHEDULER"):
        monkeypatch.setenv(f"NUVOM_{kind}_BACKEND", "redis")
    monkeypatch.setenv("NUVOM_REDIS_URL", redis_url)
    monkeypatch.setenv("NUVOM_REDIS_PREFIX", prefix)


@pytest.fixture
def store(redis_url: str, prefix: str) -> Iterator[RedisScheduler]:
    made = RedisScheduler(connect(redis_url), prefix=prefix)
    yield made
    made.close()


def sent() -> list[str]:
    leases = get_queue().pop_batch(100, queues=["redis-reports"], timeout=0, lease_secs=30)
    for lease in leases:
        get_queue().ack(lease)
    return [lease.id for lease in leases]


@pytest.mark.timeout(30)
def test_a_due_schedule_sends_one_job_and_a_second_run_sends_nothing(redis_everywhere: None) -> None:
    sched = redis_report.schedule("q", in_=timedelta(0), schedule_id="r")
    store = get_scheduler_store()
    assert isinstance(store, RedisScheduler) and isinstance(get_queue(), RedisQueue)
    stored = store.get("r")
    assert stored is not None

    scheduler = Scheduler(store)
    assert scheduler.run_once(time.time() + 0.01) == 1
    assert scheduler.run_once(time.time() + 0.01) == 0, "the same fire went out twice"

    assert sent() == [fire_job_id(sched.id, stored.next_run)]
    assert store.get("r") is None, "a one-off that fired must be gone"


def test_fire_times_are_kept_and_compared_exactly(store: RedisScheduler) -> None:
    at = T0 + 0.1 + 0.2  # 1700000000.3000002: not a short decimal
    store.add(schedule("s", at))

    (claimed,) = store.claim_due(at, 10, lease_secs=1 / 3)
    assert claimed.next_run == at and claimed.claimed_until == at + 1 / 3
    assert store.get("s") == claimed
    assert store.mark_fired("s", at + 1e-6, at + 60) is False, "a different fire time applied"
    assert store.mark_fired("s", claimed.next_run, at + 60) is True
    assert store.get("s") == schedule("s", at + 60, run_count=1, last_run=at)


def test_an_unreadable_schedule_is_set_aside_and_never_fired(store: RedisScheduler) -> None:
    store.add(schedule("good", T0 - 1))
    store.add(schedule("bad", T0 - 2))
    store.connection.client.hset(store.keys.records, "bad", b"\xc1")

    assert [s.id for s in store.list()] == ["good"]
    assert [s.id for s in store.claim_due(T0, 10, lease_secs=30)] == ["good"]
    assert [s.id for s in store.claim_due(T0 + 3600, 10, lease_secs=30)] == ["good"]
    assert store.connection.client.hgetall(store.keys.rejected) == {b"bad": b"\xc1"}
    assert store.get("bad") is None
