"""``runworker --dev``: run the worker in a child process and restart it when source files change.

A restart is graceful: the old worker gets SIGTERM, finishes its running jobs (or returns them
to the queue) and exits, then a new worker starts with the edited code. Nothing is lost.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

from ..errors import NotSupported

logger = logging.getLogger(__name__)


class _Child:
    """The worker process of the moment."""

    def __init__(self, args: Sequence[str]) -> None:
        self._args = [sys.executable, "-m", "nuvom", "runworker", *args]
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(self._args)  # noqa: S603 - our own interpreter and arguments

    def stop(self, grace: float) -> int | None:
        """SIGTERM, wait up to ``grace`` seconds, then SIGKILL."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            logger.error("worker %d did not stop within %g s; killing it", proc.pid, grace)
            proc.kill()
            return proc.wait()


def run_with_reload(
    worker_args: Sequence[str], root: Path, *, grace: float, on_change: Callable[[], None]
) -> None:
    """Run ``nuvom runworker worker_args`` and restart it on every change of a .py file under ``root``.

    ``on_change`` runs before each restart (e.g. to rescan tasks). SIGINT/SIGTERM stop the worker
    gracefully and return.
    """
    try:
        # watchfiles (with anyio and idna) comes with the extra, so a plain install stays small.
        from watchfiles import PythonFilter, watch
    except ModuleNotFoundError as exc:
        raise NotSupported(
            "runworker --dev", f"it needs {exc.name}, installed with: pip install 'nuvom-core[reload]'"
        ) from None
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
    child = _Child(worker_args)
    child.start()
    logger.info("dev mode: watching %s for changes to .py files", root)
    try:
        for changes in watch(root, watch_filter=PythonFilter(), stop_event=stop, rust_timeout=500):
            names = sorted({Path(path).name for _, path in changes})
            logger.info("changed: %s; restarting the worker", ", ".join(names))
            child.stop(grace)
            try:
                on_change()
            except Exception:
                logger.exception("rescanning failed; restarting with the previous tasks")
            child.start()
    finally:
        child.stop(grace)
        logger.info("dev mode: stopped")
