"""Dramatiq's no-op actor on a RedisBroker at ``BENCH_REDIS_URL``."""

import os

import dramatiq
from done_signal import done
from dramatiq.brokers.redis import RedisBroker

broker = RedisBroker(url=os.environ["BENCH_REDIS_URL"])
dramatiq.set_broker(broker)


@dramatiq.actor(max_retries=0)
def noop() -> int:
    return done()
