"""Worker subprocesses for the bench: start, wait until ready, read CPU time, always stop.

A worker's output goes to a log file (no pipe to fill up). Readiness is the first line of the
log that contains the worker's "started" marker. CPU time is ``utime + stime`` of the process
(all its threads) from ``/proc/<pid>/stat``. Stopping is SIGTERM, then SIGKILL after a grace
period, by pid; a worker also gets SIGKILL from the kernel if its parent dies first (Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment for a worker: ours without any ``NUVOM_*``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUVOM_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH_DIR), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"  # Rich wraps log lines at 80 columns when stderr is not a terminal
    env.update(extra)
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, all threads, in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


class WorkerProcess:
    """One worker subprocess; use as a context manager so it is stopped on every path."""

    def __init__(
        self, argv: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path, ready_marker: str
    ) -> None:
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.log = log
        self.ready_marker = ready_marker
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.ready_at = 0.0

    def __enter__(self) -> WorkerProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with open(self.log, "wb") as out:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def check_alive(self) -> None:
        """Raise with the end of the log if the worker has exited."""
        assert self.proc is not None
        code = self.proc.poll()
        if code is not None:
            raise RuntimeError(f"worker exited with code {code}:\n{self.log_tail()}")

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Wait for the ready marker in the log; return seconds from spawn to ready."""
        deadline = time.monotonic() + timeout
        marker = self.ready_marker.encode()
        while True:
            if marker in self.log.read_bytes():
                self.ready_at = time.perf_counter()
                return self.ready_at - self.started_at
            self.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker not ready after {timeout} s:\n{self.log_tail()}")
            time.sleep(0.005)

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ``grace`` seconds."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@contextlib.contextmanager
def sigterm_exits() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit`` so ``finally`` blocks (stopping workers) run."""

    def handle(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
