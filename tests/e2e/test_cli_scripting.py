"""The command line in scripts: --json everywhere data is printed, whole values in pipes, NO_COLOR, --version."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from nuvom import runtime
from nuvom.cli.app import app
from nuvom.testing import drain

runner = CliRunner()


def as_json(*args: str) -> Any:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def piped(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``nuvom ARGS`` with stdout and stderr to pipes, as a script runs it."""
    return subprocess.run(
        [sys.executable, "-m", "nuvom", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=60,
    )


@pytest.fixture
def finished(project: ModuleType) -> tuple[str, str]:
    ok, bad = project.add.delay(20, 22), project.add.delay(1, "x")
    drain()
    return ok.id, bad.id


def test_every_data_command_prints_documented_json(finished: tuple[str, str], project: ModuleType) -> None:
    ok, bad = finished
    schedule = project.nothing.schedule("tick", interval=60)
    assert runner.invoke(app, ["discover", "tasks"]).exit_code == 0

    history = as_json("history", "recent")
    assert [(j["id"], j["task"], j["status"]) for j in history] == [
        (bad, "add", "failed"),
        (ok, "add", "success"),
    ]
    assert history[0]["error"]["type"] == "TypeError" and history[1]["error"] is None
    assert set(history[0]) == {
        "id",
        "task",
        "queue",
        "status",
        "attempts",
        "created_at",
        "finished_at",
        "error",
    }

    assert as_json("inspect", "job", ok)["result"] == 42

    project.add.options(countdown=3600).delay(1, 1)
    stats = as_json("queue", "stats")
    assert stats == {
        "backend": "file",
        "ready": 0,
        "scheduled": 1,
        "leased": 0,
        "quarantined": 0,
        "waiting_by_queue": {"default": 1},
    }

    (listed,) = as_json("schedule", "list")
    assert (listed["id"], listed["task"], listed["mode"], listed["runs"]) == (
        schedule.id,
        "nothing",
        "interval",
        0,
    )

    tasks = {t["name"]: t for t in as_json("list", "tasks")}
    assert tasks["flaky"]["retries"] == 3 and tasks["add"]["origin"] == "e2e_tasks:add"

    plugins = {p["name"]: p for p in as_json("plugin", "list")}
    assert any("memory" in p["backends"].get("queue", []) for p in plugins.values())

    settings = {s["variable"]: s for s in as_json("config")}
    assert settings["NUVOM_QUEUE_BACKEND"] == {
        "plugin": "core",
        "variable": "NUVOM_QUEUE_BACKEND",
        "value": "file",
        "source": "default",
    }

    assert as_json("workers") == []
    assert as_json("health")["ok"] is True


def test_piped_history_shows_whole_ids_statuses_and_timestamps(finished: tuple[str, str]) -> None:
    ok, bad = finished
    result = piped("history", "recent")
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if ok in line or bad in line]
    assert len(rows) == 2, result.stdout
    assert "success" in rows[1] and "failed" in rows[0]
    assert "…" not in result.stdout, "nothing may be cut off when piped"


def test_no_color_removes_every_style_and_version_prints_the_version(finished: tuple[str, str]) -> None:
    # FORCE_COLOR makes Rich style its output as on a terminal; NO_COLOR must still win, bold too.
    styled = piped("history", "recent", FORCE_COLOR="1")
    assert "\x1b[" in styled.stdout
    plain = piped("history", "recent", FORCE_COLOR="1", NO_COLOR="1")
    assert plain.returncode == 0 and "\x1b[" not in plain.stdout, plain.stdout
    version = piped("--version")
    assert version.returncode == 0 and version.stdout.startswith("nuvom ")


def test_completion_can_be_shown_for_a_shell() -> None:
    result = piped("--show-completion", "bash")
    assert result.returncode == 0 and "complete" in result.stdout


def test_memory_results_with_a_cross_process_queue_fail_at_start_naming_the_fix(
    project: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("NUVOM_RESULT_BACKEND", "memory")
    runtime.reset()
    worker = piped("runworker", "--import", "e2e_tasks", "--burst")
    assert worker.returncode == 2
    (line,) = worker.stderr.strip().splitlines()
    assert line.startswith("error: NUVOM_RESULT_BACKEND='memory' is not valid: it keeps results inside one")
    assert "set NUVOM_RESULT_BACKEND to a store shared across processes" in line
    with pytest.raises(Exception, match="NUVOM_RESULT_BACKEND='memory'"):
        project.add.delay(1, 2)  # a sender is refused too


def stderr_on_a_terminal(*args: str) -> tuple[int, bytes]:
    """``nuvom ARGS`` with stderr on a pseudo-terminal; its exit code and what reached the terminal."""
    master, slave = pty.openpty()
    try:
        code = subprocess.run(
            [sys.executable, "-m", "nuvom", *args], stdout=subprocess.PIPE, stderr=slave, timeout=60
        ).returncode
    finally:
        os.close(slave)
    data = b""
    with contextlib.suppress(OSError):  # EIO once the terminal is drained
        while chunk := os.read(master, 65536):
            data += chunk
    os.close(master)
    return code, data


def test_discover_shows_a_progress_bar_on_a_terminal_only(project: ModuleType) -> None:
    code, terminal = stderr_on_a_terminal("discover", "tasks")
    assert code == 0 and b"scanning files" in terminal
    result = piped("discover", "tasks")
    assert result.returncode == 0 and result.stderr == "", "no progress bar when stderr is not a terminal"
