"""``task.schedule(...)``: validating a schedule, storing it, and the :class:`Schedule` handle."""

from __future__ import annotations

import time
import uuid
import warnings
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..config import get_settings
from ..message import JobMessage
from ..names import check_name
from ..runtime import get_scheduler_store
from .record import Mode, ScheduleRecord
from .timing import check_cron, check_timezone, cron_next

if TYPE_CHECKING:
    from ..options import CallOptions, TaskOptions

#: Leaves room in a fire's job id (``<schedule id>:<fire time in ms>``) for the fire time.
_MAX_ID_LENGTH = 100


class Schedule:
    """A handle on a stored schedule; every read goes to the scheduler store."""

    def __init__(self, schedule_id: str, task_name: str | None = None) -> None:
        self.id = schedule_id
        self._task_name = task_name

    def __repr__(self) -> str:
        return f"<Schedule {self.id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schedule) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def record(self) -> ScheduleRecord | None:
        """The stored schedule, or ``None`` once it is cancelled (or a one-off has fired)."""
        return get_scheduler_store().get(self.id)

    @property
    def task_name(self) -> str | None:
        """The task the schedule runs."""
        if self._task_name is None:
            record = self.record()
            self._task_name = record.task_name if record is not None else None
        return self._task_name

    @property
    def next_run(self) -> datetime | None:
        """When it fires next (UTC), or ``None`` once it is cancelled or a one-off has fired."""
        record = self.record()
        return None if record is None else datetime.fromtimestamp(record.next_run, timezone.utc)

    def cancel(self) -> bool:
        """Stop all future fires; ``True`` if the schedule existed. Jobs already sent still run."""
        return get_scheduler_store().cancel(self.id)


def get_schedule(schedule_id: str) -> Schedule:
    """A handle on the schedule ``schedule_id`` (which may no longer exist)."""
    return Schedule(schedule_id)


def _mode_of(at: object, in_: object, interval: object, cron: object) -> Mode:
    given = [
        name
        for name, value in (("at", at), ("in_", in_), ("interval", interval), ("cron", cron))
        if value is not None
    ]
    if len(given) != 1:
        which = ", ".join(given) if given else "none"
        raise ValueError(f"give exactly one of at=, in_=, interval= or cron= (given: {which})")
    return "interval" if given[0] == "interval" else "cron" if given[0] == "cron" else "at"


def _first_run(
    at: datetime | None,
    in_: timedelta | None,
    interval_secs: float | None,
    cron: str | None,
    zone_name: str,
    now: float,
) -> float:
    if at is not None:
        if not isinstance(at, datetime):
            raise ValueError(f"at {at!r} is not valid: use a timezone-aware datetime")
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(
                f"at {at.isoformat()} is naive: give a timezone-aware datetime (e.g. tzinfo=UTC)"
            )
        return at.timestamp()
    if in_ is not None:
        if not isinstance(in_, timedelta) or in_ < timedelta(0):
            raise ValueError(f"in_ {in_!r} is not valid: use a timedelta >= 0")
        return now + in_.total_seconds()
    if interval_secs is not None:
        return now + interval_secs
    assert cron is not None
    return cron_next(cron, check_timezone(zone_name), now)


def _interval_secs(interval: float | timedelta | None) -> float | None:
    if interval is None:
        return None
    secs = interval.total_seconds() if isinstance(interval, timedelta) else interval
    if isinstance(secs, bool) or not isinstance(secs, (int, float)) or secs <= 0:
        raise ValueError(f"interval {interval!r} is not valid: use seconds (or a timedelta) > 0")
    return float(secs)


def create_schedule(
    task: TaskOptions,
    options: CallOptions,
    args: Sequence[Any],
    kwargs: dict[str, Any],
    *,
    at: datetime | None,
    in_: timedelta | None,
    interval: float | timedelta | None,
    cron: str | None,
    timezone_name: str,
    schedule_id: str | None,
) -> Schedule:
    """Validate and store a schedule of the task with options ``task`` (see ``Task.schedule``)."""
    mode = _mode_of(at, in_, interval, cron)
    check_timezone(timezone_name)
    if cron is not None:
        check_cron(cron)
    if options.countdown is not None or options.eta is not None or options.job_id is not None:
        raise ValueError("countdown, eta and job_id do not apply to a schedule: each fire gets its own job")
    if schedule_id is not None:
        check_name("schedule_id", schedule_id)
        if len(schedule_id) > _MAX_ID_LENGTH:
            raise ValueError(
                f"schedule_id {schedule_id!r} is too long: use at most {_MAX_ID_LENGTH} characters"
            )
    interval_secs = _interval_secs(interval)
    now = time.time()
    limit = get_settings().max_args_bytes
    encoded_args, encoded_kwargs = JobMessage.encode_call(args, kwargs, max_bytes=limit)
    record = ScheduleRecord(
        id=schedule_id or uuid.uuid4().hex,
        task_name=task.name,
        args=encoded_args,
        kwargs=encoded_kwargs,
        mode=mode,
        next_run=_first_run(at, in_, interval_secs, cron, timezone_name, now),
        queue=options.queue or task.queue,
        priority=options.priority if options.priority is not None else task.priority,
        interval_secs=interval_secs,
        cron=cron,
        timezone=timezone_name,
        retries=options.retries,
        timeout_secs=options.timeout_secs,
        created_at=now,
    )
    store = get_scheduler_store()
    existing = store.get(record.id) if schedule_id is not None else None
    if existing is None or not existing.same_definition(record):
        store.add(record)
        if at is not None and record.next_run < now:
            warnings.warn(
                f"schedule {record.id} of task {task.name}: at={at.isoformat()} is in the past; "
                "it fires now (as soon as a worker or `nuvom runscheduler` runs)",
                UserWarning,
                stacklevel=3,
            )
    return Schedule(record.id, task.name)
