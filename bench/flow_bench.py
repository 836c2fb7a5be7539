"""What a limit check costs per job: one worker drains no-op jobs without a limit, then with one.

    python bench/flow_bench.py --backend sqlite --jobs 10000
    python bench/flow_bench.py --backend redis --jobs 10000
    python bench/flow_bench.py --backend file --jobs 10000

For each variant (no limit; ``rate_limit`` far above the drain rate; ``concurrency_limit`` far
above the slots) it enqueues ``--jobs`` no-op jobs, runs one in-process worker in burst mode
(threads, ``--concurrency`` slots) until the queue is empty, and prints jobs per second and the
added cost per job against no limit. Every job is checked and granted: nothing is deferred.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from redis_server import RedisServer

VARIANTS = {
    "none": {},
    "rate_limit": {"rate_limit": "100000/s"},
    "concurrency_limit": {"concurrency_limit": 1000},
}


@contextmanager
def environment(name: str, directory: Path) -> Iterator[None]:
    """Point Nuvom's settings at a fresh store of backend ``name``."""
    os.environ["NUVOM_DATA_DIR"] = str(directory)
    for kind in ("QUEUE", "RESULT", "SCHEDULER"):
        os.environ[f"NUVOM_{kind}_BACKEND"] = name
    os.environ["NUVOM_FILE_FSYNC"] = "false"
    if name != "redis":
        yield
        return
    with RedisServer(directory) as server:
        os.environ["NUVOM_REDIS_URL"] = f"redis://127.0.0.1:{server.port}/0"
        yield


def drain(variant: str, jobs: int, concurrency: int) -> float:
    """Seconds one burst worker takes to run ``jobs`` no-op jobs of a task with ``variant``'s limit."""
    from nuvom import runtime, task
    from nuvom.config import get_settings, reset_settings
    from nuvom.registry import registry
    from nuvom.worker import Worker

    reset_settings()
    runtime.reset()
    noop = task(name=f"noop_{variant}", **VARIANTS[variant])(lambda i: None)
    try:
        for start in range(0, jobs, 1000):
            noop.map(range(start, min(start + 1000, jobs)))
        worker = Worker(
            get_settings(), runtime.get_queue(), runtime.get_results(), concurrency=concurrency, burst=True
        )
        began = time.perf_counter()
        worker.run(install_signals=False)
        took = time.perf_counter() - began
        assert worker.processed == jobs, f"{worker.processed} of {jobs} jobs ran"
        return took
    finally:
        registry.unregister(noop.name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["file", "sqlite", "redis"], required=True)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    took: dict[str, float] = {}
    for variant in VARIANTS:
        with tempfile.TemporaryDirectory() as directory, environment(args.backend, Path(directory)):
            took[variant] = drain(variant, args.jobs, args.concurrency)
    base = took["none"]
    print(f"{args.backend}: {args.jobs} no-op jobs, one worker, {args.concurrency} threads")
    for variant, secs in took.items():
        extra_ms = (secs - base) / args.jobs * 1000
        print(f"  {variant:<18} {args.jobs / secs:8.0f} jobs/s   {extra_ms:+.3f} ms per job")


if __name__ == "__main__":
    main()
