"""The dashboard's actions over HTTP on the file, SQLite and Redis backends, with real workers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from starlette.testclient import TestClient

from nuvom.record import JobStatus
from nuvom.runtime import get_queue, get_scheduler_store

from ..e2e.helpers import WorkerProcess
from .conftest import burst, login


def test_retry_sends_a_failed_job_again_and_a_worker_runs_it(
    backend: str,
    tasks: ModuleType,
    client: TestClient,
    start_worker: Callable[..., WorkerProcess],
    isolated_nuvom: Path,
) -> None:
    # Given a job that failed on a real worker, then the cause is fixed
    flag = isolated_nuvom / "flag"
    job = tasks.boom.delay(str(flag))
    burst(start_worker)
    assert job.status() is JobStatus.FAILED
    flag.touch()

    # When the operator presses retry on its page
    csrf = login(client)
    response = client.post(f"/jobs/{job.id}/retry", data={"csrf": csrf})

    # Then the job is queued again, and a worker makes it succeed
    assert response.status_code == 200 and "sent again" in response.text
    assert job.status() is JobStatus.QUEUED
    burst(start_worker)
    assert job.get(timeout=10) == "recovered"


def test_cancel_a_waiting_job_and_purge_a_queue(backend: str, tasks: ModuleType, client: TestClient) -> None:
    # Given a waiting job in "default" and two in "emails"
    job = tasks.add.delay(1, 1)
    emails = tasks.add.options(queue="emails").map([(1, 2), (3, 4)])
    csrf = login(client)

    # When the first is cancelled and the queue "emails" purged
    cancelled = client.post(f"/jobs/{job.id}/cancel", data={"csrf": csrf})
    purged = client.post("/queues/emails/purge", data={"csrf": csrf})

    # Then the job is cancelled, and the two are gone with their records cancelled
    assert cancelled.status_code == 200 and "cancelled" in cancelled.text
    assert job.status() is JobStatus.CANCELLED
    assert purged.status_code == 200 and "purged 2 job(s) from queue &#39;emails&#39;" in purged.text
    assert get_queue().qsize("emails") == 0
    assert [j.status() for j in emails] == [JobStatus.CANCELLED] * 2


def test_retry_failed_in_bulk_sends_only_the_failed_jobs_of_the_task(
    backend: str,
    tasks: ModuleType,
    client: TestClient,
    start_worker: Callable[..., WorkerProcess],
    isolated_nuvom: Path,
) -> None:
    # Given three failed jobs of "boom" and one successful "add"
    failed = tasks.boom.map([str(isolated_nuvom / f"no-flag-{i}") for i in range(3)])
    ok = tasks.add.delay(1, 1)
    burst(start_worker)

    # When the failed jobs of "boom" are retried from the jobs page
    response = client.post("/retry-failed", data={"csrf": login(client), "task": "boom"})

    # Then the three are queued again, and the successful job is left alone
    assert response.status_code == 200 and "sent 3 failed job(s) again" in response.text
    assert [j.status() for j in failed] == [JobStatus.QUEUED] * 3
    assert ok.status() is JobStatus.SUCCESS


def test_cancel_a_schedule(backend: str, tasks: ModuleType, client: TestClient) -> None:
    # Given a schedule
    tasks.add.schedule(1, 2, interval=60, schedule_id="every-minute")

    # When it is cancelled from the schedules page
    response = client.post("/schedules/every-minute/cancel", data={"csrf": login(client)})

    # Then it is gone
    assert response.status_code == 200 and "schedule &#39;every-minute&#39; cancelled" in response.text
    assert get_scheduler_store().get("every-minute") is None
