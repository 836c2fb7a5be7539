"""``nuvom demo``: example tasks, a real worker process, a progress bar and a results table."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import runtime
from ..job import Job
from ..record import JobStatus
from .common import EXIT_FAILED, console, fail

_TASKS_FILE = Path(__file__).with_name("demo_tasks.py.txt")


def _enqueue(tasks: Any) -> list[tuple[str, Job]]:
    run = uuid.uuid4().hex[:6]
    jobs: list[tuple[str, Job]] = []
    jobs += [
        (f"add({i}, {i * 10})", j) for i, j in enumerate(tasks.add.map([(i, i * 10) for i in range(20)]))
    ]
    jobs += [(f"slow_square({i})", j) for i, j in enumerate(tasks.slow_square.map(range(12)))]
    text = "nuvom runs background jobs with no server"
    jobs.append((f"word_count({text!r})", tasks.word_count.delay(text)))
    jobs.append(("add(1, 2) with priority 0", tasks.add.options(priority=0).delay(1, 2)))
    jobs.append(("add(40, 2) after 1 s", tasks.add.options(countdown=1).delay(40, 2)))
    jobs.append((f"flaky({run!r})", tasks.flaky.delay(run)))
    jobs.append(("divide(1, 0)", tasks.divide.delay(1, 0)))
    return jobs


def _outcome(job: Job) -> tuple[str, str]:
    info = job.info()
    if info["status"] == JobStatus.SUCCESS.value:
        return "green", repr(info["result"])
    error = info["error"] or {}
    return "red", f"{error.get('type')}: {error.get('message')}"


def demo(
    directory: Path = typer.Option(Path("nuvom-demo"), "--dir", help="Where to write the demo project."),
    timeout: float = typer.Option(60.0, help="Seconds to wait for every job to finish."),
) -> None:
    """Write example tasks, enqueue jobs, run a worker on them and show the results."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "demo_tasks.py").write_text(_TASKS_FILE.read_text())
    os.chdir(directory)
    os.environ.update(
        NUVOM_QUEUE_BACKEND="file",
        NUVOM_RESULT_BACKEND="file",
        NUVOM_DATA_DIR=".nuvom",
        NUVOM_LOG_LEVEL="INFO",
    )
    runtime.reset()
    sys.path.insert(0, str(Path.cwd()))
    sys.modules.pop("demo_tasks", None)
    tasks = importlib.import_module("demo_tasks")
    console.print(f"[bold]Nuvom demo[/] in {Path.cwd()}: tasks in demo_tasks.py, data in .nuvom/")

    jobs = _enqueue(tasks)
    console.print(f"enqueued {len(jobs)} jobs with .delay(), .map() and .options(); starting a worker")
    with open("worker.log", "w") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "nuvom", "runworker", "--import", "demo_tasks", "--concurrency", "4"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        finished = _wait_with_progress(jobs, timeout)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    if not finished:
        raise fail(f"not every job finished within {timeout} s; see {Path.cwd() / 'worker.log'}", EXIT_FAILED)
    _print_table(jobs)


def _wait_with_progress(jobs: list[tuple[str, Job]], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        bar = progress.add_task("running jobs", total=len(jobs))
        while time.monotonic() < deadline:
            done = sum(1 for _, job in jobs if job.status().is_terminal)
            progress.update(bar, completed=done)
            if done == len(jobs):
                return True
            time.sleep(0.05)
    return False


def _print_table(jobs: list[tuple[str, Job]]) -> None:
    table = Table(title="results, read back from the result store")
    for column in ("job", "call", "status", "attempts", "result / error"):
        table.add_column(column)
    for call, job in jobs:
        info = job.info()
        style, outcome = _outcome(job)
        table.add_row(job.id[:8], call, f"[{style}]{info['status']}[/]", str(info["attempts"]), outcome)
    console.print(table)
    console.print(
        "Try: [bold]nuvom history recent[/], [bold]nuvom inspect job ID[/], [bold]nuvom queue stats[/] "
        f"(in {Path.cwd()})"
    )
