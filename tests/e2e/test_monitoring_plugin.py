"""A monitoring plugin installed through its entry point sees a real worker's jobs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from nuvom import task

from .helpers import WorkerProcess, wait_until

pytestmark = pytest.mark.slow


def read_events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("hook_raises", [False, True], ids=["quiet-hooks", "raising-hook"])
def test_started_and_finished_events_with_status_and_duration(
    project: ModuleType,
    start_worker: Callable[..., WorkerProcess],
    isolated_nuvom: Path,
    monkeypatch: pytest.MonkeyPatch,
    hook_raises: bool,
) -> None:
    # Given the acme plugin (installed by entry point) writing its events to a file
    events_file = isolated_nuvom / "events.jsonl"
    monkeypatch.setenv("ACME_EVENTS", str(events_file))
    monkeypatch.setenv("ACME_RAISE", "1" if hook_raises else "0")

    @task(name="only_here")
    def only_here() -> None: ...

    ok = project.work.delay("m1", 0.2)
    retried = project.flaky.delay("m2", failures=1)
    unknown = only_here.delay()

    # When a worker runs them and stops
    worker = start_worker()
    for job in (ok, retried, unknown):
        wait_until(lambda job=job: job.status().is_terminal, 30, f"job {job.id} to finish")
    assert worker.stop() == 0

    # Then every event arrived, with the stored status and a real duration
    events = read_events(events_file)
    kinds = [e["event"] for e in events]
    assert kinds.count("job_enqueued") == 3  # from this (the sending) process
    assert kinds.index("worker_started") < kinds.index("job_started") < kinds.index("worker_stopping")
    finished = [e for e in events if e["event"] == "job_finished"]
    by_job = {}
    for event in finished:
        by_job.setdefault(event["id"], []).append(event)
    (ok_event,) = by_job[ok.id]
    assert ok_event["status"] == "success" and ok_event["error"] is None
    assert 0.2 <= ok_event["duration_secs"] < 5
    assert [e["status"] for e in by_job[retried.id]] == ["retrying", "success"]
    assert by_job[retried.id][0]["error"] == "ConnectionError"
    (unknown_event,) = by_job[unknown.id]
    assert unknown_event["status"] == "failed" and unknown_event["error"] == "TaskNotFound"
    assert unknown_event["duration_secs"] == 0
    started = [e for e in events if e["event"] == "job_started"]
    assert sorted(e["attempt"] for e in started if e["id"] == retried.id) == [1, 2]

    # And a raising hook is logged with the plugin's name but changes nothing for the jobs
    assert ok.get() == "m1" and retried.get() == 2
    if hook_raises:
        assert "plugin 'acme' raised in nuvom_job_started" in worker.output()
