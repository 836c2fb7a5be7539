"""``nuvom schedule list`` and ``nuvom schedule cancel``."""

from __future__ import annotations

from typer.testing import CliRunner

from nuvom import task
from nuvom.cli.app import app
from nuvom.cli.common import console


@task
def backup(target: str) -> None:
    return None


def nuvom(*args: str):
    return CliRunner().invoke(app, list(args))


def test_schedule_list_shows_each_schedule_and_cancel_removes_it(monkeypatch) -> None:
    monkeypatch.setattr(console, "_width", 160)  # a wide terminal: no cell is wrapped
    backup.schedule("db", cron="30 2 * * *", timezone_name="Europe/Berlin", schedule_id="nightly")
    backup.schedule("logs", interval=90, schedule_id="often")

    listed = nuvom("schedule", "list")
    assert listed.exit_code == 0, listed.output
    assert "nightly" in listed.output and "often" in listed.output
    assert "cron 30 2 * * *" in listed.output and "every 90 s" in listed.output

    cancelled = nuvom("schedule", "cancel", "nightly")
    assert cancelled.exit_code == 0, cancelled.output
    assert "nightly" not in nuvom("schedule", "list").output


def test_cancelling_an_unknown_schedule_is_a_usage_error() -> None:
    result = nuvom("schedule", "cancel", "nope")
    assert result.exit_code == 2
    assert "no schedule with id 'nope'" in result.output


def test_an_empty_list_says_so() -> None:
    result = nuvom("schedule", "list")
    assert result.exit_code == 0 and "no schedules" in result.output
