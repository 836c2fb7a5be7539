"""Worker subprocesses and polling helpers for end-to-end tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

TASKS_MODULE = """
import os
import time
from pathlib import Path

from nuvom import task

LOG = Path(os.environ["E2E_LOG"])


def _lines():
    return LOG.read_text().splitlines() if LOG.exists() else []


def _log(kind, key):
    # One short O_APPEND write per line: lines from concurrent writers never interleave.
    fd = os.open(LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{kind} {key} {os.getpid()}\\n".encode())
    finally:
        os.close(fd)


@task
def add(a, b):
    _log("add", f"{a}+{b}")
    return a + b


@task
def nothing(key):
    _log("nothing", key)
    return None


@task
def work(key, secs=0.02):
    _log("work", key)
    time.sleep(secs)
    return key


@task(retries=3, retry_delay_secs=0.2)
def flaky(key, failures=2):
    _log("flaky", f"{key}@{time.time()!r}")
    attempts = sum(1 for line in LOG.read_text().splitlines() if line.startswith(f"flaky {key}@"))
    if attempts <= failures:
        raise ConnectionError(f"attempt {attempts} of {key} fails")
    return attempts


@task(timeout_secs=0.5, timeout_policy="fail")
def hang(key):
    _log("hang", key)
    time.sleep(30)


@task(timeout_secs=0.3, timeout_policy="retry", retries=1, retry_delay_secs=0)
def slow_then_fast(key):
    first = not any(line.startswith(f"slow {key} start") for line in _lines())
    _log("slow", f"{key} start@{time.time()!r}")
    if first:
        time.sleep(1.0)  # past the 0.3 s timeout: the retry must wait until this returns
    _log("slow", f"{key} end@{time.time()!r}")
    return "done"


def _before():
    _log("hook", "before")


def _after(result):
    _log("hook", f"after:{result}")


def _on_error(exc):
    _log("hook", f"error:{type(exc).__name__}")
    raise RuntimeError("a hook that raises is logged, never fatal")


@task(retries=1, retry_delay_secs=0, before_job=_before, after_job=_after, on_error=_on_error)
def hooked(fail_first):
    failed = any(line.startswith("hook error:") for line in _lines())
    if fail_first and not failed:
        raise KeyError("first attempt fails")
    return "ok"


@task
def crash(key):
    _log("crash", key)
    os._exit(3)
"""


def write_tasks(directory: Path) -> None:
    """Write the e2e task module into ``directory``."""
    (directory / "e2e_tasks.py").write_text(TASKS_MODULE)


@contextlib.contextmanager
def imported_tasks(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """Write the e2e task module into ``directory`` and import it here, as workers started there do."""
    write_tasks(directory)
    monkeypatch.setenv("E2E_LOG", str(directory / "executions.log"))
    monkeypatch.syspath_prepend(str(directory))
    sys.modules.pop("e2e_tasks", None)
    import e2e_tasks  # type: ignore[import-not-found]

    try:
        yield e2e_tasks
    finally:
        sys.modules.pop("e2e_tasks", None)


def wait_until(predicate: Callable[[], object], timeout: float, what: str, interval: float = 0.02) -> None:
    """Poll ``predicate`` until it is true, or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def executions(log: Path, kind: str) -> Counter[str]:
    """How many times each key of ``kind`` was executed, from the append-only log."""
    if not log.exists():
        return Counter()
    return Counter(
        line.split()[1].split("@")[0] for line in log.read_text().splitlines() if line.startswith(kind + " ")
    )


class WorkerProcess:
    """A ``nuvom runworker`` (or other long-running ``command``) subprocess, stopped by pid."""

    def __init__(
        self,
        cwd: Path,
        *args: str,
        env: dict[str, str] | None = None,
        command: str = "runworker",
        module: str = "e2e_tasks",
    ) -> None:
        self.cwd = cwd
        self.log_path = cwd / f"{command}-{time.monotonic_ns()}.log"
        full_env = {**os.environ, **(env or {})}
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nuvom", command, "--import", module, *args],
                cwd=cwd,
                env=full_env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log_path.read_text()

    def signal(self, signum: int) -> None:
        os.kill(self.proc.pid, signum)

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def kill9(self) -> None:
        if self.proc.poll() is None:
            self.signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then SIGKILL if it does not exit within ``timeout``."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill9()
        return self.proc.returncode
