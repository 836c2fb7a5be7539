"""RedisHuey's side of the no-op task for ``bench/redis_bench.py``; the server is ``BENCH_REDIS_URL``."""

import os

from huey import RedisHuey

huey = RedisHuey("bench", url=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))


@huey.task()
def noop() -> int:
    return 1
