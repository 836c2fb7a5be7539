"""The measurement behind the Redis queue's design: Streams consumer groups against sorted sets + Lua.

``python bench/redis_design.py [--jobs 10000] [--batch 4]`` starts its own redis-server (no
persistence) and, from one client, runs the same cycle on each design: enqueue every job one by
one, then claim ``--batch`` at a time and settle each claim, until the queue is empty.

- ``streams``: XADD; XREADGROUP COUNT n; XACK + XDEL pipelined per job. This is the lower bound
  for Streams: it has no priorities, no eta and no token-guarded ack (each would add a script).
- ``zsets+lua``: nuvom-redis itself (enqueue, claim and ack scripts, leases by Redis's clock).

Prints jobs/s for enqueue and for claim + settle, and writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import redis
from redis_bench import Server


def streams(client: redis.Redis, jobs: int, batch: int) -> tuple[float, float]:
    client.xgroup_create("s", "g", id="0", mkstream=True)
    start = time.perf_counter()
    for i in range(jobs):
        client.xadd("s", {"id": f"j{i}", "p": b"x" * 64})
    enqueue = time.perf_counter() - start
    start = time.perf_counter()
    done = 0
    while done < jobs:
        reply = client.xreadgroup("g", "c", {"s": ">"}, count=batch)
        entries = reply[0][1] if reply else []
        for entry_id, _ in entries:
            pipe = client.pipeline(transaction=True)
            pipe.xack("s", "g", entry_id)
            pipe.xdel("s", entry_id)
            pipe.execute()
        done += len(entries)
    return enqueue, time.perf_counter() - start


def zsets_lua(url: str, jobs: int, batch: int) -> tuple[float, float]:
    from nuvom.backends import Envelope
    from nuvom_redis.client import Connection
    from nuvom_redis.queue import RedisQueue
    from nuvom_redis.settings import RedisSettings

    queue = RedisQueue(Connection(url, RedisSettings()), prefix="design")
    start = time.perf_counter()
    for i in range(jobs):
        queue.enqueue(Envelope(f"j{i}", "default", b"x" * 64))
    enqueue = time.perf_counter() - start
    start = time.perf_counter()
    done = 0
    while done < jobs:
        leases = queue.pop_batch(batch, queues=["default"], timeout=0, lease_secs=30)
        for lease in leases:
            queue.ack(lease)
        done += len(leases)
    queue.close()
    return enqueue, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        server = Server(Path(directory))
        try:
            client = redis.Redis(port=server.port)
            results = {
                "streams": streams(client, args.jobs, args.batch),
                "zsets+lua": zsets_lua(server.url, args.jobs, args.batch),
            }
        finally:
            server.stop()
    print("| design | enqueue (jobs/s) | claim + settle (jobs/s) |\n|---|---:|---:|")
    for name, (enqueue, settle) in results.items():
        print(f"| {name} | {args.jobs / enqueue:,.0f} | {args.jobs / settle:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
