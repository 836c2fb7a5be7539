"""Worker subprocesses for the bench: start in their own process group, always stop.

A worker's output goes to a log file (no pipe to fill up). Each worker is the leader of a new
process group, so stopping it reaches the children some systems fork (Celery's prefork pool,
RQ's pool and work horses, Dramatiq's worker process): SIGTERM to the group, then SIGKILL after
a grace period. On Linux a worker also gets SIGKILL if the bench process dies first.
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
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment for a worker: ours without any ``NUVOM_*`` or ``BENCH_*``, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NUVOM_", "BENCH_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH_DIR), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class WorkerProcess:
    """One worker (and its children); use as a context manager so it is stopped on every path."""

    def __init__(self, argv: Sequence[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.argv = list(argv)
        self.env = env
        self.cwd = cwd
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def __enter__(self) -> WorkerProcess:
        with open(self.log, "wb") as out:
            self.started_at = time.perf_counter()
            self.proc = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

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

    def _signal_group(self, signum: int) -> None:
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signum)  # the group we created: its id is the worker's pid

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to the worker's group, then SIGKILL if the worker has not exited within ``grace``."""
        if self.proc is None:
            return
        self._signal_group(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.proc.wait(timeout=10)
        deadline = time.monotonic() + grace  # children (pool processes) may outlive the leader briefly
        while time.monotonic() < deadline:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        self._signal_group(signal.SIGKILL)


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
