"""Helpers for users' own test suites: eager mode and in-process draining."""

from __future__ import annotations

from collections.abc import Sequence

from ..config import get_settings
from ..registry import registry
from ..runtime import get_queue, get_results
from ..runtime import reset as reset
from ..worker.worker import Worker
from .eager import eager as eager


def drain(queues: Sequence[str] | None = None, *, timeout: float = 5.0) -> int:
    """Run the queued jobs of this process's queue backend here, until none is left.

    Args:
        queues: the queues to drain (default: every queue a registered task uses, and "default").
        timeout: how long to wait, in all, for jobs that are not due yet (retries, countdowns).

    Returns:
        How many jobs ran.
    """
    if queues is None:
        queues = sorted({"default"} | {t.opts.queue for t in registry.all().values()})
    worker = Worker(get_settings(), get_queue(), get_results(), queues=queues, concurrency=1)
    return worker.drain(timeout=timeout)


__all__ = ["drain", "eager", "reset"]
