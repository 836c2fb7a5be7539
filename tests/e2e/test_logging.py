"""A real worker's log piped to a file: one parseable line per record, with worker and job context."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from types import ModuleType

import pytest

from nuvom import task
from nuvom.config import get_settings
from nuvom.log import JSON_KEYS, ContextFilter, job_context
from nuvom.runtime import get_queue, get_results
from nuvom.worker import Worker

from .helpers import WorkerProcess, wait_until

#: ``2026-12-06T01:15:00.123+00:00 LEVEL logger [context] message``
TEXT_LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+ "
    r"(\[(?P<context>[^\]]*)\] )?(?P<message>.*)$"
)


def run_jobs(
    project: ModuleType, start_worker: Callable[..., WorkerProcess], *args: str
) -> tuple[str, str, str]:
    """A worker runs a job that fails for good and one whose hook raises; return its log and their ids."""
    failed = project.add.delay(1, "x")
    hooked = project.hooked.delay(True)
    worker = start_worker("--burst", *args)
    assert worker.wait(timeout=60) == 0, worker.output()
    wait_until(lambda: hooked.status().is_terminal, 10, "the hooked job to finish")
    return worker.output(), failed.id, hooked.id


def test_text_lines_carry_iso_time_level_logger_and_job_context(
    project: ModuleType, start_worker: Callable[..., WorkerProcess]
) -> None:
    output, failed_id, hooked_id = run_jobs(project, start_worker)

    lines = output.splitlines()
    unparsed = [line for line in lines if not TEXT_LINE.match(line)]
    assert not unparsed, f"each record must be one line; these are not: {unparsed}"
    matches = [m for line in lines if (m := TEXT_LINE.match(line))]
    failed_lines = [m for m in matches if f"job {failed_id} (add) failed" in m["message"]]
    assert len(failed_lines) == 1, output
    context = failed_lines[0]["context"]
    assert f"job={failed_id} task=add" in context and context.startswith("worker="), context
    # The hook's traceback is on the same line as its record, newlines escaped.
    hook_lines = [m for m in matches if m["context"] and f"job={hooked_id} task=hooked" in m["context"]]
    assert any("Traceback (most recent call last):\\n" in m["message"] for m in hook_lines), output


def test_json_lines_have_the_documented_keys_also_from_process_pool_children(
    project: ModuleType, start_worker: Callable[..., WorkerProcess], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUVOM_LOG_FORMAT", "json")
    output, failed_id, hooked_id = run_jobs(
        project, start_worker, "--pool", "processes", "--concurrency", "1"
    )

    records = [json.loads(line) for line in output.splitlines()]
    assert records, "the worker logged nothing"
    for record in records:
        assert set(record) <= set(JSON_KEYS), record
        assert {"ts", "level", "logger", "message", "pid"} <= set(record)
    (failed,) = [r for r in records if r.get("job_id") == failed_id and r["level"] == "ERROR"]
    assert failed["task"] == "add" and failed["worker_id"] and failed["logger"] == "nuvom.worker.committer"
    # The hook runs in a child process, which logs its exception as one field, with the job's context.
    hook = [r for r in records if r.get("job_id") == hooked_id and "exc" in r]
    assert hook and hook[0]["task"] == "hooked" and "RuntimeError" in hook[0]["exc"], records


def test_the_library_adds_no_handler_and_a_task_log_carries_its_job(
    memory_backends: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A program that imports Nuvom keeps its logging; ``ContextFilter`` on its handler adds job context."""
    root = logging.getLogger()
    before = list(root.handlers)
    caplog.handler.addFilter(ContextFilter())

    @task(name="logs_a_line")
    def logs_a_line() -> None:
        logging.getLogger("app").warning("inside the task")

    job = logs_a_line.delay()
    Worker(get_settings(), get_queue(), get_results()).drain()

    assert root.handlers == before
    (line,) = [r for r in caplog.records if r.getMessage() == "inside the task"]
    assert (getattr(line, "job_id", None), getattr(line, "task", None)) == (job.id, "logs_a_line")
    with job_context("j-1", "t"):
        logging.getLogger("app").warning("outside a worker")
    assert caplog.records[-1].__dict__["job_id"] == "j-1"
