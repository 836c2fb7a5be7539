"""``nuvom status``, ``nuvom inspect job`` and ``nuvom history recent``."""

from __future__ import annotations

import datetime as dt
import json
from enum import Enum
from typing import Any

import typer
from rich.table import Table

from ..job import describe, get_job
from ..record import JobRecord, JobStatus
from ..runtime import get_results
from .common import EXIT_FAILED, console, handles_errors

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


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


@inspect_app.command("job")
@handles_errors
def inspect_job(
    job_id: str = typer.Argument(..., help="The job id."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", "-f", help="table or json"),
) -> None:
    """Show a job's full record; exit 1 if the job failed or was cancelled, 2 if the id is unknown."""
    info = get_job(job_id).info()
    if fmt is OutputFormat.json:
        console.print_json(json.dumps(info, default=_jsonable))
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
        outcome[:80],
    ]


@history_app.command("recent")
@handles_errors
def history_recent(
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many jobs."),
    status_filter: JobStatus | None = typer.Option(None, "--status", "-s", help="Only this status."),
) -> None:
    """List the most recent jobs, newest first."""
    records = get_results().list_jobs(status=status_filter, limit=limit)
    table = Table(title=f"{len(records)} most recent job(s)")
    table.add_column("id", no_wrap=True)
    for column in ("task", "status", "attempts", "created", "result / error"):
        table.add_column(column)
    for record in records:
        table.add_row(*_history_row(record))
    console.print(table)
