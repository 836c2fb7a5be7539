"""Graceful shutdown on SIGINT/SIGTERM: the first signal stops claiming, a second exits at once."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType

logger = logging.getLogger(__name__)


def install_signal_handlers(stop: Callable[[], None], stopping: threading.Event, grace: float) -> None:
    """Call ``stop`` on the first SIGINT or SIGTERM; exit at once on a second (main thread only).

    ``grace`` is how long running jobs get to finish, as the log line says.
    """

    def handle(signum: int, frame: FrameType | None) -> None:
        if stopping.is_set():
            logger.warning("second %s: exiting now", signal.Signals(signum).name)
            os._exit(128 + signum)
        logger.info(
            "%s: finishing running jobs (up to %g s), then stopping", signal.Signals(signum).name, grace
        )
        stop()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)
