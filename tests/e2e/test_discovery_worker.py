"""A worker finds a project's tasks itself, and `--dev` restarts it on edits without losing jobs."""

from __future__ import annotations

import importlib
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nuvom.cli.app import app

from .helpers import wait_until

pytestmark = pytest.mark.slow


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))


def start(cwd: Path, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = cwd / f"worker-{len(list(cwd.glob('worker-*.log')))}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "nuvom", "runworker", *args], cwd=cwd, stdout=out, stderr=subprocess.STDOUT
        )
    return proc, log


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def project(isolated_nuvom: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    write(
        isolated_nuvom / "myapp" / "__init__.py",
        "",
    )
    write(
        isolated_nuvom / "myapp" / "jobs.py",
        """
        import os
        from pathlib import Path

        from nuvom import task

        with Path("imports.log").open("a") as log:  # one line per import of this module
            log.write(f"{os.getpid()}\\n")


        @task(queue="default", retries=1, tags=["math"], description="Double a number")
        def double(x):
            return 2 * x
        """,
    )
    write(
        isolated_nuvom / "myapp" / "broken.py",
        """
        import module_that_is_not_installed
        from nuvom import task


        @task
        def never_served():
            return 1
        """,
    )
    write(
        isolated_nuvom / "src" / "otherpkg" / "__init__.py",
        "",
    )
    write(
        isolated_nuvom / "src" / "otherpkg" / "tasks.py",
        """
        from nuvom import task as job


        @job(name="other.hello")
        async def hello(name):
            return f"hello {name}"
        """,
    )
    monkeypatch.syspath_prepend(str(isolated_nuvom))
    monkeypatch.syspath_prepend(str(isolated_nuvom / "src"))
    for module in ("myapp.jobs", "otherpkg.tasks", "devtasks"):
        sys.modules.pop(module, None)
    return isolated_nuvom


def test_discover_and_list_tasks_commands(project: Path) -> None:
    found = CliRunner().invoke(app, ["discover", "tasks"], env={"COLUMNS": "200"})
    assert found.exit_code == 0, found.output
    assert "+ double  myapp.jobs:double" in found.output
    assert "+ other.hello  otherpkg.tasks:hello" in found.output
    assert "3 task(s)" in found.output and "3 added" in found.output
    again = CliRunner().invoke(app, ["discover", "tasks"], env={"COLUMNS": "200"})
    assert "0 parsed" in again.output and "0 added, 0 removed, 0 changed" in again.output
    listed = CliRunner().invoke(app, ["list", "tasks"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if "myapp.jobs:double" in line)
    assert "math" in row and "Double a number" in row and "│ 1 " in row
    assert "other.hello (async)" in listed.output


def test_a_worker_without_import_serves_discovered_tasks_once_imported(project: Path) -> None:
    jobs = importlib.import_module("myapp.jobs")
    other = importlib.import_module("otherpkg.tasks")
    (project / "imports.log").unlink()
    doubled = jobs.double.delay(21)
    greeted = other.hello.delay("nuvom")

    proc, log = start(project)
    try:
        assert doubled.get(timeout=30) == 42
        assert greeted.get(timeout=30) == "hello nuvom"
        output = log.read_text()
        assert "no usable task manifest: discovered 3 task(s)" in output
        assert "myapp.broken" in output and "module_that_is_not_installed" in output
        pids = (project / "imports.log").read_text().split()
        assert pids == [str(proc.pid)], "the task module is imported exactly once by the worker"
        assert (project / ".nuvom" / "manifest.json").exists()
    finally:
        stop(proc)


def test_dev_mode_runs_edited_code_and_loses_no_running_job(project: Path) -> None:
    source = """
        import time

        from nuvom import task


        @task
        def value():
            return "{version}"


        @task
        def slow(secs):
            time.sleep(secs)
            return "{version} slow"
        """
    write(project / "devtasks.py", source.format(version="v1"))
    devtasks = importlib.import_module("devtasks")
    proc, log = start(project, "--dev", "--concurrency", "2")
    try:
        assert devtasks.value.delay().get(timeout=30) == "v1"

        # Given a job running while the file is edited
        running = devtasks.slow.delay(1.5)
        wait_until(lambda: running.status().value == "running", 20, "the slow job to start")
        write(project / "devtasks.py", source.format(version="v2"))

        # Then the running job finishes (the old worker stops gracefully) and new jobs run new code
        assert running.get(timeout=30) == "v1 slow"
        wait_until(lambda: "restarting the worker" in log.read_text(), 20, "the restart")
        assert devtasks.value.delay().get(timeout=30) == "v2"
    finally:
        stop(proc)
    assert "dev mode: stopped" in log.read_text()
    assert proc.returncode == 0
