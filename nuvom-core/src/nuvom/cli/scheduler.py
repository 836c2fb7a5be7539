"""``nuvom runscheduler``, ``nuvom schedule list`` and ``nuvom schedule cancel``."""

from __future__ import annotations

import datetime as dt
import signal
from types import FrameType

import typer

from ..config import get_settings
from ..log import configure_logging
from ..runtime import get_scheduler_store
from ..scheduling.record import ScheduleRecord
from ..scheduling.runner import MISFIRE_GRACE_SECS, Scheduler
from .common import (
    EXIT_USAGE,
    JSON_OPTION,
    console,
    err_console,
    fail,
    handles_errors,
    iso,
    print_json,
    table,
)
from .worker import load_tasks

schedule_app = typer.Typer(help="Schedules: list them, cancel one.", no_args_is_help=True)


def runscheduler(
    imports: list[str] = typer.Option(
        [], "--import", "-i", help="Module defining tasks; repeat for several (default: discover them)."
    ),
    poll: float = typer.Option(1.0, "--poll", min=0.01, help="Seconds between looks for due schedules."),
    misfire_grace: float = typer.Option(
        MISFIRE_GRACE_SECS,
        "--misfire-grace",
        min=0.0,
        help="Fires missed by less than this many seconds are still sent; older ones are coalesced.",
    ),
) -> None:
    """Send due schedules as jobs until SIGINT/SIGTERM; run as many as you like, each fire goes out once."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format, err_console)
    load_tasks(settings, imports)
    scheduler = Scheduler(
        get_scheduler_store(), poll_secs=poll, misfire_grace_secs=misfire_grace, settings=settings
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        scheduler.stop()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    scheduler.run()


def _when(ts: float | None) -> tuple[str, str]:
    if ts is None:
        return "-", "-"
    local = dt.datetime.fromtimestamp(ts).astimezone()
    utc = dt.datetime.fromtimestamp(ts, dt.timezone.utc)
    return local.strftime("%Y-%m-%d %H:%M:%S %Z"), utc.strftime("%Y-%m-%d %H:%M:%S")


def _timetable(schedule: ScheduleRecord) -> str:
    if schedule.mode == "interval":
        return f"every {schedule.interval_secs:g} s"
    if schedule.mode == "cron":
        return f"cron {schedule.cron} ({schedule.timezone})"
    return "once"


@schedule_app.command("list")
@handles_errors
def list_schedules(as_json: bool = JSON_OPTION) -> None:
    """Every schedule: id, task, timetable, next run (local time and UTC) and how often it ran."""
    schedules = get_scheduler_store().list()
    if as_json:
        print_json(
            [
                {
                    "id": s.id,
                    "task": s.task_name,
                    "mode": s.mode,
                    "timetable": _timetable(s),
                    "next_run": iso(s.next_run),
                    "last_run": iso(s.last_run),
                    "runs": s.run_count,
                }
                for s in schedules
            ]
        )
        return
    if not schedules:
        console.print("no schedules")
        return
    rows = table("id", "task", "mode", "next run (local / UTC)", "runs")
    rows.columns[0].min_width = max(len(s.id) for s in schedules)  # `schedule cancel` needs it whole
    for schedule in schedules:
        local, utc = _when(schedule.next_run)
        rows.add_row(
            schedule.id,
            schedule.task_name,
            _timetable(schedule),
            f"{local}\n{utc} UTC",
            str(schedule.run_count),
        )
    console.print(rows)


@schedule_app.command("cancel")
@handles_errors
def cancel_schedule(schedule_id: str = typer.Argument(..., help="The schedule id.")) -> None:
    """Cancel a schedule: it never fires again. Exit 2 if the id is unknown."""
    if not get_scheduler_store().cancel(schedule_id):
        raise fail(f"no schedule with id {schedule_id!r}", EXIT_USAGE)
    console.print(f"cancelled schedule {schedule_id}")
