"""Next-run computation: cron against croniter, DST transitions, interval phase and coalescing."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from nuvom.scheduling.timing import cron_next, interval_next

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def fires(expression: str, zone: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    after = start.timestamp()
    out = []
    for _ in range(count):
        after = cron_next(expression, zone, after)
        out.append(datetime.fromtimestamp(after, zone))
    return out


@pytest.mark.parametrize(
    "expression",
    ["* * * * *", "*/15 * * * *", "0 9 * * 1-5", "30 2 * * *", "0 0 1 * *", "5 4 29 2 *", "0 12 * * sun"],
)
@pytest.mark.parametrize("zone", [ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata")])
def test_cron_matches_croniter_away_from_dst(expression: str, zone: ZoneInfo) -> None:
    start = datetime(2026, 1, 5, 10, 7, 30, tzinfo=zone)
    expected = croniter(expression, start).all_next(datetime)
    got = fires(expression, zone, start, 1)
    assert got[0] == next(expected)


def test_a_daily_0230_in_berlin_fires_once_on_the_spring_forward_day() -> None:
    # 2026-03-29: 02:00 CET becomes 03:00 CEST, so 02:30 does not exist that day
    got = fires("30 2 * * *", BERLIN, datetime(2026, 3, 27, 12, tzinfo=UTC), 4)
    assert [d.date().day for d in got] == [28, 29, 30, 31], "one fire per day, none skipped or doubled"
    assert got[1].astimezone(UTC) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )  # 03:30 CEST, shifted by the gap
    assert [d.strftime("%H:%M %Z") for d in (got[0], got[2])] == ["02:30 CET", "02:30 CEST"]


def test_a_daily_0230_in_berlin_fires_once_on_the_fall_back_day() -> None:
    # 2026-10-25: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice that day
    got = fires("30 2 * * *", BERLIN, datetime(2026, 10, 23, 12, tzinfo=UTC), 4)
    assert [d.date().day for d in got] == [24, 25, 26, 27], "one fire per day, none skipped or doubled"
    assert got[1].astimezone(UTC) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # the first 02:30 (CEST)


def test_hourly_cron_across_new_yorks_transitions_is_increasing_and_never_doubled() -> None:
    spring = fires(
        "0 * * * *", NEW_YORK, datetime(2026, 3, 8, 4, 30, tzinfo=UTC), 6
    )  # 23:30 EST the day before
    fall = fires("0 * * * *", NEW_YORK, datetime(2026, 11, 1, 3, 30, tzinfo=UTC), 6)
    for run in (spring, fall):
        instants = [d.timestamp() for d in run]
        assert instants == sorted(set(instants)), "fires must be strictly increasing"
    assert [d.hour for d in spring] == [0, 1, 3, 4, 5, 6], "02:00 does not exist on the spring day"
    assert [d.hour for d in fall] == [0, 1, 2, 3, 4, 5], "01:00 happens twice but fires once"


def test_interval_keeps_its_phase_and_skips_fires_before_since() -> None:
    assert interval_next(100.0, 10.0, since=100.0) == 110.0
    assert interval_next(100.0, 10.0, since=100.4) == 110.0, "a late dispatch must not shift the phase"
    assert interval_next(100.0, 10.0, since=135.0) == 140.0, "fires 110-130 are before since: coalesced"
    assert interval_next(100.0, 10.0, since=140.0) == 140.0, "a fire at since itself is still sent"
    assert interval_next(100.0, 10.0, since=40.0) == 110.0, "the next fire is always after this one"
