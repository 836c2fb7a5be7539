"""``nuvom retry job`` and ``nuvom cancel job``: act on one job from the command line."""

from __future__ import annotations

import typer

from ..job import get_job
from .common import EXIT_FAILED, console, fail, handles_errors

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
