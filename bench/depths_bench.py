"""What one fleet-exporter scrape costs on a large backlog: ``depths()`` and ``stats()`` timed.

    python bench/depths_bench.py --backend sqlite --jobs 1000000
    python bench/depths_bench.py --backend redis --jobs 1000000
    python bench/depths_bench.py --backend file --jobs 100000

The backlog is ``--jobs`` ready jobs spread over 4 queues, plus 1% scheduled an hour ahead and
100 leased. Prints the median of ``--repeat`` calls of each, in milliseconds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from redis_server import RedisServer

from nuvom.backends import DepthQueue, Envelope, QueueBackend
from nuvom.backends.file_queue import FileQueue
from nuvom_redis.client import Connection
from nuvom_redis.queue import RedisQueue
from nuvom_redis.settings import RedisSettings
from nuvom_sqlite.queue import SqliteQueue

QUEUES = ("default", "mail", "reports", "webhooks")
BATCH = 10_000


@contextmanager
def backend(name: str, directory: Path) -> Iterator[QueueBackend]:
    if name == "redis":
        with RedisServer(directory) as server:
            url = f"redis://127.0.0.1:{server.port}/0"
            yield RedisQueue(Connection(url, RedisSettings.load()))
    elif name == "sqlite":
        yield SqliteQueue(directory / "nuvom.sqlite3", synchronous="OFF")
    else:
        yield FileQueue(directory / "queue", fsync=False)


def fill(queue: QueueBackend, jobs: int) -> None:
    later = time.time() + 3600
    for start in range(0, jobs, BATCH):
        queue.enqueue_many(
            [
                Envelope(
                    f"j{i}",
                    QUEUES[i % len(QUEUES)],
                    b"x" * 64,
                    eta=later if (i // len(QUEUES)) % 100 == 99 else None,
                )
                for i in range(start, min(start + BATCH, jobs))
            ]
        )
    queue.pop_batch(100, queues=QUEUES, timeout=0, lease_secs=3600)


def median_ms(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["file", "sqlite", "redis"], required=True)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory, backend(args.backend, Path(directory)) as queue:
        began = time.perf_counter()
        fill(queue, args.jobs)
        print(f"{args.backend}: {args.jobs} jobs enqueued in {time.perf_counter() - began:.1f} s")
        assert isinstance(queue, DepthQueue)
        depths = queue.depths(time.time())
        print({q: (d.ready, d.scheduled, d.leased) for q, d in sorted(depths.by_queue.items())})
        print(f"depths(): {median_ms(lambda: queue.depths(time.time()), args.repeat):.1f} ms (median)")
        print(f"stats():  {median_ms(queue.stats, args.repeat):.1f} ms (median)")
        queue.close()


if __name__ == "__main__":
    main()
