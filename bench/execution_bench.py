"""Drain no-op (or CPU-bound) jobs on the file backend with each execution model; report jobs/s.

Usage: ``python bench/execution_bench.py [--jobs N] [--concurrency N] [--modes ...] [--no-fsync]
[--burn N]``. With ``--burn N`` each job is N pure-Python additions instead of a no-op (threads
and processes only): the case the process pool is for.

Each mode runs in its own process and temporary data folder: the queue is filled first (not
timed), then an in-process ``Worker`` starts and the clock runs until every job is processed.
``threads`` and ``processes`` run a sync no-op task with ``pool="threads"`` / ``"processes"``;
``async`` runs an ``async def`` no-op on the threads pool's event loop.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

MODES = ("threads", "processes", "async")


def one(mode: str, jobs: int, concurrency: int, burn: int) -> dict[str, float]:
    """Fill the queue, then time a worker draining it (run in a fresh process)."""
    import execution_bench_tasks as tasks

    from nuvom.config import get_settings
    from nuvom.runtime import get_queue, get_results
    from nuvom.worker import Worker

    if burn:
        if mode == "async":
            raise SystemExit("--burn measures the threads and processes pools only")
        tasks.burn.map([(burn,)] * jobs)
    else:
        chosen = tasks.anoop if mode == "async" else tasks.noop
        for start in range(0, jobs, 1000):
            chosen.map([() for _ in range(min(1000, jobs - start))])
    pool = "processes" if mode == "processes" else "threads"
    worker = Worker(get_settings(), get_queue(), get_results(), pool=pool, concurrency=concurrency)
    began = time.perf_counter()
    thread = threading.Thread(target=worker.run, kwargs={"install_signals": False})
    thread.start()
    while worker.processed < jobs:
        time.sleep(0.01)
    elapsed = time.perf_counter() - began
    worker.stop()
    thread.join()
    return {"jobs": jobs, "secs": round(elapsed, 2), "jobs_per_sec": round(jobs / elapsed)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--no-fsync", action="store_true", help="NUVOM_FILE_FSYNC=0: measure the models")
    parser.add_argument("--burn", type=int, default=0, help="CPU-bound jobs of N additions instead of no-ops")
    parser.add_argument("--one", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.jobs, args.concurrency, args.burn)))
        return
    print("| model | jobs | concurrency | seconds | jobs/s |\n|---|---|---|---|---|")
    for mode in args.modes.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            env = {k: v for k, v in os.environ.items() if not k.startswith("NUVOM_")}
            env.update(NUVOM_DATA_DIR=tmp, NUVOM_LOG_LEVEL="WARNING")
            if args.no_fsync:
                env["NUVOM_FILE_FSYNC"] = "0"
            argv = [sys.executable, __file__, "--one", mode, "--jobs", str(args.jobs)]
            argv += ["--concurrency", str(args.concurrency), "--burn", str(args.burn)]
            out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
            result = json.loads(out.strip().splitlines()[-1])
        row = [mode, result["jobs"], args.concurrency, result["secs"], result["jobs_per_sec"]]
        print("| " + " | ".join(str(cell) for cell in row) + " |")


if __name__ == "__main__":
    main()
