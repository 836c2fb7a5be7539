"""A job that runs alone keeps its neighbours out until its outcome is stored.

A job past ``NUVOM_MAX_DELIVERIES`` whose holders stopped while it ran runs alone; if its
worker stops then too, it is poison. So no neighbour may start between the end of its attempt
and the storing of its outcome: a neighbour that kills the worker in that window would leave
its record saying "running alone" and have an innocent job called poison.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from nuvom import JobStatus
from nuvom.config import get_settings
from nuvom.record import JobRecord
from nuvom.runtime import get_queue, get_results, reset
from nuvom.worker import Worker
from tests.e2e.helpers import wait_until

from . import exec_tasks as t

#: How long storing the alone job's outcome takes: a neighbour let in early runs meanwhile.
STORE_DELAY_SECS = 0.5


class SlowToStore:
    """The real result store, taking ``STORE_DELAY_SECS`` to store one job's outcome."""

    def __init__(self, results: Any, slow_id: str) -> None:
        self._results = results
        self._slow_id = slow_id

    def save_many(self, records: Sequence[JobRecord]) -> None:
        if any(r.id == self._slow_id and r.status.is_terminal for r in records):
            time.sleep(STORE_DELAY_SECS)
        self._results.save_many(records)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._results, name)


@pytest.fixture
def one_delivery(isolated_nuvom: Path, exec_log: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NUVOM_MAX_DELIVERIES", "1")
    reset()
    yield
    t.released.set()  # a job still held lets its thread go


@pytest.mark.timeout(60)
def test_a_neighbour_starts_only_once_the_outcome_of_a_job_run_alone_is_stored(one_delivery: None) -> None:
    # Given a job whose holder stopped while it ran, now past NUVOM_MAX_DELIVERIES=1: it runs alone
    t.released.clear()
    suspect = t.held_until_released.delay("suspect")
    lease = get_queue().dequeue(1, lease_secs=0.2)
    assert lease is not None and lease.id == suspect.id
    stored = get_results().get_full(suspect.id)
    assert stored is not None
    get_results().save(stored.replace(status=JobStatus.RUNNING, attempts=1))
    wait_until(lambda: time.time() > lease.expires_at, 10, "the lease to lapse")
    worker = Worker(get_settings(), get_queue(), SlowToStore(get_results(), suspect.id), concurrency=2)  # type: ignore[arg-type]
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: t.lines("held"), 10, "the suspect to start")
        running = get_results().get_full(suspect.id)
        assert running is not None and running.isolated

        # When a neighbour is claimed while it runs, and it then ends (its outcome slow to store)
        neighbour = t.status_of.delay(suspect.id)
        wait_until(lambda: get_queue().stats().leased == 2, 10, "the worker to hold the neighbour")
        t.released.set()

        # Then the neighbour started only once the suspect's outcome was stored
        assert neighbour.get(timeout=20) == JobStatus.SUCCESS.value
        assert suspect.get(timeout=5) == "suspect"
    finally:
        worker.stop()
        thread.join(30)
    assert not thread.is_alive()
