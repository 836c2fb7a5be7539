"""Every page of the dashboard over HTTP, on the file, SQLite and Redis backends with real workers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType

from starlette.testclient import TestClient

from nuvom.record import JobStatus
from nuvom.runtime import get_results

from ..e2e.helpers import WorkerProcess, wait_until
from .conftest import burst


def test_overview_counts_each_queue_by_state_and_the_jobs_finished(
    backend: str,
    tasks: ModuleType,
    client: TestClient,
    start_worker: Callable[..., WorkerProcess],
    isolated_nuvom: Path,
) -> None:
    # Given two jobs that succeed and one that fails, run by a real worker
    tasks.add.delay(1, 2)
    tasks.add.delay(3, 4)
    tasks.boom.delay(str(isolated_nuvom / "no-flag"))
    burst(start_worker)
    # and then two waiting jobs, one of them due in an hour, in the queue "emails"
    tasks.add.options(queue="emails").delay(5, 6)
    tasks.add.options(queue="emails", countdown=3600).delay(7, 8)

    # When the overview and its live fragment are read
    page = client.get("/")
    fragment = client.get("/fragments/overview")

    # Then each queue shows its counts, and "default" the three jobs finished within the window
    assert page.status_code == 200 and fragment.status_code == 200
    assert 'data-live="/fragments/overview"' in page.text and "/static/live.js" in page.text
    emails = _row(fragment.text, "emails")
    assert _cell(emails, "waiting") == "1" and _cell(emails, "scheduled") == "1", emails
    default = _row(fragment.text, "default")
    assert _cell(default, "failed") == "1" and _cell(default, "throughput") == "0.6", default
    # and the worker that ran them is listed (it stopped, so it left the registry or shows down)
    assert client.get("/static/live.js").status_code == 200


def test_overview_lists_the_job_each_live_worker_runs(
    backend: str,
    tasks: ModuleType,
    client: TestClient,
    start_worker: Callable[..., WorkerProcess],
    isolated_nuvom: Path,
) -> None:
    # Given a real worker running a job that waits for a flag file
    flag = isolated_nuvom / "release"
    job = tasks.wait_for.delay(str(flag))
    start_worker()

    # When the overview is read while the job runs
    def shows_it() -> bool:
        return f'href="/jobs/{job.id}"' in client.get("/fragments/overview").text

    wait_until(shows_it, timeout=30, what="the overview listing the running job under its worker")
    workers = client.get("/fragments/overview").text.split('<table id="workers">')[1]
    # Then the worker is up, with its slots and the job it runs
    assert 'class="up"' in workers and f'href="/jobs/{job.id}"' in workers
    assert _cell(_row(client.get("/fragments/overview").text, "default"), "running") == "1"
    flag.touch()
    assert job.get(timeout=30) == "released"


def test_jobs_list_filters_by_queue_task_status_and_time_and_pages(
    backend: str, tasks: ModuleType, client: TestClient
) -> None:
    # Given 120 jobs of "add" in "default" and 5 in "emails"
    tasks.add.map([(i, i) for i in range(120)])
    emails = tasks.add.options(queue="emails").map([(i, 0) for i in range(5)])

    # When the list is narrowed to the queue "emails"
    listed = client.get("/jobs", params={"queue": "emails"})
    # Then exactly its five jobs are shown, with no further page
    assert listed.status_code == 200
    assert sorted(_job_ids(listed.text)) == sorted(job.id for job in emails)
    assert 'id="next"' not in listed.text

    # When all queued jobs of "add" are paged through, 50 at a time
    seen: list[str] = []
    url: str | None = "/jobs?task=add&status=queued"
    while url is not None:
        page = client.get(url).text
        seen += _job_ids(page)
        url = _next_url(page)
    # Then every job is listed once
    assert len(seen) == 125 and len(set(seen)) == 125

    # And a time window in the future, or of an unknown task, matches nothing
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert _job_ids(client.get("/jobs", params={"since": later}).text) == []
    assert _job_ids(client.get("/jobs", params={"task": "nope"}).text) == []
    # and bad filters are refused with a message naming them
    bad = client.get("/jobs", params={"since": "yesterday"})
    assert bad.status_code == 400 and "since &#39;yesterday&#39;" in bad.text
    for params, named in [
        ({"status": "done"}, "status &#39;done&#39;"),
        ({"offset": "-1"}, "offset &#39;-1&#39;"),
    ]:
        refused = client.get("/jobs", params=params)
        assert refused.status_code == 400 and named in refused.text


def test_job_page_shows_arguments_result_error_traceback_and_timings(
    backend: str,
    tasks: ModuleType,
    client: TestClient,
    start_worker: Callable[..., WorkerProcess],
    isolated_nuvom: Path,
) -> None:
    # Given a job that succeeds and one that fails, run by a real worker
    ok = tasks.add.delay(20, 22)
    failed = tasks.boom.delay(str(isolated_nuvom / "no-flag"))
    burst(start_worker)

    # When their pages are read
    ok_page = client.get(f"/jobs/{ok.id}").text
    failed_page = client.get(f"/jobs/{failed.id}").text

    # Then the successful job shows its arguments, result, worker and timings
    assert '<pre id="args">[20, 22]</pre>' in ok_page and '<pre id="result">42</pre>' in ok_page
    record = get_results().get_full(ok.id)
    assert record is not None and record.worker_id is not None and record.worker_id in ok_page
    assert 'id="status" class="status-success"' in ok_page
    # and the failed one its error and the remote traceback
    assert "ValueError</strong>: boom:" in failed_page
    assert "Traceback (most recent call last)" in failed_page and "dash_tasks.py" in failed_page
    # and an unknown job is a 404 naming the id
    missing = client.get("/jobs/no-such-job")
    assert missing.status_code == 404 and "no-such-job" in missing.text


def test_job_page_links_the_group_and_chain_of_a_workflow_job(
    backend: str, tasks: ModuleType, client: TestClient
) -> None:
    from nuvom import chain, group

    # Given a chain and a group, sent but not run
    sent_chain = chain(tasks.add.s(1, 2), tasks.add.s(3)).delay()
    sent_group = group(tasks.add.s(1, 1), tasks.add.s(2, 2)).delay()

    # When the first step's and a member's pages are read
    step = next(r for r in get_results().list_jobs(limit=100) if r.id.startswith(f"{sent_chain.id}."))
    member = next(r for r in get_results().list_jobs(limit=100) if r.id.startswith(f"{sent_group.id}."))
    step_page = client.get(f"/jobs/{step.id}").text
    member_page = client.get(f"/jobs/{member.id}").text

    # Then each links its workflow
    assert f'href="/jobs/{sent_chain.id}"' in step_page and "1 step(s) after it" in step_page
    assert f'href="/jobs/{sent_group.id}"' in member_page and "of 2 of group" in member_page


def test_sensitive_task_shows_neither_arguments_nor_result(
    backend: str, tasks: ModuleType, client: TestClient, start_worker: Callable[..., WorkerProcess]
) -> None:
    # Given a job of a task marked sensitive, run by a real worker
    job = tasks.secret.delay("hunter2")
    burst(start_worker)
    record = get_results().get_full(job.id)
    assert record is not None and record.sensitive and record.status is JobStatus.SUCCESS

    # When its page is read
    page = client.get(f"/jobs/{job.id}").text

    # Then neither the argument nor the result appears
    assert "hunter2" not in page and 'id="sensitive"' in page


def test_schedules_and_tasks_pages(backend: str, tasks: ModuleType, client: TestClient) -> None:
    # Given an interval schedule and a cron schedule
    tasks.add.schedule(1, 2, interval=60, schedule_id="every-minute")
    tasks.add.schedule(3, 4, cron="0 3 * * *", schedule_id="nightly")

    # When the schedules page is read
    page = client.get("/schedules").text

    # Then both are listed with their next run
    assert "every-minute" in page and "every 60.0 s" in page
    assert "nightly" in page and "cron 0 3 * * * (UTC)" in page and " 03:00:00 UTC" in page

    # And the tasks page lists the imported tasks with tags, descriptions and the sensitive mark
    listed = client.get("/tasks").text
    assert "Add two numbers" in listed and "math" in listed
    assert "<td>dash_tasks:secret</td>" in listed


def _row(html: str, queue: str) -> str:
    start = html.index(f'<tr data-queue="{queue}">')
    return html[start : html.index("</tr>", start)]


def _cell(row: str, name: str) -> str:
    start = row.index(f'class="{name}">') + len(f'class="{name}">')
    return row[start : row.index("<", start)].strip()


def _job_ids(html: str) -> list[str]:
    ids = []
    for part in html.split('<td><a href="/jobs/')[1:]:
        ids.append(part[: part.index('"')])
    return ids


def _next_url(html: str) -> str | None:
    marker = '<a href="'
    at = html.find('" id="next"')
    if at < 0:
        return None
    return html[html.rindex(marker, 0, at) + len(marker) : at].replace("&amp;", "&")
