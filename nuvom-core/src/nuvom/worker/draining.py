"""In-process draining for tests (``nuvom.testing.drain()``): run queued jobs in the calling thread."""

from __future__ import annotations

import threading
import time

from ..backends import QueueBackend
from .holdings import Holdings
from .processing import Processor

#: How often the queues are looked at again while only jobs not yet due are left.
_DUE_POLL_SECS = 0.05


def drain_queues(
    queue: QueueBackend,
    queues: tuple[str, ...],
    holdings: Holdings,
    processor: Processor,
    *,
    batch_size: int,
    lease_secs: float,
    timeout: float,
    stopping: threading.Event,
) -> int:
    """Run jobs in the calling thread until ``queues`` are empty; return how many ran.

    Jobs not yet due (retries with backoff, countdowns) are waited for, up to ``timeout``
    seconds in all. Async attempts are waited for here too; timeouts are not enforced.
    """
    deadline = time.monotonic() + timeout
    processor.draining = True
    try:
        ran = 0
        while True:
            left = deadline - time.monotonic()
            leases = queue.pop_batch(batch_size, queues=queues, timeout=0, lease_secs=lease_secs)
            for lease in leases:
                processor.process(holdings.hold(lease))
                ran += 1
            if leases:
                continue
            if left <= 0 or not any(queue.qsize(q) for q in queues):
                return ran
            stopping.wait(min(left, _DUE_POLL_SECS))  # jobs wait for their due time
    finally:
        processor.draining = False
