"""The worker's own cost per job: drain no-op jobs on the memory backends in one process.

Usage: ``python bench/worker_overhead.py [--jobs N] [--runs N] [--mode drain|run]
[--pool threads|processes] [--without prometheus,...] [--profile out.txt]``.

Each run fills the memory queue with ``--jobs`` no-op jobs (not timed), then times the worker:
``drain`` runs them in the calling thread (``Worker.drain``: no committer, no job threads), ``run``
starts ``Worker.run`` on a thread with its job threads and committer and waits until every job
is processed. With the memory backends nothing but the worker's Python is measured. Every run
happens in a fresh process (the plugins loaded as installed, less ``--without``); the report is
the median µs per job and the min-max over ``--runs``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time


def one(jobs: int, mode: str, pool: str, concurrency: int, without: list[str]) -> float:
    """Fill the queue, then time the worker; µs per job (run in a fresh process)."""
    from nuvom.plugins import loading, manager

    if without:
        found = list(loading.from_entry_points())
        manager.from_entry_points = lambda: iter(f for f in found if f.name not in without)  # type: ignore[assignment]

    import execution_bench_tasks as tasks

    from nuvom.config import get_settings
    from nuvom.runtime import get_queue, get_results
    from nuvom.worker import Worker

    for start in range(0, jobs, 1000):
        tasks.noop.map([() for _ in range(min(1000, jobs - start))])
    worker = Worker(get_settings(), get_queue(), get_results(), pool=pool, concurrency=concurrency)
    began = time.perf_counter()
    if mode == "drain":
        ran = worker.drain(timeout=0)
        elapsed = time.perf_counter() - began
        assert ran == jobs, f"drained {ran} of {jobs}"
    else:
        thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
        thread.start()
        while worker.processed < jobs:
            time.sleep(0.001)
        elapsed = time.perf_counter() - began
        worker.stop()
        thread.join()
    return elapsed / jobs * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", choices=("drain", "run"), default="drain")
    parser.add_argument("--pool", choices=("threads", "processes"), default="threads")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--without", default="", help="entry-point plugins to leave out, comma-separated")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    without = [name for name in args.without.split(",") if name]
    if args.one:
        print(json.dumps(one(args.jobs, args.mode, args.pool, args.concurrency, without)))
        return
    here = os.path.dirname(os.path.abspath(__file__))
    env = {**os.environ, "NUVOM_QUEUE_BACKEND": "memory", "NUVOM_RESULT_BACKEND": "memory"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    samples = []
    for _ in range(args.runs):
        out = subprocess.run(
            [sys.executable, __file__, "--one", *sys.argv[1:]],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    label = f"{args.mode}/{args.pool}, {args.jobs} jobs" + (f", without {args.without}" if without else "")
    print(
        f"{label}: median {statistics.median(samples):.1f} µs/job "
        f"(min {min(samples):.1f}, max {max(samples):.1f}; {args.runs} runs)"
    )


if __name__ == "__main__":
    main()
