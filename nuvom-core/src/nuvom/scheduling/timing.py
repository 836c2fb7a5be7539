"""When schedules fire: validating timezones and cron expressions, and computing next runs.

Cron expressions are read in wall-clock time of the schedule's timezone, as cron daemons do:
each matching wall time fires once. A wall time that does not exist (the skipped hour when
clocks go forward) fires at the instant the clock reads it shifted by the gap (02:30 → 03:30);
a wall time that happens twice (the repeated hour when clocks go back) fires once, the first time.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .record import ScheduleRecord


def check_timezone(name: str) -> ZoneInfo:
    """The zone named ``name``.

    Raises:
        ValueError: naming the timezone when it is not a known IANA name.
    """
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(
            f"timezone_name {name!r} is not a known IANA timezone (e.g. 'UTC', 'Europe/Berlin')"
        ) from None


def check_cron(expression: str) -> str:
    """Return ``expression`` if it is a valid 5-field cron expression.

    Raises:
        ValueError: naming the expression and what is wrong.
    """
    if not isinstance(expression, str) or len(expression.split()) != 5:
        raise ValueError(
            f"cron {expression!r} is not valid: use 5 fields (minute hour day-of-month month day-of-week)"
        )
    from croniter import croniter  # ~10 ms: loaded by the first cron schedule, not by ``import nuvom``

    if not croniter.is_valid(expression):
        raise ValueError(f"cron {expression!r} is not valid: a field is out of range or malformed")
    return expression


def cron_next(expression: str, zone: ZoneInfo, after: float) -> float:
    """The first instant strictly after ``after`` (epoch seconds) whose wall time matches."""
    start = datetime.fromtimestamp(after, zone).replace(tzinfo=None)
    from croniter import croniter

    wall_times = croniter(expression, start)
    while True:
        candidate: datetime = wall_times.get_next(datetime)
        instant = candidate.replace(tzinfo=zone).timestamp()  # fold=0: the first of a repeated time
        if instant > after:
            return instant


def interval_next(fire_ts: float, interval_secs: float, since: float) -> float:
    """The first fire strictly after ``fire_ts`` and at or after ``since``, on ``fire_ts``'s phase."""
    steps = max(1, math.ceil((since - fire_ts) / interval_secs))
    return fire_ts + steps * interval_secs


def next_run_after(schedule: ScheduleRecord, fire_ts: float, since: float) -> float | None:
    """When ``schedule`` fires next after its fire at ``fire_ts``, skipping fires before ``since``.

    The scheduler passes ``since = now - misfire grace``: fires missed by less than the grace
    are each still sent (late), older ones are coalesced into the one just sent. One-off
    schedules return ``None``.
    """
    if schedule.mode == "interval":
        assert schedule.interval_secs is not None
        return interval_next(fire_ts, schedule.interval_secs, since)
    if schedule.mode == "cron":
        assert schedule.cron is not None
        return cron_next(schedule.cron, check_timezone(schedule.timezone), max(fire_ts, since - 1e-6))
    return None
