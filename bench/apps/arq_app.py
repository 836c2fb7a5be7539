"""arq's no-op coroutine and worker settings for the server at ``BENCH_REDIS_URL``.

2 concurrent jobs, and ``poll_delay`` lowered from arq's 0.5 s to Nuvom's 10 ms: arq sleeps
``poll_delay`` between reads of the queue and reads at most ``max_jobs`` per poll, so with its
default a 2-slot worker runs at most ~4 jobs/s and a 10,000-job drain would take 40 minutes.
"""

import os
from typing import Any

from arq.connections import RedisSettings
from done_signal import done


async def noop(ctx: dict[str, Any]) -> int:
    return done()  # a sync client: one short blocking call, the same command as every other system


class WorkerSettings:
    functions = [noop]
    redis_settings = RedisSettings.from_dsn(os.environ["BENCH_REDIS_URL"])
    max_jobs = 2
    poll_delay = 0.01
