"""The scheduler store contract (``nuvom.backends.base.SchedulerBackend``) as pytest checks.

Every check passes its own clock (``now``) to ``claim_due``: no check waits for real time.
"""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

import pytest

from ... import serialization
from ...backends import Capability, SchedulerBackend
from ...scheduling.record import ScheduleRecord
from .support import BackendFactory, claims_of_processes, closing_instances, requires, skip_unless_capable

#: A fixed "now" for the checks: 2023-11-14 22:13:20 UTC.
T0 = 1_700_000_000.0
_CLAIMERS = 4
_CONTENDED_FIRES = 200
_CONTENTION_TIMEOUT_SECS = 60.0


def schedule(schedule_id: str, next_run: float = T0, **changes: Any) -> ScheduleRecord:
    """An interval schedule with encoded arguments; ``changes`` override any field."""
    base = ScheduleRecord(
        id=schedule_id,
        task_name="suite.task",
        args=serialization.dumps([1, "two"]),
        kwargs=serialization.dumps({"k": (1, 2)}),
        mode="interval",
        next_run=next_run,
        queue="default",
        interval_secs=60.0,
        created_at=T0 - 60,
    )
    return base.replace(**changes)


class SchedulerBackendSuite:
    """Every sentence of the scheduler store contract, one check each.

    Provide a ``scheduler_factory`` fixture: a zero-argument callable returning a new instance
    over the same, initially empty store on each call within one check.
    """

    @pytest.fixture
    def make_scheduler(self, scheduler_factory: BackendFactory) -> Iterator[Callable[[], SchedulerBackend]]:
        """Instances from ``scheduler_factory``, closed when the check ends."""
        yield from closing_instances(scheduler_factory)

    @pytest.fixture
    def store(
        self, make_scheduler: Callable[[], SchedulerBackend], request: pytest.FixtureRequest
    ) -> SchedulerBackend:
        """The store under test; the check is skipped if it lacks a required capability."""
        backend = make_scheduler()
        skip_unless_capable(backend, getattr(request, "function", None))
        left = backend.list()
        assert left == [], (
            f"the scheduler_factory fixture must give each check an empty store; it holds {len(left)}"
        )
        return backend

    def test_add_then_get_returns_the_schedule_exactly(self, store: SchedulerBackend) -> None:
        """``get`` returns exactly the schedule ``add`` stored, every field; an unknown id is ``None``."""
        cron = schedule(
            "nightly",
            mode="cron",
            cron="30 2 * * *",
            timezone="Europe/Berlin",
            interval_secs=None,
            priority=3,
            retries=2,
            timeout_secs=1.5,
            run_count=4,
            last_run=T0 - 86_400,
        )
        store.add(cron)
        assert store.get("nightly") == cron
        assert store.get("nope") is None

    def test_add_replaces_a_schedule_with_the_same_id(self, store: SchedulerBackend) -> None:
        """``add`` of an id that exists replaces that schedule."""
        store.add(schedule("s", interval_secs=60.0))
        store.add(schedule("s", interval_secs=5.0, next_run=T0 + 5))
        assert store.get("s") == schedule("s", interval_secs=5.0, next_run=T0 + 5)
        assert [s.id for s in store.list()] == ["s"]

    def test_list_is_soonest_first(self, store: SchedulerBackend) -> None:
        """``list`` returns every schedule, soonest ``next_run`` first."""
        for name, at in (("b", T0 + 20), ("a", T0 + 30), ("c", T0 + 10)):
            store.add(schedule(name, at))
        assert [s.id for s in store.list()] == ["c", "b", "a"]

    def test_cancel_deletes_and_says_whether_it_existed(self, store: SchedulerBackend) -> None:
        """``cancel`` deletes the schedule and returns ``True``; again, or for an unknown id, ``False``."""
        store.add(schedule("s"))
        assert store.cancel("s") is True
        assert store.get("s") is None
        assert store.cancel("s") is False

    def test_claim_due_takes_due_schedules_earliest_first_up_to_limit(self, store: SchedulerBackend) -> None:
        """``claim_due`` claims schedules due at ``now``, earliest first, at most ``limit``."""
        for name, at in (("late", T0 + 1), ("second", T0 - 5), ("first", T0 - 10), ("third", T0)):
            store.add(schedule(name, at))
        claimed = store.claim_due(T0, 2, lease_secs=30)
        assert [s.id for s in claimed] == ["first", "second"]
        assert [s.next_run for s in claimed] == [T0 - 10, T0 - 5], "a claim carries its fire time in next_run"
        assert [s.id for s in store.claim_due(T0, 10, lease_secs=30)] == ["third"]
        assert store.claim_due(T0 + 0.5, 10, lease_secs=30) == [], (
            "a schedule was claimed before its next_run"
        )

    def test_a_claimed_fire_is_not_claimed_again_while_its_claim_lives(
        self, store: SchedulerBackend, make_scheduler: Callable[[], SchedulerBackend]
    ) -> None:
        """A claimed fire is not claimed again, by any instance, until its claim lapses."""
        store.add(schedule("s"))
        assert [s.id for s in store.claim_due(T0, 10, lease_secs=30)] == ["s"]
        other = make_scheduler()
        assert other.claim_due(T0 + 29, 10, lease_secs=30) == [], "a live claim was taken"

    def test_a_lapsed_claim_makes_the_fire_claimable_again(self, store: SchedulerBackend) -> None:
        """A claim that lapses without ``mark_fired`` makes the same fire claimable again."""
        store.add(schedule("s"))
        store.claim_due(T0, 10, lease_secs=30)
        again = store.claim_due(T0 + 30, 10, lease_secs=30)
        assert [(s.id, s.next_run) for s in again] == [("s", T0)], "the fire was lost with its scheduler"

    def test_mark_fired_advances_next_run_counts_and_clears_the_claim(self, store: SchedulerBackend) -> None:
        """``mark_fired`` sets ``next_run`` and ``last_run``, counts the run and clears the claim."""
        store.add(schedule("s", run_count=2))
        store.claim_due(T0, 10, lease_secs=30)
        assert store.mark_fired("s", T0, T0 + 60) is True
        fired = store.get("s")
        assert fired is not None
        assert (fired.next_run, fired.last_run, fired.run_count) == (T0 + 60, T0, 3)
        assert fired.claimed_until is None, "mark_fired must clear the claim"
        assert store.claim_due(T0 + 59, 10, lease_secs=30) == []
        assert [s.id for s in store.claim_due(T0 + 60, 10, lease_secs=30)] == ["s"]

    def test_mark_fired_of_a_fire_already_marked_does_nothing(self, store: SchedulerBackend) -> None:
        """``mark_fired`` applies only while ``next_run`` is the fire's time: a repeat does nothing."""
        store.add(schedule("s"))
        store.claim_due(T0, 10, lease_secs=30)
        assert store.mark_fired("s", T0, T0 + 60) is True
        assert store.mark_fired("s", T0, T0 + 120) is False, "a repeated mark_fired applied"
        fired = store.get("s")
        assert fired is not None and (fired.next_run, fired.run_count) == (T0 + 60, 1)
        assert store.mark_fired("nope", T0, T0 + 60) is False

    def test_mark_fired_of_a_replaced_schedule_does_nothing(self, store: SchedulerBackend) -> None:
        """A schedule replaced while its fire was out keeps its new timetable."""
        store.add(schedule("s"))
        store.claim_due(T0, 10, lease_secs=30)
        store.add(schedule("s", T0 + 500, interval_secs=500.0))
        assert store.mark_fired("s", T0, T0 + 60) is False
        assert store.get("s") == schedule("s", T0 + 500, interval_secs=500.0)

    def test_mark_fired_without_next_run_deletes_a_one_off(self, store: SchedulerBackend) -> None:
        """``mark_fired(..., None)`` deletes the schedule: a one-off that fired never fires again."""
        store.add(schedule("once", mode="at", interval_secs=None))
        store.claim_due(T0, 10, lease_secs=30)
        assert store.mark_fired("once", T0, None) is True
        assert store.get("once") is None
        assert store.claim_due(T0 + 3600, 10, lease_secs=30) == []

    def test_a_cancelled_schedule_is_never_claimed(self, store: SchedulerBackend) -> None:
        """A cancelled schedule is never claimed again, even when its fire was claimed and lapsed."""
        store.add(schedule("s"))
        store.claim_due(T0, 10, lease_secs=30)
        store.cancel("s")
        assert store.claim_due(T0 + 3600, 10, lease_secs=30) == []
        assert store.mark_fired("s", T0, T0 + 60) is False
        assert store.get("s") is None

    @requires(Capability.PERSISTENT)
    def test_schedules_survive_a_new_instance(
        self, store: SchedulerBackend, make_scheduler: Callable[[], SchedulerBackend]
    ) -> None:
        """Schedules and claims are seen by a new instance over the same store (a restart)."""
        store.add(schedule("s"))
        store.add(schedule("t", T0 + 5))
        store.claim_due(T0, 10, lease_secs=30)
        store.close()
        restarted = make_scheduler()
        assert [s.id for s in restarted.list()] == ["s", "t"]
        assert [s.id for s in restarted.claim_due(T0 + 10, 10, lease_secs=30)] == ["t"]

    @requires(Capability.CROSS_PROCESS)
    def test_claim_due_is_exactly_once_across_processes(
        self, store: SchedulerBackend, scheduler_factory: BackendFactory
    ) -> None:
        """4 processes claiming 200 due fires claim each exactly once."""
        ids = [f"s-{i:03d}" for i in range(_CONTENDED_FIRES)]
        for i, schedule_id in enumerate(ids):
            store.add(schedule(schedule_id, T0 - i))
        start = multiprocessing.get_context("fork").Barrier(_CLAIMERS)
        claimed = claims_of_processes(
            _CLAIMERS, _claim_in_child, (scheduler_factory, start), _CONTENTION_TIMEOUT_SECS
        )

        counts = Counter(i for part in claimed for i in part)
        twice = sorted(i for i, n in counts.items() if n > 1)
        missing = sorted(set(ids) - set(counts))
        assert not twice, f"{len(twice)} fires were claimed by more than one process, e.g. {twice[:3]}"
        assert not missing, f"{len(missing)} fires were never claimed, e.g. {missing[:3]}"
        fired = {s.id: s for s in store.list()}
        assert all(fired[i].run_count == 1 and fired[i].next_run == T0 + 3600 for i in ids)


def _claim_in_child(factory: BackendFactory, start: Any, sender: Connection) -> None:
    ids: list[str] = []
    error = ""
    try:
        store: SchedulerBackend = factory()
        try:
            start.wait(timeout=30)
            deadline = time.monotonic() + _CONTENTION_TIMEOUT_SECS
            while time.monotonic() < deadline:
                claimed = store.claim_due(T0, 3, lease_secs=600)
                if not claimed:
                    break
                for fire in claimed:
                    ids.append(fire.id)
                    store.mark_fired(fire.id, fire.next_run, T0 + 3600)
        finally:
            store.close()
    except BaseException as exc:
        error = f"{type(exc).__name__}: {exc}"
    sender.send((ids, error))
    sender.close()


__all__ = ["SchedulerBackendSuite", "schedule"]
