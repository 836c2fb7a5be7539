"""How fast the Redis scheduler store hands out fires, next to the SQLite and file stores.

``python bench/redis_scheduler_bench.py [--schedules 10000] [--limit 100] [--stores redis,sqlite]``
(``file`` may be named too: it fsyncs every change, so give it few schedules) starts its own
redis-server (no persistence), adds ``--schedules`` interval schedules all due at one instant,
then from one client claims ``--limit`` at a time and marks each fire, as a scheduler's loop
does, until none is left. Prints schedules/s for ``add`` and for claim + mark_fired per store;
writes nothing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from redis_bench import Server

from nuvom.backends.base import SchedulerBackend
from nuvom.backends.file_scheduler import FileScheduler
from nuvom.testing.suite.scheduler import T0, schedule


def measure(store: SchedulerBackend, schedules: int, limit: int) -> tuple[float, float]:
    """Seconds to add every schedule, and to claim and mark every fire."""
    start = time.perf_counter()
    for i in range(schedules):
        store.add(schedule(f"s-{i:06d}", T0 - i))
    added = time.perf_counter() - start
    start = time.perf_counter()
    fired = 0
    while due := store.claim_due(T0, limit, lease_secs=30):
        for fire in due:
            store.mark_fired(fire.id, fire.next_run, T0 + 3600)
        fired += len(due)
    assert fired == schedules, f"fired {fired} of {schedules}"
    store.close()
    return added, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--stores", default="redis,sqlite", help="comma-separated: redis, sqlite, file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        server = Server(root)
        try:
            from nuvom_redis.client import Connection
            from nuvom_redis.scheduler import RedisScheduler
            from nuvom_redis.settings import RedisSettings

            stores: dict[str, Callable[[], SchedulerBackend]] = {
                "redis": lambda: RedisScheduler(Connection(server.url, RedisSettings()), prefix="bench"),
                "file": lambda: FileScheduler(root / "schedules"),
            }
            if "sqlite" in args.stores:
                from nuvom_sqlite import SqliteScheduler

                stores["sqlite"] = lambda: SqliteScheduler(root / "nuvom.db")
            chosen = args.stores.split(",")
            results = {name: measure(stores[name](), args.schedules, args.limit) for name in chosen}
        finally:
            server.stop()
    print("| store | add (schedules/s) | claim + mark_fired (fires/s) |\n|---|---:|---:|")
    for name, (added, fired) in results.items():
        print(f"| {name} | {args.schedules / added:,.0f} | {args.schedules / fired:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
