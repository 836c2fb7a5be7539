"""``nuvom retry job`` and ``nuvom cancel job``: act on one job from the command line."""

from __future__ import annotations

import datetime as dt
import re
import time

import typer

from ..admin import failed_jobs, retry_jobs
from ..job import get_job
from .common import EXIT_FAILED, console, fail, handles_errors, progress_bar

retry_app = typer.Typer(help="Send failed or cancelled jobs again.", no_args_is_help=True)
cancel_app = typer.Typer(help="Cancel jobs.", no_args_is_help=True)


@retry_app.command("job")
@handles_errors
def retry_job(job_id: str = typer.Argument(..., help="The job id.")) -> None:
    """Send a failed or cancelled job again (same id, attempts go on).

    Exit 0 when it was sent, 1 when the job is not failed or cancelled, 2 if the id is unknown.
    """
    job = get_job(job_id)
    if not job.retry():
        if job.stopping():
            raise fail(f"job {job_id} was cancelled and is still stopping; retry it once it has", EXIT_FAILED)
        status = job.status().value
        raise fail(f"job {job_id} is {status}: only failed or cancelled jobs are retried", EXIT_FAILED)
    console.print(f"job {job_id} ({job.task_name}) sent again")


@cancel_app.command("job")
@handles_errors
def cancel_job(job_id: str = typer.Argument(..., help="The job id.")) -> None:
    """Cancel a job: a waiting one never runs, a running one is asked to stop.

    Exit 0 when it was cancelled, 1 when it had already finished, 2 if the id is unknown.
    """
    job = get_job(job_id)
    if not job.cancel():
        raise fail(f"job {job_id} already finished ({job.status().value}); nothing to cancel", EXIT_FAILED)
    console.print(f"job {job_id} ({job.task_name}) cancelled")


_UNIT_SECS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(value: str) -> float:
    """``30m``, ``2h``, ``1d`` (ago) or an ISO-8601 date-time (local time if no offset), as epoch seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd])", value.strip())
    if match:
        return time.time() - float(match[1]) * _UNIT_SECS[match[2]]
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise fail(
            f"--since {value!r} is neither a duration (30m, 2h, 1d) nor an ISO-8601 date-time"
        ) from None


@retry_app.command("failed")
@handles_errors
def retry_failed(
    task: str | None = typer.Option(None, "--task", help="Only jobs of this task."),
    since: str | None = typer.Option(
        None, "--since", help="Only jobs created since: 30m, 2h, 1d or a date-time."
    ),
    limit: int | None = typer.Option(None, "--limit", "-n", min=1, help="At most this many (newest first)."),
) -> None:
    """Send failed jobs again (same ids, as `retry job` does), newest first; print how many."""
    records = failed_jobs(task, parse_since(since) if since is not None else None, limit)
    with progress_bar() as progress:
        bar = progress.add_task("retrying failed jobs", total=len(records))
        sent = retry_jobs(records, lambda: progress.advance(bar))
    console.print(f"sent {sent} of {len(records)} failed job(s) again", highlight=False)
