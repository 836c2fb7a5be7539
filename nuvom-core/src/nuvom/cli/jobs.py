"""``nuvom status``, ``nuvom inspect job`` and ``nuvom history recent``."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Any

import typer
from rich.table import Table

from ..job import describe, get_job
from ..record import JobRecord, JobStatus
from ..runtime import get_results
from .common import EXIT_FAILED, JSON_OPTION, console, handles_errors, iso, print_json, table

inspect_app = typer.Typer(help="Inspect jobs.", no_args_is_help=True)
history_app = typer.Typer(help="Recent jobs.", no_args_is_help=True)

_STYLE = {
    JobStatus.SUCCESS: "green",
    JobStatus.FAILED: "red",
    JobStatus.CANCELLED: "magenta",
    JobStatus.RETRYING: "yellow",
    JobStatus.RUNNING: "cyan",
}


class OutputFormat(str, Enum):
    table = "table"
    json = "json"


def _when(ts: float | None) -> str:
    return dt.datetime.fromtimestamp(ts).isoformat(sep=" ", timespec="milliseconds") if ts else "-"


def _status_text(status: JobStatus) -> str:
    style = _STYLE.get(status, "white")
    return f"[{style}]{status.value}[/]"


def status(job_id: str = typer.Argument(..., help="The job id.")) -> None:
    """Print a job's status; exit 1 if it failed or was cancelled, 2 if the id is unknown."""
    job_status = get_job(job_id).status()
    console.print(_status_text(job_status))
    if job_status in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise typer.Exit(EXIT_FAILED)


@inspect_app.command("job")
@handles_errors
def inspect_job(
    job_id: str = typer.Argument(..., help="The job id."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table or json"),
    as_json: bool = JSON_OPTION,
) -> None:
    """Show a job's full record; exit 1 if the job failed or was cancelled, 2 if the id is unknown."""
    info = get_job(job_id).info()
    if as_json or fmt is OutputFormat.json:
        print_json(info)
        if info["status"] in (JobStatus.FAILED.value, JobStatus.CANCELLED.value):
            raise typer.Exit(EXIT_FAILED)
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column()
    for key in ("id", "task_name", "queue", "status", "attempts", "max_retries", "priority", "worker_id"):
        value = info[key]
        table.add_row(key, _status_text(JobStatus(value)) if key == "status" else str(value))
    table.add_row("args", repr(info["args"]))
    table.add_row("kwargs", repr(info["kwargs"]))
    for key in ("created_at", "eta", "started_at", "finished_at", "next_retry_at"):
        table.add_row(key, _when(info[key]))
    if info["status"] == JobStatus.SUCCESS.value:
        table.add_row("result", repr(info["result"]))
    error = info["error"]
    if error:
        table.add_row("error", f"[red]{error['type']}: {error['message']}[/]")
    console.print(table)
    if error and error.get("traceback"):
        console.print(error["traceback"], highlight=False, markup=False)
    if info["status"] in (JobStatus.FAILED.value, JobStatus.CANCELLED.value):
        raise typer.Exit(EXIT_FAILED)


def _history_row(record: JobRecord) -> list[str]:
    outcome = ""
    if record.error is not None and record.status is not JobStatus.SUCCESS:
        outcome = f"{record.error.type}: {record.error.message}"
    elif record.status is JobStatus.SUCCESS:
        outcome = repr(describe(record)["result"])
    return [
        record.id,
        record.task_name,
        _status_text(record.status),
        str(record.attempts),
        _when(record.created_at),
        outcome[:200] if console.is_terminal else outcome,
    ]


def _history_item(record: JobRecord) -> dict[str, Any]:
    error = None if record.error is None else {"type": record.error.type, "message": record.error.message}
    return {
        "id": record.id,
        "task": record.task_name,
        "queue": record.queue,
        "status": record.status.value,
        "attempts": record.attempts,
        "created_at": iso(record.created_at),
        "finished_at": iso(record.finished_at),
        "error": error,
    }


@history_app.command("recent")
@handles_errors
def history_recent(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many jobs."),
    status_filter: JobStatus | None = typer.Option(None, "--status", "-s", help="Only this status."),
    as_json: bool = JSON_OPTION,
) -> None:
    """List the most recent jobs, newest first."""
    records = get_results().list_jobs(status=status_filter, limit=limit)
    if as_json:
        print_json([_history_item(record) for record in records])
        return
    rows = table("id", "task", "status", "attempts", "created", "result / error")
    rows.title = f"{len(records)} most recent job(s)"
    for record in records:
        rows.add_row(*_history_row(record))
    console.print(rows)
