"""The command line: output, exit codes (0 ok, 1 failed, 2 bad usage or unknown id) and bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuvom import task
from nuvom.cli.app import app
from nuvom.testing import drain

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def finished_jobs() -> tuple[str, str]:
    @task(name="cli_ok")
    def cli_ok(x: int) -> int:
        return x * 2

    @task(name="cli_boom")
    def cli_boom() -> None:
        raise ValueError("boom from the task")

    ok, bad = cli_ok.delay(21), cli_boom.delay()
    drain()
    return ok.id, bad.id


def test_version_and_config_show_values_and_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = invoke("version")
    assert code == 0 and "nuvom 0.1.0" in out
    Path(".env").write_text("NUVOM_BATCH_SIZE=7\n")
    monkeypatch.setenv("NUVOM_MAX_WORKERS", "3")
    code, out = invoke("config")
    assert code == 0
    lines = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 3}
    assert "environment" in lines["NUVOM_MAX_WORKERS"] and "3" in lines["NUVOM_MAX_WORKERS"]
    assert ".env" in lines["NUVOM_BATCH_SIZE"] and "7" in lines["NUVOM_BATCH_SIZE"]
    assert "default" in lines["NUVOM_LEASE_SECS"]


def test_status_exit_codes(finished_jobs: tuple[str, str]) -> None:
    ok, bad = finished_jobs
    assert invoke("status", ok) == (0, "success\n")
    code, out = invoke("status", bad)
    assert (code, out) == (1, "failed\n")
    code, _ = invoke("status", "no-such-job")
    assert code == 2


def test_inspect_job_table_and_json(finished_jobs: tuple[str, str]) -> None:
    ok, bad = finished_jobs
    code, out = invoke("inspect", "job", ok, "--format", "json")
    assert code == 0
    info = json.loads(out)
    assert (info["task_name"], info["args"], info["result"], info["status"]) == (
        "cli_ok",
        [21],
        42,
        "success",
    )
    code, out = invoke("inspect", "job", bad)
    assert code == 1  # the job asked about failed
    assert "ValueError: boom from the task" in out
    assert 'raise ValueError("boom from the task")' in out  # the traceback is shown
    assert invoke("inspect", "job", "nope")[0] == 2


def test_history_recent_filters_by_status(finished_jobs: tuple[str, str]) -> None:
    ok, bad = finished_jobs
    code, out = invoke("history", "recent", "--limit", "10")
    assert code == 0 and ok in out and bad in out
    code, out = invoke("history", "recent", "--status", "failed")
    assert code == 0 and bad in out and ok not in out


def test_queue_stats_counts_waiting_jobs() -> None:
    @task(name="cli_waiting")
    def cli_waiting() -> None: ...

    cli_waiting.map([None] * 3)
    cli_waiting.options(countdown=3600).delay()
    code, out = invoke("queue", "stats")
    assert code == 0
    rows = {
        line.split("│")[1].strip(): line.split("│")[2].strip() for line in out.splitlines() if "│" in line
    }
    assert rows["ready"] == "3" and rows["scheduled"] == "1" and rows["quarantined"] == "0"


def run_nuvom(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nuvom", *args],
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("NUVOM_MAX_WORKERS", "abc", "NUVOM_MAX_WORKERS='abc'"),
        ("NUVOM_TIMEOUT_POLICY", "sometimes", "'fail', 'retry' or 'ignore'"),
        ("NUVOM_QUEUE_BACKEND", "nope", "available queue backends: acme-memory, file, memory"),
    ],
)
def test_bad_settings_fail_naming_the_variable_and_value(variable: str, value: str, expected: str) -> None:
    Path("tasks_for_cli.py").write_text("from nuvom import task\n\n@task\ndef t():\n    return 1\n")
    result = run_nuvom("runworker", "--import", "tasks_for_cli", env={variable: value})
    assert result.returncode == 2
    assert variable in result.stderr and value in result.stderr
    assert expected in result.stderr


def test_runworker_without_tasks_is_a_usage_error() -> None:
    result = run_nuvom("runworker")
    assert result.returncode == 2
    assert "--import" in result.stderr


@pytest.mark.slow
def test_demo_runs_jobs_on_the_file_backend_and_prints_results(tmp_path: Path) -> None:
    result = run_nuvom("demo", "--dir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "results, read back from the result store" in result.stdout
    assert "succeeded on attempt 3" in result.stdout
    assert "ZeroDivisionError" in result.stdout
    assert (tmp_path / "demo" / "demo_tasks.py").exists()
    assert list((tmp_path / "demo" / ".nuvom" / "results").glob("*.rec"))


def test_status_of_a_cancelled_job_exits_1() -> None:
    @task(name="cli_cancelled")
    def cli_cancelled() -> None: ...

    job = cli_cancelled.delay()
    assert job.cancel()
    assert invoke("status", job.id) == (1, "cancelled\n")
