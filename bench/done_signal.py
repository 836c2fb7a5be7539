"""The completion signal every system's no-op task sends: ``RPUSH bench:done 1`` on the bench's Redis.

The list's length is the number of tasks executed (polled with LLEN during drains) and a round
trip waits for its job with BLPOP, so no system's own result API is involved. The server is
``BENCH_SIGNAL_URL``; each process (Celery's prefork children included) opens its own client.
"""

from __future__ import annotations

import os

import redis

KEY = "bench:done"
_clients: dict[int, redis.Redis] = {}


def client() -> redis.Redis:
    """This process's client for the signal server."""
    pid = os.getpid()
    if pid not in _clients:
        _clients[pid] = redis.Redis.from_url(os.environ["BENCH_SIGNAL_URL"])
    return _clients[pid]


def done() -> int:
    """Record one executed task; the no-op task of every system calls this and nothing else."""
    client().rpush(KEY, 1)
    return 1
