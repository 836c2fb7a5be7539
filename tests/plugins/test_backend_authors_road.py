"""A backend author's road: local plugin modules, interface errors at load, a fail-fast `plugin test`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nuvom import runtime
from nuvom.backends.interface import interface_problems
from nuvom.backends.memory import MemoryQueue
from nuvom.errors import BackendInterfaceError

#: A queue written to the original Nuvom interface (enqueue/dequeue/pop_batch(batch_size)/qsize/clear).
OLD_STYLE_QUEUE = """
class MyQueue:
    name = "myqueue"

    def __init__(self):
        self.items = []

    def enqueue(self, job):
        self.items.append(job)

    def dequeue(self, timeout=1):
        return self.items.pop(0) if self.items else None

    def pop_batch(self, batch_size=1, timeout=1):
        return [self.items.pop(0) for _ in range(min(batch_size, len(self.items)))]

    def qsize(self):
        return len(self.items)

    def clear(self):
        self.items.clear()
"""

HOOK_MODULE = """
from nuvom.plugins import hookimpl


@hookimpl
def nuvom_job_finished(job, status):
    pass
"""


def console_script() -> str:
    """The `nuvom` console script of the running interpreter (not `python -m nuvom`)."""
    beside = Path(sys.executable).parent / "nuvom"
    found = str(beside) if beside.exists() else shutil.which("nuvom")
    assert found, "the nuvom console script is not installed"
    return found


def run_nuvom(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    # the console script's sys.path holds its own folder, not the working directory
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    environment.update({"COLUMNS": "200", "NO_COLOR": "1", **(env or {})})
    return subprocess.run(
        [console_script(), *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=60
    )


def test_a_local_plugin_module_beside_the_toml_loads_through_the_console_script(tmp_path: Path) -> None:
    # Given a project with a hook module and a backend class in a package beside .nuvom_plugins.toml
    project = tmp_path / "project"
    (project / "custom").mkdir(parents=True)
    (project / "monplug.py").write_text(HOOK_MODULE)
    (project / "custom" / "__init__.py").write_text("")
    (project / "custom" / "module.py").write_text(
        "from nuvom.backends.memory import MemoryQueue\n\n\nclass MyQueue(MemoryQueue):\n    name = 'mine'\n"
    )
    (project / ".nuvom_plugins.toml").write_text(
        '[plugins]\nmodules = ["monplug"]\nqueue_backend = ["custom.module:MyQueue"]\n'
    )

    # When the console script runs there (its sys.path does not hold the working directory)
    listed = run_nuvom(project, "plugin", "list")
    version = run_nuvom(project, "version")

    # Then every command works and the plugins are registered
    assert listed.returncode == 0, listed.stderr + listed.stdout
    assert "monplug" in listed.stdout and "queue backends: mine" in listed.stdout
    assert version.returncode == 0, version.stderr


def test_an_old_style_queue_fails_at_load_naming_each_missing_and_misshaped_method(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "oldqueue.py").write_text(OLD_STYLE_QUEUE)
    (project / ".nuvom_plugins.toml").write_text('[plugins]\nqueue_backend = ["oldqueue:MyQueue"]\n')

    result = run_nuvom(project, "queue", "stats", env={"NUVOM_QUEUE_BACKEND": "myqueue"})

    assert result.returncode != 0
    message = result.stderr + result.stdout
    assert "queue backend 'myqueue' (oldqueue.MyQueue, from plugin '.nuvom_plugins.toml backends'" in message
    assert "missing methods: enqueue_many, ack, nack, extend, stats, close" in message
    assert "pop_batch(batch_size=1, timeout=1) takes no argument 'queues'" in message
    assert "takes no argument 'lease_secs'" in message
    assert "docs/plugins/writing-a-backend.md" in message
    assert "Traceback" not in message


def test_delay_with_a_misshaped_backend_raises_before_anything_is_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "oldqueue.py").write_text(OLD_STYLE_QUEUE)
    (tmp_path / ".nuvom_plugins.toml").write_text('[plugins]\nqueue_backend = ["oldqueue:MyQueue"]\n')
    monkeypatch.setenv("NUVOM_QUEUE_BACKEND", "myqueue")
    monkeypatch.syspath_prepend(str(tmp_path))
    runtime.reset()

    with pytest.raises(BackendInterfaceError) as raised:
        runtime.get_queue()
    assert "missing methods: enqueue_many, ack, nack, extend, stats, close" in str(raised.value)
    assert raised.value.problems[0].startswith("missing methods:")


def test_signatures_are_checked_not_only_names() -> None:
    class RequiresExtra(MemoryQueue):
        def extend(self, lease, lease_secs, why):  # type: ignore[override]
            return True

    class PositionalOnlyQueues(MemoryQueue):
        def pop_batch(self, n, queues, timeout, lease_secs):  # type: ignore[override]
            return []

    class CatchAll(MemoryQueue):
        def pop_batch(self, *args, **kwargs):  # type: ignore[override]
            return []

    assert interface_problems("queue", MemoryQueue()) == []
    assert interface_problems("queue", CatchAll()) == []
    assert interface_problems("queue", RequiresExtra()) == [
        "mis-shaped: extend(lease, lease_secs, why) requires an argument 'why' the interface never passes"
    ]
    # keyword-only in the interface, and a same-named positional parameter accepts it by name
    assert interface_problems("queue", PositionalOnlyQueues()) == []


def test_plugin_test_stops_at_the_interface_check_with_one_line(tmp_path: Path) -> None:
    (tmp_path / "oldqueue.py").write_text(OLD_STYLE_QUEUE)

    result = run_nuvom(tmp_path, "plugin", "test", "oldqueue:MyQueue", "--kind", "queue")

    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, result.stdout
    assert lines[0].startswith("queue suite not run: queue backend 'oldqueue:MyQueue'")
    assert "missing methods: enqueue_many, ack, nack, extend, stats, close" in lines[0]
    assert "ExceptionGroup" not in result.stdout + result.stderr
