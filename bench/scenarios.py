"""One measurement per process: ``python bench/scenarios.py SYSTEM SCENARIO --out FILE [options]``.

``bench/run.py`` runs each measurement in a fresh process with a fresh data folder and an
emptied Redis, so nothing (settings, connections, warmed caches) leaks from one to the next.

Scenarios (the completion signal is ``done_signal``: one RPUSH per executed task):

- ``enqueue``: ``--jobs`` enqueues one by one, timed.
- ``bulk``: one bulk enqueue of ``--jobs`` (systems that have one), timed.
- ``drain``: ``--jobs`` jobs are queued first (untimed, durability relaxed where a system allows),
  then the worker (2 slots) is spawned; timed from the spawn until ``--count`` tasks (default all)
  have signalled. ``steady`` rates run from the first signal to the last.
- ``roundtrip``: the worker runs one warm-up job and idles ``--idle`` s (1); then ``--round-trips`` sequential
  enqueue + BLPOP of the signal.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import done_signal  # noqa: E402
from procs import WorkerProcess, child_env, sigterm_exits  # noqa: E402
from systems import SYSTEMS, Context, System, open_system  # noqa: E402

DRAIN_POLL_SECS = 0.005
Result = dict[str, Any]


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_summary(samples_s: list[float]) -> Result:
    ms = sorted(s * 1000 for s in samples_s)
    return {
        "round_trips": len(ms),
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.fmean(ms),
        "max_ms": ms[-1],
    }


def _worker(system: System, ctx: Context) -> WorkerProcess:
    env = child_env({**system.worker_env, "BENCH_SIGNAL_URL": os.environ["BENCH_SIGNAL_URL"]})
    return WorkerProcess(system.worker_argv, env=env, cwd=ctx.tmp, log=ctx.tmp / "worker.log")


def _drain(system: System, ctx: Context, n: int, count: int, timeout: float) -> Result:
    signal = done_signal.client()
    started = time.perf_counter()
    system.fill(n)
    fill_s = time.perf_counter() - started
    first = 0.0
    with _worker(system, ctx) as worker:
        deadline = time.monotonic() + timeout
        while (done := signal.llen(done_signal.KEY)) < count:
            if done and not first:
                first = time.perf_counter()
            worker.check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {done} of {count} done after {timeout} s:\n{worker.log_tail()}")
            time.sleep(DRAIN_POLL_SECS)
        done_at = time.perf_counter()
    wall = done_at - worker.started_at
    steady = done_at - (first or done_at)
    return {
        "backlog": n,
        "jobs": count,
        "fill_s": fill_s,
        "wall_s": wall,
        "jobs_per_s": count / wall,
        "first_done_s": (first or done_at) - worker.started_at,
        "jobs_per_s_steady": (count - 1) / steady if steady > 0 else None,
    }


def _roundtrips(system: System, ctx: Context, trips: int, idle: float) -> Result:
    signal = done_signal.client()
    samples = []
    with _worker(system, ctx) as worker:
        system.enqueue()  # warm-up: the worker is ready once this one is done
        if signal.blpop([done_signal.KEY], timeout=120) is None:
            raise TimeoutError(f"warm-up job not done in 120 s:\n{worker.log_tail()}")
        time.sleep(idle)
        for _ in range(trips):
            start = time.perf_counter()
            system.enqueue()
            if signal.blpop([done_signal.KEY], timeout=60) is None:
                raise TimeoutError(f"a round trip took over 60 s:\n{worker.log_tail()}")
            samples.append(time.perf_counter() - start)
        worker.check_alive()
    return latency_summary(samples)


def measure(args: argparse.Namespace, ctx: Context) -> Result:
    os.environ["BENCH_SIGNAL_URL"] = args.signal_url
    system = open_system(args.system, ctx, filling=args.scenario == "drain")
    try:
        if args.scenario in ("enqueue", "bulk"):
            system.enqueue()  # warm-up: settings, connections and storage are built on first use
            action = system.bulk if args.scenario == "bulk" else None
            start = time.perf_counter()
            if action is not None:
                action(args.jobs)
            else:
                for _ in range(args.jobs):
                    system.enqueue()
            seconds = time.perf_counter() - start
            return {"jobs": args.jobs, "seconds": seconds, "jobs_per_s": args.jobs / seconds}
        if args.scenario == "drain":
            return _drain(system, ctx, args.jobs, args.count or args.jobs, args.timeout)
        return _roundtrips(system, ctx, args.round_trips, args.idle)
    finally:
        system.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system", choices=list(SYSTEMS))
    parser.add_argument("scenario", choices=["enqueue", "bulk", "drain", "roundtrip"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--redis-url", required=True, help="the systems' Redis (database 0)")
    parser.add_argument("--signal-url", required=True, help="where tasks signal completion")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--count", type=int, default=0, help="drain: stop after this many (default all)")
    parser.add_argument("--round-trips", type=int, default=200)
    parser.add_argument("--idle", type=float, default=1.0, help="roundtrip: idle seconds before the first")
    parser.add_argument("--timeout", type=float, default=600.0, help="for one drain")
    parser.add_argument("--tmp-dir", default=None)
    args = parser.parse_args()
    with sigterm_exits(), tempfile.TemporaryDirectory(prefix="nuvom-bench-", dir=args.tmp_dir) as name:
        os.chdir(name)  # no stray .env or relative data folder is picked up
        try:
            result = measure(args, Context(Path(name), args.redis_url))
        finally:
            os.chdir("/")
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
